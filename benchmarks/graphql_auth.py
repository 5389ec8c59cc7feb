"""Authenticated, policy-checked GraphQL throughput per server CPU-second, beside an
unauthenticated `{ __typename }` on the same server in the same run.

    python -m benchmarks.graphql_auth [--quick]

Starts a real hub process (SQLite, embedded Rego), registers three nodes with their own
clients, then drives both queries with the same concurrency. The figure is requests per
CPU-second of the server process (user + system), so the load generator sharing the machine
does not distort the ratio; the queries take turns, several rounds each, so a change in the
machine's load during the run weighs on all of them. The authenticated query verifies an ES256
token, asks the policy for the list and for the `baseUrl` field, and reads the database. Then a
node (SQLite) the same way: its operator's `factories` page of 10 factories with their equipment
and devices, its viewer, and `{ __typename }` on the node. Goal for both lists: at least 0.5 of
the reference (issue #24). Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from yunfab.processes import (
    ProcessSpec,
    Supervisor,
    create_node_client,
    free_port,
    yunfab_argv,
)

AUTHENTICATED = "{ regionalNodes(first: 10) { edges { node { name region status baseUrl } } } }"
"""Token check, two policy decisions (the list, the baseUrl field), a database read."""
VIEWER = "{ viewer { kind id organizationKind scopes } }"
"""Token check and one policy decision, no database: the cost of authentication itself."""
REFERENCE = "{ __typename }"
FACTORIES = (
    "{ factories(first: 10) { edges { node { id slug name status equipment { type count } "
    "devices(first: 10) { totalCount edges { node { key name status } } } } } } }"
)
"""At a node: token check, the list's policy decision, a page of 10 factories with their
equipment and devices (per-request DataLoaders)."""
NODE_VIEWER = "{ viewer { kind subject scopes } }"
NODE = ("zj-textile", "CN-ZJ")
INVITE = "mutation($i: InviteFactoryInput!) { inviteFactory(input: $i) { id } }"
PROFILE = (
    "mutation($id: UUID!, $i: FactoryProfileInput!) "
    "{ saveFactoryProfile(factoryId: $id, input: $i) { id } }"
)
MOVE = (
    "mutation($id: UUID!, $t: FactoryTransition!) "
    "{ changeFactoryStatus(factoryId: $id, transition: $t) { status } }"
)
PROVISION = "mutation($i: ProvisionDeviceInput!) { provisionDevice(input: $i) { device { id } } }"
FACTORY_PROFILE = {
    "location": {"address": "88 Keqiao Rd", "city": "Shaoxing", "region": "CN-ZJ"},
    "contact": {"name": "Chen Li", "phone": "+86 575 0000 0000"},
    "products": ["grey fabric"],
    "skills": ["jacquard"],
    "equipment": [
        {"type": "air-jet-loom", "model": "JAT810", "count": 48, "parameters": {"width_cm": 190}},
        {"type": "rapier-loom", "model": "R9500", "count": 12, "parameters": {}},
    ],
}
METRICS = [
    {"name": "clamp_force_kn", "unit": "kN", "minValue": 0, "maxValue": 2000},
    {"name": "mould_temp_c", "unit": "degC", "minValue": 0, "maxValue": 150},
]


def console(*args: str) -> dict[str, Any]:
    done = subprocess.run(yunfab_argv(*args), capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def token(client: httpx.AsyncClient, created: dict[str, Any], scope: str) -> str:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(created["client_id"], created["client_secret"]),
    )
    response.raise_for_status()
    access: str = response.json()["access_token"]
    return access


async def drive(
    url: str,
    query: str,
    headers: dict[str, str],
    seconds: float,
    concurrency: int,
    server: psutil.Process,
) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        for _ in range(20):  # warm caches (parser, validation, keys) before measuring
            assert (await client.post("/graphql", json={"query": query})).status_code == 200
        done = 0
        errors = 0
        deadline = time.perf_counter() + seconds
        cpu_before = server.cpu_times()
        wall_before = time.perf_counter()

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < deadline:
                response = await client.post("/graphql", json={"query": query})
                body = response.json()
                if response.status_code != 200 or body.get("errors"):
                    errors += 1
                done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - wall_before
        cpu_after = server.cpu_times()
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    return {
        "requests": done,
        "errors": errors,
        "requests_per_s": round(done / wall, 1),
        "server_cpu_s": round(cpu, 3),
        "requests_per_server_cpu_s": round(done / cpu, 1) if cpu else 0.0,
    }


def combined(runs: list[dict[str, float]]) -> dict[str, Any]:
    """Several rounds of one query as one figure: requests over server CPU-seconds summed."""
    requests = sum(int(r["requests"]) for r in runs)
    cpu = sum(r["server_cpu_s"] for r in runs)
    wall = sum(r["requests"] / r["requests_per_s"] for r in runs if r["requests_per_s"])
    return {
        "requests": requests,
        "errors": sum(int(r["errors"]) for r in runs),
        "requests_per_s": round(requests / wall, 1) if wall else 0.0,
        "server_cpu_s": round(cpu, 3),
        "requests_per_server_cpu_s": round(requests / cpu, 1) if cpu else 0.0,
        "rounds": [r["requests_per_server_cpu_s"] for r in runs],
    }


async def interleaved(
    url: str,
    queries: dict[str, tuple[str, dict[str, str]]],
    *,
    seconds: float,
    rounds: int,
    concurrency: int,
    server: psutil.Process,
) -> dict[str, dict[str, Any]]:
    """Each query in turn, `rounds` times, `seconds` per turn: a machine whose load changes
    during the run (it is shared) weighs on every query alike, so their ratio holds."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in queries}
    for _ in range(rounds):
        for name, (query, headers) in queries.items():
            runs[name].append(await drive(url, query, headers, seconds, concurrency, server))
    return {name: combined(figures) for name, figures in runs.items()}


def ratio(figures: dict[str, Any], reference: dict[str, Any]) -> dict[str, float]:
    """The ratio of the summed figures, and its lowest and highest over the rounds."""
    per_round = [
        mine / theirs for mine, theirs in zip(figures["rounds"], reference["rounds"], strict=True)
    ]
    summed = figures["requests_per_server_cpu_s"] / reference["requests_per_server_cpu_s"]
    return {
        "ratio": round(summed, 3),
        "ratio_low": round(min(per_round), 3),
        "ratio_high": round(max(per_round), 3),
    }


async def run(
    seconds: float, rounds: int, concurrency: int, database_url: str | None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch, Supervisor() as supervisor:
        data = Path(scratch)
        db = ["--database-url", database_url] if database_url else []
        subprocess.run(
            yunfab_argv("db", "upgrade", "hub", "--data-dir", str(data), *db),
            check=True,
            capture_output=True,
        )
        nodes = [
            ("zj-textile", "CN-ZJ"),
            ("gd-injection-moulding", "CN-GD"),
            ("js-electronics", "CN-JS"),
        ]
        node_clients = [
            create_node_client(data, name, region, database_url=database_url)
            for name, region in nodes
        ]
        reader = console(
            "hub",
            "client",
            "create",
            "--org",
            "Buyer Platform",
            "--create-org",
            "consumer",
            "--name",
            "bench",
            "--kind",
            "platform",
            "--scope",
            "nodes:read",
            "--data-dir",
            str(data),
            *db,
        )
        port = free_port()
        hub = supervisor.start(
            ProcessSpec(
                name="hub",
                argv=yunfab_argv("hub", "serve", "--port", str(port), "--data-dir", str(data), *db),
                log_path=data / "hub.log",
                ready_url=f"http://127.0.0.1:{port}/readyz",
                env={
                    "YUNFAB_HUB_LOG_LEVEL": "warning",
                    "YUNFAB_HUB_ENV": "development",
                    # The reference is anonymous: rate-limited, most of it would be 429s.
                    "YUNFAB_HUB_GRAPHQL_ANONYMOUS_RATE": "0",
                },
            )
        )
        hub.wait_ready(60)
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url) as client:
            for (name, region), created in zip(nodes, node_clients, strict=True):
                headers = {
                    "authorization": f"Bearer {await token(client, created, 'nodes:register')}"
                }
                body = {
                    "region": region,
                    "industry": "textile",
                    "base_url": f"http://{name}.example",
                }
                (
                    await client.put(f"/api/v1/nodes/{name}", json=body, headers=headers)
                ).raise_for_status()
            bearer = {"authorization": f"Bearer {await token(client, reader, 'nodes:read')}"}
        server = psutil.Process(hub.pid)
        figures = await interleaved(
            url,
            {
                "reference": (REFERENCE, {}),
                "viewer": (VIEWER, bearer),
                "authenticated": (AUTHENTICATED, bearer),
            },
            seconds=seconds,
            rounds=rounds,
            concurrency=concurrency,
            server=server,
        )
    reference = figures["reference"]
    return {
        **figures,
        **ratio(figures["authenticated"], reference),
        "viewer_ratio": ratio(figures["viewer"], reference),
    }


async def node_graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], headers: dict[str, str]
) -> Any:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def operator_token(hub: httpx.AsyncClient, created: dict[str, Any], node_url: str) -> str:
    """The node operator client's token for the node: issued once the node has registered
    (it does so in the background as it starts)."""
    data = {"grant_type": "client_credentials", "scope": "nodes:register", "resource": node_url}
    auth = (created["client_id"], created["client_secret"])
    deadline = time.monotonic() + 120
    while True:
        response = await hub.post("/oauth/token", data=data, auth=auth)
        if response.status_code == 200:
            access: str = response.json()["access_token"]
            return access
        if time.monotonic() > deadline:
            response.raise_for_status()
        await asyncio.sleep(0.5)


async def seed_factories(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """10 active factories, each with its equipment and 1 to 3 devices."""
    for n in range(10):
        slug = f"bench-{n:02d}"
        invited = await node_graphql(
            client, INVITE, {"i": {"slug": slug, "name": f"Factory {n}"}}, headers
        )
        factory = invited["inviteFactory"]["id"]
        await node_graphql(client, PROFILE, {"id": factory, "i": FACTORY_PROFILE}, headers)
        for transition in ("SUBMIT", "VERIFY", "ACTIVATE"):
            await node_graphql(client, MOVE, {"id": factory, "t": transition}, headers)
        for m in range(1 + n % 3):
            device = {
                "factoryId": factory, "key": f"{slug}-m{m}", "name": f"Machine {m}",
                "type": "injection_moulding", "metrics": METRICS,
            }  # fmt: skip
            await node_graphql(client, PROVISION, {"i": device}, headers)


async def run_node(seconds: float, rounds: int, concurrency: int) -> dict[str, Any]:
    """The node's `factories` page, measured as the hub's list is (SQLite)."""
    name, region = NODE
    with tempfile.TemporaryDirectory() as scratch, Supervisor() as supervisor:
        hub_dir, node_dir = Path(scratch, "hub"), Path(scratch, "node")
        subprocess.run(
            yunfab_argv("db", "upgrade", "hub", "--data-dir", str(hub_dir)),
            check=True,
            capture_output=True,
        )
        created = create_node_client(hub_dir, name, region)
        hub_port, node_port = free_port(), free_port()
        hub_url, node_url = f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{node_port}"
        quiet = {"YUNFAB_HUB_LOG_LEVEL": "warning", "YUNFAB_HUB_ENV": "development"}
        supervisor.start(
            ProcessSpec(
                name="hub",
                argv=yunfab_argv(
                    "hub", "serve", "--port", str(hub_port), "--data-dir", str(hub_dir)
                ),
                log_path=Path(scratch, "hub.log"),
                ready_url=f"{hub_url}/readyz",
                env=quiet,
            )
        ).wait_ready(60)
        node = supervisor.start(
            ProcessSpec(
                name="node",
                argv=yunfab_argv(
                    "node",
                    "serve",
                    "--name",
                    name,
                    "--region",
                    region,
                    "--industry",
                    "textile",
                    "--hub-url",
                    hub_url,
                    "--public-url",
                    node_url,
                    "--port",
                    str(node_port),
                    "--data-dir",
                    str(node_dir),
                ),  # fmt: skip
                log_path=Path(scratch, "node.log"),
                ready_url=f"{node_url}/readyz",
                env={
                    "YUNFAB_NODE_LOG_LEVEL": "warning",
                    "YUNFAB_NODE_ENV": "development",
                    "YUNFAB_NODE_GRAPHQL_ANONYMOUS_RATE": "0",
                    "YUNFAB_NODE_CLIENT_ID": created["client_id"],
                    "YUNFAB_NODE_CLIENT_SECRET": created["client_secret"],
                },
            )
        )
        node.wait_ready(60)
        async with (
            httpx.AsyncClient(base_url=hub_url, timeout=30) as hub,
            httpx.AsyncClient(base_url=node_url, timeout=30) as client,
        ):
            bearer = {"authorization": f"Bearer {await operator_token(hub, created, node_url)}"}
            await seed_factories(client, bearer)
        figures = await interleaved(
            node_url,
            {
                "reference": (REFERENCE, {}),
                "viewer": (NODE_VIEWER, bearer),
                "factories": (FACTORIES, bearer),
            },
            seconds=seconds,
            rounds=rounds,
            concurrency=concurrency,
            server=psutil.Process(node.pid),
        )
    return {
        **figures,
        **ratio(figures["factories"], figures["reference"]),
        "viewer_ratio": ratio(figures["viewer"], figures["reference"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (well under 60 s)")
    parser.add_argument(
        "--database-url", help="an empty hub database (default: SQLite in a scratch folder)"
    )
    args = parser.parse_args()
    seconds, rounds = (1.0, 2) if args.quick else (5.0, 6)
    results = asyncio.run(run(seconds, rounds, concurrency=16, database_url=args.database_url))
    node = asyncio.run(run_node(seconds, rounds, concurrency=16))
    for name in ("reference", "viewer", "authenticated"):
        figures = results[name]
        print(
            f"{name:14s} {figures['requests_per_server_cpu_s']:8.1f} req per server CPU-s   "
            f"{figures['requests_per_s']:8.1f} req/s   errors {figures['errors']}"
        )
    print(
        f"ratio {results['ratio']:.2f} (rounds {results['ratio_low']:.2f}-"
        f"{results['ratio_high']:.2f}; goal >= 0.5); viewer ratio "
        f"{results['viewer_ratio']['ratio']:.2f}"
    )
    for name in ("reference", "viewer", "factories"):
        figures = node[name]
        print(
            f"node {name:9s} {figures['requests_per_server_cpu_s']:8.1f} req per server CPU-s   "
            f"{figures['requests_per_s']:8.1f} req/s   errors {figures['errors']}"
        )
    print(
        f"node factories ratio {node['ratio']:.2f} (rounds {node['ratio_low']:.2f}-"
        f"{node['ratio_high']:.2f}; goal >= 0.5); viewer ratio {node['viewer_ratio']['ratio']:.2f}"
    )
    print(
        json.dumps(
            {
                "benchmark": "graphql_auth",
                "seconds": seconds,
                "rounds": rounds,
                "concurrency": 16,
                "database": "postgresql" if args.database_url else "sqlite",
                "reference_query": REFERENCE,
                "query": AUTHENTICATED,
                "viewer_query": VIEWER,
                **results,
                "node": {"query": FACTORIES, "viewer_query": NODE_VIEWER, **node},
            }
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("YUNFAB_HUB_ENV", "development")
    main()
