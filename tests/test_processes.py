"""Real `yunfab` processes: bad settings end them with one clear line; a node outlives a hub
that is down; subscriptions stream over graphql-transport-ws."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support import RunningService, eventually, subscribed
from yunfab.processes import create_node_client, free_port, yunfab_argv

pytestmark = pytest.mark.slow

Start = Callable[..., RunningService]

NODE_EVENTS = "subscription { regionalNodeEvents { kind node { name region status } } }"


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        yunfab_argv(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def node_client(hub_data_dir: Path, name: str, region: str) -> dict[str, str]:
    """The node's own client, created at the hub's console; returned as the node's environment."""
    assert run_cli("db", "upgrade", "hub", "--data-dir", str(hub_data_dir)).returncode == 0
    client = create_node_client(hub_data_dir, name, region)
    return {
        "YUNFAB_NODE_CLIENT_ID": client["client_id"],
        "YUNFAB_NODE_CLIENT_SECRET": client["client_secret"],
    }


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_unknown_region_format_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli(
        "node",
        "serve",
        "--name",
        "zj-textile",
        "--region",
        "zhejiang",
        "--industry",
        "textile",
        "--data-dir",
        str(tmp_path),
        "--port",
        "0",
    )
    assert result.returncode == 2
    line = one_error_line(result)
    assert line.startswith("yunfab: invalid setting YUNFAB_NODE_REGION:")


def test_bad_database_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("hub", "serve", "--database-url", "mysql://root@localhost/x", "--port", "0")
    assert result.returncode == 2
    assert one_error_line(result).startswith("yunfab: invalid setting YUNFAB_HUB_DATABASE_URL:")

    result = run_cli("hub", "serve", "--port", "0", env={"YUNFAB_HUB_DATABASE_URL": "nonsense"})
    assert result.returncode == 2
    assert "YUNFAB_HUB_DATABASE_URL" in one_error_line(result)


def test_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = run_cli("hub", "serve", "--port", str(port), "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert (
        one_error_line(result)
        == f"yunfab: invalid setting YUNFAB_HUB_PORT: 127.0.0.1:{port} is already in use"
    )


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/yunfab"
    result = run_cli("hub", "serve", "--port", "0", "--database-url", dead)
    assert result.returncode == 1
    line = [line for line in result.stderr.splitlines() if line.startswith("yunfab:")]
    assert len(line) == 1, result.stderr
    assert "cannot migrate the database" in line[0]
    assert "YUNFAB_HUB_DATABASE_URL" in line[0]


def test_a_node_database_belongs_to_one_node(processes: Start, tmp_path: Path) -> None:
    place = [
        "--region",
        "CN-ZJ",
        "--industry",
        "textile",
        "--data-dir",
        str(tmp_path),
        "--hub-url",
        f"http://127.0.0.1:{free_port()}",
    ]
    first = processes("first", "node", "serve", "--name", "zj-textile", *place)
    first.process.stop()

    result = run_cli("node", "serve", "--name", "other-node", *place, "--port", "0")
    assert result.returncode == 2
    assert "belongs to node zj-textile" in one_error_line(result)


def test_db_upgrade_on_sqlite_and_postgresql(
    tmp_path: Path, databases: object, backend: str
) -> None:
    from tests.support import HUB_TREE, Databases

    assert isinstance(databases, Databases)
    url = (
        databases.fresh(HUB_TREE, backend, migrated=False)
        if backend == "postgresql"
        else f"sqlite:///{tmp_path}/hub.db"
    )
    result = run_cli("db", "upgrade", "hub", "--database-url", url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("hub database at head:")


def test_hub_serves_from_postgresql(processes: Start, databases: object) -> None:
    from tests.support import HUB_TREE, Databases

    assert isinstance(databases, Databases)
    url = databases.fresh(HUB_TREE, "postgresql", migrated=False)
    hub = processes("hub", "hub", "serve", "--database-url", url)
    ready = httpx.get(f"{hub.url}/readyz").json()
    assert ready["checks"]["database"]["ok"] is True


async def test_a_node_started_before_its_hub_retries_then_registers(
    processes: Start, tmp_path: Path
) -> None:
    hub_port, hub_dir = free_port(), tmp_path / "hub"
    credentials = node_client(hub_dir, "zj-textile", "CN-ZJ")
    node = processes(
        "node",
        "node",
        "serve",
        "--name",
        "zj-textile",
        "--region",
        "CN-ZJ",
        "--industry",
        "textile",
        "--hub-url",
        f"http://127.0.0.1:{hub_port}",
        "--data-dir",
        str(tmp_path / "node"),
        env={
            "YUNFAB_NODE_HUB_RETRY_INITIAL_S": "0.2",
            "YUNFAB_NODE_HUB_RETRY_MAX_S": "1",
            **credentials,
        },
    )
    async with httpx.AsyncClient(base_url=node.url) as client:

        async def hub_link(state: str) -> bool:
            ready = await client.get("/readyz")
            return ready.status_code == 200 and ready.json()["checks"]["hub"]["state"] == state

        await eventually(lambda: hub_link("retrying"))
        link = (await client.get("/readyz")).json()["checks"]["hub"]
        assert "hub unreachable" in link["last_error"]
        assert node.process.alive()

        hub = processes("hub", "hub", "serve", "--data-dir", str(hub_dir), port=hub_port)
        await eventually(lambda: hub_link("online"), timeout_s=30)

        # Hub tokens are checked offline at the node: its own client's token will do.
        token = await hub_token(hub.url, credentials, resource=node.url)
        query = {"query": "{ node { name hubLink { state attempts lastError } } }"}
        answer = await client.post(
            "/graphql", json=query, headers={"authorization": f"Bearer {token}"}
        )
        assert "data" in answer.json(), answer.text
        assert answer.json()["data"]["node"]["hubLink"] == {
            "state": "ONLINE",
            "attempts": 0,
            "lastError": None,
        }
        assert (await client.post("/graphql", json=query)).json()["errors"][0]["extensions"][
            "code"
        ] == "UNAUTHENTICATED"

        subscription = "subscription { hubLinkChanges { state } }"
        async with subscribed(node.url, subscription, token) as ws:
            await asyncio.sleep(1.0)
            hub.process.stop()
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert message["payload"]["data"]["hubLinkChanges"] == {"state": "RETRYING"}
    assert "hub_unreachable" in node.process.log_tail(200)


async def hub_token(
    hub_url: str,
    credentials: dict[str, str],
    scope: str = "nodes:register",
    resource: str | None = None,
) -> str:
    data = {"grant_type": "client_credentials", "scope": scope}
    if resource:
        data["resource"] = resource
    async with httpx.AsyncClient(base_url=hub_url) as client:
        response = await client.post(
            "/oauth/token",
            data=data,
            auth=(credentials["YUNFAB_NODE_CLIENT_ID"], credentials["YUNFAB_NODE_CLIENT_SECRET"]),
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_node_events_stream_over_graphql_transport_ws(
    processes: Start, tmp_path: Path
) -> None:
    credentials = node_client(tmp_path, "gd-injection-moulding", "CN-GD")
    hub = processes("hub", "hub", "serve", "--data-dir", str(tmp_path))
    headers = {"authorization": f"Bearer {await hub_token(hub.url, credentials)}"}
    async with subscribed(hub.url, NODE_EVENTS) as ws:
        await asyncio.sleep(1.0)  # let the subscription attach before the event happens
        async with httpx.AsyncClient(base_url=hub.url) as client:
            body = {
                "region": "CN-GD",
                "industry": "injection-moulding",
                "base_url": "http://gd.test",
            }
            assert (
                await client.put("/api/v1/nodes/gd-injection-moulding", json=body, headers=headers)
            ).status_code == 200
            await client.post(
                "/api/v1/nodes/gd-injection-moulding/heartbeats",
                json={"status": "stopping"},
                headers=headers,
            )

        events = []
        for _ in range(2):
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert message["type"] == "next", message
            events.append(message["payload"]["data"]["regionalNodeEvents"])
        assert events == [
            {
                "kind": "REGISTERED",
                "node": {"name": "gd-injection-moulding", "region": "CN-GD", "status": "ONLINE"},
            },
            {
                "kind": "OFFLINE",
                "node": {"name": "gd-injection-moulding", "region": "CN-GD", "status": "OFFLINE"},
            },
        ]
        await ws.send(json.dumps({"id": "1", "type": "complete"}))


async def test_unsupported_websocket_subprotocol_is_refused(
    processes: Start, tmp_path: Path
) -> None:
    hub = processes("hub", "hub", "serve", "--data-dir", str(tmp_path))
    ws_url = hub.url.replace("http://", "ws://") + "/graphql"
    with pytest.raises(websockets.exceptions.WebSocketException):
        await handshake(ws_url, "graphql-ws")


async def handshake(ws_url: str, subprotocol: str) -> None:
    async with websockets.connect(ws_url, subprotocols=[subprotocol]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init"}))
        await asyncio.wait_for(ws.recv(), 5)


async def test_a_subscription_ends_when_its_token_expires(processes: Start, tmp_path: Path) -> None:
    credentials = node_client(tmp_path, "gd-injection-moulding", "CN-GD")
    hub = processes(
        "hub",
        "hub",
        "serve",
        "--data-dir",
        str(tmp_path),
        env={"YUNFAB_HUB_TOKEN_LIFETIME_S": "1"},
    )
    short_lived = await hub_token(hub.url, credentials)
    async with subscribed(hub.url, NODE_EVENTS, short_lived) as ws:
        # No event comes: the socket is closed (4401, Unauthorized) when the token expires.
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 40)
        assert ws.close_code == 4401
        assert "TOKEN_EXPIRED" in (ws.close_reason or "").upper()
