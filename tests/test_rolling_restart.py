"""A rolling restart of node API replicas fails no request a client retries once (issue #22).

Two `yunfab node serve` processes on one PostgreSQL database; a client sends a steady stream of
GraphQL queries to them in turn, retrying a failed one once on the other replica. Replica A is
stopped (SIGTERM: uvicorn stops accepting, finishes what it is serving, exits), started again and
waited for, then replica B. Every query must have been answered, at most after one retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support import NODE_TREE, Databases, RunningService
from yunfab.processes import free_port

pytestmark = pytest.mark.slow

QUERY = {"query": "{ __typename }"}
Start = Callable[..., RunningService]


@dataclass
class Tally:
    sent: int = 0
    retried: int = 0
    failed: list[str] = field(default_factory=list)
    by_phase: dict[str, int] = field(default_factory=dict)


async def steady_load(
    urls: list[str], tally: Tally, phase: list[str], stop: asyncio.Event, every_s: float = 0.02
) -> None:
    """One query after another, round-robin; a failure is retried once on the other replica."""
    limits = httpx.Limits(max_keepalive_connections=4)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:

        async def answered(url: str) -> str | None:
            try:
                response = await client.post(f"{url}/graphql", json=QUERY)
            except httpx.HTTPError as exc:
                return f"{url}: {exc.__class__.__name__} {exc}"
            if response.status_code != 200 or response.json().get("data") is None:
                return f"{url}: {response.status_code} {response.text[:200]}"
            return None

        turn = 0
        while not stop.is_set():
            first, other = urls[turn % 2], urls[(turn + 1) % 2]
            turn += 1
            tally.sent += 1
            tally.by_phase[phase[0]] = tally.by_phase.get(phase[0], 0) + 1
            error = await answered(first)
            if error is not None:
                tally.retried += 1
                again = await answered(other)
                if again is not None:
                    tally.failed.append(f"{error}; then {again}")
            await asyncio.sleep(every_s)


async def test_a_rolling_restart_under_load_fails_no_request_retried_once(
    processes: Start, databases: Databases, tmp_path: Path
) -> None:
    if not databases.postgres_available():
        pytest.skip("PostgreSQL is not reachable")
    url = databases.fresh(NODE_TREE, "postgresql", migrated=False)
    ports = [free_port(), free_port()]
    env = {
        # One client address sends every query: the anonymous rate limit is not under test.
        "YUNFAB_NODE_GRAPHQL_ANONYMOUS_RATE": "10000",
        "YUNFAB_NODE_GRAPHQL_ANONYMOUS_BURST": "10000",
        "YUNFAB_NODE_HUB_RETRY_MAX_S": "5",
    }

    def replica(i: int) -> RunningService:
        return processes(
            f"node-{'ab'[i]}",
            "node",
            "serve",
            "--name",
            "zj-textile",
            "--region",
            "CN-ZJ",
            "--industry",
            "textile",
            "--hub-url",
            f"http://127.0.0.1:{free_port()}",
            "--database-url",
            url,
            "--data-dir",
            str(tmp_path / f"node-{i}"),
            port=ports[i],
            env=env,
        )

    running = [replica(0)]  # the first migrates the database
    running.append(replica(1))
    tally, phase, stop = Tally(), ["both up"], asyncio.Event()
    load = asyncio.create_task(steady_load([r.url for r in running], tally, phase, stop))
    try:
        for i in (0, 1):

            async def sent_more(after: int) -> None:
                while tally.sent < after + 25 and not load.done():
                    await asyncio.sleep(0.05)

            await sent_more(tally.sent)
            phase[0] = f"restarting {'ab'[i]}"
            code = await asyncio.to_thread(running[i].process.stop, 30)
            # uvicorn ends with the signal it was stopped by, after a complete shutdown (not
            # killed after the grace time: that would be -9).
            assert code in (0, -signal.SIGTERM), running[i].process.log_tail()
            assert "Application shutdown complete" in running[i].process.log_tail(40)
            running[i] = await asyncio.to_thread(replica, i)
            phase[0] = f"{'ab'[i]} back"
            await sent_more(tally.sent)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(load, 60)
    load.result()  # the load itself did not break
    assert tally.failed == [], tally.failed[:5]
    assert tally.retried > 0  # the replica that was down was asked, and the other answered
    # Queries were sent while each replica was down and after it came back.
    for name in ("restarting a", "a back", "restarting b", "b back"):
        assert tally.by_phase.get(name, 0) > 0, tally.by_phase
    print(f"rolling restart: {tally.sent} queries, {tally.retried} retried once, 0 failed")  # noqa: T201
