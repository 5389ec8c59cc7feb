"""Differencing control for aggregation-only agreements.

Each figure stands on k contributors, but figures can still be combined to single one out: the
sum over four factories less the sum over three of them is the fourth factory's own figure, and
a sum over seven less two disjoint sums over three each is the seventh's. So every figure an
organization is given of a product under aggregation-only terms is remembered as the set of
rows behind it (`DisclosedCell`), under whichever of its agreements it was given, and a new
figure is refused when, together with those given before, it leaves between 1 and k-1
contributors' rows on their own:

- a figure and one that lies inside it (or around it): the rows between the two;
- a figure and everything given inside it: the rows none of them covers;
- for every figure given before around the new one: the rows of that figure which neither the
  new one nor anything else given inside it covers.

Figures that overlap without nesting only give differences of two sums; the intersection that
would turn them into a nest is itself a nested figure and is caught. Sums of figures that
overlap in other ways and are solved together are not checked: docs/data_exchange.md says what
a publisher should not offer under these terms.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.data_exchange import query
from hub.data_exchange.errors import TermViolated
from hub.data_exchange.models import DisclosedCell
from hub.data_exchange.repository import ExchangeRepository
from yunfab.db import after_commit, session_scope

MAX_DISCLOSED_ROWS = 200_000
"""Rows behind all the figures one organization may be given of one product. Every new figure
is checked against all earlier ones, so this bounds that work; past it only figures given
before are answered."""

Cell = dict[str, str]
"""Row identity -> contributor."""


def _refuse(k: int) -> TermViolated:
    # Which figure, and against what, is not said: that too would count contributors.
    return TermViolated(
        "aggregation: together with figures given before, this answer would single out fewer "
        f"than {k} contributors; ask for figures given before, or for groups that do not lie "
        "inside one another",
        term="aggregation",
    )


class _Given:
    """The figures given so far, indexed by row, growing as an answer's figures are admitted."""

    def __init__(self, cells: Iterable[Cell]) -> None:
        self.cells: list[Cell] = []
        self._holding: dict[str, list[int]] = defaultdict(list)
        for cell in cells:
            self.add(cell)

    def add(self, cell: Cell) -> None:
        index = len(self.cells)
        self.cells.append(cell)
        for row in cell:
            self._holding[row].append(index)

    def nesting(self, cell: Cell) -> tuple[list[int], list[int]]:
        """The figures strictly inside `cell`, and those strictly around it."""
        shared: dict[int, int] = defaultdict(int)
        for row in cell:
            for index in self._holding.get(row, ()):
                shared[index] += 1
        inside = [i for i, n in shared.items() if n == len(self.cells[i]) < len(cell)]
        around = [i for i, n in shared.items() if n == len(cell) < len(self.cells[i])]
        return inside, around


def _thin(outer: Cell, covered: Iterable[str], k: int) -> bool:
    """Whether the rows of `outer` outside `covered` come from 1 to k-1 contributors."""
    left = outer.keys() - set(covered)
    return 0 < len({outer[row] for row in left}) < k


def check(earlier: Iterable[Cell], new: Sequence[Cell], k: int) -> None:
    """Raises `TermViolated` (term `aggregation`) when a new figure, with those given before,
    leaves fewer than k (but some) contributors' rows on their own. The new figures of one
    answer are taken one after another, each against the others too."""
    given = _Given(earlier)
    for cell in new:
        inside, around = given.nesting(cell)
        inner_rows = [row for i in inside for row in given.cells[i]]
        if any(_thin(cell, given.cells[i], k) for i in inside) or _thin(cell, inner_rows, k):
            raise _refuse(k)
        given.add(cell)
        for i in around:
            outer = given.cells[i]
            if _thin(outer, cell, k):
                raise _refuse(k)
            within, _ = given.nesting(outer)  # the new figure among them
            if _thin(outer, [row for j in within for row in given.cells[j]], k):
                raise _refuse(k)


_LOCKS: weakref.WeakValueDictionary[tuple[str, uuid.UUID], asyncio.Lock] = (
    weakref.WeakValueDictionary()
)


def _lock(reader: tuple[str, uuid.UUID]) -> asyncio.Lock:
    lock = _LOCKS.get(reader)
    if lock is None:
        lock = _LOCKS[reader] = asyncio.Lock()
    return lock


_KNOWN: OrderedDict[tuple[str, uuid.UUID], set[str]] = OrderedDict()
"""Digests known to be stored, per organization and product (a few hundred pairs): a figure
once stored stays stored, so this only ever saves a read."""
_KNOWN_READERS = 512


def _remember(reader: tuple[str, uuid.UUID], digests: Iterable[str]) -> None:
    digests = set(digests)
    if not digests:
        return
    _KNOWN.setdefault(reader, set()).update(digests)
    _KNOWN.move_to_end(reader)
    while len(_KNOWN) > _KNOWN_READERS:
        _KNOWN.popitem(last=False)


@asynccontextmanager
async def answering(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    consumer_org: str,
    product_id: uuid.UUID,
    contract_id: uuid.UUID,
    cells: Sequence[query.Cell],
    k: int,
) -> AsyncIterator[None]:
    """Admit an answer's figures (the rows behind each, named by their digest), or raise
    `TermViolated`; the block gives the answer (and audits it), and the new figures are
    remembered when it ends without error, in one unit of work that the audit entry joins.

    Figures given before are free: an answer made only of them discloses nothing new, takes no
    lock and writes nothing. New ones are checked one organization and product at a time: in
    this process by a lock, across hub processes by an advisory lock (PostgreSQL)."""
    reader = (consumer_org, product_id)
    by_digest = {cell.digest: (cell.rows, cell.contributors) for cell in cells}
    known = _KNOWN.get(reader, set())
    candidates = [d for d in by_digest if d not in known]
    unseen: list[str] = []
    if candidates:
        async with sessionmaker() as session:
            unseen = await _unseen(session, reader, candidates)
        _remember(reader, set(candidates) - set(unseen))
    if not unseen:
        yield
        return
    async with _lock(reader), session_scope(sessionmaker) as session:
        repository = ExchangeRepository(session)
        await repository.lock_disclosures(_key(reader))
        fresh = {
            d: dict(zip(*by_digest[d], strict=True))
            for d in await _unseen(session, reader, unseen)  # again, under the lock
        }
        if fresh:
            held = await repository.disclosed_size(consumer_org, product_id)
            if held + sum(len(cell) for cell in fresh.values()) > MAX_DISCLOSED_ROWS:
                raise TermViolated(
                    "aggregation: your organization has been given as many distinct figures of "
                    "this product as the hub checks new ones against; ask for figures given "
                    "before",
                    term="aggregation",
                )
            earlier = await repository.disclosed_members(consumer_org, product_id)
            check(earlier, list(fresh.values()), k)
        yield
        repository.add_all(
            DisclosedCell(
                consumer_org=consumer_org,
                product_id=product_id,
                contract_id=contract_id,
                digest=d,
                size=len(cell),
                members=cell,
            )  # fmt: skip
            for d, cell in fresh.items()
        )
        after_commit(session, lambda: _remember(reader, fresh))


def _key(reader: tuple[str, uuid.UUID]) -> int:
    """The advisory lock of one organization's figures of one product."""
    return int.from_bytes(hashlib.sha256(repr(reader).encode()).digest()[:8], "big", signed=True)


async def _unseen(
    session: AsyncSession, reader: tuple[str, uuid.UUID], digests: list[str]
) -> list[str]:
    consumer_org, product_id = reader
    known = await ExchangeRepository(session).disclosed_digests(consumer_org, product_id, digests)
    return [d for d in digests if d not in known]
