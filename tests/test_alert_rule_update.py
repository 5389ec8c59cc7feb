"""A rule is changed in place (the console's rule editor): the whole rule as given, checked as a
new rule is, its contact points replaced, the change audited; a wrong change leaves it as it was."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import with_device

NODE_URL = "http://zj-textile.test"
CREATE = "mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { id } }"
UPDATE = """
mutation($id: UUID!, $input: AlertRuleInput!) {
  updateAlertRule(id: $id, input: $input) {
    id name severity metric deviceType factoryId above clearAbove forS escalateAfterS escalateTo
    contactPointIds
  }
}
"""
RULES = "query($f: UUID) { alertRules(factoryId: $f) { edges { node { id name above } } } }"
POINT = """
mutation($input: NewContactPointInput!) {
  createContactPoint(input: $input) { contactPoint { id } }
}
"""
AUDIT = '{ auditLog(action: "node.alert.rule.update") { edges { node { resource detail } } } }'


def _input(factory_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Clamp force high", "kind": "THRESHOLD", "metric": "clamp_force_kn",
        "deviceType": "injection_moulding", "factoryId": factory_id, "above": 900, **changes,
    }  # fmt: skip


async def test_a_rule_is_changed_as_a_whole_and_checked_as_a_new_one(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, factory, _ = await with_device(hub, node, NODE_URL)
        made = await node.graphql(CREATE, {"input": _input(factory["id"])}, headers=operator)
        rule_id = made["createAlertRule"]["id"]
        point = await node.graphql(
            POINT,
            {"input": {"kind": "WEBHOOK", "name": "Line", "factoryId": factory["id"],
                       "url": "http://127.0.0.1:9/hook"}},
            headers=operator,
        )  # fmt: skip
        point_id = point["createContactPoint"]["contactPoint"]["id"]

        changed = await node.graphql(
            UPDATE,
            {"id": rule_id, "input": _input(
                factory["id"], name="Clamp force too high", above=950, clearAbove=940, forS=30,
                escalateAfterS=600, contactPointIds=[point_id],
            )},
            headers=operator,
        )  # fmt: skip
        assert changed["updateAlertRule"] == {
            "id": rule_id, "name": "Clamp force too high", "severity": "WARNING",
            "metric": "clamp_force_kn", "deviceType": "injection_moulding",
            "factoryId": factory["id"], "above": 950.0, "clearAbove": 940.0, "forS": 30,
            "escalateAfterS": 600, "escalateTo": "CRITICAL", "contactPointIds": [point_id],
        }  # fmt: skip
        listed = await node.graphql(RULES, {"f": factory["id"]}, headers=operator)
        assert [e["node"] for e in listed["alertRules"]["edges"]] == [
            {"id": rule_id, "name": "Clamp force too high", "above": 950.0}
        ]
        audit = await node.graphql(AUDIT, headers=operator)
        assert [e["node"]["resource"] for e in audit["auditLog"]["edges"]] == [
            f"alert-rule:{rule_id}"
        ]

        # Checked as a new rule: a clear level above the alert level, an undeclared metric.
        for wrong in (
            _input(factory["id"], above=950, clearAbove=960),
            _input(factory["id"], metric="spindle_load_pct"),
        ):
            body = await node.graphql(
                UPDATE, {"id": rule_id, "input": wrong}, headers=operator, expect_errors=True
            )
            assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT", body
        listed = await node.graphql(RULES, {"f": factory["id"]}, headers=operator)
        assert listed["alertRules"]["edges"][0]["node"]["above"] == 950.0

        missing = await node.graphql(
            UPDATE,
            {"id": str(uuid.uuid4()), "input": _input(factory["id"])},
            headers=operator,
            expect_errors=True,
        )
        assert missing["errors"][0]["extensions"]["code"] == "ALERT_RULE_NOT_FOUND"
