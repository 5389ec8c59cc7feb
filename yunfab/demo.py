"""`yunfab demo`: the hub and two regional nodes as real processes on loopback.

A Zhejiang textile node and a Guangdong injection-moulding node, each with its own SQLite file
under one data folder. Later features add their processes (broker, Flower) to `demo_processes`.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import quote

import httpx
import typer

from yunfab.processes import (
    ProcessFailed,
    ProcessSpec,
    Supervisor,
    create_node_client,
    free_port,
    yunfab_argv,
)

READY_TIMEOUT_S = 90.0
TRY_QUERY = "{ regionalNodes { edges { node { name region industry status lastHeartbeat } } } }"
ONLINE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class DemoNode:
    name: str
    region: str
    industry: str


DEMO_NODES = (
    DemoNode(name="zj-textile", region="CN-ZJ", industry="textile"),
    DemoNode(name="gd-injection-moulding", region="CN-GD", industry="injection-moulding"),
)

# Quicker liveness than the production defaults, so a stopped node shows offline within seconds.
DEMO_ENV = {
    "YUNFAB_HUB_NODE_OFFLINE_AFTER_S": "15",
    "YUNFAB_HUB_OFFLINE_SWEEP_INTERVAL_S": "2",
    "YUNFAB_NODE_HEARTBEAT_INTERVAL_S": "5",
    "YUNFAB_HUB_ENV": "development",
    "YUNFAB_NODE_ENV": "development",
}


@dataclass(frozen=True)
class DemoLayout:
    data_dir: Path
    host: str
    hub_port: int
    node_ports: tuple[int, ...]

    @classmethod
    def plan(cls, data_dir: Path, host: str, port: int) -> DemoLayout:
        if port == 0:
            ports = [free_port(host) for _ in range(1 + len(DEMO_NODES))]
        else:
            ports = [port + offset for offset in range(1 + len(DEMO_NODES))]
        return cls(
            data_dir=data_dir.resolve(), host=host, hub_port=ports[0], node_ports=tuple(ports[1:])
        )

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    @property
    def hub_url(self) -> str:
        return self.url(self.hub_port)


def demo_processes(layout: DemoLayout) -> list[ProcessSpec]:
    logs = layout.data_dir / "logs"
    hub_dir = layout.data_dir / "hub"
    specs = [
        ProcessSpec(
            name="hub",
            argv=yunfab_argv(
                "hub",
                "serve",
                "--host",
                layout.host,
                "--port",
                str(layout.hub_port),
                "--data-dir",
                str(hub_dir),
            ),
            log_path=logs / "hub.log",
            ready_url=f"{layout.hub_url}/readyz",
            env=DEMO_ENV,
        )
    ]
    for node, port in zip(DEMO_NODES, layout.node_ports, strict=True):
        specs.append(
            ProcessSpec(
                name=f"node {node.name}",
                argv=yunfab_argv(
                    "node",
                    "serve",
                    "--name",
                    node.name,
                    "--region",
                    node.region,
                    "--industry",
                    node.industry,
                    "--hub-url",
                    layout.hub_url,
                    "--host",
                    layout.host,
                    "--port",
                    str(port),
                    "--data-dir",
                    str(layout.data_dir / "nodes" / node.name),
                ),
                log_path=logs / f"{node.name}.log",
                ready_url=f"{layout.url(port)}/readyz",
                env=DEMO_ENV,
            )
        )
    return specs


def node_credentials(layout: DemoLayout, node: DemoNode) -> dict[str, str]:
    """Each node's own OAuth2 client at the hub, created once and kept in the node's folder."""
    path = layout.data_dir / "nodes" / node.name / "credentials.json"
    if not path.exists():
        created = create_node_client(layout.data_dir / "hub", node.name, node.region)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(created, indent=2))
    client = json.loads(path.read_text())
    return {
        "YUNFAB_NODE_CLIENT_ID": client["client_id"],
        "YUNFAB_NODE_CLIENT_SECRET": client["client_secret"],
    }


def online_nodes(hub_url: str) -> set[str]:
    """Names of the nodes the hub lists as online, asked the way any client would: GraphQL."""
    query = "{ regionalNodes(first: 100) { edges { node { name status } } } }"
    try:
        response = httpx.post(f"{hub_url}/graphql", json={"query": query}, timeout=5.0)
        edges = response.json()["data"]["regionalNodes"]["edges"]
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return set()
    return {edge["node"]["name"] for edge in edges if edge["node"]["status"] == "ONLINE"}


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def run_demo(data_dir: Path, host: str, port: int) -> int:
    """Run until Ctrl-C or SIGTERM; returns the exit code (0 on a requested stop)."""
    layout = DemoLayout.plan(data_dir, host, port)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    supervisor = Supervisor()
    code = 0
    try:
        specs = demo_processes(layout)
        hub = supervisor.start(specs[0])
        hub.wait_ready(READY_TIMEOUT_S)
        for spec, demo_node in zip(specs[1:], DEMO_NODES, strict=True):
            spec.env = {**spec.env, **node_credentials(layout, demo_node)}
        nodes = [supervisor.start(spec) for spec in specs[1:]]
        for node in nodes:
            node.wait_ready(READY_TIMEOUT_S)
        expected = {node.name for node in DEMO_NODES}
        hub.wait_ready(ONLINE_TIMEOUT_S, check=lambda: expected <= online_nodes(layout.hub_url))
        typer.echo(f"hub: {layout.hub_url}")
        for node_spec, node_port in zip(DEMO_NODES, layout.node_ports, strict=True):
            typer.echo(f"node {node_spec.name}: {layout.url(node_port)}")
        typer.echo(f"GraphiQL: {layout.hub_url}/graphql?q={quote(TRY_QUERY)}")
        typer.echo(f"data and logs: {layout.data_dir}")
        typer.echo("Ctrl-C stops everything.")
        while True:
            exited = supervisor.first_exited()
            if exited is not None:
                code = exited.popen.returncode
                typer.echo(
                    f"{exited.spec.name} exited with code {code}:\n{exited.log_tail()}", err=True
                )
                code = 1
                break
            time.sleep(0.5)
    except _Stop:
        typer.echo("stopping...")
    except ProcessFailed as exc:
        typer.echo(f"yunfab demo: {exc}", err=True)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    typer.echo("stopped.")
    return code
