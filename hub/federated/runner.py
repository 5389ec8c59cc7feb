"""Drives federated runs through the Flower CLI against the hub's SuperLink: starts the run with
its config, follows its status, and records the outcome (summary and global model) on the hub.

The hub never talks to nodes here: the SuperLink does, and nodes reach it through their
SuperNodes. Each run writes its summary and weights into `federated/<run id>/` of the hub's blob
store (`hub.blobs`): `DATA_DIR/federated/<run id>/` with a SuperLink beside the hub on its disk;
with the hub's files in S3 the ServerApp writes them into the bucket too, so the SuperLink may
run in a pod of its own and the run be followed by any worker. The model is then stored in the
registry under `models/`. While it goes, the ServerApp's `progress.json` there (the rounds so
far) is stored on the run at each status poll, and every change to a run is announced on
`events` for `federatedRunProgress` (on NATS, to every hub replica: the runner may be in a
`yunfab hub worker`).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.blobs import hub_blobs
from hub.federated import service
from hub.federated.events import RunChanged, RunEvents
from hub.federated.models import FederatedRun
from hub.federated.repository import FederatedRepository
from hub.settings import HubSettings
from yunfab.blobs import BlobNotFound, S3BlobStore
from yunfab.db import session_scope

log = structlog.get_logger(__name__)
CONNECTION = "yunfab-hub"
STATUS_ATTEMPTS = 5
SUPERLINK_PATIENCE_S = 300.0
"""How long status calls may fail in a row (at least STATUS_ATTEMPTS of them) before the run is
given up: a SuperLink pod being replaced is unreachable for a while."""
RESTARTS = 2
"""Times a run the SuperLink lost (a restart of a SuperLink with its state in memory) is started
again at the SuperLink before it is marked failed."""
LOST = "Run ID not found"
"""What `flwr ls` says of a run the SuperLink does not know."""


class RunLost(Exception):
    """The SuperLink no longer knows the run: it restarted without its state."""


STEPS_PER_ROUND = 5
"""At most: train and evaluate, or SecAgg+'s setup, key sharing, collection and unmasking."""


def _deadline_s(request: service.RunRequest) -> float:
    """How long a run may take: every step of every round at its timeout, plus start-up."""
    return request.rounds * STEPS_PER_ROUND * request.round_timeout_s + 600.0


class FlowerRunner:
    def __init__(
        self,
        settings: HubSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        events: RunEvents | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.home = settings.data_dir.resolve() / "flwr"
        self.runs_dir = settings.data_dir.resolve() / "federated"
        self.blobs = hub_blobs(settings)
        self._tasks: dict[uuid.UUID, asyncio.Task[FederatedRun]] = {}
        self._configured = False
        self.events: RunEvents = events if events is not None else RunEvents()
        """Runs whose row changed (started, a step recorded, finished, failed)."""

    @property
    def available(self) -> bool:
        return self.settings.flower_superlink is not None

    def _configure(self) -> None:
        if self._configured:
            return
        from federated_learning import deploy

        assert self.settings.flower_superlink is not None
        deploy.write_cli_config(
            self.home,
            [
                deploy.Connection(
                    CONNECTION,
                    self.settings.flower_superlink,
                    root_certificates=self.settings.flower_root_certificates,
                )
            ],
        )
        self._configured = True

    def launch(self, run_id: uuid.UUID) -> None:
        """Drive the run in the background (the server); see `drive` for the console."""
        task = asyncio.create_task(self.drive(run_id), name=f"federated-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run_id, None))

    async def drive(self, run_id: uuid.UUID) -> FederatedRun:
        """Start the run at the SuperLink, wait for it, record how it ended; returns the row."""
        try:
            await self._drive(run_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("federated_run_failed", run=str(run_id))
            async with session_scope(self.sessionmaker) as session:
                await service.record_failed(session, run_id, f"{type(exc).__name__}: {exc}")
        self.events.publish(RunChanged(run_id))
        async with self.sessionmaker() as session:
            run = await FederatedRepository(session).run(run_id)
            assert run is not None
            return run

    async def _drive(self, run_id: uuid.UUID) -> None:
        from federated_learning import deploy

        await asyncio.to_thread(self._configure)
        async with self.sessionmaker() as session:
            run = await FederatedRepository(session).run(run_id)
            assert run is not None
            request = service.request_of(run)
            flower_id = run.flower_run_id
        out_dir = self.runs_dir / str(run_id)
        out_dir.mkdir(parents=True, exist_ok=True)
        restarts = 0
        while True:
            if flower_id is None:
                config = request.run_config(out_dir, run_id)
                if isinstance(self.blobs, S3BlobStore):
                    config.update(self.out_store(run_id))
                flower_id = str(
                    await asyncio.to_thread(
                        deploy.start_run, deploy.app_dir(), CONNECTION, config, self.home
                    )
                )
                assert flower_id is not None
                async with session_scope(self.sessionmaker) as session:
                    await service.record_started(session, run_id, flower_id)
                self.events.publish(RunChanged(run_id))
                log.info("federated_run_started", run=str(run_id), flower_run=flower_id)
            try:
                status = await self._wait(flower_id, deadline_s=_deadline_s(request), run_id=run_id)
                break
            except RunLost:
                # A SuperLink with its state in memory (the scaled-out chart's) restarted: the
                # run is gone there, and nothing of it was recorded as final here. Start it
                # again; its nodes rejoin the new SuperLink on their own.
                if restarts >= RESTARTS:
                    raise
                restarts += 1
                log.warning("federated_run_lost", run=str(run_id), flower_run=flower_id)
                flower_id = None
                # The lost run's rounds are not the new run's.
                await asyncio.to_thread(self.blobs.delete, f"federated/{run_id}/progress.json")
        await self.record_end(run_id, flower_id, status)

    async def record_end(self, run_id: uuid.UUID, flower_id: str, status: str) -> None:
        """Record how the run ended, from its final Flower status and what its ServerApp wrote
        into the hub's blob store: finished with its model in the registry, or failed with the
        reason (a run that completed while every node failed every round made no model)."""
        summary_text = data = None
        if status.startswith("finished:completed"):
            summary_text = await self.output(run_id, "summary.json")
            data = await self.output(run_id, "global.npz")
        if summary_text is None or data is None:
            reason = f"Flower run {flower_id} ended {status}"
            if status.startswith("finished:completed"):
                reason += ", but wrote no global model"
            async with session_scope(self.sessionmaker) as session:
                await service.record_failed(session, run_id, reason)
            return
        summary: dict[str, Any] = json.loads(summary_text)
        failed = service.no_results(summary)
        if failed is not None:
            async with session_scope(self.sessionmaker) as session:
                await service.record_failed(session, run_id, failed, summary=summary)
            log.warning("federated_run_without_results", run=str(run_id), reason=failed)
            return
        async with session_scope(self.sessionmaker) as session:
            model = await service.record_finished(
                session, run_id, summary=summary, weights=data, blobs=self.blobs
            )
        log.info("federated_run_finished", run=str(run_id), model_version=model.version)

    def out_store(self, run_id: uuid.UUID) -> dict[str, Any]:
        """Where the ServerApp puts the run's outputs in the hub's bucket (`out-s3-*`)."""
        assert isinstance(self.blobs, S3BlobStore)
        location = self.blobs.location
        key = f"federated/{run_id}"
        return {
            "out-s3-bucket": location.bucket,
            "out-s3-endpoint-url": location.endpoint_url or "",
            "out-s3-region": location.region,
            "out-s3-key": f"{self.blobs.prefix}/{key}" if self.blobs.prefix else key,
        }

    async def output(self, run_id: uuid.UUID, name: str) -> bytes | None:
        """A file the run's ServerApp wrote, from the hub's blob store; None: not (yet)."""
        try:
            return await asyncio.to_thread(self.blobs.get_bytes, f"federated/{run_id}/{name}")
        except BlobNotFound:
            return None

    async def record_progress(
        self, run_id: uuid.UUID, source: Path | None, seen: str | None
    ) -> str | None:
        """Store `progress.json` on the run when it changed since `seen` (its last text): the
        file at `source`, or (None) the run's in the hub's blob store."""
        if source is None:
            data = await self.output(run_id, "progress.json")
            if data is None:
                return seen  # not written yet
            text = data.decode("utf-8", errors="replace")
        else:
            try:
                text = await asyncio.to_thread(source.read_text)
            except OSError:
                return seen  # not written yet
        if text == seen:
            return seen
        try:
            progress = json.loads(text)
        except ValueError:
            return seen
        if isinstance(progress, dict):
            async with session_scope(self.sessionmaker) as session:
                recorded = await service.record_progress(session, run_id, progress)
            if recorded:
                self.events.publish(RunChanged(run_id))
        return text

    async def _wait(self, flower_id: str, *, deadline_s: float, run_id: uuid.UUID) -> str:
        """The run's final status. A status call that fails is tried again (the SuperLink may
        be restarting) for SUPERLINK_PATIENCE_S; a run the SuperLink does not know raises
        `RunLost`; a run still going past `deadline_s` is stopped at the SuperLink."""
        from federated_learning import deploy

        deadline = time.monotonic() + deadline_s
        failures = 0
        failing_since = 0.0
        seen: str | None = None
        while True:
            seen = await self.record_progress(run_id, None, seen)
            try:
                status = await asyncio.to_thread(
                    deploy.run_status, int(flower_id), CONNECTION, self.home
                )
                failures = 0
            except deploy.FlowerCommandFailed as exc:
                if LOST in str(exc):
                    raise RunLost(f"the SuperLink lost Flower run {flower_id}") from exc
                failures += 1
                if failures == 1:
                    failing_since = time.monotonic()
                patience = time.monotonic() - failing_since
                if failures >= STATUS_ATTEMPTS and patience >= SUPERLINK_PATIENCE_S:
                    raise
                status = "unknown"
            if status.startswith("finished"):
                return status
            if time.monotonic() > deadline:
                await asyncio.to_thread(deploy.stop_run, int(flower_id), CONNECTION, self.home)
                return f"stopped by the hub after {deadline_s:.0f} s ({status})"
            await asyncio.sleep(self.settings.federated_poll_interval_s)

    async def resume(self) -> None:
        """At start-up: follow again the runs a previous hub process left running. (A run
        with a job is its job's: the queue gives the job to a worker again.)"""
        async with session_scope(self.sessionmaker) as session:
            rows = [
                run
                for run in await FederatedRepository(session).runs_under_way()
                if run.job_id is None
            ]
            for run in rows:
                if run.flower_run_id is None:
                    await service.record_failed(
                        session, run.id, "the hub stopped before the run reached the SuperLink"
                    )
        for run in rows:
            if run.flower_run_id is not None and self.available:
                log.info("federated_run_resumed", run=str(run.id), flower_run=run.flower_run_id)
                self.launch(run.id)

    async def register_nodes(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Register each (node name, SuperNode public key) at the SuperLink, which then accepts
        those SuperNodes and refuses any other (it runs with --enable-supernode-auth)."""
        from federated_learning import deploy

        await asyncio.to_thread(self._configure)
        outcomes = []
        for name, key in keys:
            folder = self.home / "keys"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{name}.pub"
            path.write_text(key + "\n")
            try:
                node_id = await asyncio.to_thread(
                    deploy.register_supernode, path, CONNECTION, self.home, name=name
                )
                outcomes.append({"node": name, "registered": True, "flower_node_id": node_id})
            except deploy.FlowerCommandFailed as exc:
                reason = str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else ""
                outcomes.append({"node": name, "registered": False, "reason": reason})
        return outcomes

    async def close(self) -> None:
        """Stop following runs; they go on at the SuperLink and `resume` picks them up."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
