"""The hub serves the web console too: its config names the hub as issuer and audience and says
`service: hub`, and `viewer { can }` answers what the policy lets each caller do there."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.identity.keys import access_token_claims
from hub.state import hub_state
from tests.conftest import HubFactory
from tests.support import InProcessService, bearer

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

CAN = """
{ viewer { kind roles can {
  readNodes createOrganizations manageUsers createClients rotateKeys readAudit
  readCatalog requestContracts queryData publishReleases reviewReleases installToNodes
  readFederated runFederated postToBoard
} } }"""


def _person(
    hub: InProcessService, *, org_kind: str, roles: list[str], scope: str
) -> dict[str, str]:
    """A person's access token as the hub signs it after /oauth/authorize (tested on its own)."""
    settings = hub_state(hub.app).settings
    claims = access_token_claims(
        issuer=settings.issuer_url, audience=settings.audience, lifetime_s=300,
        subject="5f1c56f6-26a4-4d55-8a43-3a4a3f1f8a02", client_id="yunfab-console",
        scope=scope, org="0e7f6c1e-9a51-4c2c-8f0a-8ab1c2d3e4f5", org_kind=org_kind, roles=roles,
    )  # fmt: skip
    return bearer(hub_state(hub.app).keyring.sign(claims))


async def test_the_hub_serves_the_console_as_the_hub(
    hub_factory: HubFactory, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>console</title>")
    async with hub_factory(public_url="https://hub.example.cn", console_dir=dist) as hub:
        config = (await hub.client.get("/console/config.json")).json()
        page = await hub.client.get("/market/listings/some-app")
        api_miss = await hub.client.get("/api/v1/nothing-here")
    assert config == {
        "issuer": "https://hub.example.cn",
        "clientId": "yunfab-console",
        "redirectUri": "https://hub.example.cn/auth/callback",
        "postLogoutRedirectUri": "https://hub.example.cn/",
        "resource": "https://hub.example.cn",
        "graphqlUrl": "https://hub.example.cn/graphql",
        "graphqlWsUrl": "wss://hub.example.cn/graphql",
        "nodeName": "Yunfab hub",
        "service": "hub",
    }
    assert page.status_code == 200
    assert "<title>console</title>" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert api_miss.status_code == 404
    assert "json" in api_miss.headers["content-type"]


async def test_viewer_can_follows_the_policy_for_each_kind_of_person(
    hub: InProcessService,
) -> None:
    admin = _person(
        hub,
        org_kind="hub_operator",
        roles=["admin", "auditor", "operator", "reviewer"],
        scope="hub:admin audit:read nodes:read orgs:read federated:read federated:run "
        "market:read market:review",
    )
    consumer = _person(
        hub, org_kind="consumer", roles=["data_consumer"], scope="exchange:read exchange:write"
    )
    admin_can = (await hub.graphql(CAN, headers=admin))["viewer"]["can"]
    consumer_can = (await hub.graphql(CAN, headers=consumer))["viewer"]["can"]
    for capability in (
        "createOrganizations", "manageUsers", "createClients", "rotateKeys",
        "readAudit", "reviewReleases", "readFederated", "runFederated",
    ):  # fmt: skip
        assert admin_can[capability] is True, capability
        assert consumer_can[capability] is False, capability
    # Anyone signed in may see the list of nodes (name, region, status; not their URLs).
    for capability in ("readNodes", "readCatalog", "requestContracts", "queryData"):
        assert consumer_can[capability] is True, capability
    assert consumer_can["publishReleases"] is False
    assert consumer_can["installToNodes"] is False


async def test_an_anonymous_caller_is_asked_to_sign_in(hub: InProcessService) -> None:
    answer = await hub.client.post("/graphql", json={"query": CAN})
    errors = answer.json()["errors"]
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
