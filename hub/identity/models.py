from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class ClientKind(enum.StrEnum):
    NODE = "node"
    """A regional node's own client: speaks for exactly one node."""
    PLATFORM = "platform"
    """Another platform consuming the hub's APIs."""
    GATEWAY = "gateway"
    """A factory gateway pushing device data."""
    APP = "app"
    """An interactive application for people (authorization code with PKCE)."""


class ApiClient(Base):
    __tablename__ = "api_clients"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[ClientKind] = mapped_column(str_enum(ClientKind))
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    """scrypt hash (`hub.identity.secrets`); None for a public client (an app using PKCE)."""
    scopes: Mapped[str] = mapped_column(Text, default="")
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str] | None] = mapped_column(JSON)
    """Where /oauth/logout may send the browser back to for this client (exact match)."""
    node_name: Mapped[str | None] = mapped_column(String(63))
    region: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    """argon2id (`hub.identity.passwords`); older scrypt hashes are replaced at sign-in."""
    roles: Mapped[str] = mapped_column(Text, default="")
    """Space-separated names from `hub.identity.roles.Role`."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(16))
    auth_time: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    """The browser session the person signed in with: its refresh tokens end with it."""


class KeyStatus(enum.StrEnum):
    ACTIVE = "active"
    """Signs new tokens."""
    PREVIOUS = "previous"
    """No longer signs, still verifies tokens it signed until they expire."""
    RETIRED = "retired"


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    private_pem: Mapped[str] = mapped_column(Text)
    """PKCS#8 PEM, encrypted with the hub's key passphrase outside development."""
    encrypted: Mapped[bool]
    status: Mapped[KeyStatus] = mapped_column(str_enum(KeyStatus, 16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RevokedToken(Base):
    """The `jti` deny-list. `seq` orders it so nodes fetch only what is new to them."""

    __tablename__ = "revoked_tokens"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BrowserSession(Base):
    """A person signed in at the hub in one browser: the cookie holds a random id, this row its
    digest, so a database leak yields no usable cookie."""

    __tablename__ = "browser_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    """Absolute end (session_lifetime_s after sign-in), whatever the activity."""
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RefreshToken(Base):
    """An opaque refresh token, stored as its digest. Each use rotates it: the row is marked
    used and a new one of the same family (one sign-in) is issued; a used one presented again
    means it leaked, and the whole family is revoked."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    scope: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(Text)
    """The resource the sign-in asked for; a refresh without `resource` gets a token for it."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    family_expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    """Absolute end of the family (refresh_token_lifetime_s after sign-in)."""
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    """Idle end of this token (refresh_token_idle_s after issue), never past the family's."""
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
