"""All SQL of federated learning on the hub: runs, the model registry and the nodes that take
part. The service (service.py), the runner and the CLI hold the rules and call these; the market
release a model becomes is read through the market's repository."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text

from hub.federated.models import FederatedRun, GlobalModel, RunStatus
from hub.federation.models import RegionalNode
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.repository import Repository


class FederatedRepository(Repository):
    async def run(self, run_id: uuid.UUID, *, for_update: bool = False) -> FederatedRun | None:
        return await self.get(FederatedRun, run_id, for_update=for_update)

    async def runs_page(
        self, request: PageRequest, *, status: RunStatus | None = None
    ) -> Page[FederatedRun]:
        """Newest first."""
        matching = select(FederatedRun)
        if status is not None:
            matching = matching.where(FederatedRun.status == status)
        return await self.newest_first_page(
            matching, FederatedRun.created_at, FederatedRun.id, request
        )

    async def runs_under_way(self) -> list[FederatedRun]:
        """Runs starting or running (as the database has them)."""
        return await self.all(
            select(FederatedRun).where(
                FederatedRun.status.in_([RunStatus.STARTING, RunStatus.RUNNING])
            )
        )

    async def model(self, model_id: uuid.UUID) -> GlobalModel | None:
        return await self.get(GlobalModel, model_id)

    async def models(self) -> list[GlobalModel]:
        """By name, newest version first."""
        return await self.all(
            select(GlobalModel).order_by(GlobalModel.name, GlobalModel.version.desc())
        )

    async def lock_registry(self, key: int) -> None:
        """Hand out model versions one transaction at a time (PostgreSQL's transaction advisory
        lock; SQLite lets one writer in at a time anyway)."""
        if (await self.session.connection()).dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    async def latest_version(self, name: str) -> int:
        """The highest version of the model in the registry; 0 when it has none."""
        return (
            await self.session.scalar(
                select(func.max(GlobalModel.version)).where(GlobalModel.name == name)
            )
            or 0
        )

    async def nodes_with_flower_keys(self) -> list[tuple[str, str | None]]:
        """Nodes that enrolled a Flower public key, by name."""
        rows = await self.session.execute(
            select(RegionalNode.name, RegionalNode.flower_public_key)
            .where(RegionalNode.flower_public_key.is_not(None))
            .order_by(RegionalNode.name)
        )
        return [(name, key) for name, key in rows.all()]
