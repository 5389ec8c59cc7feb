"""Governed data-exchange queries per server CPU-second, beside the same queries with governance
off, on the same server in the same run.

    python -m benchmarks.data_exchange [--quick]

Starts a real hub process (SQLite, embedded Rego). A publisher declares a regional capacity
product (62 factories x 6 processes x 9 weeks, 3,348 rows, as a node's `regional-capacity`) and
syncs it; a consumer gets two agreements on it: one aggregation-only (k = 3), one for rows of
some fields in one region. Each query then runs twice with the same concurrency:

- governed: `governedData` under the agreement: contract and product read, one Rego decision
  naming violated terms, row-level region filter, the k-threshold on every group, and an entry
  appended to the hash-chained audit log;
- governance off: the same query by the publisher on its own product (`ownData`): no agreement,
  no term check, no audit.

The figure is requests per CPU-second of the server process (user + system); the two sides take
turns, several rounds each, so a change in the shared machine's load weighs on both. Goal:
governed at least 0.8 of ungoverned. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.graphql_auth import console, interleaved, ratio, token
from yunfab.processes import ProcessSpec, Supervisor, free_port, yunfab_argv

PROCESSES = ["weaving", "dyeing", "printing", "cutting", "sewing", "packing"]
CITIES = ["Shaoxing", "Hangzhou", "Ningbo", "Jiaxing", "Huzhou", "Suzhou"]
WEEKS = [f"2026-W{w}" for w in range(48, 53)] + [f"2027-W0{w}" for w in range(1, 5)]
SCHEMA = [
    {"name": "factory", "type": "string", "role": "contributor"},
    {"name": "region", "type": "string", "role": "region"},
    {"name": "city", "type": "string", "role": "dimension"},
    {"name": "process", "type": "string", "role": "dimension"},
    {"name": "week", "type": "string", "role": "dimension"},
    {"name": "available_hours", "type": "number", "role": "measure"},
    {"name": "booked_hours", "type": "number", "role": "measure"},
    {"name": "free_hours", "type": "number", "role": "measure"},
]
BASE_OFFER = {
    "consumers": {"kinds": ["consumer"]},
    "purposes": ["capacity-planning"],
    "retention_days": 30,
    "contract_days": 90,
    "approval": "automatic",
}
AGGREGATE = (
    '{fields: null, groupBy: ["process", "week"], aggregates: [{fn: SUM, field: "free_hours"}, '
    '{fn: COUNT}], filters: [{field: "week", op: GTE, value: "2026-W50"}], first: 100}'
)
GOAL = 0.8
"""Governed per server CPU-second over governance off (issue #24)."""
ROWS = (
    '{fields: ["city", "process", "week", "free_hours"], '
    'filters: [{field: "process", value: "sewing"}], first: 50}'
)


def rows() -> list[dict[str, Any]]:
    out = []
    for index in range(62):
        region = "CN-ZJ" if index < 50 else "CN-JS"
        city = CITIES[index % len(CITIES)] if region == "CN-ZJ" else "Suzhou"
        for process in PROCESSES:
            for week_index, week in enumerate(WEEKS):
                available = 40.0 + (index * 7 + week_index * 3) % 60
                booked = float((index * 13 + week_index * 5) % 40)
                out.append(
                    {
                        "key": f"f{index:02d}:{process}:{week}",
                        "data": {
                            "factory": f"f{index:02d}", "region": region, "city": city,
                            "process": process, "week": week, "available_hours": available,
                            "booked_hours": booked, "free_hours": max(available - booked, 0.0),
                        },
                    }
                )  # fmt: skip
    return out


def governed(contract: str, query: str) -> str:
    return (
        f'{{ governedData(contractId: "{contract}", query: {query}) '
        "{ columns rows totalCount minContributors } }"
    )


def own(product: str, query: str) -> str:
    return f'{{ ownData(productId: "{product}", query: {query}) {{ columns rows totalCount }} }}'


async def graphql(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def setup(client: httpx.AsyncClient, publisher: str, consumer: str) -> dict[str, str]:
    as_publisher = {"authorization": f"Bearer {publisher}"}
    definition = {
        "title": "Regional capacity by process and week",
        "region": "CN-ZJ",
        "industry": "textile",
        "update_frequency": "daily",
        "schema": SCHEMA,
        "offers": [
            {**BASE_OFFER, "aggregation": {"min_contributors": 3},
             "fields": ["region", "city", "process", "week", "free_hours"]},
            {**BASE_OFFER, "fields": ["city", "process", "week", "free_hours"],
             "regions": ["CN-ZJ"]},
        ],
    }  # fmt: skip
    url = "/api/v1/data-products/regional-capacity"
    (await client.put(url, json=definition, headers=as_publisher)).raise_for_status()
    everything = rows()
    chunks = [everything[i : i + 2000] for i in range(0, len(everything), 2000)]
    for index, chunk in enumerate(chunks):
        batch = {"seq": index + 1, "kind": "snapshot", "snapshot": 1,
                 "last": index == len(chunks) - 1, "upserts": chunk}  # fmt: skip
        (await client.post(f"{url}/batches", json=batch, headers=as_publisher)).raise_for_status()
    client.headers["authorization"] = f"Bearer {consumer}"
    catalog = await graphql(
        client,
        "{ dataProducts { edges { node { id offers { id policy { aggregation "
        "{ minContributors } } } } } } }",
        {},
    )
    product = catalog["dataProducts"]["edges"][0]["node"]
    contracts = {}
    for offer in product["offers"]:
        kind = "aggregate" if offer["policy"]["aggregation"] else "rows"
        made = await graphql(
            client,
            "mutation($o: UUID!) { requestDataContract(input: {offerId: $o, "
            "purpose: CAPACITY_PLANNING}) { id state } }",
            {"o": offer["id"]},
        )
        contracts[kind] = made["requestDataContract"]["id"]
    return {"product": product["id"], **contracts}


async def run(seconds: float, rounds: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch, Supervisor() as supervisor:
        data = Path(scratch)
        subprocess.run(
            yunfab_argv("db", "upgrade", "hub", "--data-dir", str(data)),
            check=True,
            capture_output=True,
        )

        def client_of(org: str, kind: str, scopes: list[str]) -> dict[str, Any]:
            scope_args = [arg for scope in scopes for arg in ("--scope", scope)]
            return console(
                "hub", "client", "create", "--org", org, "--create-org", kind,
                "--name", f"{org} bench", "--kind", "platform", *scope_args,
                "--data-dir", str(data),
            )  # fmt: skip

        publisher = client_of("Feilong Platform", "publisher", ["exchange:publish"])
        consumer = client_of("Hangzhou Shirts", "consumer", ["exchange:read", "exchange:write"])
        port = free_port()
        hub = supervisor.start(
            ProcessSpec(
                name="hub",
                argv=yunfab_argv("hub", "serve", "--port", str(port), "--data-dir", str(data)),
                log_path=data / "hub.log",
                ready_url=f"http://127.0.0.1:{port}/readyz",
                env={"YUNFAB_HUB_LOG_LEVEL": "warning", "YUNFAB_HUB_ENV": "development"},
            )
        )
        hub.wait_ready(60)
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            publisher_token = await token(client, publisher, "exchange:publish")
            consumer_token = await token(client, consumer, "exchange:read exchange:write")
            ids = await setup(client, publisher_token, consumer_token)
        server = psutil.Process(hub.pid)
        as_publisher = {"authorization": f"Bearer {publisher_token}"}
        as_consumer = {"authorization": f"Bearer {consumer_token}"}
        figures: dict[str, Any] = {}
        for name, query in (("aggregate", AGGREGATE), ("rows", ROWS)):
            sides = await interleaved(
                url,
                {
                    "governance_off": (own(ids["product"], query), as_publisher),
                    "governed": (governed(ids[name], query), as_consumer),
                },
                seconds=seconds,
                rounds=rounds,
                concurrency=concurrency,
                server=server,
            )
            figures[name] = {**sides, **ratio(sides["governed"], sides["governance_off"])}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (well under 60 s)")
    args = parser.parse_args()
    seconds, rounds = (1.0, 2) if args.quick else (4.0, 5)
    concurrency = 8
    results = asyncio.run(run(seconds, rounds, concurrency))
    for name, figures in results.items():
        for side in ("governance_off", "governed"):
            f = figures[side]
            print(
                f"{name:9s} {side:15s} {f['requests_per_server_cpu_s']:8.1f} req per server "
                f"CPU-s   {f['requests_per_s']:8.1f} req/s   errors {f['errors']}"
            )
        print(
            f"{name:9s} ratio {figures['ratio']:.2f} (rounds {figures['ratio_low']:.2f}-"
            f"{figures['ratio_high']:.2f}; goal >= {GOAL})"
        )
    print(
        json.dumps(
            {
                "benchmark": "data_exchange",
                "seconds": seconds,
                "rounds": rounds,
                "concurrency": concurrency,
                "database": "sqlite",
                "product_rows": len(PROCESSES) * len(WEEKS) * 62,
                "goal_ratio": GOAL,
                **results,
            }
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("YUNFAB_HUB_ENV", "development")
    main()
