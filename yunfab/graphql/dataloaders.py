"""Per-request DataLoaders: a relation of the rows of a list in one query, not one per row.

A relation subclasses `Loader` and writes `batch_load` (keys in, one value per key out, in the
same order); a field asks `SomeLoader.of(info).load(key)`. One instance per request and relation
lives on the context (`ServiceContext.loaders`), so its cache lasts as long as the request's read
session does. `by_key` and `grouped` line rows up with the keys. The model is saleor's
`saleor/graphql/core/dataloaders.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, Self, TypeVar

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from yunfab.graphql.context import ServiceContext

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Row = TypeVar("Row")


class Loader(DataLoader[K, V], Generic[K, V]):
    def __init__(self, context: ServiceContext) -> None:
        super().__init__(load_fn=self.batch_load)
        self.context = context

    @classmethod
    def of(cls, info: Info[Any, Any]) -> Self:
        """This request's loader of the relation (made on first use)."""
        context: ServiceContext = info.context
        name = f"{cls.__module__}.{cls.__qualname__}"
        loader = context.loaders.get(name)
        if loader is None:
            loader = context.loaders[name] = cls(context)
        return loader

    async def batch_load(self, keys: list[K]) -> list[V]:
        raise NotImplementedError


def by_key(
    keys: list[K], rows: Iterable[Row], key: Callable[[Row], K], value: Callable[[Row], V]
) -> list[V | None]:
    """For each key, the value of the row with that key (None when there is none)."""
    found = {key(row): value(row) for row in rows}
    return [found.get(k) for k in keys]


def grouped(
    keys: list[K], rows: Iterable[Row], key: Callable[[Row], K], value: Callable[[Row], V]
) -> list[list[V]]:
    """For each key, the values of its rows, in the rows' order."""
    groups: dict[K, list[V]] = {k: [] for k in keys}
    for row in rows:
        groups[key(row)].append(value(row))
    return [groups[k] for k in keys]
