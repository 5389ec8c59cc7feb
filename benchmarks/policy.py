"""Policy decision latency: real Yunfab decisions beside a trivial rule, same engine, same run.

    python -m benchmarks.policy [--quick]

Prints p50/p99 per decision for: node registration (a rule with scope, identity and region
checks), a 50-row organization list decided in one batch, and `allow := true` as the reference
(the same engine: `allow` and `allowed` are answered by the compiled program). Goals (issue
#24): node registration p50 <= 50 us, the batch p50 under 1 ms. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from yunfab.policy import EmbeddedEngine, PolicyInput

NODE_CLIENT = {
    "kind": "client",
    "id": "yf_node",
    "org": "o-zj",
    "org_kind": "node_operator",
    "region": "CN-ZJ",
    "node": "zj-textile",
    "client_id": "yf_node",
    "scopes": ["nodes:register"],
    "roles": [],
}
FACTORY_USER = {
    "kind": "user",
    "id": "u-1",
    "org": "o-7",
    "org_kind": "factory",
    "region": None,
    "node": None,
    "client_id": "yf_app",
    "scopes": ["orgs:read"],
    "roles": [],
}
ORGS = [
    {
        "id": f"o-{i}",
        "kind": ["factory", "publisher", "consumer", "node_operator"][i % 4],
        "org": f"o-{i}",
    }
    for i in range(50)
]


GOALS_P50_US = {"node_register": 50.0, "org_list_50_rows_one_batch": 1000.0}


def timed(call, iterations: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_us": round(statistics.median(ordered), 2),
        "p99_us": round(ordered[int(len(ordered) * 0.99) - 1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (well under 60 s)")
    args = parser.parse_args()
    iterations = 2_000 if args.quick else 20_000

    engine = EmbeddedEngine()
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "authz.rego").write_text(
            "package yunfab.authz\nimport rego.v1\nallow := true\n"
            "allowed := [true | some _ in input.resources]\n"
        )
        trivial = EmbeddedEngine(Path(scratch))

    register = PolicyInput(
        NODE_CLIENT, "hub.node.register", {"name": "zj-textile", "region": "CN-ZJ"}
    )
    listing = PolicyInput(FACTORY_USER, "hub.organization.read")
    assert engine.allows_sync(register)
    assert sum(asyncio.run(engine.allows_each(listing, ORGS))) > 0

    loop = asyncio.new_event_loop()
    results = {
        "node_register": summary(timed(lambda: engine.allows_sync(register), iterations)),
        "org_list_50_rows_one_batch": summary(
            timed(
                lambda: loop.run_until_complete(engine.allows_each(listing, ORGS)), iterations // 10
            )
        ),
        "reference_allow_true": summary(timed(lambda: trivial.allows_sync(register), iterations)),
    }
    loop.close()
    reference = results["reference_allow_true"]["p50_us"]
    for name, figures in results.items():
        print(
            f"{name:30s} p50 {figures['p50_us']:8.1f} us   p99 {figures['p99_us']:8.1f} us   "
            f"({figures['p50_us'] / reference:.1f}x the trivial rule)"
        )
    print(
        json.dumps(
            {
                "benchmark": "policy",
                "iterations": iterations,
                "results": results,
                "reference": "reference_allow_true",
                "goals_p50_us": GOALS_P50_US,
                "goals_met": {
                    name: results[name]["p50_us"] <= goal for name, goal in GOALS_P50_US.items()
                },
            }
        )
    )


if __name__ == "__main__":
    main()
