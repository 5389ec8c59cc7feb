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
    """scrypt hash; None for a public client (an app using PKCE)."""
    scopes: Mapped[str] = mapped_column(Text, default="")
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
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
    roles: Mapped[str] = mapped_column(Text, default="")
    """Space-separated: admin, auditor, operator, publisher..."""
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
