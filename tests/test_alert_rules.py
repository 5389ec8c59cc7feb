"""Alert rules name what devices declared: a misspelt device type or a metric no device reports
is refused with the valid names, instead of becoming a rule that never fires."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, with_device

NODE_URL = "http://zj-textile.test"
RULE = """
mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { id kind } }
"""


def _rule(metric: str, **target: Any) -> dict[str, Any]:
    return {
        "input": {"name": "Clamp force high", "kind": "THRESHOLD", "metric": metric,
                  "above": 900, **target}
    }  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_rules_for_unknown_types_or_metrics_are_refused_with_the_valid_names(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        device_id = device["device"]["id"]

        async def refused(variables: dict[str, Any]) -> str:
            body = await node.graphql(RULE, variables, headers=operator, expect_errors=True)
            (error,) = body["errors"]
            assert error["extensions"]["code"] == "INVALID_INPUT", error
            assert body["data"] is None
            message: str = error["message"]
            return message

        # The probe's rule: the equipment type's name, not the device type.
        message = await refused(_rule("clamp_force_kn", deviceType="injection-moulding-machine"))
        assert "'injection-moulding-machine'" in message
        assert "injection_moulding" in message.split("device types:")[1]
        # A metric no moulding machine declares.
        message = await refused(_rule("spindle_load_pct", deviceType="injection_moulding"))
        assert message.endswith("clamp_force_kn, mould_temp_c")
        # One device: only its own metrics.
        message = await refused(_rule("melt_temp_c", deviceId=device_id))
        assert message.endswith("its metrics: clamp_force_kn, mould_temp_c")
        # A factory's rule for a type it has no device of (another factory has).
        other = await active_factory(node.client, operator)
        message = await refused(
            _rule("clamp_force_kn", deviceType="injection_moulding", factoryId=other["id"])
        )
        assert "in the factory" in message
        assert message.endswith("device types: none")

        # What devices declared is accepted, node-wide, per factory and per device.
        for target in (
            {"deviceType": "injection_moulding"},
            {"deviceType": "injection_moulding", "factoryId": factory["id"]},
            {"deviceId": device_id},
        ):
            made = await node.graphql(RULE, _rule("clamp_force_kn", **target), headers=operator)
            assert made["createAlertRule"]["kind"] == "THRESHOLD"
