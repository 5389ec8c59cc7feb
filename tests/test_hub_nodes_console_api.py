"""What the hub console's nodes pages read: a node's software version, reported by the node when
it registers, through GraphQL for signed-in members with nodes:read only."""

from __future__ import annotations

from typing import Any

import yunfab
from regional_node.hub_link.client import Registration
from tests.support import InProcessService, bearer, node_token, token_for

QUERY = """
query Node($name: String!) {
  regionalNode(name: $name) { name region industry status version }
  regionalNodes(first: 10) { edges { node { name version } } }
}
"""


async def register(hub: InProcessService, name: str, version: str | None) -> dict[str, Any]:
    token = await node_token(hub, name, "CN-GD")
    body: dict[str, Any] = {
        "region": "CN-GD",
        "industry": "injection-moulding",
        "base_url": f"http://{name}.test",
    }
    if version is not None:
        body["yunfab_version"] = version
    response = await hub.client.put(f"/api/v1/nodes/{name}", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def member(hub: InProcessService) -> dict[str, str]:
    return bearer(await token_for(hub, org="Buyer Co", org_kind="consumer", scopes=["nodes:read"]))


def test_a_node_reports_its_own_package_version() -> None:
    registration = Registration(
        name="gd-injection-moulding", region="CN-GD", industry="injection-moulding",
        base_url="http://gd.test",
    )  # fmt: skip
    assert registration.yunfab_version == yunfab.__version__


async def test_the_version_a_node_registers_with_is_shown_and_follows_upgrades(
    hub: InProcessService,
) -> None:
    await register(hub, "gd-injection-moulding", "0.9.1")
    headers = await member(hub)
    data = await hub.graphql(QUERY, {"name": "gd-injection-moulding"}, headers=headers)
    assert data["regionalNode"] == {
        "name": "gd-injection-moulding",
        "region": "CN-GD",
        "industry": "injection-moulding",
        "status": "ONLINE",
        "version": "0.9.1",
    }
    assert data["regionalNodes"]["edges"] == [
        {"node": {"name": "gd-injection-moulding", "version": "0.9.1"}}
    ]

    # The node restarts on a newer release and registers again.
    await register(hub, "gd-injection-moulding", "1.0.0")
    again = await hub.graphql(QUERY, {"name": "gd-injection-moulding"}, headers=headers)
    assert again["regionalNode"]["version"] == "1.0.0"

    # A registration that reports none keeps what the hub knew.
    await register(hub, "gd-injection-moulding", None)
    kept = await hub.graphql(QUERY, {"name": "gd-injection-moulding"}, headers=headers)
    assert kept["regionalNode"]["version"] == "1.0.0"


async def test_a_node_that_never_reported_a_version_shows_none(hub: InProcessService) -> None:
    await register(hub, "js-cnc", None)
    data = await hub.graphql(QUERY, {"name": "js-cnc"}, headers=await member(hub))
    assert data["regionalNode"]["version"] is None


async def test_the_version_is_only_for_members_who_may_read_nodes(hub: InProcessService) -> None:
    await register(hub, "gd-injection-moulding", "1.0.0")

    anonymous = await hub.graphql(QUERY, {"name": "gd-injection-moulding"}, expect_errors=True)
    assert anonymous["data"]["regionalNode"]["name"] == "gd-injection-moulding"
    assert anonymous["data"]["regionalNode"]["version"] is None
    assert {error["extensions"]["code"] for error in anonymous["errors"]} == {"UNAUTHENTICATED"}
    assert "1.0.0" not in str(anonymous)

    no_scope = await token_for(hub, org="Other Co", org_kind="consumer", scopes=["orgs:read"])
    denied = await hub.graphql(
        QUERY, {"name": "gd-injection-moulding"}, headers=bearer(no_scope), expect_errors=True
    )
    assert {error["extensions"]["code"] for error in denied["errors"]} == {"FORBIDDEN"}
    assert denied["data"]["regionalNode"]["version"] is None


async def test_a_bad_version_string_is_refused_at_registration(hub: InProcessService) -> None:
    token = await node_token(hub, "gd-injection-moulding", "CN-GD")
    response = await hub.client.put(
        "/api/v1/nodes/gd-injection-moulding",
        json={
            "region": "CN-GD",
            "industry": "injection-moulding",
            "base_url": "http://gd.test",
            "yunfab_version": "<script>",
        },
        headers=bearer(token),
    )
    assert response.status_code == 422
