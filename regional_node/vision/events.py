"""What vision's live feeds hear. A part was inspected (published once its record is committed;
the heatmap travels with the event because the node does not keep it, the record is read again
by id). A training job moved on (its stages, for the one who started it)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from vision_ml.progress import Progress, TrainingStage
from yunfab.events import Broadcaster


@dataclass(frozen=True)
class InspectionEvent:
    record_id: uuid.UUID
    station_id: uuid.UUID
    factory_id: uuid.UUID
    heatmap_png: bytes
    image_threshold: float | None
    total_ms: float
    people_masked: int


@dataclass(frozen=True)
class TrainingProgress:
    """How far a training job has got. `key` is the caller's own name for the job (given with
    the upload); `subject` who started it: only they hear of it."""

    key: uuid.UUID
    subject: str
    stage: TrainingStage
    done: int = 0
    total: int = 0
    model_id: uuid.UUID | None = None
    error: str | None = None


def reporter(
    events: Broadcaster[TrainingProgress], key: uuid.UUID | None, subject: str
) -> Progress | None:
    """A `Progress` that publishes on `events` from any thread (the training runs in a worker
    thread; subscribers live on the event loop). None when the caller gave no key."""
    if key is None:
        return None
    loop = asyncio.get_running_loop()

    def report(stage: TrainingStage, done: int, total: int) -> None:
        event = TrainingProgress(key, subject, stage, done, total)
        loop.call_soon_threadsafe(events.publish, event)

    return report


@dataclass
class TrainingJob:
    progress: Progress | None
    """Give it to each step; None when nobody follows the job."""
    model_id: uuid.UUID | None = None
    """Set once the model is stored: the job's DONE names it."""


@asynccontextmanager
async def training_job(
    events: Broadcaster[TrainingProgress], key: uuid.UUID | None, subject: str
) -> AsyncIterator[TrainingJob]:
    """One training job as its caller follows it: the steps as they happen, then DONE with the
    stored model once the block ends (after its commit), or FAILED with the error's code."""
    job = TrainingJob(progress=reporter(events, key, subject))
    try:
        yield job
    except Exception as exc:
        if key is not None:
            code = str(getattr(exc, "code", "internal_error"))
            events.publish(TrainingProgress(key, subject, TrainingStage.FAILED, error=code))
        raise
    if key is not None:
        events.publish(TrainingProgress(key, subject, TrainingStage.DONE, 1, 1, job.model_id))
