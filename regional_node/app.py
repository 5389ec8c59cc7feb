from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from regional_node.graphql.context import get_context
from regional_node.graphql.schema import build_schema
from regional_node.hub_link.auth import ClientCredentials, HubKeys
from regional_node.hub_link.client import HubClient, Registration
from regional_node.hub_link.link import Backoff, HubLink
from regional_node.identity.service import ensure_identity
from regional_node.settings import NodeSettings
from yunfab.authorization import Authorizer
from yunfab.db import session_scope
from yunfab.migrations import TREES
from yunfab.policy import create_engine as create_policy_engine
from yunfab.revocations import RevocationSet
from yunfab.service import Database, create_service_app
from yunfab.tokens import TokenValidator

log = structlog.get_logger(__name__)


def create_app(
    settings: NodeSettings,
    *,
    hub_auth: httpx.Auth | None = None,
    hub_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The node app. `hub_auth` signs calls to the hub; `hub_transport` reaches an in-process hub
    (tests) instead of the network."""
    public_url = settings.public_url or f"http://{settings.host}:{settings.port}"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database.open(settings.db_url)
        app.state.db = db
        async with session_scope(db.sessionmaker) as session:
            await ensure_identity(
                session, name=settings.name, region=settings.region, industry=settings.industry
            )
        keys = HubKeys(
            f"{settings.hub_url.rstrip('/')}/.well-known/jwks.json", transport=hub_transport
        )
        app.state.hub_keys = keys
        revocations = RevocationSet()
        app.state.tokens = TokenValidator(
            keys=keys,
            revocations=revocations,
            issuer=settings.issuer,
            audience=settings.audience,
        )
        auth = hub_auth
        if auth is None and settings.client_id and settings.client_secret:
            auth = ClientCredentials(
                f"{settings.hub_url.rstrip('/')}/oauth/token",
                settings.client_id,
                settings.client_secret.get_secret_value(),
                scope="nodes:register",
            )
        link = HubLink(
            client=HubClient(
                settings.hub_url,
                timeout_s=settings.hub_timeout_s,
                auth=auth,
                transport=hub_transport,
            ),
            registration=Registration(
                name=settings.name,
                region=settings.region,
                industry=settings.industry,
                base_url=public_url.rstrip("/"),
            ),
            heartbeat_interval_s=settings.heartbeat_interval_s,
            backoff=Backoff(settings.hub_retry_initial_s, settings.hub_retry_max_s),
            sessionmaker=db.sessionmaker,
            revocations=revocations,
            keys=keys,
        )
        app.state.hub_link = link
        await keys.refresh()
        link.start()
        log.info("node_started", public_url=public_url, hub=settings.hub_url)
        try:
            yield
        finally:
            await link.stop()
            await keys.close()
            await db.close()
            log.info("node_stopped")

    async def hub_link_check() -> dict[str, Any]:
        status = app.state.hub_link.status
        return {
            "hub": {
                "state": status.state.value,
                "url": status.hub_url,
                "last_error": status.last_error,
            }
        }

    policy = create_policy_engine(settings.policy_engine, settings.opa_url)

    async def audit_line(**entry: Any) -> None:
        # Nodes keep no audit chain of their own yet; cross-organization decisions are logged.
        log.info("cross_org_access", **{k: str(v) for k, v in entry.items()})

    app = create_service_app(
        title=f"Yunfab node {settings.name}",
        description="A regional node: factories, devices, vision, scheduling.",
        settings=settings,
        tree=TREES["node"],
        lifespan=lifespan,
        schema=build_schema(settings),
        context_getter=get_context,
        readiness_extra=hub_link_check,
    )
    app.state.settings = settings
    app.state.authorizer = Authorizer(
        policy,
        context={"service": "node", "node_name": settings.name, "node_region": settings.region},
        audit=audit_line,
    )
    return app
