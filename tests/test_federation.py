"""Nodes register with the hub as themselves, heartbeat, and are listed through GraphQL."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import HubFactory
from tests.support import InProcessService, bearer, node_token, token_for

NODES_QUERY = """
query Nodes($first: Int!, $after: String, $filter: RegionalNodeFilter) {
  regionalNodes(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { name region industry status lastHeartbeat registeredAt } }
  }
}
"""

_tokens: dict[tuple[int, str], str] = {}


async def as_node(hub: InProcessService, name: str, region: str = "CN-ZJ") -> dict[str, str]:
    key = (id(hub), name)
    if key not in _tokens:
        _tokens[key] = await node_token(hub, name, region)
    return bearer(_tokens[key])


async def register(
    hub: InProcessService,
    name: str,
    region: str = "CN-ZJ",
    industry: str = "textile",
    base_url: str | None = None,
) -> dict[str, Any]:
    response = await hub.client.put(
        f"/api/v1/nodes/{name}",
        json={
            "region": region,
            "industry": industry,
            "base_url": base_url or f"http://{name}.test",
        },
        headers=await as_node(hub, name, region),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def heartbeat(hub: InProcessService, name: str, region: str = "CN-ZJ", **body: str):  # noqa: ANN201
    return await hub.client.post(
        f"/api/v1/nodes/{name}/heartbeats", json=body, headers=await as_node(hub, name, region)
    )


async def listed(hub: InProcessService, **variables: object) -> dict[str, Any]:
    data = await hub.graphql(NODES_QUERY, {"first": 50, **variables})
    nodes: dict[str, Any] = data["regionalNodes"]
    return nodes


async def test_registered_node_is_listed_online(hub: InProcessService) -> None:
    body = await register(hub, "zj-textile", base_url="http://10.0.0.5:8701/")
    assert body["status"] == "online"
    assert body["heartbeat_interval_s"] > 0

    nodes = await listed(hub)
    assert nodes["totalCount"] == 1
    node = nodes["edges"][0]["node"]
    assert node["name"] == "zj-textile"
    assert node["region"] == "CN-ZJ"
    assert node["industry"] == "textile"
    assert node["status"] == "ONLINE"
    assert node["lastHeartbeat"] is not None


async def test_base_url_is_shown_only_to_members_who_may_read_it(hub: InProcessService) -> None:
    await register(hub, "zj-textile", base_url="http://10.0.0.5:8701/")
    query = "{ regionalNodes { edges { node { name baseUrl } } } }"

    anonymous = await hub.graphql(query, expect_errors=True)
    assert anonymous["data"]["regionalNodes"]["edges"] == [
        {"node": {"name": "zj-textile", "baseUrl": None}}
    ]
    error = anonymous["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["path"] == ["regionalNodes", "edges", 0, "node", "baseUrl"]
    assert "10.0.0.5" not in str(anonymous)

    no_scope = await token_for(hub, org="Other Co", org_kind="consumer", scopes=["orgs:read"])
    denied = await hub.graphql(query, headers=bearer(no_scope), expect_errors=True)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert denied["data"]["regionalNodes"]["edges"][0]["node"]["baseUrl"] is None

    token = await token_for(hub, org="Buyer Co", org_kind="consumer", scopes=["nodes:read"])
    member = await hub.graphql(query, headers=bearer(token))
    assert member["regionalNodes"]["edges"][0]["node"]["baseUrl"] == "http://10.0.0.5:8701"


async def test_registration_is_idempotent_and_updates_the_url(hub: InProcessService) -> None:
    first = await register(hub, "zj-textile", base_url="http://old.test")
    second = await register(hub, "zj-textile", base_url="http://new.test")
    assert second["registered_at"] == first["registered_at"]
    assert second["base_url"] == "http://new.test"
    assert (await listed(hub))["totalCount"] == 1


async def test_a_node_registers_only_as_itself(hub: InProcessService) -> None:
    for name, region in [("gd-injection-moulding", "CN-ZJ"), ("zj-textile", "CN-GD")]:
        response = await hub.client.put(
            f"/api/v1/nodes/{name}",
            json={"region": region, "industry": "textile", "base_url": "http://x.test"},
            headers=await as_node(hub, "zj-textile", "CN-ZJ"),
        )
        assert response.status_code == 403, response.text
        assert response.json() == {"error": "forbidden", "detail": "not allowed"}
    assert (await listed(hub))["totalCount"] == 0


async def test_registration_needs_a_token(hub: InProcessService) -> None:
    body = {"region": "CN-ZJ", "industry": "textile", "base_url": "http://a.test"}
    response = await hub.client.put("/api/v1/nodes/zj-textile", json=body)
    assert response.status_code == 401
    assert response.json()["error"] == "token_missing"
    assert response.headers["www-authenticate"].startswith("Bearer")
    response = await hub.client.put(
        "/api/v1/nodes/zj-textile", json=body, headers={"authorization": "Bearer not-a-jwt"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "token_malformed"
    assert (await listed(hub))["totalCount"] == 0


async def test_bad_registration_is_refused_with_reasons_and_stores_nothing(
    hub: InProcessService,
) -> None:
    headers = await as_node(hub, "zj-textile")
    bad_requests = [
        ("Zhejiang_Node", {"region": "CN-ZJ", "industry": "textile", "base_url": "http://a.test"}),
        ("zj-textile", {"region": "zhejiang", "industry": "textile", "base_url": "http://a.test"}),
        ("zj-textile", {"region": "CN-ZJ", "industry": "Textile!", "base_url": "http://a.test"}),
        ("zj-textile", {"region": "CN-ZJ", "industry": "textile", "base_url": "not a url"}),
        ("zj-textile", {"region": "CN-ZJ", "industry": "textile"}),
        ("zj-textile", {"region": "CN-ZJ", "industry": "textile", "base_url": "http://a", "x": 1}),
    ]
    for name, body in bad_requests:
        response = await hub.client.put(f"/api/v1/nodes/{name}", json=body, headers=headers)
        assert response.status_code == 422, (name, body, response.text)
        error = response.json()
        assert error["error"] == "invalid_input"
        assert error["detail"]

    response = await hub.client.put(
        "/api/v1/nodes/zj-textile",
        content=b"{not json",
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert (await listed(hub))["totalCount"] == 0


async def test_heartbeat_from_an_unregistered_node_is_refused(hub: InProcessService) -> None:
    response = await heartbeat(hub, "ghost")
    assert response.status_code == 404
    assert response.json()["error"] == "node_not_registered"
    assert (await listed(hub))["totalCount"] == 0


async def test_a_stopping_node_is_offline_at_once_and_back_online_on_heartbeat(
    hub: InProcessService,
) -> None:
    await register(hub, "zj-textile")
    response = await heartbeat(hub, "zj-textile", status="stopping")
    assert response.json()["status"] == "offline"
    assert (await listed(hub))["edges"][0]["node"]["status"] == "OFFLINE"

    assert (await heartbeat(hub, "zj-textile")).status_code == 200
    assert (await listed(hub))["edges"][0]["node"]["status"] == "ONLINE"


async def test_a_node_missing_heartbeats_is_shown_offline(hub_factory: HubFactory) -> None:
    # A slow machine only makes the silent node more silent; the node that just beat keeps 1.7 s
    # for the listing itself, whose tokens are fetched (slow hashing) before the clock matters.
    async with hub_factory(node_offline_after_s=2.0, offline_sweep_interval_s=0.1) as hub:
        await as_node(hub, "gd-injection-moulding", "CN-GD")
        await register(hub, "zj-textile")
        await register(hub, "gd-injection-moulding", region="CN-GD", industry="injection-moulding")
        await listed(hub)
        await asyncio.sleep(2.2)
        await heartbeat(hub, "gd-injection-moulding", region="CN-GD")
        await asyncio.sleep(0.3)  # zj-textile silent for 2.5 s or more, gd for 0.3 s

        statuses = {e["node"]["name"]: e["node"]["status"] for e in (await listed(hub))["edges"]}
        assert statuses == {"zj-textile": "OFFLINE", "gd-injection-moulding": "ONLINE"}


async def test_nodes_page_with_cursors_and_filter(hub: InProcessService) -> None:
    for name, region in [("a-node", "CN-ZJ"), ("b-node", "CN-GD"), ("c-node", "CN-ZJ")]:
        await register(hub, name, region=region)

    first = await listed(hub, first=2)
    assert [e["node"]["name"] for e in first["edges"]] == ["a-node", "b-node"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["totalCount"] == 3

    rest = await listed(hub, first=2, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["name"] for e in rest["edges"]] == ["c-node"]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["pageInfo"]["hasPreviousPage"] is True

    zhejiang = await listed(hub, filter={"region": "CN-ZJ"})
    assert [e["node"]["name"] for e in zhejiang["edges"]] == ["a-node", "c-node"]
    assert zhejiang["totalCount"] == 2


async def test_bad_page_arguments_get_coded_errors(hub: InProcessService) -> None:
    for variables in ({"first": 0}, {"first": 1000}, {"first": 5, "after": "%%%not-a-cursor"}):
        body = await hub.graphql(NODES_QUERY, variables, expect_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT", body
        assert body["data"] is None


async def test_single_node_lookup(hub: InProcessService) -> None:
    await register(hub, "zj-textile")
    query = "query($n: String!) { regionalNode(name: $n) { name status } }"
    assert (await hub.graphql(query, {"n": "zj-textile"}))["regionalNode"]["name"] == "zj-textile"
    assert (await hub.graphql(query, {"n": "nope"}))["regionalNode"] is None
