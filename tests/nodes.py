"""Helpers for node tests: an operator's token, an onboarded factory, provisioned devices."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support import (
    InProcessService,
    bearer,
    client_token,
    create_client,
    eventually,
    graphql,
)

NODE = "zj-textile"
REGION = "CN-ZJ"

INVITE = """
mutation($input: InviteFactoryInput!) { inviteFactory(input: $input) { id slug status } }
"""
PROFILE = """
mutation($id: UUID!, $input: FactoryProfileInput!) {
  saveFactoryProfile(factoryId: $id, input: $input) { id status equipment { type count } }
}
"""
MOVE = """
mutation($id: UUID!, $t: FactoryTransition!, $reason: String) {
  changeFactoryStatus(factoryId: $id, transition: $t, reason: $reason) { status statusReason }
}
"""
PROVISION = """
mutation($input: ProvisionDeviceInput!) {
  provisionDevice(input: $input) { username password device { id key status telemetryTopic } }
}
"""

COMPLETE_PROFILE: dict[str, Any] = {
    "location": {"address": "88 Keqiao Rd", "city": "Shaoxing", "region": "CN-ZJ"},
    "contact": {"name": "Chen Li", "phone": "+86 575 0000 0000"},
    "products": ["grey fabric"],
    "skills": ["jacquard"],
    "equipment": [
        {
            "type": "air-jet-loom",
            "model": "Toyota JAT810",
            "count": 48,
            "parameters": {"width_cm": 190},
        }
    ],
}

MOULDING_METRICS = [
    {"name": "clamp_force_kn", "unit": "kN", "minValue": 0, "maxValue": 2000},
    {"name": "mould_temp_c", "unit": "degC", "minValue": 0, "maxValue": 150},
]


async def operator_headers(hub: InProcessService, node_url: str) -> dict[str, str]:
    """A token of the node's own operator client, for this node."""
    client_id, secret = await create_client(
        hub,
        org=f"{NODE} operator",
        org_kind="node_operator",
        scopes=["nodes:register"],
        kind="node",
        node=NODE,
        region=REGION,
    )
    data = {"grant_type": "client_credentials", "scope": "nodes:register", "resource": node_url}

    async def node_known() -> bool:
        # The hub issues tokens for a node only once the node has registered (it does so
        # in the background as it starts).
        response = await hub.client.post("/oauth/token", data=data, auth=(client_id, secret or ""))
        return response.status_code == 200

    await eventually(node_known, timeout_s=20)
    return bearer(await client_token(hub, client_id, secret, "nodes:register", node_url))


async def factory_client(hub: InProcessService, org: str) -> tuple[str, str, str]:
    """A factory organization's client at the hub (factories:write): id, secret, org id."""
    client_id, secret = await create_client(
        hub, org=org, org_kind="factory", scopes=["factories:write"]
    )
    token = await client_token(hub, client_id, secret, "factories:write")
    org_id = (await hub.graphql("{ viewer { organizationId } }", headers=bearer(token)))["viewer"][
        "organizationId"
    ]
    return client_id, secret or "", str(org_id)


async def active_factory(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    slug: str | None = None,
    organization_id: str | None = None,
) -> dict[str, Any]:
    slug = slug or f"f-{uuid.uuid4().hex[:8]}"
    invited = (
        await graphql(
            client,
            INVITE,
            {"input": {"slug": slug, "name": f"Factory {slug}", "organizationId": organization_id}},
            headers=headers,
        )
    )["inviteFactory"]
    await graphql(
        client, PROFILE, {"id": invited["id"], "input": COMPLETE_PROFILE}, headers=headers
    )
    for transition in ("SUBMIT", "VERIFY", "ACTIVATE"):
        await graphql(client, MOVE, {"id": invited["id"], "t": transition}, headers=headers)
    return invited


async def provision(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    factory_id: str,
    key: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    key = key or f"d-{uuid.uuid4().hex[:10]}"
    fields = {
        "factoryId": factory_id,
        "key": key,
        "name": f"Machine {key}",
        "type": "injection_moulding",
        "metrics": MOULDING_METRICS,
        **extra,
    }
    result: dict[str, Any] = (await graphql(client, PROVISION, {"input": fields}, headers=headers))[
        "provisionDevice"
    ]
    return result


async def with_device(
    hub: InProcessService, node: InProcessService, node_url: str
) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    """The operator's headers, an active factory and one provisioned moulding machine."""
    operator = await operator_headers(hub, node_url)
    factory = await active_factory(node.client, operator)
    device = await provision(node.client, operator, factory["id"])
    return operator, factory, device
