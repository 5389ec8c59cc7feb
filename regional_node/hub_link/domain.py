"""The link to the hub: its keys (the node checks hub-issued tokens offline against them), the
node's registration and heartbeats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from regional_node.hub_link.auth import ClientCredentials, HubKeys
from regional_node.hub_link.client import HubClient, Registration
from regional_node.hub_link.graphql import NodeQuery, NodeSubscription
from regional_node.hub_link.link import Backoff, HubLink
from regional_node.state import NodeDomain, NodeState
from yunfab.revocations import RevocationSet
from yunfab.tokens import TokenValidator


def _auth(state: NodeState) -> httpx.Auth | None:
    settings = state.settings
    if state.hub_auth is None and settings.client_id and settings.client_secret:
        return ClientCredentials(
            f"{settings.hub_url.rstrip('/')}/oauth/token",
            settings.client_id,
            settings.client_secret.get_secret_value(),
            scope="nodes:register",
        )
    return state.hub_auth


@asynccontextmanager
async def start(state: NodeState) -> AsyncIterator[None]:
    settings = state.settings
    keys = HubKeys(
        f"{settings.hub_url.rstrip('/')}/.well-known/jwks.json", transport=state.hub_transport
    )
    state.hub_keys = keys
    revocations = RevocationSet()
    state.tokens = TokenValidator(
        keys=keys, revocations=revocations, issuer=settings.issuer, audience=settings.audience
    )
    link = HubLink(
        client=HubClient(
            settings.hub_url,
            timeout_s=settings.hub_timeout_s,
            auth=_auth(state),
            transport=state.hub_transport,
        ),
        registration=Registration(
            name=settings.name,
            region=settings.region,
            industry=settings.industry,
            base_url=state.public_url.rstrip("/"),
            flower_public_key=settings.flower_public_key_file.read_text().strip()
            if settings.flower_public_key_file
            else None,
        ),
        heartbeat_interval_s=settings.heartbeat_interval_s,
        backoff=Backoff(settings.hub_retry_initial_s, settings.hub_retry_max_s),
        sessionmaker=state.db.sessionmaker,
        revocations=revocations,
        keys=keys,
    )
    state.hub_link = link
    await keys.refresh()
    link.start()
    try:
        yield
    finally:
        await link.stop()
        await keys.close()


DOMAIN = NodeDomain(
    name="hub_link", queries=(NodeQuery,), subscriptions=(NodeSubscription,), start=start
)
