"""Once-per-node tasks across replicas (issue #22): two node replicas on one database with NATS
run each singleton task (rollups, stale-alert checks, alert delivery) in exactly one of them,
under a lease in the shared state; a task whose holder stops renewing is taken up once the
lease lapses, and when the replica holding the tasks stops, the other takes them over. Each
replica's `/readyz` says which of them it runs now."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NodeFactory
from tests.support import InProcessService, eventually, forget_nats, skip_or_fail
from tests.test_event_bus import NATS_URL, nats_up
from yunfab.shared_state import NatsStates

WATCHED = {"telemetry-maintenance", "stale-alerts", "alert-delivery"}
LEASE_TTL_S = 10.0


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
async def scope() -> AsyncIterator[tuple[str, NatsStates]]:
    """A node name of its own, and its shared state as the test reaches it."""
    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")
    name = f"zj-{uuid.uuid4().hex[:8]}"
    states = await NatsStates.connect(NATS_URL, scope=f"node-{name}")
    try:
        yield name, states
    finally:
        await states.close()
        await forget_nats(f"node-{name}")  # the leases, the node's buckets and streams


async def held(node: InProcessService) -> set[str]:
    body = (await node.client.get("/readyz")).json()
    return set(body["checks"]["singleton_tasks"]["held"])


async def test_each_singleton_task_runs_in_one_replica_and_moves_when_it_stops(
    node_factory: NodeFactory, tmp_path: Path, scope: tuple[str, NatsStates]
) -> None:
    name, states = scope
    leases = await states.bucket("task_leases", ttl_s=LEASE_TTL_S, max_keys=1000)

    # A replica that died holding the rollups: its lease lives while "it" renews it.
    alive = asyncio.Event()
    alive.set()

    async def dead_replica() -> None:
        while alive.is_set():
            await leases.put("telemetry-maintenance", b"gone-replica")
            await asyncio.sleep(0.2)

    renewing = asyncio.create_task(dead_replica())

    def replica(label: str) -> Any:
        return node_factory(
            name=name,
            nats_url=NATS_URL,
            lease_ttl_s=LEASE_TTL_S,
            data_dir=tmp_path / label,
        )

    a_context = replica("a")
    a = await a_context.__aenter__()
    a_open = True
    try:

        async def a_runs_the_others() -> bool:
            return WATCHED - {"telemetry-maintenance"} <= await held(a)

        await eventually(a_runs_the_others, timeout_s=30)
        assert "telemetry-maintenance" not in await held(a)  # still another's lease

        alive.clear()  # the holder is gone for good: its lease lapses
        await renewing

        async def a_runs_all() -> bool:
            return WATCHED <= await held(a)

        await eventually(a_runs_all, timeout_s=30)
        entry = await leases.get("telemetry-maintenance")
        assert entry is not None
        assert entry.value != b"gone-replica"

        async with replica("b") as b:
            # B is up: it runs none of what A runs.
            assert not WATCHED & await held(b)
            assert WATCHED <= await held(a)

            await a_context.__aexit__(None, None, None)  # A stops (gives its leases back)
            a_open = False

            async def b_runs_all() -> bool:
                return WATCHED <= await held(b)

            await eventually(b_runs_all, timeout_s=30)
            holders = {(await leases.get(task)) for task in WATCHED}
            assert None not in holders
            assert len({entry.value for entry in holders if entry is not None}) == 1
    finally:
        alive.clear()
        if not renewing.done():
            await renewing
        if a_open:
            await a_context.__aexit__(None, None, None)


async def test_without_nats_the_one_process_runs_them(node_factory: NodeFactory) -> None:
    async with node_factory() as node:
        body = (await node.client.get("/readyz")).json()
        assert "singleton_tasks" not in body["checks"]
        assert body["checks"]["database"]["ok"] is True
