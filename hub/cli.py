"""The hub operator's console: bootstrap, organizations, clients, users, keys, the audit chain.

Each command acts as the `system` subject, asks the policy like any other caller, and writes
its action to the audit log. Secrets are printed once, in the JSON the command prints.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import append_entry, verify_chain
from hub.federated.cli import fl_app
from hub.federation import service as federation
from hub.federation.urls import node_url_rules
from hub.identity import service
from hub.identity.builtin import FIRST_PARTY, ensure_builtin_clients
from hub.identity.keys import rotate_keys
from hub.identity.models import ApiClient, ClientKind, User
from hub.organizations import service as organizations
from hub.organizations.models import OrganizationKind
from hub.settings import HubSettings
from yunfab.authorization import Authorizer
from yunfab.console import open_database, run_command, settings_or_exit
from yunfab.db import session_scope
from yunfab.graphql.pagination import PageRequest
from yunfab.policy import create_engine as create_policy_engine
from yunfab.subject import SYSTEM

T = TypeVar("T")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="The hub's data folder.")]
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", help="The hub's database.")]

org_app = typer.Typer(help="Organizations.", no_args_is_help=True)
client_app = typer.Typer(
    help="OAuth2 clients for platforms, nodes, gateways and apps.", no_args_is_help=True
)
user_app = typer.Typer(help="People who sign in.", no_args_is_help=True)
keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
node_app = typer.Typer(help="Regional nodes enrolled at this hub.", no_args_is_help=True)


def register(hub_app: typer.Typer) -> None:
    hub_app.add_typer(org_app, name="org")
    hub_app.add_typer(client_app, name="client")
    hub_app.add_typer(user_app, name="user")
    hub_app.add_typer(keys_app, name="keys")
    hub_app.add_typer(audit_app, name="audit")
    hub_app.add_typer(node_app, name="node")
    hub_app.add_typer(fl_app, name="fl")
    hub_app.command("bootstrap")(bootstrap)


def _print(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _authorizer(settings: HubSettings) -> Authorizer:
    return Authorizer(
        create_policy_engine(settings.policy_engine, settings.opa_url),
        context={"service": "hub", "env": settings.env.value},
    )


def _console(
    data_dir: Path | None,
    database_url: str | None,
    action: str,
    work: Callable[[AsyncSession, HubSettings], Awaitable[T]],
    *,
    resource: Callable[[T], str] = lambda _: "",
    audited_by_service: bool = False,
) -> T:
    settings = settings_or_exit(HubSettings, data_dir=data_dir, database_url=database_url)

    async def run() -> T:
        db = open_database(settings)
        authorizer = _authorizer(settings)
        try:
            await authorizer.check(SYSTEM, action)
            async with session_scope(db.sessionmaker) as session:
                result = await work(session, settings)
                if audited_by_service:  # the service wrote its own, more detailed entry
                    return result
                # In the same transaction: the action and its audit entry land together.
                await append_entry(
                    session,
                    actor=SYSTEM,
                    action=action.removeprefix("hub."),
                    resource=resource(result),
                    outcome="ok",
                )
            return result
        finally:
            await db.close()

    return run_command(run)


@node_app.command("move")
def node_move(
    name: Annotated[str, typer.Argument(help="The node's name.")],
    url: Annotated[str, typer.Argument(help="Its new base URL.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Move a node to a new URL. A node's URL is fixed when it first registers, and the node
    itself cannot change it; the new one is held to the same rules (unique, https outside
    development, no private address unless the hub allows them)."""

    async def work(session: AsyncSession, settings: HubSettings) -> Any:
        return await federation.change_node_url(
            session, SYSTEM, authorizer=_authorizer(settings), name=name, base_url=url,
            rules=node_url_rules(settings),
        )  # fmt: skip

    node = _console(data_dir, database_url, "hub.node.change_url", work, resource=lambda n: n.name)
    _print({"name": node.name, "base_url": node.base_url})


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Option(help="Organization name.")],
    kind: Annotated[OrganizationKind, typer.Option(help="What the organization is.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an organization (or confirm it exists with that kind)."""

    async def work(session: AsyncSession, settings: HubSettings) -> Any:
        return await organizations.ensure_organization(session, name=name, kind=kind)

    org = _console(
        data_dir, database_url, "hub.organizations.create", work, resource=lambda o: str(o.id)
    )
    _print({"id": str(org.id), "name": org.name, "kind": org.kind.value})


@client_app.command("create")
def client_create(
    org: Annotated[str, typer.Option(help="The organization that owns the client.")],
    name: Annotated[str, typer.Option(help="What the client is, for people.")],
    kind: Annotated[ClientKind, typer.Option(help="node, platform, gateway or app.")],
    scope: Annotated[list[str], typer.Option(help="A scope it may ask for (repeat).")] = [],  # noqa: B006
    node: Annotated[str | None, typer.Option(help="For a node client: the node's name.")] = None,
    region: Annotated[str | None, typer.Option(help="For a node client: its region.")] = None,
    redirect_uri: Annotated[
        list[str], typer.Option(help="For an app: a redirect URI (repeat).")
    ] = [],  # noqa: B006
    public: Annotated[
        bool, typer.Option(help="A public app client: no secret, PKCE only.")
    ] = False,
    create_org: Annotated[
        OrganizationKind | None,
        typer.Option(help="Create the organization with this kind if missing."),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an OAuth2 client and print its id and secret (the secret is shown only now)."""

    async def work(session: AsyncSession, settings: HubSettings) -> Any:
        if create_org is not None:
            await organizations.ensure_organization(session, name=org, kind=create_org)
        return await service.create_client(
            session,
            SYSTEM,
            input=service.NewClient(
                organization=org,
                name=name,
                kind=kind,
                scopes=list(scope),
                redirect_uris=list(redirect_uri),
                node_name=node,
                region=region,
                public=public,
            ),
        )

    created = _console(
        data_dir, database_url, "hub.clients.create", work, resource=lambda c: c.client.client_id
    )
    client = created.client
    _print(
        {
            "client_id": client.client_id,
            "client_secret": created.secret,
            "name": client.name,
            "kind": client.kind.value,
            "organization": org,
            "scopes": client.scopes.split(),
            "node": client.node_name,
            "region": client.region,
            "redirect_uris": client.redirect_uris,
        }
    )


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _given_password(password_stdin: bool) -> str | None:
    """The password on standard input, or None: the hub makes a one-time one, printed once."""
    return sys.stdin.readline().rstrip("\n") if password_stdin else None


PasswordStdin = Annotated[bool, typer.Option(help="Read the password from standard input.")]
NewPasswordStdin = Annotated[
    bool,
    typer.Option(
        help="Read the password from standard input; without it a one-time password is made "
        "and printed once."
    ),
]
Roles = Annotated[
    list[str],
    typer.Option(
        "--role",
        help="A role (repeat): admin, auditor, operator, node_operator, factory_staff, buyer, "
        "data_consumer, publisher, reviewer.",
    ),
]
Email = Annotated[str, typer.Argument(help="The person's email.")]


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "organization_id": str(user.organization_id),
        "roles": user.roles.split(),
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
    }


def _create_user(
    *,
    org: str,
    email: str,
    name: str,
    roles: list[str],
    password: str | None,
    data_dir: Path | None,
    database_url: str | None,
    org_kind: OrganizationKind | None = None,
) -> service.CreatedUser:
    async def work(session: AsyncSession, settings: HubSettings) -> service.CreatedUser:
        if org_kind is not None:
            organization = await organizations.ensure_organization(session, name=org, kind=org_kind)
            await ensure_builtin_clients(
                session, hub_url=settings.issuer_url, organization_id=organization.id
            )
        return await service.add_user(
            session,
            SYSTEM,
            input=service.NewUser(
                organization=org, email=email, name=name, password=password, roles=roles
            ),
        )

    return _console(
        data_dir,
        database_url,
        "hub.users.create",
        work,
        resource=lambda c: str(c.user.id),
        audited_by_service=True,
    )


@user_app.command("create")
def user_create(
    org: Annotated[str, typer.Option(help="The user's organization.")],
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Roles = [],  # noqa: B006
    password_stdin: NewPasswordStdin = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a person who signs in through the authorization endpoint."""
    created = _create_user(
        org=org,
        email=email,
        name=name,
        roles=list(role),
        password=_given_password(password_stdin),
        data_dir=data_dir,
        database_url=database_url,
    )
    _print(
        {
            **_user_json(created.user),
            "organization": org,
            "one_time_password": created.one_time_password,
        }
    )


@user_app.command("list")
def user_list(
    search: Annotated[str | None, typer.Option(help="Part of the email or name.")] = None,
    role: Annotated[str | None, typer.Option(help="Only people with this role.")] = None,
    disabled: Annotated[
        bool | None, typer.Option("--disabled/--enabled", help="Only disabled / enabled people.")
    ] = None,
    first: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """People, by email."""

    async def work(session: AsyncSession, settings: HubSettings) -> list[User]:
        page = await service.list_users(
            session,
            SYSTEM,
            filter=service.UserFilter(search=search, role=role, disabled=disabled),
            page=PageRequest(limit=first, after=None),
        )
        return page.rows

    users = _console(data_dir, database_url, "hub.users.read", work, audited_by_service=True)
    _print({"users": [_user_json(user) for user in users]})


def _change_user(
    email: str,
    data_dir: Path | None,
    database_url: str | None,
    change: Callable[[AsyncSession, User], Awaitable[T]],
) -> T:
    async def work(session: AsyncSession, settings: HubSettings) -> T:
        return await change(session, await service.find_user(session, email))

    return _console(data_dir, database_url, "hub.users.update", work, audited_by_service=True)


@user_app.command("update")
def user_update(
    email: Email,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option("--role", help="The person's roles from now on (repeat; replaces all)."),
    ] = None,
    no_roles: Annotated[bool, typer.Option(help="Take every role away.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Rename a person or set their roles."""
    roles = [] if no_roles else (list(role) if role else None)

    async def change(session: AsyncSession, user: User) -> User:
        return await service.update_user(
            session, SYSTEM, user_id=user.id, input=service.UserChanges(name=name, roles=roles)
        )

    _print(_user_json(_change_user(email, data_dir, database_url, change)))


def _set_disabled(email: str, disabled: bool, data_dir: Path | None, db: str | None) -> None:
    async def change(session: AsyncSession, user: User) -> User:
        return await service.set_disabled(session, SYSTEM, user_id=user.id, disabled=disabled)

    _print(_user_json(_change_user(email, data_dir, db, change)))


@user_app.command("disable")
def user_disable(email: Email, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Refuse the person's sign-ins; their sessions and refresh tokens are revoked."""
    _set_disabled(email, True, data_dir, database_url)


@user_app.command("enable")
def user_enable(email: Email, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Let a disabled person sign in again."""
    _set_disabled(email, False, data_dir, database_url)


@user_app.command("reset-password")
def user_reset_password(
    email: Email,
    password_stdin: NewPasswordStdin = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Give the person a new password (their sessions and refresh tokens end)."""
    password = _given_password(password_stdin)

    async def change(session: AsyncSession, user: User) -> service.CreatedUser:
        return await service.reset_password(session, SYSTEM, user_id=user.id, password=password)

    reset = _change_user(email, data_dir, database_url, change)
    _print({**_user_json(reset.user), "one_time_password": reset.one_time_password})


@client_app.command("builtin")
def client_builtin(
    org: Annotated[str, typer.Option(help="The hub operator organization.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create the hub's own apps (yunfab-console, yunfab-graphiql, yunfab-cli) or bring their
    redirect URIs up to date with the hub's public URL and every enrolled node's."""

    async def work(session: AsyncSession, settings: HubSettings) -> list[ApiClient]:
        organization = await organizations.ensure_organization(
            session, name=org, kind=OrganizationKind.HUB_OPERATOR
        )
        return await ensure_builtin_clients(
            session, hub_url=settings.issuer_url, organization_id=organization.id
        )

    clients = _console(
        data_dir,
        database_url,
        "hub.clients.create",
        work,
        resource=lambda rows: " ".join(c.client_id for c in rows),
    )
    _print({"clients": [_client_json(c) for c in clients]})


def _client_json(client: ApiClient) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
    }


def bootstrap(
    org: Annotated[str, typer.Option(help="The hub operator organization.")],
    email: Annotated[str, typer.Option(help="The first operator's email.")],
    name: Annotated[str, typer.Option(help="The first operator's name.")],
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create the hub operator organization, its first admin (who is also an auditor) and the
    hub's own apps for people (console, GraphiQL, command line)."""
    created = _create_user(
        org=org,
        email=email,
        name=name,
        roles=["admin", "auditor"],
        password=_password(password_stdin),
        data_dir=data_dir,
        database_url=database_url,
        org_kind=OrganizationKind.HUB_OPERATOR,
    )
    user = created.user
    _print(
        {
            "organization": org,
            "user": {"id": str(user.id), "email": user.email, "roles": user.roles.split()},
            "clients": sorted(FIRST_PARTY),
        }
    )


@keys_app.command("rotate")
def keys_rotate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Start signing with a new key; the old one keeps verifying until its tokens expire."""

    async def work(session: AsyncSession, settings: HubSettings) -> Any:
        return await rotate_keys(
            session,
            passphrase=settings.key_passphrase,
            retire_after=settings.key_retire_after,
        )

    key = _console(data_dir, database_url, "hub.keys.rotate", work, resource=lambda k: k.kid)
    _print(
        {"kid": key.kid, "note": "running hubs pick it up within YUNFAB_HUB_KEY_REFRESH_INTERVAL_S"}
    )


@audit_app.command("verify")
def audit_verify(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Check the whole chain; exit 1 naming the first bad entry if any was edited or removed."""
    settings = settings_or_exit(HubSettings, data_dir=data_dir, database_url=database_url)

    async def run() -> Any:
        db = open_database(settings)
        try:
            async with session_scope(db.sessionmaker) as session:
                return await verify_chain(session)
        finally:
            await db.close()

    result = asyncio.run(run())
    _print(
        {"ok": result.ok, "checked": result.checked, "problem": result.problem, "seq": result.seq}
    )
    if not result.ok:
        raise typer.Exit(1)
