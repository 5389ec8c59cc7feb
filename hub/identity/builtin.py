"""The hub's own apps for people: the web console, GraphiQL and the command line.

They are public clients (no secret; PKCE), owned by the hub operator's organization, may ask for
any scope some person may have (a person's roles then bound what they get), and get refresh
tokens. The console and GraphiQL are served by the hub and by every node, so each is registered
at each base URL; enrolling or moving a node updates them (`node_url_changed`). The CLI is a
native app: its loopback redirect matches with any port (RFC 8252 7.3), and only it does.
Created or brought up to date by `ensure_builtin_clients` (`yunfab hub bootstrap`,
`yunfab hub client builtin`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.federation.models import RegionalNode
from hub.identity.models import ApiClient, ClientKind
from hub.identity.roles import PEOPLE_SCOPES

CONSOLE = "yunfab-console"
GRAPHIQL = "yunfab-graphiql"
CLI = "yunfab-cli"
CLI_REDIRECT = "http://127.0.0.1/callback"

LOOPBACK_ANY_PORT = frozenset({CLI})
"""Clients whose loopback redirect URIs match on any port; no other client's do."""

FIRST_PARTY = frozenset({CONSOLE, GRAPHIQL, CLI})
"""The hub's own apps: a signed-in person is not asked to consent to them."""


@dataclass(frozen=True)
class WebApp:
    client_id: str
    name: str
    callback: str
    """Path of the redirect URI under each base URL."""
    signed_out: str
    """Path of the post-logout redirect URI under each base URL."""


WEB_APPS = (
    WebApp(CONSOLE, "Yunfab console", "/auth/callback", "/"),
    WebApp(GRAPHIQL, "Yunfab GraphiQL", "/graphiql/callback", "/graphiql"),
)


def _at(bases: list[str], path: str) -> list[str]:
    return [base.rstrip("/") + path for base in bases]


async def ensure_builtin_clients(
    session: AsyncSession, *, hub_url: str, organization_id: uuid.UUID
) -> list[ApiClient]:
    """Create the built-in clients, or bring their URIs and scopes up to date (idempotent):
    the hub's URL and every enrolled node's."""
    nodes = (
        await session.scalars(
            select(RegionalNode.base_url)
            .where(RegionalNode.base_url.is_not(None))
            .order_by(RegionalNode.name)
        )
    ).all()
    bases = [hub_url.rstrip("/"), *(url for url in nodes if url)]
    wanted = [
        (app.client_id, app.name, _at(bases, app.callback), _at(bases, app.signed_out))
        for app in WEB_APPS
    ]
    wanted.append((CLI, "Yunfab command line", [CLI_REDIRECT], []))
    clients = []
    for client_id, name, redirects, signed_out in wanted:
        client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        if client is None:
            client = ApiClient(client_id=client_id, kind=ClientKind.APP, secret_hash=None)
            session.add(client)
        client.name = name
        client.organization_id = organization_id
        client.scopes = " ".join(sorted(PEOPLE_SCOPES))
        client.redirect_uris = redirects
        client.post_logout_redirect_uris = signed_out
        client.disabled_at = None
        clients.append(client)
    await session.flush()
    return clients


async def node_url_changed(session: AsyncSession, previous: str | None, current: str) -> None:
    """A node enrolled at `current` (moved from `previous`): the web apps it serves are
    registered there, and no longer at its old URL. Nothing happens before the built-in
    clients exist; `ensure_builtin_clients` then reads every node."""
    for app in WEB_APPS:
        # Locked: two nodes enrolling at once each add their URIs, neither overwrites the other's.
        client = await session.scalar(
            select(ApiClient).where(ApiClient.client_id == app.client_id).with_for_update()
        )
        if client is None:
            continue
        columns = (("redirect_uris", app.callback), ("post_logout_redirect_uris", app.signed_out))
        for column, path in columns:
            uris = list(getattr(client, column) or [])
            if previous is not None:
                old = _at([previous], path)[0]
                uris = [uri for uri in uris if uri != old]
            new = _at([current], path)[0]
            if new not in uris:
                uris.append(new)
            setattr(client, column, uris)
    await session.flush()
