"""Federated runs and the model registry in the hub's GraphQL API."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.federated import service
from hub.federated.models import FederatedRun, GlobalModel, RunStatus
from hub.graphql.context import HubContext
from yunfab.db import after_commit, session_scope
from yunfab.graphql.pagination import Connection, PageRequest

strawberry.enum(RunStatus, name="FederatedRunStatus")


@strawberry.enum(name="FederatedStrategy")
class Strategy(enum.Enum):
    FEDAVG = "fedavg"
    FEDPROX = "fedprox"


@strawberry.type(name="GlobalModel", description="A model in the hub's registry.")
class GlobalModelType:
    id: uuid.UUID
    name: str
    version: int
    kind: str
    digest: str = strawberry.field(description="SHA-256 of the model file.")
    metrics: JSON
    lineage: JSON = strawberry.field(
        description="The run, strategy, rounds, nodes, parameters and privacy settings."
    )
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: GlobalModel) -> GlobalModelType:
        return cls(
            id=row.id,
            name=row.name,
            version=row.version,
            kind=row.kind,
            digest=row.digest,
            metrics=row.metrics,  # type: ignore[arg-type]
            lineage=row.lineage,  # type: ignore[arg-type]
            created_at=row.created_at,
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
    config: JSON
    summary: JSON | None = strawberry.field(
        description="Per round and per node, the allow-listed metrics the nodes sent."
    )
    error: str | None
    model_id: uuid.UUID | None
    started_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None

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
            config=row.config,  # type: ignore[arg-type]
            summary=row.summary,  # type: ignore[arg-type]
            error=row.error,
            model_id=row.model_id,
            started_by=row.started_by,
            created_at=row.created_at,
            finished_at=row.finished_at,
        )

    @strawberry.field(description="The global model the run made, once it finished.")
    async def model(self, info: Info[HubContext, None]) -> GlobalModelType | None:
        if self.model_id is None:
            return None
        row = await info.context.session.get(GlobalModel, self.model_id)
        return GlobalModelType.from_model(row) if row else None


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
        return service.RunRequest(
            strategy=self.strategy.value,
            rounds=self.rounds,
            min_nodes=self.min_nodes,
            proximal_mu=self.proximal_mu,
            local_epochs=self.local_epochs,
            learning_rate=self.learning_rate,
            dp_noise_multiplier=self.dp_noise_multiplier,
            dp_clipping_norm=self.dp_clipping_norm,
            secure_aggregation=self.secure_aggregation,
            secagg_clipping_range=self.secagg_clipping_range,
            secagg_max_weight=self.secagg_max_weight,
            round_timeout_s=self.round_timeout_s,
            label=self.label,
        )


@strawberry.type
class FederatedQuery:
    @strawberry.field(description="Federated runs, newest first.")
    async def federated_runs(
        self, info: Info[HubContext, None], first: int = 20, after: str | None = None
    ) -> Connection[FederatedRunType]:
        context = info.context
        page = await service.list_runs(
            context.session, context.subject, authorizer=context.authorizer,
            page=PageRequest.from_args(
                first, after, max_size=context.settings.graphql_max_page_size, arity=2
            ),
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
        row = await service.get_run(
            context.session, context.subject, authorizer=context.authorizer, run_id=id
        )
        return FederatedRunType.from_model(row)

    @strawberry.field(description="The hub's model registry, newest version first per name.")
    async def global_models(self, info: Info[HubContext, None]) -> list[GlobalModelType]:
        context = info.context
        rows = await service.list_models(
            context.session, context.subject, authorizer=context.authorizer
        )
        return [GlobalModelType.from_model(row) for row in rows]


@strawberry.type
class FederatedMutation:
    @strawberry.mutation(
        description="Start a federated run over the nodes connected to the hub's SuperLink; "
        "follow it with federatedRun(id)."
    )
    async def start_federated_run(
        self, info: Info[HubContext, None], input: FederatedRunInput
    ) -> FederatedRunType:
        context = info.context
        runner = context.runner
        async with session_scope(context.sessionmaker) as session:
            row = await service.create_run(
                session, context.subject, authorizer=context.authorizer,
                request=input.request(), available=runner.available,
            )  # fmt: skip
            run_id = row.id
            after_commit(session, lambda: runner.launch(run_id))
        return FederatedRunType.from_model(row)
