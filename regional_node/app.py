from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from regional_node.audit.service import AuditLog
from regional_node.domains import DOMAINS
from regional_node.graphql.context import get_context
from regional_node.graphql.schema import build_schema
from regional_node.settings import NodeSettings
from regional_node.state import NodeState, node_state
from yunfab.authorization import Authorizer
from yunfab.domains import body_limits, routers, running
from yunfab.graphql.ide import SignIn
from yunfab.migrations import TREES
from yunfab.policy import create_engine as create_policy_engine
from yunfab.service import Database, create_service_app
from yunfab.state import install_state
from yunfab.web_console import ConsoleConfig, WebConsole, default_console_dir

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
    policy = create_policy_engine(settings.policy_engine, settings.opa_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database.open(settings.db_url)
        audit = AuditLog(db.sessionmaker)
        authorizer = Authorizer(
            policy,
            context={
                "service": "node",
                "node_name": settings.name,
                "node_region": settings.region,
                "operator_org": settings.operator_org,
            },
            audit=audit.append,
        )
        state = NodeState(
            settings=settings,
            db=db,
            audit=audit,
            authorizer=authorizer,
            public_url=public_url,
            hub_auth=hub_auth,
            hub_transport=hub_transport,
        )
        install_state(app, state)
        try:
            async with running(DOMAINS, state, leases=lambda s: s.runtime.leases):
                log.info("node_started", public_url=public_url, hub=settings.hub_url)
                yield
        finally:
            await db.close()
            log.info("node_stopped")

    async def hub_link_check() -> dict[str, Any]:
        state = node_state(app)
        status = state.hub_link.status
        checks: dict[str, Any] = {
            "hub": {
                "state": status.state.value,
                "url": status.hub_url,
                "last_error": status.last_error,
            }
        }
        leases = state.runtime.leases
        if leases is not None:
            # The once-per-node tasks this replica runs now (the others run them elsewhere).
            checks["singleton_tasks"] = {"held": sorted(leases.held)}
        if state.mqtt is not None:
            checks["mqtt"] = {
                "connected": state.mqtt.status.connected,
                "last_error": state.mqtt.status.last_error,
                "messages": state.mqtt.status.messages,
            }
        return checks

    app = create_service_app(
        title=f"Yunfab node {settings.name}",
        description="A regional node: factories, devices, vision, scheduling.",
        settings=settings,
        tree=TREES["node"],
        lifespan=lifespan,
        schema=build_schema(settings),
        context_getter=get_context,
        readiness_extra=hub_link_check,
        routers=routers(DOMAINS),
        body_limits=body_limits(DOMAINS, settings),
        sign_in=SignIn(issuer=settings.issuer, public_url=public_url, resource=settings.audience),
    )
    WebConsole(
        settings.console_dir or default_console_dir(),
        ConsoleConfig(
            issuer=settings.issuer,
            public_url=public_url,
            resource=settings.audience,
            name=settings.name,
        ),
    ).install(app)
    return app
