"""Federated runs on the hub: asked for by the hub's operators, run by Flower over the nodes'
SuperNodes, recorded round by round, and ending in a global model in the hub's registry.

What a run may ask for is checked here before anything starts; what the run reports (the
ServerApp's summary) is stored as it came, and the model file it wrote is copied into the
registry with its digest and lineage.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import append_entry
from hub.federated.errors import (
    FederatedUnavailable,
    ModelNotFound,
    RunNotFound,
    RunWithoutResults,
)
from hub.federated.market_listing import listing_name, publish_global_model
from hub.federated.models import FederatedRun, GlobalModel, RunStatus
from hub.federated.repository import FederatedRepository
from hub.jobs.service import create_job
from hub.knowledge_market.models import Release
from hub.knowledge_market.repository import MarketRepository
from yunfab.authorization import Authorizer
from yunfab.blobs import BlobStore
from yunfab.db import utcnow
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.jobs import InProcessJobs, NatsJobs
from yunfab.subject import Subject

log = structlog.get_logger(__name__)

MODEL_NAME = "defect-detector"
MODEL_KIND = "federated-logistic-head"
STRATEGIES = ("fedavg", "fedprox")
REGISTRY_LOCK = 7_216_117
"""PostgreSQL advisory lock held while a model version is allocated."""


@dataclass(frozen=True)
class RunRequest:
    """What a run asks of the nodes; `run_config` is what the ServerApp receives."""

    strategy: str = "fedavg"
    rounds: int = 3
    min_nodes: int = 2
    proximal_mu: float = 0.0
    local_epochs: int = 20
    learning_rate: float = 0.1
    dp_noise_multiplier: float = 0.0
    """0: no differential privacy. Otherwise clipping plus Gaussian noise on the nodes' updates."""
    dp_clipping_norm: float = 1.0
    secure_aggregation: bool = False
    secagg_clipping_range: float = 100.0
    """SecAgg+ clips each value times examples / max weight to this range (nodes refuse more)."""
    secagg_max_weight: float = 1000.0
    """The most training examples a node may weigh in with under SecAgg+."""
    """Flower's SecAgg+: the server sees only the sum of masked updates. Not with DP; needs
    min_nodes >= 2 (with 2, each node can derive the other's update: 3 or more advised)."""
    round_timeout_s: float = 300.0
    label: str = ""

    def validate(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InvalidInput(f"strategy: one of {', '.join(STRATEGIES)}")
        checks = [
            (0 < self.secagg_clipping_range <= 1e9, "secagg_clipping_range: more than 0"),
            (1 <= self.secagg_max_weight <= 1e9, "secagg_max_weight: 1 or more (examples)"),
            (2 <= self.rounds <= 100, "rounds: 2 to 100 (the first fits the feature scaling)"),
            (1 <= self.min_nodes <= 1000, "min_nodes: 1 to 1000"),
            (1 <= self.local_epochs <= 1000, "local_epochs: 1 to 1000"),
            (0 < self.learning_rate <= 10, "learning_rate: more than 0, at most 10"),
            (0 <= self.proximal_mu <= 100, "proximal_mu: 0 to 100"),
            (0 <= self.dp_noise_multiplier <= 100, "dp_noise_multiplier: 0 (off) to 100"),
            (0 < self.dp_clipping_norm <= 1e6, "dp_clipping_norm: more than 0"),
            (10 <= self.round_timeout_s <= 86400, "round_timeout_s: 10 s to a day"),
            (len(self.label) <= 100, "label: at most 100 characters"),
        ]
        numbers = (self.learning_rate, self.proximal_mu, self.dp_noise_multiplier,
                   self.dp_clipping_norm, self.round_timeout_s, self.secagg_clipping_range,
                   self.secagg_max_weight)  # fmt: skip
        if not all(math.isfinite(value) for value in numbers):
            raise InvalidInput("numbers must be finite")
        for ok, message in checks:
            if not ok:
                raise InvalidInput(message)
        if self.strategy == "fedavg" and self.proximal_mu:
            raise InvalidInput("proximal_mu belongs to fedprox")
        if self.secure_aggregation and self.dp_noise_multiplier:
            raise InvalidInput(
                "secure_aggregation and differential privacy are not offered together: choose one"
            )
        if self.secure_aggregation and self.min_nodes < 2:
            raise InvalidInput("secure_aggregation needs min_nodes >= 2 (3 or more advised)")

    @property
    def privacy(self) -> dict[str, Any]:
        secure = {"kind": "SecAgg+ (Flower)"} if self.secure_aggregation else None
        if not self.dp_noise_multiplier:
            return {"differential_privacy": None, "secure_aggregation": secure}
        return {
            "differential_privacy": {
                "kind": "client-side fixed clipping with Gaussian noise",
                "noise_multiplier": self.dp_noise_multiplier,
                "clipping_norm": self.dp_clipping_norm,
            },
            "secure_aggregation": secure,
        }

    def run_config(self, out_dir: Path, run_id: uuid.UUID) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "num-server-rounds": self.rounds,
            "min-nodes": self.min_nodes,
            "proximal-mu": float(self.proximal_mu),
            "local-epochs": self.local_epochs,
            "learning-rate": float(self.learning_rate),
            "dp-noise-multiplier": float(self.dp_noise_multiplier),
            "dp-clipping-norm": float(self.dp_clipping_norm),
            "secure-aggregation": bool(self.secure_aggregation),
            "secagg-clipping-range": float(self.secagg_clipping_range),
            "secagg-max-weight": float(self.secagg_max_weight),
            "round-timeout-s": float(self.round_timeout_s),
            "out-dir": str(out_dir),
            "run-label": str(run_id),
        }


async def create_run(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, request: RunRequest,
    available: bool,
) -> FederatedRun:  # fmt: skip
    await authorizer.check(subject, "hub.federated.run")
    if not available:
        raise FederatedUnavailable(
            "no Flower SuperLink is configured for this hub (YUNFAB_HUB_FLOWER_SUPERLINK)"
        )
    request.validate()
    run = FederatedRun(
        label=request.label.strip() or f"{request.strategy} x{request.rounds}",
        strategy=request.strategy,
        rounds=request.rounds,
        min_nodes=request.min_nodes,
        config=asdict(request),
        started_by=subject.label,
    )
    repository = FederatedRepository(session)
    repository.add(run)
    await repository.flush()
    await append_entry(
        session,
        actor=subject,
        action="hub.federated.run",
        resource=f"federated-run:{run.id}",
        outcome="ok",
        detail={"strategy": run.strategy, "rounds": run.rounds, **request.privacy},
    )
    return run


RUN_JOB = "federated.run"
"""The kind of job that drives a run (hub/workers.py)."""


async def start_run(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, request: RunRequest,
    available: bool, jobs: InProcessJobs | NatsJobs,
) -> FederatedRun:  # fmt: skip
    """A new run and the job that drives it, queued for the hub's workers."""
    run = await create_run(
        session, subject, authorizer=authorizer, request=request, available=available
    )
    job, _ = await create_job(
        session, subject, kind=RUN_JOB, key=str(run.id), action="hub.federated.read",
        payload={"run_id": str(run.id)},
    )  # fmt: skip
    run.job_id = job.id
    await session.commit()  # the job is there before any worker is told to run it
    await jobs.submit(job.id, RUN_JOB)
    return run


def request_of(run: FederatedRun) -> RunRequest:
    return RunRequest(**run.config)


async def get_run(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, run_id: uuid.UUID
) -> FederatedRun:
    await authorizer.check(subject, "hub.federated.read")
    run = await FederatedRepository(session).run(run_id)
    if run is None:
        raise RunNotFound(f"no federated run {run_id}")
    return run


async def list_runs(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    page: PageRequest,
    status: RunStatus | None = None,
) -> Page[FederatedRun]:
    await authorizer.check(subject, "hub.federated.read")
    return await FederatedRepository(session).runs_page(page, status=status)


async def list_models(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer
) -> Sequence[GlobalModel]:
    await authorizer.check(subject, "hub.model.read")
    return await FederatedRepository(session).models()


async def get_model(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, model_id: uuid.UUID
) -> GlobalModel:
    await authorizer.check(subject, "hub.model.read")
    model = await FederatedRepository(session).model(model_id)
    if model is None:
        raise ModelNotFound(f"no model {model_id} in the hub's registry")
    return model


async def market_release_of(
    session: AsyncSession, model: GlobalModel
) -> tuple[Release, str] | None:
    """The market release a model became, with its listing's slug (`publish_global_model`:
    listing `federated-<name>`, version `<model version>.0.0`); None when publishing failed."""
    slug = listing_name(model.name)
    release = await MarketRepository(session).release_of_slug(slug, f"{model.version}.0.0")
    return (release, slug) if release is not None else None


# What the runner records as the run goes


async def record_started(session: AsyncSession, run_id: uuid.UUID, flower_run_id: str) -> None:
    run = await FederatedRepository(session).run(run_id, for_update=True)
    assert run is not None
    run.flower_run_id = flower_run_id
    run.status = RunStatus.RUNNING


FINAL = (RunStatus.FINISHED, RunStatus.FAILED)


async def record_progress(
    session: AsyncSession, run_id: uuid.UUID, progress: dict[str, Any]
) -> bool:
    """The rounds so far (the ServerApp's progress.json) as the running run's summary; the
    final summary replaces it. False when the run has ended (its summary is final)."""
    run = await FederatedRepository(session).run(run_id, for_update=True)
    if run is None or run.status in FINAL or run.model_id is not None:
        return False
    run.summary = progress
    return True


async def record_failed(
    session: AsyncSession, run_id: uuid.UUID, error: str, *, summary: dict[str, Any] | None = None
) -> None:
    """The run ended without a model; `summary`, the ServerApp's when it wrote one, replaces
    the progress so far (its rounds show what each node replied)."""
    run = await FederatedRepository(session).run(run_id, for_update=True)
    assert run is not None
    if run.status in FINAL:
        return  # another process (the console, a hub before a restart) recorded the end
    run.status = RunStatus.FAILED
    run.error = error[:4000]
    run.finished_at = utcnow()
    if summary is not None:
        run.summary = summary


NO_RESULTS = "no_results"
"""The start of a run's error when no node returned a training result (`no_results`)."""


def no_results(summary: dict[str, Any]) -> str | None:
    """Why a run that the SuperLink saw complete made no model: no node returned a result to any
    training step (every node failed, or none was asked, in every round past the model's
    statistics rounds), so the ServerApp's weights are the initial head. None when some node
    trained. The reason names each round's failures, as the summary's `per_round` has them."""
    rounds = [r for r in summary.get("per_round") or [] if isinstance(r, dict)]
    statistics = int(summary.get("statistics_rounds") or 0)

    def trained(record: dict[str, Any]) -> bool:
        step = record.get("train")
        return isinstance(step, dict) and bool(step.get("nodes"))

    if any(trained(r) for r in rounds if int(r.get("round") or 0) > statistics):
        return None
    failures = []
    for record in rounds:
        for kind, step in record.items():
            if kind == "round" or not isinstance(step, dict):
                continue
            replies = [f"node {node}: {error or 'error'}" for node, error in
                       (step.get("errors") or {}).items()]  # fmt: skip
            replies += [f"node {node}: no reply" for node in step.get("missing") or []]
            if step.get("nodes"):
                replies.append(f"{len(step['nodes'])} node(s) replied")
            failures.append(
                f"round {record.get('round')} {kind}: {', '.join(replies) or 'no node asked'}"
            )
    where = "; ".join(failures) if failures else "no training round ran"
    return f"{NO_RESULTS}: no node returned a training result, so no model was made ({where})"


MODELS_PREFIX = "models"
"""Where model files go in the hub's blob store (`models/...` under the data directory)."""


async def record_finished(
    session: AsyncSession, run_id: uuid.UUID, *, summary: dict[str, Any], weights: bytes,
    blobs: BlobStore,
) -> GlobalModel:  # fmt: skip
    """Store the run's summary and put its global model into the registry as the next version.
    A summary in which no node trained (`no_results`) is refused: `RunWithoutResults`."""
    reason = no_results(summary)
    if reason is not None:
        raise RunWithoutResults(reason)
    repository = FederatedRepository(session)
    run = await repository.run(run_id, for_update=True)
    assert run is not None
    if run.model_id is not None:  # recorded already, by another process following the run
        existing = await repository.model(run.model_id)
        assert existing is not None
        return existing
    # Versions are handed out one run at a time: two runs finishing together would otherwise
    # both take the next one. (SQLite lets one writer in at a time anyway.)
    await repository.lock_registry(REGISTRY_LOCK)
    version = await repository.latest_version(MODEL_NAME) + 1
    digest = hashlib.sha256(weights).hexdigest()
    relative = f"{MODEL_NAME}/v{version}-{digest[:12]}.npz"
    # The file first: a registry row never names a missing file.
    await asyncio.to_thread(blobs.put_bytes, f"{MODELS_PREFIX}/{relative}", weights)
    request = request_of(run)
    model = GlobalModel(
        name=MODEL_NAME,
        version=version,
        kind=MODEL_KIND,
        file=relative,
        digest=digest,
        metrics=dict(summary.get("final") or {}),
        lineage={
            "source": "federated",
            "run": str(run.id),
            "flower_run_id": run.flower_run_id,
            "strategy": run.strategy,
            "rounds": run.rounds,
            "min_nodes": run.min_nodes,
            "nodes": summary.get("nodes", []),
            "parameters": {
                "local_epochs": request.local_epochs,
                "learning_rate": request.learning_rate,
                "proximal_mu": request.proximal_mu,
            },
            "privacy": _privacy(request, summary),
        },
    )
    repository.add(model)
    await repository.flush()
    run.model_id = model.id
    run.summary = summary
    run.status = RunStatus.FINISHED
    run.finished_at = utcnow()
    await _publish_on_market(session, model, weights=weights, blobs=blobs)
    return model


async def _publish_on_market(
    session: AsyncSession, model: GlobalModel, *, weights: bytes, blobs: BlobStore
) -> None:
    """Publish the model on the market (issue #9); a failure there never loses the run."""
    try:
        async with session.begin_nested():
            await publish_global_model(session, model, weights=weights, blobs=blobs)
    except Exception:
        log.exception("federated_model_not_published", model=model.name, version=model.version)


def _privacy(request: RunRequest, summary: dict[str, Any]) -> dict[str, Any]:
    """What was asked for, with the SecAgg+ parameters the ServerApp reports it ran with."""
    privacy = request.privacy
    reported = (summary.get("privacy") or {}).get("secure_aggregation") or {}
    if privacy["secure_aggregation"] and reported.get("enabled"):
        privacy["secure_aggregation"] = {**privacy["secure_aggregation"], **reported}
    return privacy
