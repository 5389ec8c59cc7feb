"""Filters on the hub's connections narrow both the page and totalCount (issue #16)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from hub.federation.models import RegionalNode
from hub.identity.keys import access_token_claims
from hub.organizations.models import OrganizationKind
from hub.organizations.service import ensure_organization
from hub.state import hub_state
from tests.support import InProcessService, bearer, node_token, token_for
from yunfab.db import session_scope
from yunfab.subject import SYSTEM


async def _count(
    hub: InProcessService, query: str, variables: dict[str, Any], headers: dict[str, str]
) -> tuple[int | None, int]:
    (connection,) = (await hub.graphql(query, variables, headers=headers)).values()
    return connection["totalCount"], len(connection["edges"])


async def test_organizations_filter_by_kind_and_a_part_of_the_name(hub: InProcessService) -> None:
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        for name, kind in [("Haining Knit", "factory"), ("Keqiao Dye", "factory"),
                           ("Textile Cloud", "publisher")]:  # fmt: skip
            await ensure_organization(session, name=name, kind=OrganizationKind(kind))
    operator = bearer(
        await token_for(hub, org="Hub Ops", org_kind="hub_operator", scopes=["orgs:read"])
    )
    query = """
    query($kind: OrganizationKind, $text: String) {
      organizations(kind: $kind, text: $text) { totalCount edges { node { name } } }
    }"""
    for filters, found in [
        ({}, 4),
        ({"kind": "FACTORY"}, 2),
        ({"text": "knit"}, 1),
        ({"kind": "PUBLISHER", "text": "knit"}, 0),
        ({"text": "%"}, 0),
    ]:
        # Visibility is decided organization by organization: no total is offered.
        assert await _count(hub, query, filters, operator) == (None, found), filters


async def test_audit_entries_filter_by_action_actor_and_time(hub: InProcessService) -> None:
    for index in range(3):
        await hub_state(hub.app).audit.append(
            actor=SYSTEM, action=f"test.event.{index % 2}", resource=f"r{index}", outcome="ok"
        )
    settings = hub_state(hub.app).settings
    claims = access_token_claims(
        issuer=settings.issuer_url, audience=settings.audience, lifetime_s=300,
        subject="5f1c56f6-26a4-4d55-8a43-3a4a3f1f8a02", client_id="yf_console",
        scope="audit:read", org="0e7f6c1e-9a51-4c2c-8f0a-8ab1c2d3e4f5",
        org_kind="hub_operator", roles=["auditor"],
    )  # fmt: skip
    # An auditor as signed in through /oauth/authorize (tested on its own).
    auditor = bearer(hub_state(hub.app).keyring.sign(claims))
    query = """
    query($action: String, $actor: String, $since: DateTime, $until: DateTime) {
      auditLog(action: $action, actor: $actor, since: $since, until: $until) {
        totalCount edges { node { action actor } }
      }
    }"""
    everything = await hub.graphql(query, {}, headers=auditor)
    total = everything["auditLog"]["totalCount"]
    actor = everything["auditLog"]["edges"][0]["node"]["actor"]
    now = dt.datetime.now(dt.UTC)
    later, earlier = (now + dt.timedelta(minutes=5)).isoformat(), "2000-01-01T00:00:00+00:00"
    for filters, found in [
        ({"action": "test.event.0"}, 2),
        ({"action": "test.event.1", "actor": actor}, 1),
        ({"action": "test.event.0", "actor": "someone-else"}, 0),
        ({"since": later}, 0),
        ({"until": earlier}, 0),
        ({"since": earlier, "until": later}, total),
    ]:
        assert await _count(hub, query, filters, auditor) == (found, found), filters


async def test_regional_nodes_filter_by_status_as_shown(hub: InProcessService) -> None:
    for name, region in [("zj-textile", "CN-ZJ"), ("gd-mould", "CN-GD")]:
        token = await node_token(hub, name, region)
        response = await hub.client.put(
            f"/api/v1/nodes/{name}",
            json={"region": region, "industry": "textile", "base_url": f"http://{name}.test"},
            headers=bearer(token),
        )
        assert response.status_code == 200, response.text
    # gd-mould's heartbeats stopped an hour ago: still marked online, shown offline.
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        await session.execute(
            update(RegionalNode)
            .where(RegionalNode.name == "gd-mould")
            .values(last_heartbeat=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )
    query = """
    query($filter: RegionalNodeFilter) {
      regionalNodes(filter: $filter) { totalCount edges { node { name status } } }
    }"""
    for filters, names in [
        ({"status": "ONLINE"}, ["zj-textile"]),
        ({"status": "OFFLINE"}, ["gd-mould"]),
        ({"status": "OFFLINE", "region": "CN-ZJ"}, []),
        ({}, ["gd-mould", "zj-textile"]),
    ]:
        nodes = (await hub.graphql(query, {"filter": filters}))["regionalNodes"]
        assert [e["node"]["name"] for e in nodes["edges"]] == names, filters
        assert nodes["totalCount"] == len(names)
        assert all(e["node"]["status"] == filters.get("status", e["node"]["status"])
                   for e in nodes["edges"])  # fmt: skip
