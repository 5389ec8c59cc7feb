"""People's sign-ins at the hub, kept by the browser in a cookie (single sign-on).

After a password sign-in the browser holds a random session id (HttpOnly, SameSite=Lax, Secure
and `__Host-` outside development); the hub stores only its digest, with an absolute end
(`session_lifetime_s`) and an idle end (`session_idle_timeout_s`). A later authorization request
from any app in that browser then signs in without the password, with the same checks of client,
redirect URI, PKCE and scopes. Signing out, or disabling the person, ends the session and revokes
the refresh tokens issued through it.

These functions run in the OAuth worker thread (sync session); `revoke_user` also builds a
statement list for async callers.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Update, select, update
from sqlalchemy.orm import Session

from hub.identity.models import BrowserSession, RefreshToken
from hub.identity.secrets import code_digest
from hub.settings import HubSettings
from yunfab.db import utcnow


def cookie_name(settings: HubSettings) -> str:
    """`__Host-` (Secure, no Domain, Path=/) outside development: no sibling host can plant or
    overwrite it. Plain http in development cannot carry the prefix."""
    return "yf_session" if settings.development else "__Host-yf_session"


def csrf_cookie_name(settings: HubSettings) -> str:
    return "yf_csrf" if settings.development else "__Host-yf_csrf"


@dataclass(frozen=True)
class Started:
    row: BrowserSession
    cookie: str
    """The value the browser keeps; shown nowhere else."""


def start(session: Session, user_id: uuid.UUID, settings: HubSettings) -> Started:
    cookie = secrets.token_urlsafe(32)
    now = utcnow()
    row = BrowserSession(
        id_hash=code_digest(cookie),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(seconds=settings.session_lifetime_s),
    )
    session.add(row)
    session.flush()
    return Started(row=row, cookie=cookie)


def current(session: Session, cookie: str | None, settings: HubSettings) -> BrowserSession | None:
    """The live session the cookie names, its idle clock restarted; None when it ended, expired
    or sat idle too long."""
    if not cookie or len(cookie) > 100:
        return None
    row = session.scalar(
        select(BrowserSession).where(BrowserSession.id_hash == code_digest(cookie))
    )
    now = utcnow()
    if row is None or row.ended_at is not None or row.expires_at < now:
        return None
    if row.last_seen_at + dt.timedelta(seconds=settings.session_idle_timeout_s) < now:
        return None
    row.last_seen_at = now
    return row


def end(session: Session, row: BrowserSession) -> None:
    """Sign out: the session and every refresh token issued through it stop working."""
    now = utcnow()
    row.ended_at = now
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.session_id == row.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_user(user_id: uuid.UUID) -> list[Update]:
    """Statements ending all of a person's sessions and refresh tokens (a disabled person)."""
    now = utcnow()
    return [
        update(BrowserSession)
        .where(BrowserSession.user_id == user_id, BrowserSession.ended_at.is_(None))
        .values(ended_at=now),
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now),
    ]
