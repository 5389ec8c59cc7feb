"""Nodes register with the hub as themselves, heartbeat, and are listed through GraphQL."""

from __future__ import annotations

import asyncio
from typing import Any

from typer.testing import CliRunner

from hub.state import hub_state
from tests.conftest import HubFactory
from tests.support import PRODUCTION_HUB, InProcessService, bearer, node_token, token_for
from yunfab_cli.main import app

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


async def test_registration_is_idempotent_and_the_url_is_fixed_at_enrolment(
    hub: InProcessService,
) -> None:
    first = await register(hub, "zj-textile", base_url="http://zj.test")
    again = await register(hub, "zj-textile", base_url="HTTP://ZJ.test:80/")  # the same URL
    assert again["registered_at"] == first["registered_at"]
    assert again["base_url"] == "http://zj.test"
    moved = await hub.client.put(
        "/api/v1/nodes/zj-textile",
        json={"region": "CN-ZJ", "industry": "textile", "base_url": "http://elsewhere.test"},
        headers=await as_node(hub, "zj-textile"),
    )
    assert moved.status_code == 409, moved.text
    assert moved.json()["error"] == "node_url_fixed"
    assert (await listed(hub))["totalCount"] == 1
    assert await _url_of(hub, "zj-textile") == "http://zj.test"


async def _url_of(hub: InProcessService, name: str) -> str | None:
    token = await token_for(hub, org="Directory Reader", org_kind="consumer", scopes=["nodes:read"])
    data = await hub.graphql(
        "query($n: String!) { regionalNode(name: $n) { baseUrl } }", {"n": name},
        headers=bearer(token),
    )  # fmt: skip
    url: str | None = data["regionalNode"]["baseUrl"]
    return url


async def test_a_node_cannot_point_its_url_at_another_nodes(hub: InProcessService) -> None:
    """The probe: with gd's own credentials, gd's URL was set to zj's, and a consumer's live
    query under gd's contract was answered by zj."""
    await register(hub, "zj-textile", base_url="http://zj.test")
    gd = await as_node(hub, "gd-injection-moulding", "CN-GD")
    body = {"region": "CN-GD", "industry": "injection-moulding", "base_url": "http://zj.test/"}
    taken = await hub.client.put("/api/v1/nodes/gd-injection-moulding", json=body, headers=gd)
    assert taken.status_code == 409, taken.text
    assert taken.json()["error"] == "node_url_taken"
    assert "zj-textile" not in taken.text
    # The same URL in other spellings: a trailing dot in the name, case, the default port.
    for spelling in ("http://zj.test./", "HTTP://ZJ.Test.:80", "http://zj.test.."):
        again = {**body, "base_url": spelling}
        taken = await hub.client.put("/api/v1/nodes/gd-injection-moulding", json=again, headers=gd)
        assert taken.status_code == 409, (spelling, taken.text)
        assert taken.json()["error"] == "node_url_taken", spelling
    await register(
        hub, "gd-injection-moulding", "CN-GD", "injection-moulding", base_url="http://gd.test"
    )
    moved = await hub.client.put("/api/v1/nodes/gd-injection-moulding", json=body, headers=gd)
    assert moved.status_code == 409, moved.text
    assert moved.json()["error"] == "node_url_fixed"
    assert await _url_of(hub, "gd-injection-moulding") == "http://gd.test"
    assert await _url_of(hub, "zj-textile") == "http://zj.test"


CHANGE_URL = """
mutation($name: String!, $url: String!) {
  changeRegionalNodeUrl(name: $name, baseUrl: $url) { name baseUrl }
}
"""


def _hub_admin(hub: InProcessService) -> dict[str, str]:
    """A hub operator's admin as signed in through /oauth/authorize (tested on its own)."""
    from hub.identity.keys import access_token_claims

    settings = hub_state(hub.app).settings
    claims = access_token_claims(
        issuer=settings.issuer_url, audience=settings.audience, lifetime_s=300,
        subject="5f1c56f6-26a4-4d55-8a43-3a4a3f1f8a01", client_id="yf_console",
        scope="hub:admin nodes:read", org="0e7f6c1e-9a51-4c2c-8f0a-8ab1c2d3e4f5",
        org_kind="hub_operator", roles=["admin"],
    )  # fmt: skip
    return bearer(hub_state(hub.app).keyring.sign(claims))


async def test_only_a_hub_admin_moves_a_nodes_url(hub: InProcessService) -> None:
    await register(hub, "zj-textile", base_url="http://zj.test")
    await register(hub, "js-cnc", "CN-JS", "cnc", base_url="http://js.test")
    node = await hub.graphql(
        CHANGE_URL, {"name": "zj-textile", "url": "http://zj2.test"},
        headers=await as_node(hub, "zj-textile"), expect_errors=True,
    )  # fmt: skip
    assert node["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = _hub_admin(hub)
    taken = await hub.graphql(
        CHANGE_URL, {"name": "zj-textile", "url": "http://js.test"}, headers=admin,
        expect_errors=True,
    )  # fmt: skip
    assert taken["errors"][0]["extensions"]["code"] == "NODE_URL_TAKEN"
    moved = await hub.graphql(
        CHANGE_URL, {"name": "zj-textile", "url": "http://zj2.test/"}, headers=admin
    )
    assert moved["changeRegionalNodeUrl"] == {"name": "zj-textile", "baseUrl": "http://zj2.test"}
    # The node registers at its new URL from now on, and no longer at the old one.
    await register(hub, "zj-textile", base_url="http://zj2.test")
    old = await hub.client.put(
        "/api/v1/nodes/zj-textile",
        json={"region": "CN-ZJ", "industry": "textile", "base_url": "http://zj.test"},
        headers=await as_node(hub, "zj-textile"),
    )
    assert old.json()["error"] == "node_url_fixed"


async def _set_url(hub: InProcessService, name: str, base_url: str | None) -> None:
    """What the unique node URLs migration leaves: a node parked at a placeholder, or none."""
    from sqlalchemy import update

    from hub.federation.models import RegionalNode
    from yunfab.db import session_scope

    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        await session.execute(
            update(RegionalNode).where(RegionalNode.name == name).values(base_url=base_url)
        )


async def test_a_node_parked_at_a_placeholder_waits_for_a_hub_operator(
    hub: InProcessService,
) -> None:
    """Nodes that shared a URL are parked at `https://url-shared.invalid/<name>` by the
    migration: the node cannot leave it, nobody can enrol such a URL, an operator moves it."""
    await register(hub, "gd-injection-moulding", "CN-GD", "injection-moulding",
                   base_url="http://zj.test")  # fmt: skip
    await _set_url(hub, "gd-injection-moulding", "https://url-shared.invalid/gd-injection-moulding")
    gd = await as_node(hub, "gd-injection-moulding", "CN-GD")
    body = {"region": "CN-GD", "industry": "injection-moulding", "base_url": "http://zj.test"}
    fixed = await hub.client.put("/api/v1/nodes/gd-injection-moulding", json=body, headers=gd)
    assert fixed.status_code == 409, fixed.text
    assert fixed.json()["error"] == "node_url_fixed"
    for placeholder in ("https://url-shared.invalid/zj-textile", "http://INVALID./x"):
        zj = {"region": "CN-ZJ", "industry": "textile", "base_url": placeholder}
        refused = await hub.client.put(
            "/api/v1/nodes/zj-textile", json=zj, headers=await as_node(hub, "zj-textile")
        )
        assert refused.status_code == 422, (placeholder, refused.text)
        assert refused.json()["error"] == "node_url_refused"
    moved = await hub.graphql(
        CHANGE_URL, {"name": "gd-injection-moulding", "url": "http://gd.test"},
        headers=_hub_admin(hub),
    )  # fmt: skip
    assert moved["changeRegionalNodeUrl"]["baseUrl"] == "http://gd.test"
    await register(hub, "gd-injection-moulding", "CN-GD", "injection-moulding",
                   base_url="http://gd.test")  # fmt: skip
    # The URL gd was parked from is free for its owner.
    await register(hub, "zj-textile", base_url="http://zj.test")


async def test_a_node_without_a_url_enrols_one_at_its_next_registration(
    hub: InProcessService,
) -> None:
    await register(hub, "zj-textile", base_url="http://zj.test")
    await _set_url(hub, "zj-textile", None)
    again = await register(hub, "zj-textile", base_url="http://zj2.test")
    assert again["base_url"] == "http://zj2.test"
    assert await _url_of(hub, "zj-textile") == "http://zj2.test"


async def test_private_and_loopback_urls_are_refused_unless_allowed(
    hub_factory: HubFactory,
) -> None:
    private = [
        "http://127.0.0.1:8701", "http://localhost:8701", "http://api.localhost",
        "http://10.0.0.5", "http://192.168.1.20", "http://169.254.169.254/latest",
        "http://[::1]:8701", "http://[fe80::1]", "http://[::ffff:10.0.0.5]", "http://0.0.0.0",
        "http://2130706433", "http://100.64.0.9", "http://user:secret@zj.test",
        "http://127.0.0.1.:8701", "http://localhost.",
    ]  # fmt: skip
    async with hub_factory(node_urls_allow_private=False) as hub:
        headers = await as_node(hub, "zj-textile")
        for url in private:
            body = {"region": "CN-ZJ", "industry": "textile", "base_url": url}
            response = await hub.client.put("/api/v1/nodes/zj-textile", json=body, headers=headers)
            assert response.status_code == 422, (url, response.text)
            assert response.json()["error"] == "node_url_refused", url
        assert (await listed(hub))["totalCount"] == 0
        await register(hub, "zj-textile", base_url="http://zj.example.cn:8701")
        refused = await hub.graphql(
            CHANGE_URL, {"name": "zj-textile", "url": "http://10.1.2.3"}, headers=_hub_admin(hub),
            expect_errors=True,
        )  # fmt: skip
        assert refused["errors"][0]["extensions"]["code"] == "NODE_URL_REFUSED"
    # Development (the demo, these tests) runs nodes on loopback.
    async with hub_factory() as hub:
        await register(hub, "js-cnc", "CN-JS", "cnc", base_url="http://127.0.0.1:8701")


async def test_a_production_hub_takes_only_https_node_urls(hub_factory: HubFactory) -> None:
    async with hub_factory(**PRODUCTION_HUB) as hub:
        headers = await as_node(hub, "zj-textile")
        body = {"region": "CN-ZJ", "industry": "textile", "base_url": "http://zj.example.cn"}
        plain = await hub.client.put("/api/v1/nodes/zj-textile", json=body, headers=headers)
        assert plain.status_code == 422, plain.text
        assert plain.json()["error"] == "node_url_refused"
        local = {**body, "base_url": "https://127.0.0.1"}
        loopback = await hub.client.put("/api/v1/nodes/zj-textile", json=local, headers=headers)
        assert loopback.json()["error"] == "node_url_refused"
        await register(hub, "zj-textile", base_url="https://zj.example.cn")


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


async def test_the_hub_operators_console_moves_a_node(
    hub: InProcessService, hub_db_url: str
) -> None:
    """The demo run again on other ports, or a node moved to a new host: the hub operator moves
    it from the console, and the node registers at the new URL."""
    await register(hub, "zj-textile", base_url="http://zj.test")
    argv = ["hub", "node", "move", "zj-textile", "http://zj3.test/", "--database-url", hub_db_url]
    done = await asyncio.to_thread(CliRunner().invoke, app, argv)
    assert done.exit_code == 0, done.output
    assert '"base_url": "http://zj3.test"' in done.stdout
    await register(hub, "zj-textile", base_url="http://zj3.test")
    missing = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["hub", "node", "move", "gd-moulding", "http://gd.test"] + argv[-2:],
    )
    assert missing.exit_code != 0
    assert "node_not_registered" in missing.stderr
