"""`telemetry.rollup`: recompute a factory's series' minute and hour rollups over a time range,
as a job (after a bulk import of history, or a correction of stored readings, whose dirty
ranges the maintenance loop would otherwise take in its own time). Its payload: `series` (ids),
`lo_ms`, `hi_ms`; queued through `regional_node.jobs.service.create_job` with `ACTION` at the
factory (benchmarks/scale.py measures job throughput with it).

The recompute reads the raw table and overwrites the buckets: running the job twice (a
redelivery) comes out the same. Its writes commit with the job's success."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.jobs.models import Job
from regional_node.telemetry.rollups import recompute

if TYPE_CHECKING:
    from regional_node.runtime import NodeRuntime

ROLLUP = "telemetry.rollup"
ACTION = "node.device.manage"
"""Who may queue the recompute at the factory, and read its job."""


async def run_rollup(runtime: NodeRuntime, session: AsyncSession, job: Job) -> dict[str, Any]:
    payload = job.payload
    lo_ms, hi_ms = int(payload["lo_ms"]), int(payload["hi_ms"])
    series = [int(s) for s in payload["series"]]
    for one in series:
        await recompute(session, one, lo_ms, hi_ms)
    return {"series": len(series), "lo_ms": lo_ms, "hi_ms": hi_ms}
