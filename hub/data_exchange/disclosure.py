"""Differencing control for aggregation-only agreements.

Each figure stands on k contributors, but two figures can still single one out: the sum over a
group of four factories less the sum over three of them is the fourth factory's own figure.
So every figure given under an aggregation-only agreement is remembered as the set of rows
behind it (`DisclosedCell`), and a new answer is refused when one of its figures and an earlier
one nest (one's rows inside the other's) and the rows between them come from fewer than k
contributors. Figures that do not nest only give differences of two sums; chains that would
turn them into a nest need the intersection, which is itself a nested figure and is caught.
What this does not catch (sums of three or more overlapping figures solved together) is why
docs/data_exchange.md also lists what a publisher should not offer under these terms.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.data_exchange.models import Contract, DisclosedCell
from hub.data_exchange.query import TermViolated
from yunfab.db import after_commit, session_scope


def digest_of(identities: Iterable[str]) -> str:
    """A figure's name: its rows' identities, sorted and hashed (identities hold no NUL)."""
    return hashlib.sha256("\0".join(sorted(identities)).encode()).hexdigest()


def _between(outer: dict[str, str], inner: dict[str, str]) -> int:
    """Contributors of the rows in `outer` but not in `inner`."""
    return len({outer[row] for row in outer.keys() - inner.keys()})


def check(earlier: Sequence[dict[str, str]], new: Sequence[dict[str, str]], k: int) -> None:
    """Raises `TermViolated` (term `aggregation`) when a new figure and an earlier one nest and
    fewer than k (but some) contributors lie between them. Which figure, and against what, is
    not said: that too would count contributors."""
    containing: dict[str, list[int]] = defaultdict(list)
    for index, cell in enumerate(earlier):
        for row in cell:
            containing[row].append(index)
    for cell in new:
        shared: dict[int, int] = defaultdict(int)
        for row in cell:
            for index in containing.get(row, ()):
                shared[index] += 1
        for index, common in shared.items():
            other = earlier[index]
            if common == len(other) < len(cell):  # the earlier figure lies inside this one
                between = _between(cell, other)
            elif common == len(cell) < len(other):  # this one lies inside the earlier
                between = _between(other, cell)
            else:
                continue
            if 0 < between < k:
                raise TermViolated(
                    "aggregation: together with an earlier answer under this agreement, this "
                    f"answer would single out fewer than {k} contributors; ask for the same "
                    "groups as before or for groups that do not lie inside one another",
                    term="aggregation",
                )


_LOCKS: weakref.WeakValueDictionary[uuid.UUID, asyncio.Lock] = weakref.WeakValueDictionary()


def _lock(contract_id: uuid.UUID) -> asyncio.Lock:
    lock = _LOCKS.get(contract_id)
    if lock is None:
        lock = _LOCKS[contract_id] = asyncio.Lock()
    return lock


@asynccontextmanager
async def answering(
    sessionmaker: async_sessionmaker[AsyncSession],
    contract_id: uuid.UUID,
    cells: Sequence[tuple[list[str], list[str]]],
    k: int,
) -> AsyncIterator[None]:
    """Admit an answer's figures, or raise `TermViolated`; the block gives the answer (and
    audits it), and the new figures are remembered when it ends without error, in one unit of
    work that the audit entry joins. Answers of one agreement are checked one at a time: in
    this process by a lock, across hub processes by locking the agreement's row (PostgreSQL)."""
    by_digest = {digest_of(identities): (identities, of) for identities, of in cells}
    known = _KNOWN.get(contract_id, set())
    candidates = [d for d in by_digest if d not in known]
    if candidates:
        async with sessionmaker() as session:
            unseen = await _unseen(session, contract_id, candidates)
        _remember(contract_id, set(candidates) - set(unseen))
    else:
        unseen = []
    if not unseen:  # nothing new is disclosed: no lock, and the audit entry is group-committed
        yield
        return
    async with _lock(contract_id), session_scope(sessionmaker) as session:
        members = {d: dict(zip(*by_digest[d], strict=True)) for d in unseen}
        fresh = await admit(session, contract_id, members, k)
        yield
        session.add_all(
            DisclosedCell(contract_id=contract_id, digest=d, members=cell)
            for d, cell in fresh.items()
        )
        after_commit(session, lambda: _remember(contract_id, set(fresh)))


_KNOWN: OrderedDict[uuid.UUID, set[str]] = OrderedDict()
"""Digests known to be stored, per agreement (a few hundred agreements): a figure once stored
stays stored, so this only ever saves a read."""
_KNOWN_AGREEMENTS = 512


def _remember(contract_id: uuid.UUID, digests: set[str]) -> None:
    if not digests:
        return
    _KNOWN.setdefault(contract_id, set()).update(digests)
    _KNOWN.move_to_end(contract_id)
    while len(_KNOWN) > _KNOWN_AGREEMENTS:
        _KNOWN.popitem(last=False)


async def _unseen(session: AsyncSession, contract_id: uuid.UUID, digests: list[str]) -> list[str]:
    known = set(
        (
            await session.scalars(
                select(DisclosedCell.digest).where(
                    DisclosedCell.contract_id == contract_id, DisclosedCell.digest.in_(digests)
                )
            )
        ).all()
    )
    return [d for d in digests if d not in known]


async def admit(
    session: AsyncSession, contract_id: uuid.UUID, cells: dict[str, dict[str, str]], k: int
) -> dict[str, dict[str, str]]:
    """Of an answer's figures (by digest), those not given before under the agreement, once
    checked against those that were. Figures given before are free: an answer made only of
    them discloses nothing new."""
    await session.execute(select(Contract.id).where(Contract.id == contract_id).with_for_update())
    fresh = {d: cells[d] for d in await _unseen(session, contract_id, list(cells))}  # again
    if fresh:
        earlier = (
            await session.scalars(
                select(DisclosedCell.members).where(DisclosedCell.contract_id == contract_id)
            )
        ).all()
        check(earlier, list(fresh.values()), k)
    return fresh
