"""What the hub's console administers besides people: API clients (listed, disabled, enabled,
their secret rotated), the token signing keys, the revocation list, and a person's sessions.

Who may is decided before (GraphQL asks the policy); every change is audited here, in the
transaction that makes it. A new client secret appears once, in the answer of the change.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import append_entry
from hub.identity.errors import ClientNotFound, PublicClientHasNoSecret
from hub.identity.keys import rotate_keys
from hub.identity.models import (
    ApiClient,
    ClientKind,
    KeyStatus,
    RevokedToken,
    SigningKey,
)
from hub.identity.repository import IdentityRepository
from hub.identity.secrets import hash_secret, new_secret
from hub.identity.service import get_user
from yunfab.db import utcnow
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject

MAX_SEARCH = 100


@dataclass(frozen=True)
class ClientFilter:
    organization_id: uuid.UUID | None = None
    kind: ClientKind | None = None
    search: str | None = None
    """Part of the name or the client id, any case."""
    disabled: bool | None = None


def _search_term(filter: ClientFilter) -> str | None:
    if not filter.search:
        return None
    term = filter.search.strip().lower()
    if len(term) > MAX_SEARCH:
        raise InvalidInput(f"search is at most {MAX_SEARCH} characters")
    return term


async def list_clients(
    session: AsyncSession, *, filter: ClientFilter, page: PageRequest
) -> Page[ApiClient]:
    """Clients by `client_id` (random, so in no meaningful order but a stable one)."""
    return await IdentityRepository(session).clients_page(
        page,
        organization_id=filter.organization_id,
        kind=filter.kind,
        search=_search_term(filter),
        disabled=filter.disabled,
    )


async def get_client(session: AsyncSession, id: uuid.UUID) -> ApiClient:
    client = await IdentityRepository(session).client(id)
    if client is None:
        raise ClientNotFound("no such client")
    return client


async def _audit_client(
    session: AsyncSession, subject: Subject, action: str, client: ApiClient, **detail: Any
) -> None:
    await append_entry(
        session,
        actor=subject,
        action=action,
        resource=f"client:{client.client_id}",
        outcome="ok",
        detail={"name": client.name, **detail},
    )


async def audit_client_created(session: AsyncSession, subject: Subject, client: ApiClient) -> None:
    await _audit_client(
        session, subject, "client.created", client,
        kind=client.kind.value, scopes=client.scopes.split(), public=client.secret_hash is None,
    )  # fmt: skip


async def set_client_disabled(
    session: AsyncSession, subject: Subject, *, id: uuid.UUID, disabled: bool
) -> ApiClient:
    """A disabled client gets no token and its refresh tokens stop working; access tokens it
    holds expire within the token lifetime."""
    client = await get_client(session, id)
    if disabled and client.disabled_at is None:
        client.disabled_at = utcnow()
    elif not disabled:
        client.disabled_at = None
    await session.flush()
    await _audit_client(
        session, subject, "client.disabled" if disabled else "client.enabled", client
    )
    return client


@dataclass(frozen=True)
class RotatedSecret:
    client: ApiClient
    secret: str
    """Shown once; only its hash is stored."""


async def rotate_client_secret(
    session: AsyncSession, subject: Subject, *, id: uuid.UUID
) -> RotatedSecret:
    """A new secret replaces the old one at once: whoever held the old one can no longer get
    tokens. A public client (PKCE only) has none to rotate."""
    client = await get_client(session, id)
    if client.secret_hash is None:
        raise PublicClientHasNoSecret("a public client has no secret")
    secret = new_secret()
    client.secret_hash = hash_secret(secret)
    await session.flush()
    await _audit_client(session, subject, "client.secret_rotated", client)
    return RotatedSecret(client=client, secret=secret)


async def list_signing_keys(session: AsyncSession, *, limit: int = 100) -> list[SigningKey]:
    """Newest first; the live ones (active, previous) and the most recent retired ones."""
    return await IdentityRepository(session).signing_keys(limit)


async def rotate_signing_key(
    session: AsyncSession, subject: Subject, *, passphrase: str | None, retire_after: dt.timedelta
) -> SigningKey:
    """As `POST /api/v1/admin/keys/rotate` does: a new active key, audited."""
    key = await rotate_keys(session, passphrase=passphrase, retire_after=retire_after)
    await append_entry(
        session, actor=subject, action="keys.rotated", resource=key.kid, outcome="ok"
    )
    return key


def key_is_live(key: SigningKey) -> bool:
    return key.status is not KeyStatus.RETIRED


async def list_revocations(
    session: AsyncSession, *, page: PageRequest, include_expired: bool = False
) -> Page[RevokedToken]:
    """Revoked token ids, newest first; expired ones (which no longer matter) only if asked."""
    return await IdentityRepository(session).revocations_page(
        page, expired_after=None if include_expired else utcnow()
    )


@dataclass(frozen=True)
class EndedSessions:
    sessions: int
    refresh_tokens: int


async def revoke_user_sessions(
    session: AsyncSession, subject: Subject, *, user_id: uuid.UUID
) -> EndedSessions:
    """Sign a person out everywhere: their browser sessions end and their refresh tokens are
    revoked (access tokens already issued expire within the token lifetime)."""
    user = await get_user(session, user_id)
    now = utcnow()
    repository = IdentityRepository(session)
    live_sessions = await repository.live_sessions_of(user.id, now)
    live_tokens = await repository.live_refresh_tokens_of(user.id, now)
    await repository.end_sessions_of(user.id)
    ended = EndedSessions(sessions=live_sessions, refresh_tokens=live_tokens)
    await append_entry(
        session,
        actor=subject,
        action="user.sessions_revoked",
        resource=f"user:{user.id}",
        outcome="ok",
        detail={
            "email": user.email,
            "sessions": ended.sessions,
            "refreshTokens": ended.refresh_tokens,
        },
    )
    return ended
