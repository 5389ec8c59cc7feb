from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from typing import Any

import structlog
from fastapi import FastAPI

from hub.audit.service import AuditLog
from hub.data_exchange import api as data_exchange_api
from hub.data_exchange.live import NodeRows
from hub.federated.runner import FlowerRunner
from hub.federation import api as federation_api
from hub.federation import service as federation
from hub.federation.events import NodeEvents
from hub.graphql.context import get_context
from hub.graphql.schema import build_schema
from hub.identity import api as identity_api
from hub.identity.keys import KeyRing
from hub.identity.oauth import HubAuthorizationServer, OAuthStore
from hub.identity.sync import keep_current, load_revocations
from hub.knowledge_market import api as market_api
from hub.settings import HubSettings
from yunfab.authorization import Authorizer
from yunfab.db import create_sync_engine, session_scope
from yunfab.graphql.ide import SignIn
from yunfab.migrations import TREES
from yunfab.policy import create_engine as create_policy_engine
from yunfab.ratelimit import FailureThrottle
from yunfab.revocations import RevocationSet
from yunfab.service import Database, create_service_app
from yunfab.tokens import TokenValidator
from yunfab.web_console import ConsoleConfig, WebConsole, default_console_dir

log = structlog.get_logger(__name__)


async def _sweep_offline_nodes(app: FastAPI, settings: HubSettings) -> None:
    offline_after = dt.timedelta(seconds=settings.node_offline_after_s)
    while True:
        await asyncio.sleep(settings.offline_sweep_interval_s)
        try:
            async with session_scope(app.state.db.sessionmaker) as session:
                changed = await federation.sweep_offline(
                    session, offline_after=offline_after, events=app.state.node_events
                )
            for node in changed:
                log.warning("node_offline", node=node.name, last_heartbeat=str(node.last_heartbeat))
        except Exception:  # the sweeper outlives a database hiccup; readiness reports it
            log.exception("offline_sweep_failed")


def create_app(settings: HubSettings) -> FastAPI:
    policy = create_policy_engine(settings.policy_engine, settings.opa_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app.state
        state.db = Database.open(settings.db_url)
        sessions = state.db.sessionmaker
        state.node_events = NodeEvents()
        state.throttle = FailureThrottle(
            limit=settings.auth_failure_limit, window_s=settings.auth_failure_window_s
        )
        # Introspection and revocation check client secrets on their own few threads: a flood
        # of bad secrets there queues here, not in front of token requests.
        state.oauth_checks = ThreadPoolExecutor(
            settings.auth_check_threads, thread_name_prefix="oauth-checks"
        )
        state.audit = AuditLog(sessions)
        state.keyring = KeyRing(
            sessions,
            passphrase=settings.key_passphrase,
            retire_after=settings.key_retire_after,
        )
        state.revocations = RevocationSet()
        try:
            await state.keyring.load()
            await load_revocations(sessions, state.revocations)
        except Exception:  # e.g. not migrated yet: serve, report not ready, retry in the loop
            log.exception("identity_not_loaded")
        state.tokens = TokenValidator(
            keys=state.keyring,
            revocations=state.revocations,
            issuer=settings.issuer_url,
            audience=settings.audience,
        )
        state.authorizer = Authorizer(
            policy, context={"service": "hub", "env": settings.env.value}, audit=state.audit.append
        )
        sync_engine = create_sync_engine(settings.db_url)
        state.oauth_store = OAuthStore(sync_engine)
        state.oauth = HubAuthorizationServer(
            settings=settings, keyring=state.keyring, store=state.oauth_store
        )
        state.data_live = NodeRows(settings=settings, keyring=state.keyring, sessionmaker=sessions)
        state.federated_runner = FlowerRunner(settings, sessions)
        try:
            await state.federated_runner.resume()
        except Exception:  # e.g. not migrated yet: runs are picked up at the next start
            log.exception("federated_resume_failed")
        tasks: list[asyncio.Task[Any]] = [
            asyncio.create_task(_sweep_offline_nodes(app, settings), name="offline-sweeper"),
            asyncio.create_task(
                keep_current(
                    sessions, state.keyring, state.revocations, settings.key_refresh_interval_s
                ),
                name="identity-refresh",
            ),
        ]
        log.info("hub_started", issuer=settings.issuer_url, policy=settings.policy_engine)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            await state.federated_runner.close()
            state.oauth_checks.shutdown(wait=False, cancel_futures=True)
            sync_engine.dispose()
            await state.db.close()
            log.info("hub_stopped")

    app = create_service_app(
        title="Yunfab hub",
        description="The 1 of 1+N: node federation, data exchange and the knowledge market.",
        settings=settings,
        tree=TREES["hub"],
        lifespan=lifespan,
        schema=build_schema(settings),
        context_getter=get_context,
        routers=[
            federation_api.router,
            identity_api.router,
            data_exchange_api.router,
            market_api.router,
        ],
        body_limits=market_api.body_limits(settings),
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
    app.state.settings = settings
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
