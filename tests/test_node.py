"""A node keeps itself registered with the hub and serves its own GraphQL API."""

from __future__ import annotations

from sqlalchemy import text

from regional_node.factories.models import Factory, FactoryStatus
from tests.conftest import HubFactory, NodeFactory
from tests.support import (
    InProcessService,
    bearer,
    create_client,
    eventually,
    node_token,
    token_for,
)
from yunfab.db import create_engine, create_sessionmaker, session_scope

NODE_QUERY = """
{ node { name region industry publicUrl
         hubLink { status hubUrl attempts lastError registeredAt lastHeartbeatAt } } }
"""
HUB_STATUS = "query($n: String!) { regionalNode(name: $n) { status baseUrl region industry } }"


_member_tokens: dict[tuple[int, str | None], str] = {}


async def member(hub: InProcessService, resource: str | None = None) -> dict[str, str]:
    """A platform member's token issued by the hub: for the hub itself, or (resource) a node,
    which checks it offline."""
    key = (id(hub), resource)
    if key not in _member_tokens:
        _member_tokens[key] = await token_for(
            hub,
            org="Hub Operator",
            org_kind="hub_operator",
            scopes=["factories:read", "nodes:read"],
            resource=resource,
        )
    return bearer(_member_tokens[key])


NODE_URL = "http://zj-textile.test"


async def node_view(node: InProcessService, hub: InProcessService) -> dict:
    return (await node.graphql(NODE_QUERY, headers=await member(hub, NODE_URL)))["node"]


async def link_state(node: InProcessService, hub: InProcessService) -> str:
    """The hub link's state from the node's public readiness report (no token needed)."""
    ready = (await node.client.get("/readyz")).json()
    return str(ready["checks"]["hub"]["state"]).upper()


async def hub_status(hub: InProcessService, name: str = "zj-textile") -> str | None:
    node = (await hub.graphql(HUB_STATUS, {"n": name}, headers=await member(hub)))["regionalNode"]
    return node["status"] if node else None


async def test_node_registers_and_the_hub_lists_it_online(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, heartbeat_interval_s=0.05) as node:

        async def online() -> bool:
            return await link_state(node, hub) == "ONLINE"

        await eventually(online)
        data = await node_view(node, hub)

        async def beating() -> bool:
            link = (await node_view(node, hub))["hubLink"]
            return bool(link["lastHeartbeatAt"] > link["registeredAt"])

        await eventually(beating)
        assert data["name"] == "zj-textile"
        assert data["region"] == "CN-ZJ"
        assert data["publicUrl"] == "http://zj-textile.test"
        assert data["hubLink"]["registeredAt"] is not None
        assert data["hubLink"]["attempts"] == 0
        assert data["hubLink"]["status"] == "ONLINE"

        hub_view = (await hub.graphql(HUB_STATUS, {"n": "zj-textile"}, headers=await member(hub)))[
            "regionalNode"
        ]
        assert hub_view == {
            "status": "ONLINE",
            "baseUrl": "http://zj-textile.test",
            "region": "CN-ZJ",
            "industry": "textile",
        }


async def test_a_cleanly_stopped_node_is_offline_at_the_hub_at_once(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub:
        async with node_factory(hub=hub) as node:

            async def online() -> bool:
                return await link_state(node, hub) == "ONLINE"

            await eventually(online)
        assert await hub_status(hub) == "OFFLINE"


async def test_a_node_re_registers_with_a_hub_that_forgot_it(
    hub_factory: HubFactory, node_factory: NodeFactory, hub_db_url: str
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, heartbeat_interval_s=0.05) as node:

        async def online_at_hub() -> bool:
            return await hub_status(hub) == "ONLINE"

        await eventually(online_at_hub)
        engine = create_engine(hub_db_url)
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM regional_nodes"))
        await engine.dispose()
        assert await hub_status(hub) is None

        await eventually(online_at_hub)
        assert await link_state(node, hub) == "ONLINE"


async def test_a_refused_registration_is_reported_and_retried(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub:
        impostor = await node_token(hub, "zj-textile", "CN-GD")
        taken = await hub.client.put(
            "/api/v1/nodes/zj-textile",
            json={"region": "CN-GD", "industry": "textile", "base_url": "http://other.test"},
            headers=bearer(impostor),
        )
        assert taken.status_code == 200
        async with node_factory(hub=hub) as node:

            async def retrying() -> bool:
                return await link_state(node, hub) == "RETRYING"

            await eventually(retrying)
            link = (await node.client.get("/readyz")).json()["checks"]["hub"]
            assert "node_identity_conflict" in link["last_error"]
            # The node still serves its own API while the hub refuses it.
            assert (await node.client.get("/readyz")).status_code == 200


async def test_factories_page_by_name(
    hub_factory: HubFactory, node_factory: NodeFactory, node_db_url: str
) -> None:
    engine = create_engine(node_db_url)
    async with session_scope(create_sessionmaker(engine)) as session:
        for slug, name in [
            ("keqiao-weaving", "Shaoxing Keqiao Weaving"),
            ("haining-knitting", "Haining Warp Knitting"),
            ("tongxiang-woollen", "Tongxiang Woollen Mill"),
        ]:
            session.add(Factory(slug=slug, name=name, status=FactoryStatus.ACTIVE))
    await engine.dispose()

    query = """
    query($after: String) {
      factories(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { name id createdAt } }
      }
    }
    """
    async with hub_factory() as hub, node_factory(hub=hub) as node:

        async def online() -> bool:
            return await link_state(node, hub) == "ONLINE"

        await eventually(online)
        headers = await member(hub, NODE_URL)
        first = (await node.graphql(query, headers=headers))["factories"]
        assert [e["node"]["name"] for e in first["edges"]] == [
            "Haining Warp Knitting",
            "Shaoxing Keqiao Weaving",
        ]
        # A platform of the region may read every factory: the policy decides that once for
        # the whole list, so the total is exact.
        assert first["totalCount"] == 3
        after = {"after": first["pageInfo"]["endCursor"]}
        rest = (await node.graphql(query, after, headers=headers))["factories"]
        assert [e["node"]["name"] for e in rest["edges"]] == ["Tongxiang Woollen Mill"]
        assert rest["pageInfo"]["hasNextPage"] is False

        # Outside the node's region, or without a token, factories are not shown.
        outsider = await token_for(
            hub, org="Far Buyer", org_kind="consumer", scopes=["factories:read"], resource=NODE_URL
        )
        for denied_headers, code in ((bearer(outsider), "FORBIDDEN"), ({}, "UNAUTHENTICATED")):
            body = await node.graphql(query, headers=denied_headers, expect_errors=True)
            assert body["errors"][0]["extensions"]["code"] == code
            assert body["data"] is None
            assert "Haining" not in str(body)

        # A token for the hub is no good at the node: audiences keep tokens where they belong.
        hub_token = await member(hub)
        response = await node.client.post("/graphql", json={"query": query}, headers=hub_token)
        assert (response.status_code, response.json()["error"]) == (401, "token_wrong_audience")
        unknown = await hub.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "resource": "http://elsewhere.test"},
            auth=await _client_auth(hub),
        )
        assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_target")
        # Without valid client credentials the hub says nothing about which URLs are nodes.
        probe = await hub.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "resource": NODE_URL},
            auth=("yf_nobody", "wrong"),
        )
        assert (probe.status_code, probe.json()["error"]) == (401, "invalid_client")
        # The node's URL in another spelling names the same audience.
        client_id, secret = await _client_auth(hub)
        shouted = await hub.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "resource": "HTTP://ZJ-TEXTILE.test:80/"},
            auth=(client_id, secret),
        )
        assert shouted.status_code == 200, shouted.text


async def _client_auth(hub: InProcessService) -> tuple[str, str]:
    client_id, secret = await create_client(hub, org="Buyer", org_kind="consumer", scopes=[])
    return client_id, secret or ""
