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
from hub.identity.keys import rotate_keys
from hub.identity.models import ClientKind
from hub.organizations import service as organizations
from hub.organizations.models import OrganizationKind
from hub.settings import HubSettings
from yunfab.authorization import Authorizer
from yunfab.console import open_database, run_command, settings_or_exit
from yunfab.db import session_scope
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
) -> T:
    settings = settings_or_exit(HubSettings, data_dir=data_dir, database_url=database_url)

    async def run() -> T:
        db = open_database(settings)
        authorizer = _authorizer(settings)
        try:
            await authorizer.check(SYSTEM, action)
            async with session_scope(db.sessionmaker) as session:
                result = await work(session, settings)
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


PasswordStdin = Annotated[bool, typer.Option(help="Read the password from standard input.")]


def _create_user(
    *,
    org: str,
    email: str,
    name: str,
    roles: list[str],
    password: str,
    data_dir: Path | None,
    database_url: str | None,
    org_kind: OrganizationKind | None = None,
) -> dict[str, Any]:
    async def work(session: AsyncSession, settings: HubSettings) -> Any:
        if org_kind is not None:
            await organizations.ensure_organization(session, name=org, kind=org_kind)
        return await service.create_user(
            session,
            SYSTEM,
            input=service.NewUser(
                organization=org, email=email, name=name, password=password, roles=roles
            ),
        )

    user = _console(data_dir, database_url, "hub.users.create", work, resource=lambda u: str(u.id))
    return {"id": str(user.id), "email": user.email, "roles": user.roles.split()}


@user_app.command("create")
def user_create(
    org: Annotated[str, typer.Option(help="The user's organization.")],
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Annotated[list[str], typer.Option(help="admin, auditor, operator... (repeat).")] = [],  # noqa: B006
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a person who signs in through the authorization endpoint."""
    user = _create_user(
        org=org,
        email=email,
        name=name,
        roles=list(role),
        password=_password(password_stdin),
        data_dir=data_dir,
        database_url=database_url,
    )
    _print({**user, "organization": org})


def bootstrap(
    org: Annotated[str, typer.Option(help="The hub operator organization.")],
    email: Annotated[str, typer.Option(help="The first operator's email.")],
    name: Annotated[str, typer.Option(help="The first operator's name.")],
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create the hub operator organization and its first admin (who is also an auditor)."""
    user = _create_user(
        org=org,
        email=email,
        name=name,
        roles=["admin", "auditor"],
        password=_password(password_stdin),
        data_dir=data_dir,
        database_url=database_url,
        org_kind=OrganizationKind.HUB_OPERATOR,
    )
    _print({"organization": org, "user": user})


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
