"""Organizations' people and API clients, token revocation feed, and the console's bootstrap."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity.models import ApiClient, ClientKind, RevokedToken, User
from hub.identity.oauth import SCOPES
from hub.identity.secrets import hash_secret, new_client_id, new_secret
from hub.organizations.models import Organization
from hub.organizations.repository import OrganizationRepository
from yunfab.db import utcnow
from yunfab.errors import Conflict, InvalidInput, NotFound
from yunfab.settings import check_region, check_slug
from yunfab.subject import Subject


class OrganizationNotFound(NotFound):
    code = "organization_not_found"


class UserExists(Conflict):
    code = "user_exists"


@dataclass(frozen=True)
class NewClient:
    organization: str
    name: str
    kind: ClientKind
    scopes: list[str]
    redirect_uris: list[str]
    node_name: str | None = None
    region: str | None = None
    public: bool = False
    """A public client (an app in a browser) has no secret and must use PKCE."""


@dataclass(frozen=True)
class CreatedClient:
    client: ApiClient
    secret: str | None
    """Shown once; only its hash is stored."""


async def _organization(session: AsyncSession, name: str) -> Organization:
    organization = await OrganizationRepository(session).get_by_name(name)
    if organization is None:
        raise OrganizationNotFound(f"no organization named {name!r}")
    return organization


async def create_client(
    session: AsyncSession, subject: Subject, *, input: NewClient
) -> CreatedClient:
    unknown = sorted(set(input.scopes) - set(SCOPES))
    if unknown:
        raise InvalidInput(
            f"unknown scopes: {', '.join(unknown)}; known: {', '.join(sorted(SCOPES))}"
        )
    if input.kind is ClientKind.NODE:
        if not input.node_name or not input.region:
            raise InvalidInput("a node client needs the node's name and region")
        check_slug(input.node_name)
        check_region(input.region)
    if input.kind is ClientKind.APP and not input.redirect_uris:
        raise InvalidInput("an app client needs at least one redirect URI")
    for uri in input.redirect_uris:
        parts = urlsplit(uri)
        loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not (parts.scheme == "https" and parts.hostname) and not loopback:
            raise InvalidInput(f"redirect URI {uri!r} must be https (or http on loopback)")
        if parts.fragment:
            raise InvalidInput(f"redirect URI {uri!r} must not have a fragment")
    organization = await _organization(session, input.organization)
    secret = None if input.public else new_secret()
    client = ApiClient(
        client_id=new_client_id(),
        name=input.name,
        organization_id=organization.id,
        kind=input.kind,
        secret_hash=hash_secret(secret) if secret else None,
        scopes=" ".join(sorted(set(input.scopes))),
        redirect_uris=list(input.redirect_uris),
        node_name=input.node_name,
        region=input.region,
    )
    session.add(client)
    await session.flush()
    return CreatedClient(client=client, secret=secret)


@dataclass(frozen=True)
class NewUser:
    organization: str
    email: str
    name: str
    password: str
    roles: list[str]


async def create_user(session: AsyncSession, subject: Subject, *, input: NewUser) -> User:
    email = input.email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput("a user needs a valid email address")
    if len(input.password) < 12:
        raise InvalidInput("passwords must have at least 12 characters")
    if (await session.execute(select(User).where(User.email == email))).first():
        raise UserExists(f"a user with email {email} already exists")
    organization = await _organization(session, input.organization)
    user = User(
        email=email,
        name=input.name,
        organization_id=organization.id,
        password_hash=hash_secret(input.password),
        roles=" ".join(sorted(set(input.roles))),
    )
    session.add(user)
    await session.flush()
    return user


async def revocations_after(
    session: AsyncSession, *, after: int, limit: int = 1000
) -> list[RevokedToken]:
    """Revocations a node has not seen yet, oldest first; expired ones no longer matter."""
    query = (
        select(RevokedToken)
        .where(RevokedToken.seq > after, RevokedToken.expires_at > utcnow())
        .order_by(RevokedToken.seq)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())
