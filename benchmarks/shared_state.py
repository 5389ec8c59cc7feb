"""What shared state costs a request (issue #22): NATS KV against the in-process engine.

- token check: `RevocationSet.revoked` for an id nobody revoked (what every authenticated
  request asks; shared, it reads the bucket), p50/p95/p99 in microseconds;
- throttle: a client-secret check's `begin` + `end` that failed (a read, a compare-and-set
  write), p50/p95/p99;
- anonymous request: a granted `SharedTokenBucket.take` (the node's and hub's anonymous
  GraphQL limit, the node's claim requests: a read and a compare-and-set write), p50/p95/p99;
- device login: a known device's `SharedCredentialThrottle.check` + `succeeded` at the node
  (what each HTTP telemetry batch costs: one read), p50/p95/p99;
- contention: failures recorded by two replicas (two connections) at once on one key, per
  second, with every one counted (compare-and-set retries included).

Reference: the same calls on the in-process engine (the embedded default).

    python -m benchmarks.shared_state [--quick] [--nats URL]

Ends with one JSON line (each figure beside its reference).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from typing import Any

from yunfab.ratelimit import (
    SharedCredentialThrottle,
    SharedFailureThrottle,
    SharedTokenBucket,
    TooManyFailures,
)
from yunfab.revocations import RevocationSet
from yunfab.shared_state import MemoryStates, NatsStates, SharedStates, key_for


def _percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100)
    return {"p50_us": cuts[49] * 1e6, "p95_us": cuts[94] * 1e6, "p99_us": cuts[98] * 1e6}


async def _measure(states: list[SharedStates], rounds: int) -> dict[str, Any]:
    revocations = RevocationSet()
    await revocations.share(await states[0].bucket("revocations", ttl_s=3600))
    try:
        await revocations.revoke("revoked-one")
        samples = []
        for n in range(rounds):
            start = time.perf_counter()
            assert not await revocations.revoked(f"live-{n}")
            samples.append(time.perf_counter() - start)
        check = _percentiles(samples)
    finally:
        await revocations.close()

    window = 3600.0
    throttle = SharedFailureThrottle(
        await states[0].bucket("auth_failures", ttl_s=window),
        limit=rounds * 4,
        window_s=window,
    )
    samples = []
    for n in range(rounds):
        key = f"client-{n % 50}|10.0.0.9"
        start = time.perf_counter()
        await throttle.begin(key)
        await throttle.end(key, failed=True)
        samples.append(time.perf_counter() - start)
    failed = _percentiles(samples)

    requests = SharedTokenBucket(
        await states[0].bucket("anonymous", ttl_s=60), rate=1000.0, burst=rounds
    )
    samples = []
    for n in range(rounds):
        start = time.perf_counter()
        assert await requests.take(f"10.0.{n % 50}.9") == 0.0
        samples.append(time.perf_counter() - start)
    anonymous = _percentiles(samples)

    logins = SharedCredentialThrottle(
        credentials=await states[0].bucket("device_failures", ttl_s=60),
        addresses=await states[0].bucket("device_addresses", ttl_s=60),
        known=await states[0].bucket("device_known", ttl_s=3600),
        per_credential=20,
        per_address=200,
        window_s=60,
    )
    samples = []
    for n in range(rounds):
        device = f"device-{n % 50}"
        start = time.perf_counter()
        await logins.check(device, "10.0.0.9")
        await logins.succeeded(device, "10.0.0.9")
        samples.append(time.perf_counter() - start)
    login = _percentiles(samples)

    replicas = [
        SharedFailureThrottle(
            await s.bucket("contended", ttl_s=window), limit=10_000, window_s=window
        )
        for s in states
    ]
    per_replica = rounds // 2
    start = time.perf_counter()

    async def record(throttle: SharedFailureThrottle) -> None:
        for _ in range(per_replica):
            await throttle.failed("one-key|10.0.0.9")

    await asyncio.gather(*(record(r) for r in replicas))
    elapsed = time.perf_counter() - start
    held = await replicas[0].bucket.get(key_for("one-key|10.0.0.9"))
    counted = 0 if held is None else len(json.loads(held.value)["f"])
    try:
        await replicas[0].check("one-key|10.0.0.9")
    except TooManyFailures:
        pass
    return {
        "token_check": check,
        "throttle_failed_attempt": failed,
        "anonymous_request": anonymous,
        "device_login": login,
        "contended_failures_per_s": per_replica * len(replicas) / elapsed,
        "contended_counted": counted,
        "contended_sent": per_replica * len(replicas),
    }


async def run(nats_url: str, quick: bool) -> dict[str, Any]:
    rounds = 1000 if quick else 10_000
    memory = MemoryStates()
    in_process = await _measure([memory, memory], rounds)
    scope = f"bench-{uuid.uuid4().hex[:8]}"
    opened = [await NatsStates.connect(nats_url, scope=scope) for _ in range(2)]
    try:
        nats = await _measure(list(opened), rounds)
    finally:
        await opened[0].delete_buckets()
        for states in opened:
            await states.close()
    return {"rounds": rounds, "nats": nats, "in_process": in_process}


def _row(name: str, figures: dict[str, float]) -> str:
    return f"  {name:12} {figures['p50_us']:9.0f} {figures['p95_us']:9.0f} {figures['p99_us']:9.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="within 60 s")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    figures = asyncio.run(run(args.nats, args.quick))
    for what, title in (
        ("token_check", "token check (an id nobody revoked)"),
        ("throttle_failed_attempt", "failed secret check (begin + end)"),
        ("anonymous_request", "anonymous request let through (token bucket)"),
        ("device_login", "known device's login (check + succeeded)"),
    ):
        print(f"{title}:")
        print(f"  {'':12} {'p50 us':>9} {'p95 us':>9} {'p99 us':>9}")
        print(_row("NATS KV", figures["nats"][what]))
        print(_row("in-process", figures["in_process"][what]))
    print("two replicas recording failures on one key at once:")
    for name, key in (("NATS KV", "nats"), ("in-process", "in_process")):
        part = figures[key]
        print(
            f"  {name:12} {part['contended_failures_per_s']:9.0f} failures/s, "
            f"{part['contended_counted']} of {part['contended_sent']} counted"
        )
    print(json.dumps({"benchmark": "shared_state", "quick": args.quick, **figures}))


if __name__ == "__main__":
    main()
