"""`yunfab demo`: the hub and two regional nodes as real processes on loopback.

A Zhejiang textile node and a Guangdong injection-moulding node, each with its own SQLite file
under one data folder, its own Mosquitto (dynamic security, managed by the node) and a factory
whose simulated machines publish telemetry: sewing lines in plain JSON on the textile node; on the
other, injection-moulding machines behind OPC UA servers (EUROMAP 77, simulated) that the edge
gateway (`yunfab gateway run`) reads and publishes as Sparkplug B. Without Mosquitto
installed, the nodes use an open broker on 127.0.0.1:1883 if one answers, or run without MQTT.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

import httpx
import typer

from federated_learning.deploy import FlowerDaemons
from yunfab.processes import (
    ProcessFailed,
    ProcessSpec,
    Supervisor,
    create_node_client,
    free_port,
    yunfab_argv,
)
from yunfab_demo.hub_board import seed_board
from yunfab_demo.users import (
    BRAND_ORG,
    BUYER_ORG,
    CONSUMER_ORG,
    HUB_OPERATOR_ORG,
    PASSWORDS_FILE,
    DemoSite,
    DemoUsers,
    demo_people,
    ensure_demo_users,
    node_operator_org,
    sign_in_table,
    write_passwords,
)

READY_TIMEOUT_S = 90.0
TRY_QUERY = "{ regionalNodes { edges { node { name region industry status lastHeartbeat } } } }"
ONLINE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class DemoFactory:
    slug: str
    name: str
    machines: str
    """A `yunfab sim` profile."""
    protocol: str
    """json or sparkplug (`yunfab sim` publishes), or gateway: simulated OPC UA machines that
    the edge gateway reads (yunfab_demo.machines, docs/gateway.md)."""
    devices: int
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoNode:
    name: str
    region: str
    industry: str
    factory: DemoFactory


DEMO_NODES = (
    DemoNode(
        name="zj-textile",
        region="CN-ZJ",
        industry="textile",
        factory=DemoFactory(
            slug="keqiao-weaving",
            name="Shaoxing Keqiao Weaving Co.",
            machines="sewing_line",
            protocol="json",
            devices=4,
            profile={
                "location": {"address": "Keqiao District", "city": "Shaoxing", "region": "CN-ZJ"},
                "contact": {"name": "Chen Li", "phone": "+86 575 8000 0000"},
                "products": ["workwear", "grey fabric"],
                "skills": ["jacquard", "flat-felled seams"],
                "equipment": [
                    {"type": "lockstitch-sewing-machine", "model": "Juki DDL-9000C", "count": 60},
                    {"type": "air-jet-loom", "model": "Toyota JAT810", "count": 24},
                ],
            },
        ),
    ),
    DemoNode(
        name="gd-injection-moulding",
        region="CN-GD",
        industry="injection-moulding",
        factory=DemoFactory(
            slug="dongguan-mould",
            name="Dongguan Precision Mould Co.",
            machines="injection_moulding",
            protocol="gateway",
            devices=6,
            profile={
                "location": {"address": "Chang'an Town", "city": "Dongguan", "region": "CN-GD"},
                "contact": {"name": "Li Wei", "email": "ops@dongguan-mould.example"},
                "products": ["licence plate frames", "bicycle mudguards"],
                "skills": ["two-shot moulding", "mould repair"],
                "equipment": [
                    {
                        "type": "injection-moulding-machine",
                        "model": "Haitian MA2500",
                        "count": 12,
                        "parameters": {"clamp_force_kn": 2500},
                    }
                ],
            },
        ),
    ),
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
    broker_ports: tuple[int, ...]
    flower_ports: tuple[int, ...]
    """The Flower SuperLink's, then each node's SuperNode's."""

    @classmethod
    def plan(cls, data_dir: Path, host: str, port: int) -> DemoLayout:
        count = 1 + 3 * len(DEMO_NODES) + 1
        if port == 0:
            ports = [free_port(host) for _ in range(count)]
        else:
            ports = [port + offset for offset in range(count)]
        nodes = len(DEMO_NODES)
        return cls(
            data_dir=data_dir.resolve(),
            host=host,
            hub_port=ports[0],
            node_ports=tuple(ports[1 : 1 + nodes]),
            broker_ports=tuple(ports[1 + nodes : 1 + 2 * nodes]),
            flower_ports=tuple(ports[1 + 2 * nodes :]),
        )

    @property
    def superlink(self) -> str:
        return f"127.0.0.1:{self.flower_ports[0]}"

    def node_dir(self, node: DemoNode) -> Path:
        return self.data_dir / "nodes" / node.name

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
            env={**DEMO_ENV, "YUNFAB_HUB_FLOWER_SUPERLINK": layout.superlink}
            if federation_available()
            else DEMO_ENV,
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
                    str(layout.node_dir(node)),
                ),
                log_path=logs / f"{node.name}.log",
                ready_url=f"{layout.url(port)}/readyz",
                env=DEMO_ENV,
            )
        )
    return specs


def demo_sign_in(layout: DemoLayout) -> dict[str, str]:
    """Where each service's people work: the hub's URL and each node's."""
    urls = {"hub": layout.hub_url}
    for node, port in zip(DEMO_NODES, layout.node_ports, strict=True):
        urls[node.name] = layout.url(port)
    return urls


def setup_demo_users(layout: DemoLayout, *, reset_passwords: bool = False) -> DemoUsers:
    """The demo's people at the hub, and the hub's own apps they sign in with registered at
    this run's hub URL (the hub's database must be migrated: the hub has started); their
    passwords file, `<data>/demo-users.json`, with this run's URLs."""
    from hub.settings import HubSettings

    settings = HubSettings(data_dir=layout.data_dir / "hub", env="development")
    people = demo_people(
        (DemoSite(node.name, node.factory.slug, node.factory.name) for node in DEMO_NODES),
        buyer_node=CLOUD_ORDER_NODE,
    )
    users = asyncio.run(
        ensure_demo_users(
            settings,
            people,
            layout.data_dir / PASSWORDS_FILE,
            hub_url=layout.hub_url,
            reset_passwords=reset_passwords,
        )
    )
    write_passwords(users.file, users, demo_sign_in(layout))
    return users


def node_credentials(layout: DemoLayout, node: DemoNode) -> dict[str, str]:
    """Each node's own OAuth2 client at the hub, created once and kept in the node's folder."""
    path = layout.data_dir / "nodes" / node.name / "credentials.json"
    if not path.exists():
        created = create_node_client(layout.data_dir / "hub", node.name, node.region, env=DEMO_ENV)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(created, indent=2))
    client = json.loads(path.read_text())
    return {
        "YUNFAB_NODE_CLIENT_ID": client["client_id"],
        "YUNFAB_NODE_CLIENT_SECRET": client["client_secret"],
    }


def move_node(layout: DemoLayout, node: DemoNode, port: int) -> None:
    """A node's URL is fixed when it first registers: a rerun of the demo on other ports (`--port
    0`) moves the nodes the hub knows, as a hub operator would, before they start."""
    hub_dir = str(layout.data_dir / "hub")
    argv = ("hub", "node", "move", node.name, layout.url(port), "--data-dir", hub_dir)
    done = subprocess.run(
        yunfab_argv(*argv),
        capture_output=True,
        text=True,
        env={**os.environ, **DEMO_ENV},
        check=False,
    )
    if done.returncode != 0 and "node_not_registered" not in done.stderr:
        raise ProcessFailed(f"moving node {node.name} failed: {done.stderr.strip()}")


@dataclass(frozen=True)
class DemoBroker:
    """How one node reaches its devices' broker."""

    url: str | None
    env: dict[str, str]
    spec: ProcessSpec | None = None
    ready: Any = None


def demo_broker(layout: DemoLayout, node: DemoNode, port: int) -> DemoBroker:
    """The node's own Mosquitto when it can run here; else an open local broker; else none."""
    from yunfab_demo.mosquitto import (
        ManagedBrokerConfig,
        MosquittoError,
        find_dynsec_plugin,
        find_mosquitto,
        find_mosquitto_ctrl,
        port_open,
        process_spec,
    )

    try:
        find_mosquitto()
        find_mosquitto_ctrl()
        find_dynsec_plugin()
    except MosquittoError:
        if port_open("127.0.0.1", 1883):
            return DemoBroker(url="mqtt://127.0.0.1:1883", env={})
        return DemoBroker(url=None, env={})
    secrets_path = layout.node_dir(node) / "broker.json"
    if not secrets_path.exists():
        secrets_path.parent.mkdir(parents=True, exist_ok=True)
        secrets_path.touch(mode=0o600)
        secrets_path.write_text(
            json.dumps({"admin": secrets.token_urlsafe(24), "ingest": secrets.token_urlsafe(24)})
        )
    passwords = json.loads(secrets_path.read_text())
    cfg = ManagedBrokerConfig(
        host=layout.host,
        port=port,
        data_dir=layout.node_dir(node) / "broker",
        admin_username="yunfab-admin",
        admin_password=passwords["admin"],
    )
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    spec = process_spec(cfg, name=f"mosquitto {node.name}")
    spec.log_path = layout.data_dir / "logs" / f"mosquitto-{node.name}.log"
    url = f"mqtt://{layout.host}:{port}"
    return DemoBroker(
        url=url,
        env={
            "YUNFAB_NODE_BROKER_ADMIN_USERNAME": cfg.admin_username,
            "YUNFAB_NODE_BROKER_ADMIN_PASSWORD": cfg.admin_password,
            "YUNFAB_NODE_MQTT_USERNAME": f"{node.name}-ingest",
            "YUNFAB_NODE_MQTT_PASSWORD": passwords["ingest"],
        },
        spec=spec,
        ready=lambda: port_open(cfg.host, cfg.port),
    )


def node_env(node: DemoNode, broker: DemoBroker) -> dict[str, str]:
    env = {
        "YUNFAB_NODE_NAME": node.name,
        "YUNFAB_NODE_REGION": node.region,
        "YUNFAB_NODE_INDUSTRY": node.industry,
        "YUNFAB_NODE_MARKET_POLL_INTERVAL_S": "10",  # installs from the console land quickly
        **broker.env,
    }
    if broker.url is not None:
        env["YUNFAB_NODE_MQTT_URL"] = broker.url
    return env


def _console_run(args: tuple[str, ...], env: dict[str, str], what: str) -> dict[str, Any]:
    done = subprocess.run(
        yunfab_argv(*args),
        capture_output=True,
        text=True,
        env={**os.environ, **DEMO_ENV, **env},
        check=False,
    )
    if done.returncode != 0:
        raise ProcessFailed(f"{what} failed: {done.stderr.strip()}")
    # The console prints its answer last, as JSON (log lines may come before it).
    lines = done.stdout.splitlines()
    for start in reversed(range(len(lines))):
        if lines[start].startswith("{"):
            try:
                result: dict[str, Any] = json.loads("\n".join(lines[start:]))
            except ValueError:
                continue
            return result
    raise ProcessFailed(f"{what}: no answer in its output")


def provision_demo_factory(
    layout: DemoLayout, node: DemoNode, env: dict[str, str], organization_id: str
) -> Path:
    """Onboard the node's demo factory (owned by its organization at the hub, whose staff then
    see it) and provision its machines, once; returns the fleet file `yunfab sim` publishes
    from."""
    folder = layout.node_dir(node)
    fleet = folder / "fleet.json"
    if fleet.exists():
        return fleet
    factory = node.factory
    profile = folder / "factory-profile.json"
    profile.write_text(json.dumps(factory.profile, indent=2))
    for args in (
        (
            "node", "factory", "add", "--slug", factory.slug, "--name", factory.name,
            "--profile", str(profile), "--activate", "--organization-id", organization_id,
            "--data-dir", str(folder),
        ),
        (
            "node", "device", "provision-fleet", "--factory", factory.slug,
            "--profile", factory.machines, "--count", str(factory.devices),
            "--protocol", factory.protocol, "--out", str(fleet), "--data-dir", str(folder),
        ),
    ):  # fmt: skip
        _console_run(args, {**DEMO_ENV, **env}, f"demo set-up of {node.name}")
    return fleet


@dataclass(frozen=True)
class CloudOrder:
    """Seed 002 on the moulding node: a buyer orders 2.3 million licence plates, the node plans
    them over a network of small factories and sends the work orders out."""

    product: str = "bike-licence-plate"
    quantity: int = 2_300_000
    daily_target: int = 100_000
    ramp_days: int = 7
    days: int = 30
    buyer: str = BUYER_ORG


CLOUD_ORDER_NODE = "gd-injection-moulding"
PLACE_ORDER = """
mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id number } }
"""
PLAN_ORDER = """
mutation($id: UUID!) { planOrder(id: $id, timeLimitS: 30) { status gap solveTimeS explanation } }
"""
DISPATCH_ORDER = "mutation($id: UUID!) { dispatchOrder(id: $id) { id factoryId } }"


def _token(hub_url: str, client_id: str, secret: str, scope: str, resource: str) -> str:
    response = httpx.post(
        f"{hub_url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope, "resource": resource},
        auth=(client_id, secret),
        timeout=10.0,
    )
    if response.status_code != 200:
        raise ProcessFailed(f"token for {client_id}: {response.status_code} {response.text}")
    token: str = response.json()["access_token"]
    return token


def _operator_token(layout: DemoLayout, node: DemoNode, node_url: str) -> str:
    """A token of the node's own client, for the node: its operator."""
    credentials = node_credentials(layout, node)
    return _token(
        layout.hub_url,
        credentials["YUNFAB_NODE_CLIENT_ID"],
        credentials["YUNFAB_NODE_CLIENT_SECRET"],
        "nodes:register",
        node_url,
    )


def _graphql(url: str, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
        timeout=120.0,
    )
    body = response.json()
    if body.get("errors"):
        raise ProcessFailed(f"{query.split('(')[0].strip()}: {body['errors'][0]['message']}")
    data: dict[str, Any] = body["data"]
    return data


def place_cloud_order(
    layout: DemoLayout, node: DemoNode, node_url: str, env: dict[str, str], order: CloudOrder
) -> dict[str, Any]:
    """Once per data folder: onboard the factory network, import the routing, place the order
    as the buyer and plan and dispatch it as the node operator; returns what happened."""
    from importlib.resources import files

    from regional_node.orders.routings import parse
    from yunfab_demo.simulator.network import cloud_network

    folder = layout.node_dir(node)
    record = folder / "cloud-order.json"
    if record.exists():
        kept: dict[str, Any] = json.loads(record.read_text())
        return kept
    env = {**DEMO_ENV, **env}
    template = files("regional_node.orders") / "templates" / f"{order.product}.toml"
    routing = parse(template.read_text(encoding="utf-8"), source=template.name)
    start = dt.datetime.now(dt.UTC).date()
    network = folder / "cloud-factories.json"
    network.write_text(json.dumps(cloud_network(routing, start=start, days=order.days)))
    data = ("--data-dir", str(folder))
    imported = _console_run(
        ("node", "factory", "import", str(network), "--activate", *data), env, "factory import"
    )
    routing_file = folder / template.name
    routing_file.write_text(template.read_text(encoding="utf-8"))
    _console_run(("node", "routing", "import", str(routing_file), *data), env, "routing import")
    buyer = _console_run(
        (
            "hub", "client", "create", "--org", order.buyer, "--create-org", "consumer",
            "--name", "procurement", "--kind", "platform", "--scope", "orders:write",
            "--data-dir", str(layout.data_dir / "hub"),
        ),
        {},
        "buyer client",
    )  # fmt: skip
    buyer_token = _token(
        layout.hub_url, buyer["client_id"], buyer["client_secret"], "orders:write", node_url
    )
    placed = _graphql(
        node_url,
        PLACE_ORDER,
        {"input": {
            "product": order.product, "quantity": order.quantity,
            "startDate": start.isoformat(),
            "dueDate": (start + dt.timedelta(days=order.days - 1)).isoformat(),
            "dailyTarget": order.daily_target, "rampDays": order.ramp_days,
        }},
        buyer_token,
    )["placeOrder"]  # fmt: skip
    operator = _operator_token(layout, node, node_url)
    plan = _graphql(node_url, PLAN_ORDER, {"id": placed["id"]}, operator)["planOrder"]
    work = _graphql(node_url, DISPATCH_ORDER, {"id": placed["id"]}, operator)["dispatchOrder"]
    summary = {
        "order": placed["number"],
        "id": placed["id"],
        "factories": imported["added"],
        "status": plan["status"],
        "gap": plan["gap"],
        "solve_time_s": round(plan["solveTimeS"], 2),
        "summary": plan["explanation"].get("summary"),
        "work_orders": len(work),
        "makers": len({w["factoryId"] for w in work}),
    }
    record.write_text(json.dumps(summary, indent=2))
    return summary


EXCHANGE_CATALOG = """
{ dataProducts(search: "capacity", first: 50) { edges { node { id key node offers { id } } } } }
"""
EXCHANGE_REQUEST = """
mutation($offer: UUID!) {
  requestDataContract(input: {offerId: $offer, purpose: CAPACITY_PLANNING}) {
    id state termsHash
  }
}
"""
EXCHANGE_QUERY = """
query($id: UUID!, $week: JSON!) {
  governedData(contractId: $id, query: {
    groupBy: ["process", "unit"], aggregates: [{fn: SUM, field: "free"}, {fn: COUNT}],
    filters: [{field: "week", value: $week}], first: 100
  }) { rows minContributors }
}
"""


def share_capacity(layout: DemoLayout, node: DemoNode, env: dict[str, str]) -> dict[str, Any]:
    """Once per data folder: the node publishes its data products to the hub now (it would at
    its next round anyway), a supply-chain platform is agreed automatically on the regional
    capacity offer (aggregates over 3+ factories) and reads this week's free capacity by
    process through the hub, in the unit of the calendars (the cloud factories' are in
    units)."""
    record = layout.node_dir(node) / "data-exchange.json"
    if record.exists():
        kept: dict[str, Any] = json.loads(record.read_text())
        return kept
    _console_run(
        ("node", "data", "publish", "--data-dir", str(layout.node_dir(node))),
        {**DEMO_ENV, **env, **node_credentials(layout, node),
         "YUNFAB_NODE_NAME": node.name, "YUNFAB_NODE_HUB_URL": layout.hub_url,
         # The other products follow at the node's next round.
         "YUNFAB_NODE_DATA_PRODUCTS": '["regional-capacity"]'},
        "data products publish",
    )  # fmt: skip
    platform = _console_run(
        (
            "hub", "client", "create", "--org", CONSUMER_ORG,
            "--create-org", "consumer", "--name", "capacity planning", "--kind", "platform",
            "--scope", "exchange:read", "--scope", "exchange:write",
            "--data-dir", str(layout.data_dir / "hub"),
        ),
        {},
        "supply-chain platform client",
    )  # fmt: skip
    scope = "exchange:read exchange:write"
    token = _token(
        layout.hub_url, platform["client_id"], platform["client_secret"], scope, layout.hub_url
    )
    edges = _graphql(layout.hub_url, EXCHANGE_CATALOG, {}, token)["dataProducts"]["edges"]
    product = next(
        e["node"] for e in edges if e["node"]["node"] == node.name and e["node"]["offers"]
    )
    contract = _graphql(
        layout.hub_url, EXCHANGE_REQUEST, {"offer": product["offers"][0]["id"]}, token
    )["requestDataContract"]
    week = "{}-W{:02d}".format(*dt.datetime.now(dt.UTC).date().isocalendar()[:2])
    answer = _graphql(layout.hub_url, EXCHANGE_QUERY, {"id": contract["id"], "week": week}, token)[
        "governedData"
    ]
    roomiest = sorted(answer["rows"], key=lambda r: -(r["sum_free"] or 0))
    summary = {
        "product": product["key"],
        "contract": contract["id"],
        "state": contract["state"],
        "terms_hash": contract["termsHash"],
        "week": week,
        "min_contributors": answer["minContributors"],
        "free": {r["process"]: [r["sum_free"], r["unit"], r["count"]] for r in roomiest},
    }
    record.write_text(json.dumps(summary, indent=2))
    return summary


def c2m_demand(layout: DemoLayout, node: DemoNode, node_url: str) -> dict[str, Any] | None:
    """Once per data folder, after the cloud order (whose factories make the lots): the brand's
    C2M scenario (`yunfab_demo.c2m`): products, two years of sales, forecasts, a plan and a
    re-plan, the operator accepting the next weeks' lots. None when the node cannot
    forecast (statsforecast is the `node` extra)."""
    import importlib.util

    record = layout.node_dir(node) / "c2m.json"
    if record.exists():
        kept: dict[str, Any] = json.loads(record.read_text())
        return kept
    if importlib.util.find_spec("statsforecast") is None:
        return None
    from yunfab_demo import c2m

    brand = _console_run(
        (
            "hub", "client", "create", "--org", BRAND_ORG, "--create-org", "consumer",
            "--name", "sales sync", "--kind", "platform", "--scope", "orders:write",
            "--data-dir", str(layout.data_dir / "hub"),
        ),
        {},
        "brand client",
    )  # fmt: skip
    token = _token(
        layout.hub_url, brand["client_id"], brand["client_secret"], "orders:write", node_url
    )
    try:
        summary = c2m.play(
            node_url, operator_token=_operator_token(layout, node, node_url), brand_token=token
        )
    except (c2m.C2MFailed, httpx.HTTPError) as exc:
        raise ProcessFailed(f"the C2M scenario: {exc}") from exc
    record.write_text(json.dumps(summary, indent=2))
    return summary


WORKFORCE_NODE = "zj-textile"


def shared_workers_demo(layout: DemoLayout, node: DemoNode, node_url: str) -> dict[str, Any]:
    """Once per data folder: the textile node's peak season (`yunfab_demo.shared_workers`): its
    weaving factory borrows sewing operators from a knitwear maker with slack, with consent."""
    record = layout.node_dir(node) / "workforce.json"
    if record.exists():
        kept: dict[str, Any] = json.loads(record.read_text())
        return kept
    from yunfab_demo import shared_workers

    tokens = []
    for org, name in (
        (shared_workers.LENDER_ORG, "labour sharing"),
        (node.factory.name, "hr"),
    ):
        client = _console_run(
            (
                "hub", "client", "create", "--org", org, "--create-org", "factory",
                "--name", name, "--kind", "platform", "--scope", "factories:write",
                "--data-dir", str(layout.data_dir / "hub"),
            ),
            {},
            f"{name} client",
        )  # fmt: skip
        tokens.append(
            _token(
                layout.hub_url, client["client_id"], client["client_secret"], "factories:write",
                node_url,
            )
        )  # fmt: skip
    try:
        summary = shared_workers.play(
            node_url, operator_token=_operator_token(layout, node, node_url),
            lender_token=tokens[0], borrower_token=tokens[1],
        )  # fmt: skip
    except (shared_workers.SharedWorkersFailed, httpx.HTTPError) as exc:
        raise ProcessFailed(f"the shared-workers scenario: {exc}") from exc
    record.write_text(json.dumps(summary, indent=2))
    return summary


VISION_NODE = "gd-injection-moulding"
FACTORIES_PAGE = """
query($after: String) {
  factories(first: 100, after: $after) {
    edges { node { id slug } } pageInfo { hasNextPage endCursor }
  }
}
"""
DEMO_STATION = """
mutation($input: StationInput!) { createStation(input: $input) { id } }
"""
DEMO_ACTIVATE = """
mutation($s: UUID!, $m: UUID!) { activateVisionModel(stationId: $s, modelId: $m) { id } }
"""


def _factory_id(node_url: str, slug: str, token: str) -> str:
    after = None
    while True:
        page = _graphql(node_url, FACTORIES_PAGE, {"after": after}, token)["factories"]
        for edge in page["edges"]:
            if edge["node"]["slug"] == slug:
                return str(edge["node"]["id"])
        if not page["pageInfo"]["hasNextPage"]:
            raise ProcessFailed(f"no factory {slug} on the node")
        after = page["pageInfo"]["endCursor"]


def inspect_demo_parts(layout: DemoLayout, node: DemoNode, node_url: str) -> dict[str, Any] | None:
    """Once per data folder: the demo factory's end-of-line station learns a mudguard from 30
    good photos (the seeded generator's), then inspects a batch of 32 parts, 8 of them flawed.
    None when the node has no inspection models (torch is the `ml` extra)."""
    import importlib.util

    folder = layout.node_dir(node)
    record = folder / "vision.json"
    if record.exists():
        kept: dict[str, Any] = json.loads(record.read_text())
        return kept
    if importlib.util.find_spec("torch") is None:
        return None
    import cv2

    from yunfab_demo.synthetic import Sku, generate

    operator = _operator_token(layout, node, node_url)
    headers = {"authorization": f"Bearer {operator}"}

    def png(image: Any) -> bytes:
        return bytes(cv2.imencode(".png", image)[1].tobytes())

    factory_id = _factory_id(node_url, node.factory.slug, operator)
    station = _graphql(
        node_url,
        DEMO_STATION,
        {"input": {"factoryId": factory_id, "slug": "press-3-exit", "name": "Press 3 exit"}},
        operator,
    )["createStation"]
    mudguard = Sku("mudguard", "plastic", seed=11)
    trained = httpx.post(
        f"{node_url}/api/v1/vision/models",
        data={"factory_id": factory_id, "sku": mudguard.name},
        files=[
            ("good", (f"{i}.png", png(sample.image), "image/png"))
            for i, sample in enumerate(generate(mudguard, good=30, seed=1))
        ],
        headers=headers,
        timeout=300.0,
    )
    if trained.status_code != 201:
        raise ProcessFailed(f"training the demo model: {trained.status_code} {trained.text}")
    model = trained.json()
    _graphql(node_url, DEMO_ACTIVATE, {"s": station["id"], "m": model["id"]}, operator)
    verdicts: dict[str, int] = {"caught": 0, "missed": 0, "false_alarms": 0, "passed": 0}
    elapsed = []
    for sample in generate(mudguard, good=24, defective=8, seed=2):
        answer = httpx.post(
            f"{node_url}/api/v1/stations/{station['id']}/inspections",
            data={"batch": "B-0001"},
            files={"image": ("part.png", png(sample.image), "image/png")},
            headers=headers,
            timeout=60.0,
        )
        if answer.status_code != 200:
            raise ProcessFailed(f"inspecting a demo part: {answer.status_code} {answer.text}")
        inspected = answer.json()["record"]
        elapsed.append(inspected["elapsedMs"])
        flagged = inspected["verdict"] == "defective"
        if sample.label == "good":
            verdicts["false_alarms" if flagged else "passed"] += 1
        else:
            verdicts["caught" if flagged else "missed"] += 1
    summary = {
        "station": station["id"],
        "sku": mudguard.name,
        "model": model["id"],
        "version": model["number"],
        "train_s": model["metrics"]["timings"]["train_s"],
        "good_images": model["lineage"]["data"]["good_images"],
        **verdicts,
        "inference_ms_mean": round(sum(elapsed) / len(elapsed), 1),
    }
    record.write_text(json.dumps(summary, indent=2))
    return summary


# Each node's image store for federated learning: its own SKUs, surfaces and defects.
FEDERATED_SKUS = {
    "zj-textile": (("shirting", "fabric", 21), ("canvas", "fabric", 22)),
    "gd-injection-moulding": (("mudguard", "plastic", 11), ("bracket", "metal", 12)),
}
START_RUN = """
mutation($input: FederatedRunInput!) { startFederatedRun(input: $input) { id strategy rounds } }
"""


def federation_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("flwr") is not None


def _image_store(folder: Path, skus: tuple[tuple[str, str, int], ...]) -> Path:
    """A node's image store (one dataset folder per SKU), written once."""
    from yunfab_demo.synthetic import Sku, generate, write_dataset

    if not (folder / ".complete").exists():
        for name, surface, seed in skus:
            samples = generate(Sku(name, surface, seed), good=16, defective=8, size=128, seed=1)
            write_dataset(samples, folder / name)
        (folder / ".complete").touch()
    return folder


def start_federation(layout: DemoLayout, supervisor: Supervisor) -> list[str]:
    """The Flower SuperLink beside the hub and a SuperNode beside each node, each SuperNode
    reading its node's own image store; returns the names of the nodes that joined."""
    from federated_learning import deploy

    root = layout.data_dir / "flower"
    link = supervisor.start(
        deploy.daemon_spec(
            "flower superlink",
            deploy.superlink_argv(port=layout.flower_ports[0]),
            root / "superlink",
            layout.data_dir / "logs" / "flower-superlink.log",
        )
    )
    deploy.wait_for_log(link, deploy.READY_LINE)
    joined = []
    for node, port in zip(DEMO_NODES, layout.flower_ports[1:], strict=True):
        store = _image_store(layout.node_dir(node) / "image-store", FEDERATED_SKUS[node.name])
        supernode = supervisor.start(
            deploy.daemon_spec(
                f"flower supernode {node.name}",
                deploy.supernode_argv(
                    superlink=layout.superlink,
                    port=port,
                    node_config={"node-name": node.name, "data-path": str(store)},
                ),
                root / node.name,
                layout.data_dir / "logs" / f"flower-supernode-{node.name}.log",
            )
        )
        deploy.wait_for_log(supernode, deploy.READY_LINE)
        joined.append(node.name)
    return joined


def start_federated_run(layout: DemoLayout) -> dict[str, Any]:
    """Once per data folder: a hub operator starts a small FedAvg run over the nodes."""
    record = layout.data_dir / "hub" / "federated-run.json"
    if record.exists():
        kept: dict[str, Any] = json.loads(record.read_text())
        return kept
    operator = _console_run(
        (
            "hub", "client", "create", "--org", HUB_OPERATOR_ORG,
            "--create-org", "hub_operator", "--name", "federated learning",
            "--kind", "platform", "--scope", "federated:run",
            "--data-dir", str(layout.data_dir / "hub"),
        ),
        {},
        "hub operator client",
    )  # fmt: skip
    token = _token(
        layout.hub_url,
        operator["client_id"],
        operator["client_secret"],
        "federated:run",
        layout.hub_url,
    )
    run = _graphql(
        layout.hub_url,
        START_RUN,
        {"input": {"rounds": 2, "minNodes": 2, "localEpochs": 10, "label": "demo"}},
        token,
    )["startFederatedRun"]
    record.write_text(json.dumps(run, indent=2))
    return dict(run)


def gateway_processes(
    layout: DemoLayout,
    node: DemoNode,
    env: dict[str, str],
    organization_id: str,
    broker_url: str,
) -> list[ProcessSpec]:
    """The factory's machines as OPC UA servers (EUROMAP 77, simulated) and the edge gateway
    that reads them: the factory is onboarded and the gateway's devices provisioned from its
    own mapping once; the configuration is written on every run (the machines' ports change)."""
    folder = layout.node_dir(node)
    factory = node.factory
    gateway_dir = folder / "gateway"
    gateway_dir.mkdir(parents=True, exist_ok=True)
    ports = [free_port(layout.host) for _ in range(factory.devices)]
    secret = gateway_dir / "gateway.secret"
    config = gateway_dir / "gateway.toml"
    lines = [
        "[gateway]",
        f'group = "{factory.slug}"',
        f'edge_node = "{factory.slug}-gw"',
        f'data_dir = "{gateway_dir}"',
        "[mqtt]",
        f'url = "{broker_url}"',
        f'password_file = "{secret}"',
        "[node]",  # the gateway's status, shown on its page in the node's console
        f'url = "{layout.url(layout.node_ports[DEMO_NODES.index(node)])}"',
    ]
    for n, port in enumerate(ports):
        lines += [
            "[[opcua]]",
            f'name = "imm-{n + 1:02d}"',
            f'device = "{factory.slug}-imm-{n + 1:02d}"',
            f'url = "opc.tcp://{layout.host}:{port}/yunfab/imm"',
            'root = "e77:IMM_01"',
            'profile = "euromap77"',
        ]
    config.write_text("\n".join(lines) + "\n")
    if not secret.exists():
        profile = folder / "factory-profile.json"
        profile.write_text(json.dumps(factory.profile, indent=2))
        for args in (
            (
                "node", "factory", "add", "--slug", factory.slug, "--name", factory.name,
                "--profile", str(profile), "--activate", "--organization-id", organization_id,
                "--data-dir", str(folder),
            ),
            (
                "node", "device", "provision-gateway", "--config", str(config),
                "--password-file", str(secret), "--data-dir", str(folder),
            ),
        ):  # fmt: skip
            _console_run(args, {**DEMO_ENV, **env}, f"demo set-up of {node.name}")
    logs = layout.data_dir / "logs"
    machines = [sys.executable, "-m", "yunfab_demo.machines"]
    for port in ports:
        machines += ["--moulder-port", str(port)]
    return [
        ProcessSpec(name=f"machines {node.name}", argv=machines, log_path=logs / "machines.log"),
        ProcessSpec(
            name=f"gateway {node.name}",
            argv=yunfab_argv("gateway", "run", "--config", str(config), "--log-format", "json"),
            log_path=logs / f"gateway-{node.name}.log",
        ),
    ]


def sim_spec(layout: DemoLayout, node: DemoNode, fleet: Path, broker_url: str) -> ProcessSpec:
    return ProcessSpec(
        name=f"sim {node.name}",
        argv=yunfab_argv(
            "sim",
            "--fleet",
            str(fleet),
            "--broker",
            broker_url,
            "--rate",
            "1",
            "--batch",
            "2",
            "--spike-prob",
            "0.002",
            "--seed",
            str(len(node.name)),
        ),  # fmt: skip
        log_path=layout.data_dir / "logs" / f"sim-{node.name}.log",
    )


def online_nodes(hub_url: str) -> set[str]:
    """Names of the nodes the hub lists as online, asked the way any client would: GraphQL."""
    query = "{ regionalNodes(first: 100) { edges { node { name status } } } }"
    try:
        response = httpx.post(f"{hub_url}/graphql", json={"query": query}, timeout=5.0)
        edges = response.json()["data"]["regionalNodes"]["edges"]
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return set()
    return {edge["node"]["name"] for edge in edges if edge["node"]["status"] == "ONLINE"}


def _figure(value: float | None, *, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if percent else f"{value:.2f}"


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def run_demo(data_dir: Path, host: str, port: int, *, reset_passwords: bool = False) -> int:
    """Run until Ctrl-C or SIGTERM; returns the exit code (0 on a requested stop)."""
    layout = DemoLayout.plan(data_dir, host, port)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    supervisor = FlowerDaemons()  # also ends the Flower daemons' helper processes
    code = 0
    try:
        specs = demo_processes(layout)
        hub = supervisor.start(specs[0])
        hub.wait_ready(READY_TIMEOUT_S)
        users = setup_demo_users(layout, reset_passwords=reset_passwords)
        seed_board(layout.data_dir / "hub")
        brokers = [
            demo_broker(layout, demo_node, port)
            for demo_node, port in zip(DEMO_NODES, layout.broker_ports, strict=True)
        ]
        for broker in brokers:
            if broker.spec is not None:
                supervisor.start(broker.spec).wait_ready(READY_TIMEOUT_S, check=broker.ready)
        for demo_node, node_port in zip(DEMO_NODES, layout.node_ports, strict=True):
            if (layout.node_dir(demo_node) / "credentials.json").exists():
                move_node(layout, demo_node, node_port)
        for spec, demo_node, broker in zip(specs[1:], DEMO_NODES, brokers, strict=True):
            spec.env = {
                **spec.env,
                **node_credentials(layout, demo_node),
                **node_env(demo_node, broker),
                # Its operator organization's people (with node:operate) operate it.
                "YUNFAB_NODE_OPERATOR_ORG": users.organization_id(
                    node_operator_org(demo_node.name)
                ),
            }
        nodes = [supervisor.start(spec) for spec in specs[1:]]
        for node in nodes:
            node.wait_ready(READY_TIMEOUT_S)
        for demo_node, broker in zip(DEMO_NODES, brokers, strict=True):
            if broker.url is None:
                typer.echo(f"no MQTT broker for {demo_node.name}: telemetry is off", err=True)
                continue
            if demo_node.factory.protocol == "gateway":
                for spec in gateway_processes(
                    layout,
                    demo_node,
                    node_env(demo_node, broker),
                    users.organization_id(demo_node.factory.name),
                    broker.url,
                ):
                    supervisor.start(spec)
                continue
            fleet = provision_demo_factory(
                layout,
                demo_node,
                node_env(demo_node, broker),
                users.organization_id(demo_node.factory.name),
            )
            supervisor.start(sim_spec(layout, demo_node, fleet, broker.url))
        cloud: dict[str, Any] | None = None
        shared: dict[str, Any] | None = None
        vision: dict[str, Any] | None = None
        demand: dict[str, Any] | None = None
        workers: dict[str, Any] | None = None
        for demo_node, node_port, broker in zip(
            DEMO_NODES, layout.node_ports, brokers, strict=True
        ):
            if demo_node.name == WORKFORCE_NODE:
                workers = shared_workers_demo(layout, demo_node, layout.url(node_port))
            if demo_node.name == VISION_NODE and broker.url is not None:
                vision = inspect_demo_parts(layout, demo_node, layout.url(node_port))
            if demo_node.name == CLOUD_ORDER_NODE:
                cloud = place_cloud_order(
                    layout, demo_node, layout.url(node_port), node_env(demo_node, broker),
                    CloudOrder(),
                )  # fmt: skip
                shared = share_capacity(layout, demo_node, node_env(demo_node, broker))
                demand = c2m_demand(layout, demo_node, layout.url(node_port))
        expected = {node.name for node in DEMO_NODES}
        hub.wait_ready(ONLINE_TIMEOUT_S, check=lambda: expected <= online_nodes(layout.hub_url))
        federated: dict[str, Any] | None = None
        if federation_available():
            members = start_federation(layout, supervisor)
            federated = {**start_federated_run(layout), "nodes": members}
        typer.echo(f"hub: {layout.hub_url}")
        for node_spec, node_port, broker in zip(
            DEMO_NODES, layout.node_ports, brokers, strict=True
        ):
            typer.echo(f"node {node_spec.name}: {layout.url(node_port)}")
            typer.echo(f"  console: {layout.url(node_port)}/")
            if broker.url is not None:
                factory = node_spec.factory
                typer.echo(
                    f"  {factory.devices} simulated {factory.machines.replace('_', ' ')} "
                    f"machines ({factory.protocol}) of {factory.slug} -> {broker.url}"
                )
            if cloud is not None and node_spec.name == CLOUD_ORDER_NODE:
                typer.echo(
                    f"  order {cloud['order']}: {CloudOrder().quantity:,} sets over "
                    f"{cloud['factories']} small factories, planned {cloud['status']} "
                    f"(gap {cloud['gap']:.2%}, {cloud['solve_time_s']} s), "
                    f"{cloud['work_orders']} work orders to {cloud['makers']} of them"
                )
            if shared is not None and node_spec.name == CLOUD_ORDER_NODE:
                top = ", ".join(
                    f"{process} {free or 0:,.0f} {unit} over {factories} factories"
                    for process, (free, unit, factories) in list(shared["free"].items())[:3]
                )
                typer.echo(
                    f"  data exchange: {shared['product']} published at the hub; a supply-chain "
                    f"platform was agreed automatically (contract {shared['contract']}, "
                    f"aggregates over 3+ factories) and reads {shared['week']}'s free "
                    f"capacity by process: {top}, ..."
                )
            if workers is not None and node_spec.name == WORKFORCE_NODE:
                typer.echo(
                    f"  workers: {node_spec.factory.name} borrows sewing operators from "
                    f"{workers['lender']} in its peak season: {workers['covered']}/"
                    f"{workers['demanded']} worker-days matched ({workers['method']}), "
                    f"{workers['accepted']} of {workers['proposals']} proposals accepted by "
                    f"both sides ({workers['by_link']} by consent link), "
                    f"{workers['contacts_released']} contacts released (audited)"
                )
            if demand is not None and node_spec.name == CLOUD_ORDER_NODE:
                typer.echo(
                    f"  c2m: {demand['brand_name']} sells {demand['skus']} SKUs of "
                    f"{demand['products']} configurable products ({demand['variants']} "
                    f"variants); {demand['sales_weeks']} weeks of sales "
                    f"({demand['sales_rows']:,} rows) forecast {demand['horizon']} weeks ahead in "
                    f"{demand['forecast_s']} s (the forecast before, scored on "
                    f"{demand['scored_weeks']} new weeks: MASE {_figure(demand['mase'])}, 90% "
                    f"coverage {_figure(demand['coverage'], percent=True)}); the re-plan kept "
                    f"{demand['kept_frozen']} frozen and moved {demand['units_moved']:,} units; "
                    f"{demand['accepted']} proposals accepted as {demand['lots']} orders, "
                    f"{demand['allocated']} allocated"
                )
            if vision is not None and node_spec.name == VISION_NODE:
                typer.echo(
                    f"  vision: station press-3-exit of {node_spec.factory.slug} runs "
                    f"{vision['sku']} v{vision['version']} (trained in {vision['train_s']:.1f} s "
                    f"from {vision['good_images']} good photos); batch B-0001: "
                    f"{vision['caught']} of {vision['caught'] + vision['missed']} flawed parts "
                    f"caught, {vision['false_alarms']} of "
                    f"{vision['false_alarms'] + vision['passed']} good parts flagged, "
                    f"{vision['inference_ms_mean']} ms a part"
                )
        if federated is not None:
            typer.echo(
                f"federated: run {federated['id']} ({federated['strategy']}, "
                f"{federated['rounds']} rounds) over {' and '.join(federated['nodes'])}: "
                "each trains on its own images; follow federatedRun(id) on the hub "
                "(as a hub operator)"
            )
        typer.echo(f"GraphiQL: {layout.hub_url}/graphql?q={quote(TRY_QUERY)}")
        for line in sign_in_table(users, demo_sign_in(layout)):
            typer.echo(line)
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
