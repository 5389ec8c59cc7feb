"""Organizations' people and API clients, token revocation feed, and the console's bootstrap.

People's changes (created, updated, password reset, disabled, enabled) are audited here, in the
transaction that makes them; who may make them is decided before (the console acts as `system`,
GraphQL asks the policy).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import append_entry
from hub.identity.errors import UserExists, UserNotFound
from hub.identity.models import ApiClient, ClientKind, RevokedToken, User
from hub.identity.oauth import SCOPES
from hub.identity.passwords import MAX_LENGTH, MIN_LENGTH, hash_password, one_time_password
from hub.identity.repository import IdentityRepository
from hub.identity.roles import parse_roles
from hub.identity.secrets import hash_secret, new_client_id, new_secret
from hub.organizations.errors import OrganizationNotFound
from hub.organizations.models import Organization
from hub.organizations.repository import OrganizationRepository
from yunfab.db import utcnow
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.settings import check_region, check_slug
from yunfab.subject import Subject


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
    """The organization's name."""
    email: str
    name: str
    password: str | None
    """None: a random one-time password is made and returned once (`CreatedUser`)."""
    roles: list[str]
    """Names from `hub.identity.roles.Role` (admin, auditor, operator, node_operator,
    factory_staff, buyer, data_consumer, publisher, reviewer)."""


@dataclass(frozen=True)
class CreatedUser:
    user: User
    one_time_password: str | None
    """Set when the hub made the password: shown once, only its hash is stored."""


def _roles(roles: list[str]) -> str:
    try:
        return " ".join(role.value for role in parse_roles(roles))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


def _check_password(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(f"passwords must have {MIN_LENGTH} to {MAX_LENGTH} characters")


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("a user's name must be 1 to 200 characters")
    return name


async def add_user(session: AsyncSession, subject: Subject, *, input: NewUser) -> CreatedUser:
    """Create a person who signs in at the hub; audited. Authorization is the caller's (the
    console acts as `system`, GraphQL asks the policy for hub.users.create)."""
    email = input.email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput("a user needs a valid email address")
    name = _check_name(input.name)
    roles = _roles(input.roles)
    password = input.password
    generated = None
    if password is None:
        password = generated = one_time_password()
    _check_password(password)
    if await IdentityRepository(session).user_by_email(email) is not None:
        raise UserExists(f"a user with email {email} already exists")
    organization = await _organization(session, input.organization)
    user = User(
        email=email,
        name=name,
        organization_id=organization.id,
        password_hash=hash_password(password),
        roles=roles,
    )
    session.add(user)
    await session.flush()
    await _audit(session, subject, "user.created", user, {"roles": roles.split()})
    return CreatedUser(user=user, one_time_password=generated)


async def create_user(session: AsyncSession, subject: Subject, *, input: NewUser) -> User:
    """`add_user` for callers that give the password (the demo, tests): the user alone."""
    return (await add_user(session, subject, input=input)).user


async def _audit(
    session: AsyncSession, subject: Subject, action: str, user: User, detail: dict[str, Any]
) -> None:
    await append_entry(
        session,
        actor=subject,
        action=action,
        resource=f"user:{user.id}",
        outcome="ok",
        detail={"email": user.email, **detail},
    )


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await IdentityRepository(session).user(user_id)
    if user is None:
        raise UserNotFound("no such user")
    return user


async def find_user(session: AsyncSession, email: str) -> User:
    user = await IdentityRepository(session).user_by_email(email.strip().lower())
    if user is None:
        raise UserNotFound(f"no user with email {email.strip().lower()}")
    return user


@dataclass(frozen=True)
class UserFilter:
    search: str | None = None
    """Part of the email or name, case-insensitive."""
    organization_id: uuid.UUID | None = None
    role: str | None = None
    disabled: bool | None = None


async def list_users(
    session: AsyncSession, subject: Subject, *, filter: UserFilter, page: PageRequest
) -> Page[User]:
    """People by email; a hub administrator's view (the caller is authorized)."""
    if filter.role is not None:
        _roles([filter.role])
    return await IdentityRepository(session).users_page(
        page,
        search=filter.search.strip().lower()[:100] if filter.search else None,
        organization_id=filter.organization_id,
        role=filter.role,
        disabled=filter.disabled,
    )


@dataclass(frozen=True)
class UserChanges:
    name: str | None = None
    roles: list[str] | None = None


async def update_user(
    session: AsyncSession, subject: Subject, *, user_id: uuid.UUID, input: UserChanges
) -> User:
    """Rename or change roles; new roles apply from the person's next token (refreshes are
    held to the roles of the moment)."""
    user = await get_user(session, user_id)
    changed: dict[str, Any] = {}
    if input.name is not None:
        user.name = _check_name(input.name)
        changed["name"] = user.name
    if input.roles is not None:
        before = user.roles.split()
        user.roles = _roles(input.roles)
        changed["roles"] = {"from": before, "to": user.roles.split()}
    await session.flush()
    await _audit(session, subject, "user.updated", user, changed)
    return user


async def reset_password(
    session: AsyncSession, subject: Subject, *, user_id: uuid.UUID, password: str | None = None
) -> CreatedUser:
    """A new password (given, or random and returned once); the person's sessions and refresh
    tokens end: whoever knew the old password is signed out."""
    user = await get_user(session, user_id)
    generated = None
    if password is None:
        password = generated = one_time_password()
    _check_password(password)
    user.password_hash = hash_password(password)
    await IdentityRepository(session).end_sessions_of(user.id)
    await session.flush()
    await _audit(session, subject, "user.password_reset", user, {})
    return CreatedUser(user=user, one_time_password=generated)


async def set_disabled(
    session: AsyncSession, subject: Subject, *, user_id: uuid.UUID, disabled: bool
) -> User:
    """Disable (sign-in refused, sessions and refresh tokens revoked) or enable a person.
    Access tokens already issued expire within token_lifetime_s."""
    user = await get_user(session, user_id)
    if disabled and user.disabled_at is None:
        user.disabled_at = utcnow()
        await IdentityRepository(session).end_sessions_of(user.id)
    elif not disabled:
        user.disabled_at = None
    await session.flush()
    await _audit(session, subject, "user.disabled" if disabled else "user.enabled", user, {})
    return user


async def revocations_after(
    session: AsyncSession, *, after: int, limit: int = 1000
) -> list[RevokedToken]:
    """Revocations a node has not seen yet, oldest first; expired ones no longer matter."""
    return await IdentityRepository(session).revocations_after(after, utcnow(), limit=limit)
