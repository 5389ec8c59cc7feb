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

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import append_entry
from hub.identity.keys import rotate_keys
from hub.identity.models import (
    ApiClient,
    BrowserSession,
    ClientKind,
    KeyStatus,
    RefreshToken,
    RevokedToken,
    SigningKey,
)
from hub.identity.secrets import hash_secret, new_secret
from hub.identity.service import get_user
from hub.identity.sessions import revoke_user
from yunfab.db import utcnow
from yunfab.errors import Conflict, InvalidInput, NotFound
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject

MAX_SEARCH = 100


class ClientNotFound(NotFound):
    code = "client_not_found"


class PublicClientHasNoSecret(Conflict):
    code = "public_client_has_no_secret"


@dataclass(frozen=True)
class ClientFilter:
    organization_id: uuid.UUID | None = None
    kind: ClientKind | None = None
    search: str | None = None
    """Part of the name or the client id, any case."""
    disabled: bool | None = None


def _client_conditions(filter: ClientFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filter.organization_id is not None:
        conditions.append(ApiClient.organization_id == filter.organization_id)
    if filter.kind is not None:
        conditions.append(ApiClient.kind == filter.kind)
    if filter.search:
        term = filter.search.strip().lower()
        if len(term) > MAX_SEARCH:
            raise InvalidInput(f"search is at most {MAX_SEARCH} characters")
        conditions.append(
            func.lower(ApiClient.name).contains(term, autoescape=True)
            | func.lower(ApiClient.client_id).contains(term, autoescape=True)
        )
    if filter.disabled is not None:
        conditions.append(
            ApiClient.disabled_at.is_not(None)
            if filter.disabled
            else ApiClient.disabled_at.is_(None)
        )
    return conditions


async def list_clients(
    session: AsyncSession, *, filter: ClientFilter, page: PageRequest
) -> Page[ApiClient]:
    """Clients by `client_id` (random, so in no meaningful order but a stable one)."""
    conditions = _client_conditions(filter)
    query = select(ApiClient).where(*conditions)
    if page.after is not None:
        query = query.where(ApiClient.client_id > page.after[0])
    rows = (await session.scalars(query.order_by(ApiClient.client_id).limit(page.limit + 1))).all()

    async def count() -> int:
        counting = select(func.count()).select_from(ApiClient).where(*conditions)
        return await session.scalar(counting) or 0

    return Page.from_rows(rows, page.limit, count)


async def get_client(session: AsyncSession, id: uuid.UUID) -> ApiClient:
    client = await session.get(ApiClient, id)
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
    query = select(SigningKey).order_by(SigningKey.created_at.desc()).limit(limit)
    return list((await session.scalars(query)).all())


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
    conditions: list[ColumnElement[bool]] = []
    if not include_expired:
        conditions.append(RevokedToken.expires_at > utcnow())
    query = select(RevokedToken).where(*conditions)
    if page.after is not None:
        query = query.where(RevokedToken.seq < int(page.after[0]))
    rows = (
        await session.scalars(query.order_by(RevokedToken.seq.desc()).limit(page.limit + 1))
    ).all()

    async def count() -> int:
        counting = select(func.count()).select_from(RevokedToken).where(*conditions)
        return await session.scalar(counting) or 0

    return Page.from_rows(rows, page.limit, count)


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
    live_sessions = await session.scalar(
        select(func.count())
        .select_from(BrowserSession)
        .where(
            BrowserSession.user_id == user.id,
            BrowserSession.ended_at.is_(None),
            BrowserSession.expires_at > now,
        )
    )
    live_tokens = await session.scalar(
        select(func.count())
        .select_from(RefreshToken)
        .where(
            RefreshToken.user_id == user.id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.used_at.is_(None),
            RefreshToken.expires_at > now,
        )
    )
    for statement in revoke_user(user.id):
        await session.execute(statement)
    ended = EndedSessions(sessions=live_sessions or 0, refresh_tokens=live_tokens or 0)
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
