"""Alert rules name what devices declared: a misspelt device type or a metric no device reports
is refused with the valid names, instead of becoming a rule that never fires."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from graphql import ExecutionResult

from regional_node.graphql.context import NodeContext
from regional_node.graphql.schema import build_schema
from regional_node.state import node_state
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, with_device
from tests.test_vision_api import factory_staff

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


SUBSCRIBE = "subscription($f: UUID!) { factoryAlerts(factoryId: $f) { status } }"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_another_factorys_device_or_factory_answers_as_one_not_on_the_node(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        staff, _ = await factory_staff(hub, node, operator, "Ningbo Brackets")

        answers = []
        for device_id in (device["device"]["id"], str(uuid.uuid4())):
            body = await node.graphql(
                RULE, _rule("clamp_force_kn", deviceId=device_id), headers=staff,
                expect_errors=True,
            )  # fmt: skip
            (error,) = body["errors"]
            answers.append((error["extensions"]["code"], error["message"].replace(device_id, "ID")))
        assert answers[0] == answers[1] == ("DEVICE_NOT_FOUND", "no device ID on this node")

        # Following another factory's alerts: as for a factory that is not there.
        schema = build_schema(node_state(node.app).settings)
        token = staff["authorization"].removeprefix("Bearer ")
        subject = (await node_state(node.app).tokens.validate(token)).subject()
        answers = []
        for factory_id in (factory["id"], str(uuid.uuid4())):
            context = NodeContext(
                settings=node_state(node.app).settings,
                sessionmaker=node_state(node.app).db.sessionmaker,
                subject=subject, authorizer=node_state(node.app).authorizer,
            )  # fmt: skip
            context.runtime = node_state(node.app).runtime
            stream = await schema.subscribe(
                SUBSCRIBE, variable_values={"f": factory_id}, context_value=context
            )
            assert not isinstance(stream, ExecutionResult)
            result = await anext(stream)
            assert result.errors is not None
            (error,) = result.errors
            code = type(error.original_error).__name__
            answers.append((code, error.message.replace(factory_id, "ID")))
            await context.close()
        assert answers[0] == answers[1] == ("FactoryNotFound", "no factory ID on this node")
