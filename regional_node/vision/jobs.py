"""Training as a job: the request stores the uploads and returns the job; a worker (or the API
process itself when embedded) trains and registers the model. A job run twice (its worker
presumed dead, or a retry) trains twice but registers one model version: the job row decides
(`yunfab.jobs.service.JobStore.succeed`)."""

from __future__ import annotations

import asyncio
import functools
import uuid
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.jobs.models import Job
from regional_node.jobs.service import check_key, create_job
from regional_node.vision.events import TrainingProgress, reporter
from regional_node.vision.service import CLASS, SKU, train_model, training_data
from vision_ml.datasets import GOOD
from vision_ml.progress import TrainingStage
from yunfab.errors import InvalidInput
from yunfab.jobs.service import subject_from, subject_json
from yunfab.subject import Subject

if TYPE_CHECKING:
    from regional_node.runtime import NodeRuntime

TRAINING = "vision.train"
ACTION = "node.vision.model.train"


def _store(runtime: NodeRuntime, relative: str, data: bytes) -> None:
    path = runtime.vision.path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    runtime.vision.publish(relative)


async def start_training(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    sku: str, uploads: list[tuple[str, str, bytes]], holdout: float, seed: int,
    key: str | None,
) -> Job:  # fmt: skip
    """Queue a training of `uploads` (label, file name, bytes); the caller has checked who may
    train at the factory and how many images. Asking again with the same `key` returns the job
    already made, uploads unstored."""
    if not SKU.fullmatch(sku):
        raise InvalidInput("sku: 1-64 letters, digits, '.', '_' or '-', starting alphanumeric")
    for label, _, _ in uploads:
        if label != GOOD and not CLASS.fullmatch(label):
            raise InvalidInput(f"defect class {label!r}: lowercase letters, digits, '_' or '-'")
    check_key(key)
    job, new = await create_job(
        session, subject, kind=TRAINING, key=key, factory_id=factory_id, action=ACTION,
        payload={},
    )  # fmt: skip
    if not new:
        return job
    files = []
    for index, (label, name, data) in enumerate(uploads):
        suffix = PurePosixPath(name).suffix.lower()[:8]
        relative = f"jobs/{job.id}/{index:04d}-{label}{suffix if suffix.isascii() else ''}"
        await asyncio.to_thread(_store, runtime, relative, data)
        files.append({"label": label, "name": name, "file": relative})
    job.payload = {
        "factory_id": str(factory_id),
        "sku": sku,
        "holdout": holdout,
        "seed": seed,
        "files": files,
        "subject": subject_json(subject),
    }
    await session.commit()  # the job is there before anyone is told to run it
    await runtime.jobs.submit(job.id, TRAINING)
    return job


async def run_training(runtime: NodeRuntime, session: AsyncSession, job: Job) -> dict[str, Any]:
    """Train and register (flushed, not committed: the job's runner commits it with the job's
    success, or rolls it back when another run succeeded first)."""
    payload = job.payload
    subject = subject_from(payload["subject"])
    files = payload["files"]
    raw = [
        (item["label"], await asyncio.to_thread(runtime.vision.read_file, item["file"]))
        for item in files
    ]
    progress = reporter(runtime.training_progress, job.id, job.owner)
    data = await runtime.vision.run(
        functools.partial(training_data, runtime, raw, [item["name"] for item in files], progress),
        training=True,
    )
    row = await train_model(
        session, subject, runtime=runtime, factory_id=uuid.UUID(payload["factory_id"]),
        sku=payload["sku"], data=data, holdout=payload["holdout"], seed=payload["seed"],
        progress=progress,
    )  # fmt: skip
    return {"model_id": str(row.id), "sku": row.sku, "number": row.number}


async def done(runtime: NodeRuntime, job: Job, result: dict[str, Any] | None) -> None:
    """After the job's outcome is committed: its followers hear of it, its uploads go."""
    if result is not None:
        runtime.training_progress.publish(
            TrainingProgress(
                job.id, job.owner, TrainingStage.DONE, model_id=uuid.UUID(result["model_id"])
            )
        )
    for item in job.payload.get("files", []):
        await asyncio.to_thread(runtime.vision.discard, item["file"])
