"""A factory's relations for every factory of a page: one query per relation, not one per row.

Each loader decides the policy for every factory of the batch in one evaluation, with the
single-factory services' answers (`factories_for`: FACTORY_NOT_FOUND for one the caller may not
read), then reads the rows of all the allowed factories at once. The factories were read in the
request's session, so deciding them asks no more SQL.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, select

from regional_node.alerts.models import Alert, AlertStatus
from regional_node.devices.models import Device
from regional_node.factories.models import CapacityDay, Equipment, Factory
from regional_node.factories.service import factories_for
from regional_node.graphql.context import NodeContext
from regional_node.read_models import factory_evaluation as evaluation
from yunfab.graphql.dataloaders import Loader, first_rows_per, first_rows_statement, grouped
from yunfab.graphql.pagination import Page, PageRequest, newest_first


class EquipmentLoader(Loader[uuid.UUID, list[Equipment]]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[list[Equipment]]:
        rows = await self.context.session.scalars(
            select(Equipment)
            .where(Equipment.factory_id.in_(set(keys)))
            .order_by(Equipment.type, Equipment.model)
        )
        return grouped(keys, rows, lambda row: row.factory_id, lambda row: row)


@dataclass(frozen=True)
class CapacityKey:
    factory_id: uuid.UUID
    start: dt.date
    end: dt.date


class CapacityLoader(Loader[CapacityKey, list[CapacityDay]]):
    async def batch_load(self, keys: list[CapacityKey]) -> list[list[CapacityDay]]:
        found: dict[CapacityKey, list[CapacityDay]] = {}
        for (start, end), ids in _by(keys, lambda k: (k.start, k.end)).items():
            rows = await self.context.session.scalars(
                select(CapacityDay)
                .where(
                    CapacityDay.factory_id.in_(ids),
                    CapacityDay.day >= start,
                    CapacityDay.day <= end,
                )
                .order_by(CapacityDay.day, CapacityDay.process)
            )
            for row in rows:
                found.setdefault(CapacityKey(row.factory_id, start, end), []).append(row)
        return [found.get(key, []) for key in keys]


@dataclass(frozen=True)
class PageKey:
    """A page of one factory's relation; `where` is the relation's own filter (alert status)."""

    factory_id: uuid.UUID
    limit: int
    after: tuple[Any, ...] | None
    where: Any = None

    @classmethod
    def of(cls, factory_id: uuid.UUID, page: PageRequest, where: Any = None) -> PageKey:
        after = tuple(page.after) if page.after is not None else None
        return cls(factory_id, page.limit, after, where)

    @property
    def request(self) -> PageRequest:
        return PageRequest(self.limit, list(self.after) if self.after is not None else None)


class _PageLoader(Loader[PageKey, Page[Any]]):
    """Pages of a factory relation; a subclass says what it reads and how it is ordered."""

    context: NodeContext
    action = ""

    def conditions(self, key: PageKey) -> list[ColumnElement[bool]]:
        raise NotImplementedError

    async def rows(self, keys: list[PageKey], ids: list[uuid.UUID]) -> Sequence[Any]:
        raise NotImplementedError

    async def count(self, key: PageKey) -> int:
        raise NotImplementedError

    async def batch_load(self, keys: list[PageKey]) -> list[Page[Any] | BaseException]:
        ids = list(dict.fromkeys(key.factory_id for key in keys))
        context = self.context
        refusals = await factories_for(
            context.session, context.subject, runtime=context.runtime, factory_ids=ids,
            action=self.action,
        )  # fmt: skip
        refused = {i: error for i, error in zip(ids, refusals, strict=True) if error is not None}
        allowed = [key for key in keys if key.factory_id not in refused]
        found: dict[PageKey, list[Any]] = defaultdict(list)
        for same, ids in _by(allowed, lambda k: (k.limit, k.after, k.where)).items():
            group = [key for key in allowed if (key.limit, key.after, key.where) == same]
            for row in await self.rows(group, ids):
                found[PageKey(row.factory_id, *same)].append(row)
        return [
            refused[key.factory_id]
            if key.factory_id in refused
            else Page.from_rows(found[key], key.limit, lambda key=key: self.count(key))  # type: ignore[misc]
            for key in keys
        ]


class DevicesLoader(_PageLoader):
    """A factory's devices by key, as `list_devices` reads them. A first page comes with its
    factory's device count (`totalCount`), read in the same statement."""

    action = "node.device.read"

    def __init__(self, context: NodeContext) -> None:
        super().__init__(context)
        self._totals: dict[uuid.UUID, int] = {}

    async def rows(self, keys: list[PageKey], ids: list[uuid.UUID]) -> Sequence[Any]:
        after = keys[0].after
        params: dict[str, Any] = {"factories": ids, "limit": keys[0].limit + 1}
        if after is not None:
            params["after"] = after[0]
            found = await self.context.session.scalars(_device_pages(True), params)
            return found.all()
        devices = []
        self._totals.update(dict.fromkeys(ids, 0))
        for device, total in await self.context.session.execute(_device_pages(False), params):
            devices.append(device)
            self._totals[device.factory_id] = total
        return devices

    async def count(self, key: PageKey) -> int:
        if key.after is None and key.factory_id in self._totals:
            return self._totals[key.factory_id]
        return await _DeviceCounts.of_context(self.context).load(key.factory_id)


class AlertsLoader(_PageLoader):
    """A factory's alerts newest first, with a status or not, as `list_alerts` reads them."""

    action = "node.alert.read"

    async def rows(self, keys: list[PageKey], ids: list[uuid.UUID]) -> Sequence[Any]:
        status: AlertStatus | None = keys[0].where
        query = select(Alert).where(Alert.factory_id.in_(ids))
        if status is not None:
            query = query.where(Alert.status == status)
        after = list(keys[0].after) if keys[0].after is not None else None
        query = newest_first(query, Alert.opened_at, Alert.id, after).order_by(None)
        return await first_rows_per(
            self.context.session, query, Alert, partition=Alert.factory_id,
            order=[Alert.opened_at.desc(), Alert.id.desc()], limit=keys[0].limit + 1,
        )  # fmt: skip

    async def count(self, key: PageKey) -> int:
        return await _AlertCounts.of_context(self.context).load((key.factory_id, key.where))


@functools.cache
def _device_pages(after: bool) -> Select[Any]:
    """Pages of devices of several factories, built once (`first_rows_statement`); a first page
    (no `after`) with each factory's count of devices."""
    query = select(Device).where(Device.factory_id.in_(bindparam("factories", expanding=True)))
    if after:
        query = query.where(Device.key > bindparam("after"))
    return first_rows_statement(
        query, Device, partition=Device.factory_id, order=[Device.key], limit=bindparam("limit"),
        total=not after,
    )  # fmt: skip


class _DeviceCounts(Loader[uuid.UUID, int]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[int]:
        rows = await self.context.session.execute(
            select(Device.factory_id, func.count())
            .where(Device.factory_id.in_(set(keys)))
            .group_by(Device.factory_id)
        )
        counts: dict[uuid.UUID, int] = dict(rows.all())
        return [counts.get(key, 0) for key in keys]


class _AlertCounts(Loader[tuple[uuid.UUID, AlertStatus | None], int]):
    async def batch_load(self, keys: list[tuple[uuid.UUID, AlertStatus | None]]) -> list[int]:
        counts: dict[tuple[uuid.UUID, AlertStatus | None], int] = {}
        for status, ids in _by(keys, lambda key: key[1], factory=lambda key: key[0]).items():
            query = select(Alert.factory_id, func.count()).where(Alert.factory_id.in_(ids))
            if status is not None:
                query = query.where(Alert.status == status)
            rows = await self.context.session.execute(query.group_by(Alert.factory_id))
            counts.update(((factory_id, status), n) for factory_id, n in rows)
        return [counts.get(key, 0) for key in keys]


def _by(keys: Sequence[Any], same: Any, factory: Any = None) -> dict[Any, list[uuid.UUID]]:
    """The keys' factory ids grouped by what else the keys say (one query per group)."""
    groups: dict[Any, list[uuid.UUID]] = {}
    for key in keys:
        ids = groups.setdefault(same(key), [])
        factory_id = factory(key) if factory else key.factory_id
        if factory_id not in ids:
            ids.append(factory_id)
    return groups


class EvaluationLoader(Loader[uuid.UUID, evaluation.Evaluation]):
    """Each factory's evaluation, at most once per request. Not batched: the read model
    (`regional_node.read_models.factory_evaluation`) still runs its queries factory by factory,
    so a page of n factories reads 5n statements for it; this loader only keeps a factory asked
    for twice (aliases, fragments) from being evaluated twice."""

    def __init__(self, context: NodeContext) -> None:
        super().__init__(context)
        self._factories: dict[uuid.UUID, Factory] = {}

    def evaluate(self, factory: Factory) -> Awaitable[evaluation.Evaluation]:
        self._factories.setdefault(factory.id, factory)
        return self.load(factory.id)

    async def batch_load(
        self, keys: list[uuid.UUID]
    ) -> list[evaluation.Evaluation | BaseException]:
        found: list[evaluation.Evaluation | BaseException] = []
        for key in keys:
            try:
                found.append(await evaluation.evaluate(self.context.session, self._factories[key]))
            except Exception as exc:  # that factory's field fails, as it did on its own
                found.append(exc)
        return found
