"""Identity: people, clients, signing keys and the OAuth server. At start-up the key ring and the
revocation list are loaded (a hub not migrated yet still serves, reports not ready, and loads
them in the refresh loop)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import structlog

from hub.identity import api, models
from hub.identity.admin_graphql import AdminMutation, AdminQuery
from hub.identity.graphql import IdentityMutation, IdentityQuery
from hub.identity.keys import KeyRing
from hub.identity.oauth import HubAuthorizationServer, OAuthStore
from hub.identity.sync import clear_expired, keep_current, load_revocations
from hub.state import HubDomain, HubState, HubTask
from yunfab.db import create_sync_engine
from yunfab.graphql.http import anonymous_limit
from yunfab.ratelimit import SharedFailureThrottle
from yunfab.revocations import RevocationSet
from yunfab.shared_state import Leases, open_states
from yunfab.tokens import LEEWAY_S, TokenValidator

log = structlog.get_logger(__name__)


@asynccontextmanager
async def start(state: HubState) -> AsyncIterator[None]:
    settings = state.settings
    sessions = state.db.sessionmaker
    # Failure counts and revoked ids shared by the hub's replicas (NATS KV with `nats_url`).
    state.shared_state = await open_states(
        settings.nats_url, scope=settings.nats_scope, replicas=settings.nats_replicas
    )
    if settings.nats_url is not None:
        # The once-per-hub tasks (`singleton`) run under leases in the same buckets.
        state.leases = Leases(
            await state.shared_state.bucket(
                "task_leases", ttl_s=settings.lease_ttl_s, max_keys=1000
            ),
            holder=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
        )
    state.throttle = SharedFailureThrottle(
        await state.shared_state.bucket("auth_failures", ttl_s=settings.auth_failure_window_s),
        limit=settings.auth_failure_limit,
        window_s=settings.auth_failure_window_s,
    )
    state.anonymous_requests = await anonymous_limit(settings, state.shared_state)
    # Introspection and revocation check client secrets on their own few threads: a flood
    # of bad secrets there queues here, not in front of token requests.
    state.oauth_checks = ThreadPoolExecutor(
        settings.auth_check_threads, thread_name_prefix="oauth-checks"
    )
    state.keyring = KeyRing(
        sessions, passphrase=settings.key_passphrase, retire_after=settings.key_retire_after
    )
    state.revocations = RevocationSet()
    if settings.nats_url is not None:
        # An id is kept while its token could still be presented: a lifetime and the leeway.
        await state.revocations.share(
            await state.shared_state.bucket(
                "revocations", ttl_s=settings.token_lifetime_s + 2 * LEEWAY_S
            )
        )
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
    sync_engine = create_sync_engine(settings.db_url)
    state.oauth_store = OAuthStore(sync_engine)
    state.oauth = HubAuthorizationServer(
        settings=settings, keyring=state.keyring, store=state.oauth_store
    )
    try:
        yield
    finally:
        state.oauth_checks.shutdown(wait=False, cancel_futures=True)
        sync_engine.dispose()
        await state.revocations.close()
        await state.shared_state.close()


def refresh(state: HubState) -> Coroutine[Any, Any, None]:
    return keep_current(
        state.db.sessionmaker,
        state.keyring,
        state.revocations,
        state.settings.key_refresh_interval_s,
    )


def expire(state: HubState) -> Coroutine[Any, Any, None]:
    return clear_expired(state.db.sessionmaker, state.settings.key_refresh_interval_s)


DOMAIN = HubDomain(
    name="identity",
    models=(models,),
    routers=(api.router,),
    queries=(IdentityQuery, AdminQuery),
    mutations=(IdentityMutation, AdminMutation),
    start=start,
    tasks=(
        HubTask("identity-refresh", refresh),  # every replica's own key ring and deny-list
        HubTask("identity-expiry", expire, singleton=True),
    ),
)
