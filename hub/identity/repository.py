"""The SQL of identity that runs on the async session: people, API clients, signing keys,
revoked tokens, and the sweep of expired codes, sessions and refresh tokens. The services
(service.py, admin.py, keys.py, sync.py) hold the rules and call these; the browser-session and
OAuth flows that run on a synchronous session (sessions.py, oauth.py) keep theirs."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ColumnElement, delete, func, select

from hub.identity.models import (
    ApiClient,
    AuthorizationCode,
    BrowserSession,
    ClientKind,
    KeyStatus,
    RefreshToken,
    RevokedToken,
    SigningKey,
    User,
)
from hub.identity.sessions import revoke_user
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.repository import Repository


class IdentityRepository(Repository):
    # --- people -----------------------------------------------------------------------------

    async def user(self, user_id: uuid.UUID) -> User | None:
        return await self.get(User, user_id)

    async def user_by_email(self, email: str) -> User | None:
        return await self.first(select(User).where(User.email == email))

    async def users_page(
        self,
        request: PageRequest,
        *,
        search: str | None = None,
        organization_id: uuid.UUID | None = None,
        role: str | None = None,
        disabled: bool | None = None,
    ) -> Page[User]:
        """By email. `search`: part of the email or the name (lower case); `role`: one of the
        person's roles."""
        query = select(User)
        if search is not None:
            query = query.where(
                func.lower(User.email).contains(search, autoescape=True)
                | func.lower(User.name).contains(search, autoescape=True)
            )
        if organization_id is not None:
            query = query.where(User.organization_id == organization_id)
        if role is not None:
            query = query.where((" " + User.roles + " ").like(f"% {role} %"))
        if disabled is not None:
            query = query.where(
                User.disabled_at.is_not(None) if disabled else User.disabled_at.is_(None)
            )
        counted = query
        if request.after is not None:
            query = query.where(User.email > request.after[0])
        rows = (
            await self.session.scalars(query.order_by(User.email).limit(request.limit + 1))
        ).all()

        async def count() -> int:
            total = await self.session.scalar(select(func.count()).select_from(counted.subquery()))
            return total or 0

        return Page.from_rows(rows, request.limit, count)

    async def end_sessions_of(self, user_id: uuid.UUID) -> None:
        """End the person's browser sessions and revoke their refresh tokens."""
        for statement in revoke_user(user_id):
            await self.session.execute(statement)

    async def live_sessions_of(self, user_id: uuid.UUID, now: dt.datetime) -> int:
        return (
            await self.session.scalar(
                select(func.count())
                .select_from(BrowserSession)
                .where(
                    BrowserSession.user_id == user_id,
                    BrowserSession.ended_at.is_(None),
                    BrowserSession.expires_at > now,
                )
            )
            or 0
        )

    async def live_refresh_tokens_of(self, user_id: uuid.UUID, now: dt.datetime) -> int:
        return (
            await self.session.scalar(
                select(func.count())
                .select_from(RefreshToken)
                .where(
                    RefreshToken.user_id == user_id,
                    RefreshToken.revoked_at.is_(None),
                    RefreshToken.used_at.is_(None),
                    RefreshToken.expires_at > now,
                )
            )
            or 0
        )

    # --- API clients ------------------------------------------------------------------------

    async def client(self, client_id: uuid.UUID) -> ApiClient | None:
        return await self.get(ApiClient, client_id)

    async def clients_page(
        self,
        request: PageRequest,
        *,
        organization_id: uuid.UUID | None = None,
        kind: ClientKind | None = None,
        search: str | None = None,
        disabled: bool | None = None,
    ) -> Page[ApiClient]:
        """By `client_id`. `search`: part of the name or the client id (lower case)."""
        conditions: list[ColumnElement[bool]] = []
        if organization_id is not None:
            conditions.append(ApiClient.organization_id == organization_id)
        if kind is not None:
            conditions.append(ApiClient.kind == kind)
        if search is not None:
            conditions.append(
                func.lower(ApiClient.name).contains(search, autoescape=True)
                | func.lower(ApiClient.client_id).contains(search, autoescape=True)
            )
        if disabled is not None:
            conditions.append(
                ApiClient.disabled_at.is_not(None) if disabled else ApiClient.disabled_at.is_(None)
            )
        query = select(ApiClient).where(*conditions)
        if request.after is not None:
            query = query.where(ApiClient.client_id > request.after[0])
        rows = (
            await self.session.scalars(query.order_by(ApiClient.client_id).limit(request.limit + 1))
        ).all()

        async def count() -> int:
            counting = select(func.count()).select_from(ApiClient).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, request.limit, count)

    # --- signing keys -----------------------------------------------------------------------

    async def signing_keys(self, limit: int) -> list[SigningKey]:
        """Newest first."""
        return await self.all(
            select(SigningKey).order_by(SigningKey.created_at.desc()).limit(limit)
        )

    async def live_signing_keys(self, *, for_update: bool = False) -> list[SigningKey]:
        """The keys not retired: newest first, or, locked, in no order."""
        query = select(SigningKey).where(SigningKey.status != KeyStatus.RETIRED)
        if for_update:
            return await self.all(query.with_for_update())
        return await self.all(query.order_by(SigningKey.created_at.desc()))

    # --- revoked tokens ---------------------------------------------------------------------

    async def revocations_after(
        self, seq: int, now: dt.datetime, *, limit: int | None = None
    ) -> list[RevokedToken]:
        """Revocations after `seq` that have not expired at `now`; with a limit, the oldest
        `limit` of them in order."""
        query = select(RevokedToken).where(RevokedToken.seq > seq, RevokedToken.expires_at > now)
        if limit is None:
            return await self.all(query)
        return await self.all(query.order_by(RevokedToken.seq).limit(limit))

    async def revocations_page(
        self, request: PageRequest, *, expired_after: dt.datetime | None
    ) -> Page[RevokedToken]:
        """Newest first; only those expiring after `expired_after` when given."""
        conditions: list[ColumnElement[bool]] = []
        if expired_after is not None:
            conditions.append(RevokedToken.expires_at > expired_after)
        query = select(RevokedToken).where(*conditions)
        if request.after is not None:
            query = query.where(RevokedToken.seq < int(request.after[0]))
        rows = (
            await self.session.scalars(
                query.order_by(RevokedToken.seq.desc()).limit(request.limit + 1)
            )
        ).all()

        async def count() -> int:
            counting = select(func.count()).select_from(RevokedToken).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, request.limit, count)

    # --- sweep ------------------------------------------------------------------------------

    async def delete_expired(self, now: dt.datetime) -> None:
        """Authorization codes, browser sessions and refresh-token families past their end."""
        await self.session.execute(
            delete(AuthorizationCode).where(AuthorizationCode.expires_at < now)
        )
        await self.session.execute(delete(BrowserSession).where(BrowserSession.expires_at < now))
        await self.session.execute(delete(RefreshToken).where(RefreshToken.family_expires_at < now))
