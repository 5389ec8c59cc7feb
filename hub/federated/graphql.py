"""Federated runs and the model registry in the hub's GraphQL API."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
import math
import uuid
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.federated import service
from hub.federated.market_listing import listing_name
from hub.federated.models import FederatedRun, GlobalModel, RunStatus
from hub.graphql.context import HubContext
from hub.knowledge_market.models import Listing, Release
from yunfab.graphql.dataloaders import Loader, by_key, rows_by
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import mutate, page_request, query, service_input
from yunfab.graphql.subscriptions import EventGate

PROGRESS_POLL_S = 5.0
"""`federatedRunProgress` reads the run again this often without news from the runner (a run
driven by another process, `yunfab hub federated run`, announces nothing here)."""

strawberry.enum(RunStatus, name="FederatedRunStatus")


@strawberry.enum(name="FederatedStrategy")
class Strategy(enum.Enum):
    FEDAVG = "fedavg"
    FEDPROX = "fedprox"


_JSON_GOES = "Read the typed `{}`; this JSON form goes in the next release."


@strawberry.type(name="FederatedMetric", description="One allow-listed metric a node reported.")
class MetricType:
    name: str
    value: float | None = strawberry.field(description="Null when not a finite number.")


def _metrics(values: Mapping[str, Any] | None) -> list[MetricType]:
    """Metrics are named by the model (train_loss, eval_auroc...): a list of name and value
    keeps the type fixed while the names stay the model's."""
    out = []
    for name, value in (values or {}).items():
        number = (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
        out.append(
            MetricType(name=name, value=number if number is None or math.isfinite(number) else None)
        )
    return out


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@strawberry.type(name="FederatedDifferentialPrivacy")
class DifferentialPrivacyType:
    enabled: bool
    mechanism: str | None
    noise_multiplier: float | None
    clipping_norm: float | None
    num_sampled_nodes: int | None
    noise_stdev: float | None
    rounds: str | None = strawberry.field(description="The rounds it covers, e.g. 2-5.")
    not_covered: str | None = strawberry.field(description="What it does not protect.")

    @classmethod
    def from_document(cls, doc: Mapping[str, Any] | None) -> DifferentialPrivacyType:
        doc = doc or {}
        return cls(
            enabled=bool(doc.get("enabled", bool(doc))),
            mechanism=_str(doc.get("mechanism") or doc.get("kind")),
            noise_multiplier=_float(doc.get("noise_multiplier")),
            clipping_norm=_float(doc.get("clipping_norm")),
            num_sampled_nodes=_int(doc.get("num_sampled_nodes")),
            noise_stdev=_float(doc.get("noise_stdev")),
            rounds=_str(doc.get("rounds")),
            not_covered=_str(doc.get("not_covered")),
        )


@strawberry.type(name="FederatedSecureAggregation")
class SecureAggregationType:
    enabled: bool
    protocol: str | None
    num_shares: int | None
    reconstruction_threshold: int | None
    clipping_range: float | None
    max_weight: float | None
    quantization_range: int | None
    rounds: str | None
    not_covered: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any] | None) -> SecureAggregationType:
        doc = doc or {}
        return cls(
            enabled=bool(doc.get("enabled", bool(doc))),
            protocol=_str(doc.get("protocol") or doc.get("kind")),
            num_shares=_int(doc.get("num_shares")),
            reconstruction_threshold=_int(doc.get("reconstruction_threshold")),
            clipping_range=_float(doc.get("clipping_range")),
            max_weight=_float(doc.get("max_weight")),
            quantization_range=_int(doc.get("quantization_range")),
            rounds=_str(doc.get("rounds")),
            not_covered=_str(doc.get("not_covered")),
        )


@strawberry.type(name="FederatedPrivacy", description="The privacy a run had.")
class PrivacyType:
    differential_privacy: DifferentialPrivacyType
    secure_aggregation: SecureAggregationType

    @classmethod
    def from_document(cls, doc: Mapping[str, Any] | None) -> PrivacyType:
        doc = doc or {}
        return cls(
            differential_privacy=DifferentialPrivacyType.from_document(
                doc.get("differential_privacy")
            ),
            secure_aggregation=SecureAggregationType.from_document(doc.get("secure_aggregation")),
        )


@strawberry.type(name="FederatedNode", description="A node as Flower knew it in a run.")
class RunNodeType:
    node_id: str
    name: str

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> RunNodeType:
        return cls(node_id=str(doc.get("node_id", "")), name=str(doc.get("name", "")))


@strawberry.type(name="FederatedDroppedNode")
class DroppedNodeType:
    node_id: str
    name: str
    round: int | None
    step: str | None
    reason: str | None


@strawberry.type(name="FederatedNodeMetrics")
class NodeMetricsType:
    node_id: str
    name: str
    metrics: list[MetricType]


@strawberry.type(name="FederatedNodeError")
class NodeErrorType:
    node_id: str
    error: str


@strawberry.type(name="FederatedStep", description="One step of a round as the server saw it.")
class StepType:
    kind: str = strawberry.field(description="train, evaluate, or a SecAgg+ stage (secagg_...).")
    seconds: float
    nodes: list[NodeMetricsType]
    errors: list[NodeErrorType]
    missing: list[str] = strawberry.field(description="Nodes asked that never answered.")
    aggregated: list[MetricType]

    @classmethod
    def from_document(cls, kind: str, doc: Mapping[str, Any]) -> StepType:
        nodes = []
        for node_id, values in (doc.get("nodes") or {}).items():
            metrics = {k: v for k, v in (values or {}).items() if k != "name"}
            nodes.append(
                NodeMetricsType(
                    node_id=str(node_id),
                    name=str((values or {}).get("name", "")),
                    metrics=_metrics(metrics),
                )
            )
        return cls(
            kind=kind,
            seconds=_float(doc.get("seconds")) or 0.0,
            nodes=nodes,
            errors=[
                NodeErrorType(node_id=str(k), error=str(v))
                for k, v in (doc.get("errors") or {}).items()
            ],
            missing=[str(m) for m in doc.get("missing") or []],
            aggregated=_metrics(doc.get("aggregated")),
        )


@strawberry.type(name="FederatedRound")
class RoundType:
    round: int
    steps: list[StepType]

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> RoundType:
        return cls(
            round=_int(doc.get("round")) or 0,
            steps=[
                StepType.from_document(kind, value)
                for kind, value in doc.items()
                if kind != "round" and isinstance(value, Mapping)
            ],
        )


@strawberry.type(
    name="FederatedRunSummary",
    description="The ServerApp's record of a run: per round and per node, the allow-listed "
    "metrics the nodes sent.",
)
class SummaryType:
    flower_run_id: str | None
    strategy: str | None
    proximal_mu: float | None
    rounds: int | None
    statistics_rounds: int | None
    min_nodes: int | None
    local_epochs: int | None
    learning_rate: float | None
    round_timeout_s: float | None
    privacy: PrivacyType
    nodes: list[RunNodeType]
    dropped_nodes: list[DroppedNodeType]
    per_round: list[RoundType]
    final: list[MetricType] = strawberry.field(description="The last round's evaluation.")
    seconds: float | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> SummaryType:
        return cls(
            flower_run_id=_str(doc.get("run_id")),
            strategy=_str(doc.get("strategy")),
            proximal_mu=_float(doc.get("proximal_mu")),
            rounds=_int(doc.get("rounds")),
            statistics_rounds=_int(doc.get("statistics_rounds")),
            min_nodes=_int(doc.get("min_nodes")),
            local_epochs=_int(doc.get("local_epochs")),
            learning_rate=_float(doc.get("learning_rate")),
            round_timeout_s=_float(doc.get("round_timeout_s")),
            privacy=PrivacyType.from_document(doc.get("privacy")),
            nodes=[RunNodeType.from_document(n) for n in doc.get("nodes") or []],
            dropped_nodes=[
                DroppedNodeType(
                    node_id=str(d.get("node_id", "")),
                    name=str(d.get("name", "")),
                    round=_int(d.get("round")),
                    step=_str(d.get("step")),
                    reason=_str(d.get("reason")),
                )  # fmt: skip
                for d in doc.get("dropped_nodes") or []
            ],
            per_round=[RoundType.from_document(r) for r in doc.get("per_round") or []],
            final=_metrics(doc.get("final")),
            seconds=_float(doc.get("seconds")),
        )


@strawberry.type(name="FederatedTrainingParameters")
class ParametersType:
    local_epochs: int | None
    learning_rate: float | None
    proximal_mu: float | None


@strawberry.type(name="GlobalModelLineage", description="Where a model came from.")
class LineageType:
    source: str
    run_id: uuid.UUID | None
    flower_run_id: str | None
    strategy: str | None
    rounds: int | None
    min_nodes: int | None
    nodes: list[RunNodeType]
    parameters: ParametersType
    privacy: PrivacyType

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> LineageType:
        parameters = doc.get("parameters") or {}
        run = doc.get("run")
        return cls(
            source=str(doc.get("source", "")),
            run_id=uuid.UUID(run) if isinstance(run, str) else None,
            flower_run_id=_str(doc.get("flower_run_id")),
            strategy=_str(doc.get("strategy")),
            rounds=_int(doc.get("rounds")),
            min_nodes=_int(doc.get("min_nodes")),
            nodes=[RunNodeType.from_document(n) for n in doc.get("nodes") or []],
            parameters=ParametersType(
                local_epochs=_int(parameters.get("local_epochs")),
                learning_rate=_float(parameters.get("learning_rate")),
                proximal_mu=_float(parameters.get("proximal_mu")),
            ),
            privacy=PrivacyType.from_document(doc.get("privacy")),
        )


@strawberry.type(name="GlobalModelRelease", description="The market release a global model became.")
class ModelReleaseType:
    id: uuid.UUID
    listing_slug: str
    version: str
    status: str = strawberry.field(description="published, yanked or revoked.")
    verified: bool
    created_at: dt.datetime


@strawberry.type(name="GlobalModel", description="A model in the hub's registry.")
class GlobalModelType:
    id: uuid.UUID
    name: str
    version: int
    kind: str
    digest: str = strawberry.field(description="SHA-256 of the model file.")
    metrics: list[MetricType] = strawberry.field(description="The final round's evaluation.")
    metrics_json: JSON = strawberry.field(deprecation_reason=_JSON_GOES.format("metrics"))
    lineage: LineageType = strawberry.field(
        description="The run, strategy, rounds, nodes, parameters and privacy settings."
    )
    lineage_json: JSON = strawberry.field(deprecation_reason=_JSON_GOES.format("lineage"))
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: GlobalModel) -> GlobalModelType:
        return cls(
            id=row.id,
            name=row.name,
            version=row.version,
            kind=row.kind,
            digest=row.digest,
            metrics=_metrics(row.metrics),
            metrics_json=row.metrics,  # type: ignore[arg-type]
            lineage=LineageType.from_document(row.lineage),
            lineage_json=row.lineage,  # type: ignore[arg-type]
            created_at=row.created_at,
            row=row,
        )

    row: strawberry.Private[GlobalModel | None] = None

    @strawberry.field(
        description="The market release it was published as (listing federated-<name>); "
        "null when publishing failed."
    )
    async def market_release(self, info: Info[HubContext, None]) -> ModelReleaseType | None:
        if self.row is None:
            return None
        slug = listing_name(self.row.name)
        release = await MarketReleaseLoader.of(info).load((slug, f"{self.row.version}.0.0"))
        if release is None:
            return None
        return ModelReleaseType(
            id=release.id,
            listing_slug=slug,
            version=release.version,
            status=str(release.status),
            verified=release.verified,
            created_at=release.created_at,
        )


@strawberry.type(name="FederatedRunConfig", description="What a run asked of the nodes.")
class RunConfigType:
    strategy: Strategy
    rounds: int
    min_nodes: int
    proximal_mu: float
    local_epochs: int
    learning_rate: float
    dp_noise_multiplier: float = strawberry.field(description="0: no differential privacy.")
    dp_clipping_norm: float
    secure_aggregation: bool
    secagg_clipping_range: float
    secagg_max_weight: float
    round_timeout_s: float
    label: str

    @classmethod
    def from_request(cls, request: service.RunRequest) -> RunConfigType:
        return cls(
            strategy=Strategy(request.strategy),
            rounds=request.rounds,
            min_nodes=request.min_nodes,
            proximal_mu=request.proximal_mu,
            local_epochs=request.local_epochs,
            learning_rate=request.learning_rate,
            dp_noise_multiplier=request.dp_noise_multiplier,
            dp_clipping_norm=request.dp_clipping_norm,
            secure_aggregation=request.secure_aggregation,
            secagg_clipping_range=request.secagg_clipping_range,
            secagg_max_weight=request.secagg_max_weight,
            round_timeout_s=request.round_timeout_s,
            label=request.label,
        )


@strawberry.type(name="FederatedRun")
class FederatedRunType:
    id: uuid.UUID
    label: str
    strategy: str
    rounds: int
    min_nodes: int
    status: RunStatus
    flower_run_id: str | None
    config: RunConfigType
    config_json: JSON = strawberry.field(deprecation_reason=_JSON_GOES.format("config"))
    summary: SummaryType | None = strawberry.field(
        description="Per round and per node, the allow-listed metrics the nodes sent. While "
        "the run goes: the steps done so far (no final metrics); then the ServerApp's record."
    )
    summary_json: JSON | None = strawberry.field(
        description="The ServerApp's summary.json as it came, byte for byte the run's record "
        "(its progress.json while the run goes).",
        deprecation_reason=_JSON_GOES.format("summary"),
    )
    error: str | None
    model_id: uuid.UUID | None
    started_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    job_id: uuid.UUID | None = strawberry.field(
        description="The job driving the run on the hub's workers (`job(id:)`); null for a "
        "run the console command drives itself."
    )

    @classmethod
    def from_model(cls, row: FederatedRun) -> FederatedRunType:
        return cls(
            id=row.id,
            label=row.label,
            strategy=row.strategy,
            rounds=row.rounds,
            min_nodes=row.min_nodes,
            status=row.status,
            flower_run_id=row.flower_run_id,
            config=RunConfigType.from_request(service.request_of(row)),
            config_json=row.config,  # type: ignore[arg-type]
            summary=SummaryType.from_document(row.summary) if row.summary else None,
            summary_json=row.summary,  # type: ignore[arg-type]
            error=row.error,
            model_id=row.model_id,
            started_by=row.started_by,
            created_at=row.created_at,
            finished_at=row.finished_at,
            job_id=row.job_id,
        )

    loaded_model: strawberry.Private[GlobalModelType | None] = None
    """Set where the model was read with the run (subscriptions: no request session)."""

    @strawberry.field(description="The global model the run made, once it finished.")
    async def model(self, info: Info[HubContext, None]) -> GlobalModelType | None:
        if self.model_id is None:
            return None
        if self.loaded_model is not None:
            return self.loaded_model
        row = await GlobalModelLoader.of(info).load(self.model_id)
        return GlobalModelType.from_model(row) if row else None


class GlobalModelLoader(Loader[uuid.UUID, GlobalModel | None]):
    """The models of every run of a page, in one query."""

    async def batch_load(self, keys: list[uuid.UUID]) -> list[GlobalModel | None]:
        return await rows_by(self.context.session, GlobalModel, GlobalModel.id, keys)


class MarketReleaseLoader(Loader[tuple[str, str], Release | None]):
    """The market release each model of a page became (`service.market_release_of`), by its
    listing's slug and version, in one query."""

    async def batch_load(self, keys: list[tuple[str, str]]) -> list[Release | None]:
        rows = await self.context.session.execute(
            select(Release, Listing.slug)
            .join(Listing, Listing.id == Release.listing_id)
            .where(
                Listing.slug.in_({slug for slug, _ in keys}),
                Release.version.in_({version for _, version in keys}),
            )
        )
        return by_key(keys, rows, lambda row: (row[1], row[0].version), lambda row: row[0])


@strawberry.input
class FederatedRunInput:
    strategy: Strategy = Strategy.FEDAVG
    rounds: int = 3
    min_nodes: int = 2
    proximal_mu: float = 0.0
    local_epochs: int = 20
    learning_rate: float = 0.1
    dp_noise_multiplier: float = strawberry.field(
        default=0.0, description="0: off; otherwise updates are clipped and noised on the nodes."
    )
    dp_clipping_norm: float = 1.0
    secure_aggregation: bool = strawberry.field(
        default=False,
        description="Flower's SecAgg+: the server sees only the sum of the nodes' masked "
        "updates. Not with DP; needs minNodes >= 2 (3 or more advised).",
    )
    secagg_clipping_range: float = strawberry.field(
        default=100.0, description="SecAgg+: values times examples / max weight stay within it."
    )
    secagg_max_weight: float = strawberry.field(
        default=1000.0, description="SecAgg+: the most training examples a node weighs in with."
    )
    round_timeout_s: float = 300.0
    label: str = ""

    def request(self) -> service.RunRequest:
        return service_input(service.RunRequest, self, strategy=self.strategy.value)


@strawberry.type
class FederatedQuery:
    @strawberry.field(description="Federated runs, newest first.")
    async def federated_runs(
        self,
        info: Info[HubContext, None],
        first: int = 20,
        after: str | None = None,
        status: RunStatus | None = None,
    ) -> Connection[FederatedRunType]:
        context = info.context
        page = await query(
            context, service.list_runs, authorizer=context.authorizer,
            page=page_request(context, first, after, arity=2),
            status=status,
        )  # fmt: skip
        return Connection[FederatedRunType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=FederatedRunType.from_model,
            after=after,
        )

    @strawberry.field
    async def federated_run(self, info: Info[HubContext, None], id: uuid.UUID) -> FederatedRunType:
        context = info.context
        row = await query(context, service.get_run, authorizer=context.authorizer, run_id=id)
        return FederatedRunType.from_model(row)

    @strawberry.field(description="One model of the hub's registry.")
    async def global_model(self, info: Info[HubContext, None], id: uuid.UUID) -> GlobalModelType:
        context = info.context
        row = await query(context, service.get_model, authorizer=context.authorizer, model_id=id)
        return GlobalModelType.from_model(row)

    @strawberry.field(description="The hub's model registry, newest version first per name.")
    async def global_models(self, info: Info[HubContext, None]) -> list[GlobalModelType]:
        context = info.context
        rows = await query(context, service.list_models, authorizer=context.authorizer)
        return [GlobalModelType.from_model(row) for row in rows]


@strawberry.type
class FederatedMutation:
    @strawberry.mutation(
        description="Start a federated run over the nodes connected to the hub's SuperLink: "
        "returns at once with the run and the job (`jobId`) a hub worker drives it in; follow "
        "it with federatedRun(id), federatedRunProgress(id) or job(id)."
    )
    async def start_federated_run(
        self, info: Info[HubContext, None], input: FederatedRunInput
    ) -> FederatedRunType:
        context = info.context
        row = await mutate(
            context, service.start_run, authorizer=context.authorizer, request=input.request(),
            available=context.runner.available, jobs=context.jobs,
        )  # fmt: skip
        return FederatedRunType.from_model(row)


def _state(row: FederatedRun) -> str:
    """What the console sees of a run: a change in any of it is worth sending."""
    return json.dumps(
        [str(row.status), row.flower_run_id, row.error, str(row.model_id), row.summary],
        sort_keys=True,
        default=str,
    )


@strawberry.type
class FederatedSubscription:
    @strawberry.subscription(
        description="A run now and each time it changes (started, a round's step done, "
        "finished with its model, failed); ends after the run ends."
    )
    async def federated_run_progress(
        self, info: Info[HubContext, None], id: uuid.UUID
    ) -> AsyncGenerator[FederatedRunType, None]:
        context = info.context

        async def may_read(session: AsyncSession) -> FederatedRun:
            return await service.get_run(
                session, context.subject, authorizer=context.authorizer, run_id=id
            )

        async def current() -> tuple[FederatedRunType, FederatedRun]:
            async with context.sessionmaker() as session:
                row = await may_read(session)
                model = await session.get(GlobalModel, row.model_id) if row.model_id else None
            run = FederatedRunType.from_model(row)
            run.loaded_model = GlobalModelType.from_model(model) if model else None
            return run, row

        changed = asyncio.Event()

        async def listen() -> None:
            async for event in context.runner.events.subscribe():
                if event.run_id == id:
                    changed.set()

        listener = asyncio.create_task(listen())
        try:
            await asyncio.sleep(0)  # subscribed before the first read: no change falls between
            still_allowed = EventGate(context, check=may_read)
            run, row = await current()
            last = _state(row)
            yield run
            while row.status not in service.FINAL:
                try:
                    await asyncio.wait_for(changed.wait(), PROGRESS_POLL_S)
                except TimeoutError:
                    pass
                changed.clear()
                await still_allowed()
                run, row = await current()
                if _state(row) != last:
                    last = _state(row)
                    yield run
        finally:
            listener.cancel()
