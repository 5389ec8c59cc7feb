"""`telemetry.rollup` as a node job: a device's minute and hour rollups over a range, recomputed
by the node's worker (here the embedded one) before its maintenance loop would get to them, and
the same again when the job is run twice (issue #22; benchmarks/scale.py measures its
throughput)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from regional_node.devices.models import DeviceMetric
from regional_node.jobs.service import create_job
from regional_node.state import node_state
from regional_node.telemetry import jobs as telemetry_jobs
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import with_device
from tests.support import eventually
from tests.test_ingest import NODE_URL, SERIES, iso, now_ms, send
from yunfab.db import session_scope
from yunfab.subject import SYSTEM

JOB = "query($id: UUID!) { job(id: $id) { kind status attempts result error } }"


async def test_a_rollup_job_recomputes_a_device_s_buckets(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    # The maintenance loop's next refresh is an hour away: only the job makes the buckets.
    async with hub_factory() as hub, node_factory(hub=hub, rollup_interval_s=3600) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        hour = (now_ms() - 3 * 3_600_000) // 3_600_000 * 3_600_000
        readings = [
            {"ts": hour + i * 10_000, "metrics": {"clamp_force_kn": float(i)}} for i in range(18)
        ]
        assert (await send(node.client, device, readings)).json()["accepted"] == 18
        variables = {
            "id": device["device"]["id"],
            "metric": "clamp_force_kn",
            "start": iso(hour),
            "end": iso(hour + 3_600_000),
        }

        async def points(resolution: str) -> list[dict[str, Any]]:
            data = await node.graphql(SERIES, {**variables, "res": resolution}, headers=operator)
            found: list[dict[str, Any]] = data["telemetry"]["points"]
            return found

        assert await points("MINUTE") == []
        state = node_state(node.app)
        async with state.db.sessionmaker() as session:
            series = await session.scalar(
                select(DeviceMetric.id).where(
                    DeviceMetric.device_id == uuid.UUID(device["device"]["id"]),
                    DeviceMetric.name == "clamp_force_kn",
                )
            )
        assert series is not None

        async def queue(key: str) -> str:
            async with session_scope(state.db.sessionmaker) as session:
                job, _ = await create_job(
                    session, SYSTEM, kind=telemetry_jobs.ROLLUP, key=key,
                    factory_id=uuid.UUID(factory["id"]), action=telemetry_jobs.ACTION,
                    payload={"series": [series], "lo_ms": hour, "hi_ms": hour + 180_000},
                )  # fmt: skip
                job_id = job.id
            await state.runtime.jobs.submit(job_id, telemetry_jobs.ROLLUP)
            return str(job_id)

        async def succeeded(job_id: str) -> dict[str, Any]:
            async def done() -> bool:
                job = (await node.graphql(JOB, {"id": job_id}, headers=operator))["job"]
                return bool(job["status"] in {"succeeded", "failed"})

            await eventually(done, timeout_s=30)
            job: dict[str, Any] = (await node.graphql(JOB, {"id": job_id}, headers=operator))["job"]
            return job

        first = await succeeded(await queue("backfill-1"))
        assert (first["kind"], first["status"], first["attempts"]) == (
            "telemetry.rollup",
            "succeeded",
            1,
        )
        assert first["result"] == {"series": 1, "loMs": hour, "hiMs": hour + 180_000}
        minutes = await points("MINUTE")
        assert [p["count"] for p in minutes] == [6, 6, 6]
        assert (minutes[0]["value"], minutes[0]["min"], minutes[0]["max"]) == (2.5, 0.0, 5.0)
        (bucket,) = await points("HOUR")
        assert (bucket["count"], bucket["max"]) == (18, 17.0)

        # Run again (as a redelivery would): the buckets come out the same.
        again = await succeeded(await queue("backfill-2"))
        assert again["status"] == "succeeded"
        assert await points("MINUTE") == minutes
