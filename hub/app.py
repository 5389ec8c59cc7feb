from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI

from hub.audit.service import AuditLog
from hub.domains import DOMAINS
from hub.graphql.context import get_context
from hub.graphql.schema import build_schema
from hub.runtime import connect_events, connect_jobs
from hub.settings import HubSettings
from hub.state import HubState, hub_state
from yunfab.authorization import Authorizer
from yunfab.domains import body_limits, routers, running
from yunfab.graphql.ide import SignIn
from yunfab.migrations import TREES
from yunfab.policy import create_engine as create_policy_engine
from yunfab.service import Database, create_service_app
from yunfab.state import install_state
from yunfab.web_console import ConsoleConfig, WebConsole, default_console_dir

log = structlog.get_logger(__name__)


def create_app(settings: HubSettings) -> FastAPI:
    policy = create_policy_engine(settings.policy_engine, settings.opa_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database.open(settings.db_url)
        audit = AuditLog(db.sessionmaker)
        authorizer = Authorizer(
            policy, context={"service": "hub", "env": settings.env.value}, audit=audit.append
        )
        try:
            events = await connect_events(settings)
        except BaseException:
            await db.close()
            raise
        try:
            jobs = await connect_jobs(settings)
        except BaseException:
            await events.close()
            await db.close()
            raise
        state = HubState(
            settings=settings, db=db, audit=audit, authorizer=authorizer,
            node_events=events.nodes, run_events=events.runs, event_bus=events.bus, jobs=jobs,
            job_events=events.jobs,
        )  # fmt: skip
        install_state(app, state)
        try:
            async with running(DOMAINS, state, leases=lambda s: s.leases):
                log.info(
                    "hub_started",
                    issuer=settings.issuer_url,
                    policy=settings.policy_engine,
                    events="nats" if events.bus is not None else "in-process",
                )
                yield
        finally:
            await jobs.close()
            await events.close()
            await db.close()
            log.info("hub_stopped")

    async def singleton_tasks() -> dict[str, Any]:
        leases = hub_state(app).leases
        if leases is None:
            return {}
        # The once-per-hub tasks this replica runs now (the others run them elsewhere).
        return {"singleton_tasks": {"held": sorted(leases.held)}}

    app = create_service_app(
        title="Yunfab hub",
        description="The 1 of 1+N: node federation, data exchange and the knowledge market.",
        settings=settings,
        tree=TREES["hub"],
        lifespan=lifespan,
        schema=build_schema(settings),
        context_getter=get_context,
        readiness_extra=singleton_tasks,
        routers=routers(DOMAINS),
        body_limits=body_limits(DOMAINS, settings),
        sign_in=SignIn(issuer=settings.issuer_url, public_url=settings.issuer_url),
        # GraphiQL on a node signs in here from the node's origin.
        public_cors=(
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
            "/.well-known/jwks.json",
            "/oauth/token",
            "/oauth/revoke",
        ),
    )
    WebConsole(
        settings.console_dir or default_console_dir(),
        ConsoleConfig(
            issuer=settings.issuer_url,
            public_url=settings.issuer_url,
            resource=settings.audience,
            name=settings.console_title,
            service="hub",
        ),
    ).install(app)
    return app
