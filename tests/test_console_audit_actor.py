"""The console's audit page narrows the node's audit log to one actor, as the entries name them,
alone or with the other filters."""

from __future__ import annotations

from typing import Any

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, operator_headers

NODE_URL = "http://zj-textile.test"

TRAIL = """
query($actor: String, $action: String, $factorySlug: String) {
  auditLog(actor: $actor, action: $action, factorySlug: $factorySlug, first: 100) {
    totalCount edges { node { actor action resource } }
  }
}
"""


async def test_audit_log_narrows_to_one_actor(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        factory = await active_factory(node.client, operator, "keqiao-weaving")

        async def trail(**args: Any) -> dict[str, Any]:
            found: dict[str, Any] = (await node.graphql(TRAIL, args, headers=operator))["auditLog"]
            return found

        everything = await trail()
        invite = next(
            e["node"] for e in everything["edges"] if e["node"]["action"] == "node.factory.invite"
        )
        mine = await trail(actor=invite["actor"])
        assert mine["totalCount"] == len(mine["edges"]) > 0
        assert {e["node"]["actor"] for e in mine["edges"]} == {invite["actor"]}
        assert mine["totalCount"] <= everything["totalCount"]
        # With a target and an action too; an actor nobody is gives nothing.
        narrowed = await trail(
            actor=invite["actor"], action="node.factory.invite", factorySlug=factory["slug"]
        )
        assert [e["node"]["resource"] for e in narrowed["edges"]] == ["factory:keqiao-weaving"]
        assert (await trail(actor="nobody@example.test"))["totalCount"] == 0
