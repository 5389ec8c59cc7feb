"""Test support every feature's tests reuse: databases, in-process apps, GraphQL, real processes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import pytest
import websockets
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from hub.state import hub_state
from yunfab.migrations import TREES, MigrationTree, upgrade
from yunfab.processes import ManagedProcess
from yunfab.settings import sqlite_url

T = TypeVar("T")

POSTGRES_ADMIN_URL = os.environ.get(
    "YUNFAB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def services_required() -> bool:
    return bool(os.environ.get("YUNFAB_REQUIRE_SERVICES"))


def skip_or_fail(reason: str) -> None:
    """A missing service skips a test on a laptop and fails it where services are required (CI)."""
    if services_required():
        pytest.fail(f"{reason} (YUNFAB_REQUIRE_SERVICES is set)")
    pytest.skip(reason)


async def forget_nats(*tokens: str, url: str = "nats://127.0.0.1:4222") -> None:
    """Delete every stream on the NATS server whose name holds one of `tokens` (a test's own
    unique node name or scope): its events and jobs streams and the key-value buckets its
    services made (each memory bucket reserves its byte limit on the server until deleted, so
    what tests leave behind would starve later runs on the same server). Tokens are unique
    per test, so a run beside this one loses nothing of its own."""
    import nats

    wanted = [token for token in tokens if token]
    if not wanted:
        return
    try:
        nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
    except Exception:  # no server: nothing was made there
        return
    try:
        js = nc.jetstream()
        names: list[str] = []
        while page := await js.streams_info(offset=len(names)):  # the server pages the list
            names += [stream.config.name or "" for stream in page]
        for name in names:
            if any(token in name for token in wanted):
                try:
                    await js.delete_stream(name)
                except Exception:  # gone meanwhile
                    pass
    finally:
        await nc.close()


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(factory()))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


async def _pg_execute(statement: str) -> None:
    import asyncpg

    url = make_url(POSTGRES_ADMIN_URL)
    connection = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
        timeout=5,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _pg_drop_all(names: list[str], connections: int = 8) -> None:
    """Drops the databases over several connections: each DROP DATABASE waits for a checkpoint,
    and concurrent drops share them (a session's hundreds of databases: seconds, not half a
    minute)."""
    import asyncpg

    url = make_url(POSTGRES_ADMIN_URL)

    async def worker() -> None:
        connection = await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
            timeout=5,
        )
        try:
            while names:
                await connection.execute(f'DROP DATABASE IF EXISTS "{names.pop()}" WITH (FORCE)')
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(connections)))


def pg_execute(statement: str) -> None:
    run_sync(lambda: _pg_execute(statement))


def pg_url(database: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


class Databases:
    """Fresh databases migrated to head, for SQLite and PostgreSQL.

    Migrating once per tree and copying is far cheaper than migrating per test: SQLite copies a
    template file, PostgreSQL clones a template database (`CREATE DATABASE ... TEMPLATE`).
    """

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self._sqlite_templates: dict[str, Path] = {}
        self._pg_templates: dict[str, str] = {}
        self._pg_databases: list[str] = []
        self._pg_available: bool | None = None

    def postgres_available(self) -> bool:
        if self._pg_available is None:
            try:
                pg_execute("SELECT 1")
                self._pg_available = True
            except Exception:
                self._pg_available = False
        return self._pg_available

    def fresh(self, tree: MigrationTree, backend: str, *, migrated: bool = True) -> str:
        if backend == "sqlite":
            path = self.scratch / f"{tree.name}-{uuid.uuid4().hex[:8]}.db"
            if migrated:
                shutil.copy(self._sqlite_template(tree), path)
            return sqlite_url(path)
        if not self.postgres_available():
            skip_or_fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
        name = f"yunfab_test_{tree.name}_{uuid.uuid4().hex[:10]}"
        template = f" TEMPLATE {self._pg_template(tree)}" if migrated else ""
        pg_execute(f'CREATE DATABASE "{name}"{template}')
        self._pg_databases.append(name)
        return pg_url(name)

    def _sqlite_template(self, tree: MigrationTree) -> Path:
        if tree.name not in self._sqlite_templates:
            path = self.scratch / f"template-{tree.name}.db"
            url = sqlite_url(path)
            run_sync(lambda: asyncio.to_thread(upgrade, tree, url))
            self._sqlite_templates[tree.name] = path
        return self._sqlite_templates[tree.name]

    def _pg_template(self, tree: MigrationTree) -> str:
        if tree.name not in self._pg_templates:
            name = f"yunfab_template_{tree.name}_{uuid.uuid4().hex[:10]}"
            pg_execute(f'CREATE DATABASE "{name}"')
            self._pg_databases.append(name)
            url = pg_url(name)
            run_sync(lambda: asyncio.to_thread(upgrade, tree, url))
            self._pg_templates[tree.name] = name
        return self._pg_templates[tree.name]

    def drop(self, url: str) -> None:
        """Make a database disappear under a running service (files deleted, database dropped)."""
        sa_url = make_url(url)
        if sa_url.get_backend_name() == "sqlite":
            assert sa_url.database is not None
            for suffix in ("", "-wal", "-shm"):
                Path(sa_url.database + suffix).unlink(missing_ok=True)
        else:
            pg_execute(f'DROP DATABASE IF EXISTS "{sa_url.database}" WITH (FORCE)')

    def close(self) -> None:
        if self._pg_databases and self.postgres_available():
            run_sync(lambda: _pg_drop_all(list(self._pg_databases)))


HUB_TREE = TREES["hub"]
NODE_TREE = TREES["node"]


@dataclass
class RunningService:
    """A real `yunfab` process started by the `processes` fixture."""

    process: ManagedProcess
    url: str


@dataclass
class InProcessService:
    """An app running in this process with its lifespan, reached through httpx's ASGI transport."""

    app: FastAPI
    client: httpx.AsyncClient

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        return self.client._transport

    async def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        expect_errors: bool = False,
    ) -> dict[str, Any]:
        return await graphql(
            self.client, query, variables, headers=headers, expect_errors=expect_errors
        )


@asynccontextmanager
async def in_process(app: FastAPI, base_url: str) -> AsyncIterator[InProcessService]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield InProcessService(app=app, client=client)


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    expect_errors: bool = False,
) -> dict[str, Any]:
    """POST a GraphQL operation; returns `data`, or the whole body when errors are expected."""
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body: dict[str, Any] = response.json()
    if expect_errors:
        assert body.get("errors"), body
        return body
    assert response.status_code == 200, body
    assert not body.get("errors"), body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def eventually(
    check: Callable[[], Coroutine[Any, Any, bool]], *, timeout_s: float = 15.0, every_s: float = 0.1
) -> None:
    """Wait for a condition a background task brings about; fails with a clear message."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(every_s)


async def create_client(
    hub: InProcessService,
    *,
    org: str,
    org_kind: str,
    scopes: list[str],
    kind: str = "platform",
    node: str | None = None,
    region: str | None = None,
    redirect_uris: list[str] | None = None,
    public: bool = False,
) -> tuple[str, str | None]:
    """An OAuth2 client at an in-process hub, made the way the console makes one."""
    from hub.identity import service
    from hub.identity.models import ClientKind
    from hub.organizations.models import OrganizationKind
    from hub.organizations.service import ensure_organization
    from yunfab.db import session_scope
    from yunfab.subject import SYSTEM

    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        await ensure_organization(session, name=org, kind=OrganizationKind(org_kind))
        created = await service.create_client(
            session,
            SYSTEM,
            input=service.NewClient(
                organization=org,
                name=f"{org} client",
                kind=ClientKind(kind),
                scopes=scopes,
                redirect_uris=redirect_uris or [],
                node_name=node,
                region=region,
                public=public,
            ),
        )
    return created.client.client_id, created.secret


async def client_token(
    hub: InProcessService,
    client_id: str,
    secret: str | None,
    scope: str,
    resource: str | None = None,
) -> str:
    """A client-credentials token; `resource` (RFC 8707) picks the service it is for."""
    data = {"grant_type": "client_credentials", "scope": scope}
    if resource is not None:
        data["resource"] = resource
    response = await hub.client.post("/oauth/token", data=data, auth=(client_id, secret or ""))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def token_for(
    hub: InProcessService,
    *,
    org: str,
    org_kind: str,
    scopes: list[str],
    resource: str | None = None,
    **client: Any,
) -> str:
    client_id, secret = await create_client(
        hub, org=org, org_kind=org_kind, scopes=scopes, **client
    )
    return await client_token(hub, client_id, secret, " ".join(scopes), resource)


async def create_node_client(
    hub: InProcessService, name: str, region: str
) -> tuple[str, str | None]:
    """A node's own client, owned by its operator organization, as the console makes it."""
    return await create_client(
        hub,
        org=f"{name} operator",
        org_kind="node_operator",
        scopes=["nodes:register"],
        kind="node",
        node=name,
        region=region,
    )


async def node_token(hub: InProcessService, name: str, region: str) -> str:
    client_id, secret = await create_node_client(hub, name, region)
    return await client_token(hub, client_id, secret, "nodes:register")


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


PRODUCTION_HUB = {
    "env": "production",
    "signing_key_passphrase": "only-for-tests-0b9e",
    "public_url": "https://hub.test",
}
"""Hub settings a production deployment must give (an https issuer, a key passphrase)."""


@asynccontextmanager
async def served(
    app: FastAPI, port: int, *, lifespan: Literal["on", "off"] = "on"
) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on loopback in this event loop (real HTTP and websockets, and
    in-process state the test can share); returns the base URL. `lifespan="off"` serves an app
    already started in process."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan=lifespan)
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise AssertionError("server stopped before it started")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def subscribed(
    url: str, query: str, token: str | None = None
) -> AsyncIterator[websockets.ClientConnection]:
    """A graphql-transport-ws connection with one subscription started (id "1")."""
    headers = {"authorization": f"Bearer {token}"} if token else None
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(
        ws_url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        additional_headers=headers,
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        yield ws
