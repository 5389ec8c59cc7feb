"""Hash-chained audit logs: one per service database (the hub's, and each node's).

Each entry's hash covers its own fields and the previous entry's hash; the head (newest sequence
and hash) is kept in its own row. Editing an entry, deleting one from the middle, or cutting the
tail all show up in `verify`. Appends are serialized: an in-process lock, plus a transaction-level
advisory lock on PostgreSQL so several processes cannot fork the chain.

An event that is its own action (a policy decision) is written by `AuditLog` in its own
transaction, group-committed, unless the caller's unit of work already holds what that
transaction would wait for (SQLite's write lock, this chain's advisory lock): then it goes into
the caller's transaction, and is written again on its own should that one roll back. A second
connection waiting on its caller's locks is a deadlock ("database is locked" after the busy
timeout on SQLite, a hang on PostgreSQL).

A service declares its two tables from the column mixins below and wraps them in an `AuditChain`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import aiosqlite
import structlog
from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    String,
    Table,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from yunfab.db import UTCDateTime, after_rollback, current_unit_of_work, utcnow
from yunfab.graphql.pagination import Page, PageRequest, escape_like
from yunfab.subject import Subject

log = structlog.get_logger(__name__)

GENESIS = "0" * 64
_HEAD_ID = 1
_LOCKED = "yunfab.audit.locked"
"""session.info: chain lock key -> the transaction that holds that chain's locks."""


class AuditEntryColumns:
    """One audited event. `hash` covers every other column and the previous entry's hash, so an
    edited or deleted entry breaks the chain at that point."""

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    actor_org: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(128), index=True)
    resource: Mapped[str] = mapped_column(String(512))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, object]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHeadColumns:
    """The newest entry's sequence and hash, kept apart so a deleted tail is detected too."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


EntryT = TypeVar("EntryT", bound=AuditEntryColumns)
HeadT = TypeVar("HeadT", bound=AuditHeadColumns)


def entry_hash(entry: AuditEntryColumns) -> str:
    return _hash(
        entry.prev_hash,
        entry.seq,
        entry.at,
        entry.actor,
        entry.actor_org,
        entry.action,
        entry.resource,
        entry.outcome,
        entry.detail,
    )


def _hash(
    prev_hash: str,
    seq: int,
    at: dt.datetime,
    actor: str,
    actor_org: str | None,
    action: str,
    resource: str,
    outcome: str,
    detail: dict[str, object],
) -> str:
    body = json.dumps(
        [
            prev_hash,
            seq,
            at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            actor,
            actor_org,
            action,
            resource,
            outcome,
            detail,
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Event:
    """What happened, before it is an entry of the chain."""

    actor: Subject
    action: str
    resource: str
    outcome: str
    detail: dict[str, Any] | None = None


class StaleHead(Exception):
    """The chain's head is no longer the one an append was given: another writer moved it."""


@dataclass(frozen=True)
class _Statements:
    lock: Any
    read_head: Any
    insert_entries: Any
    insert_head: Any
    move_head: Any
    move_head_from: Any


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    problem: str | None = None
    seq: int | None = None


class AuditChain(Generic[EntryT, HeadT]):
    """The chain kept in one pair of tables. `lock_key` is the PostgreSQL advisory lock that
    serializes appends across processes; each chain has its own."""

    def __init__(self, entry: type[EntryT], head: type[HeadT], *, lock_key: int) -> None:
        self.entry = entry
        self.head = head
        self.lock_key = lock_key
        self._built: _Statements | None = None

    async def append(
        self,
        session: AsyncSession,
        *,
        actor: Subject,
        action: str,
        resource: str,
        outcome: str,
        detail: dict[str, Any] | None = None,
    ) -> EntryT:
        """Append within the caller's transaction: the entry commits with the action it records,
        or neither does."""
        (entry,) = await self.append_many(
            session, [Event(actor, action, resource, outcome, detail)]
        )
        return entry

    async def append_many(self, session: AsyncSession, events: Sequence[Event]) -> list[EntryT]:
        """Append several events in order, reading and moving the head once."""
        if (await session.connection()).dialect.name == "postgresql":
            await session.execute(self._statements().lock, {"key": self.lock_key})
        session.info.setdefault(_LOCKED, {})[self.lock_key] = session.sync_session.get_transaction()
        # Core statements, not the unit of work: an access is audited on every governed query,
        # and building, tracking and flushing ORM objects was most of what that cost.
        statements = self._statements()
        current = (await session.execute(statements.read_head)).first()
        head = (current.seq, current.hash) if current is not None else None
        rows = self._rows(events, head or (0, GENESIS))
        if rows:
            await session.execute(statements.insert_entries, rows)
            moved = {"seq": rows[-1]["seq"], "hash": rows[-1]["hash"]}
            if head is None:
                await session.execute(statements.insert_head, moved)
            else:
                await session.execute(statements.move_head, moved)
        # What the callers get back: the entries as written, not attached to the session.
        return [self.entry(**row) for row in rows]

    async def append_on(
        self, connection: AsyncConnection, events: Sequence[Event], head: tuple[int, str] | None
    ) -> tuple[list[EntryT], tuple[int, str]]:
        """Append in the transaction of `connection`, a Core connection of its own (no session,
        no unit of work: what `AuditLog` writes on its own), and return the entries and the new
        head. Given the head as last seen (sequence, hash), it is not read again: the head row
        is moved only if it still holds exactly that, and `StaleHead` is raised (roll back,
        append again without it) when another writer moved it since."""
        statements = self._statements()
        if connection.dialect.name == "postgresql":
            await connection.execute(statements.lock, {"key": self.lock_key})
        existed = True
        if head is None:
            current = (await connection.execute(statements.read_head)).first()
            existed = current is not None
            head = (current.seq, current.hash) if current is not None else (0, GENESIS)
        rows = self._rows(events, head)
        if not rows:
            return [], head
        moved = (rows[-1]["seq"], rows[-1]["hash"])
        if not existed:
            await connection.execute(statements.insert_head, {"seq": moved[0], "hash": moved[1]})
        else:
            result = await connection.execute(
                statements.move_head_from,
                {"seq": moved[0], "hash": moved[1], "old_seq": head[0], "old_hash": head[1]},
            )
            if result.rowcount != 1:
                raise StaleHead(f"the chain moved past {head[0]}")
        await connection.execute(statements.insert_entries, rows)
        return [self.entry(**row) for row in rows], moved

    @staticmethod
    def _rows(events: Sequence[Event], head: tuple[int, str]) -> list[dict[str, Any]]:
        """The events as entries after `head`, each hashed over the one before."""
        seq, prev_hash = head
        rows: list[dict[str, Any]] = []
        for event in events:
            seq += 1
            row: dict[str, Any] = {
                "seq": seq,
                "at": utcnow(),
                "actor": event.actor.label,
                "actor_org": event.actor.org_id,
                "action": event.action,
                "resource": event.resource[:512],
                "outcome": event.outcome,
                "detail": json.loads(json.dumps(event.detail or {}, default=str)),
                "prev_hash": prev_hash,
            }
            row["hash"] = prev_hash = _hash(**row)
            rows.append(row)
        return rows

    def _statements(self) -> _Statements:
        """Built once per chain, their values bound at execution: a statement built with its
        values is a new cache key for SQLAlchemy to work out (types and all) on every append."""
        if self._built is None:
            heads, entries = self._tables()
            self._built = _Statements(
                lock=text("SELECT pg_advisory_xact_lock(:key)"),
                read_head=select(heads.c.seq, heads.c.hash)
                .where(heads.c.id == _HEAD_ID)
                .with_for_update(),
                insert_entries=insert(entries),
                insert_head=insert(heads).values(
                    id=_HEAD_ID, seq=bindparam("seq"), hash=bindparam("hash")
                ),
                move_head=update(heads)
                .where(heads.c.id == _HEAD_ID)
                .values(seq=bindparam("seq"), hash=bindparam("hash")),
                move_head_from=update(heads)
                .where(
                    heads.c.id == _HEAD_ID,
                    heads.c.seq == bindparam("old_seq"),
                    heads.c.hash == bindparam("old_hash"),
                )
                .values(seq=bindparam("seq"), hash=bindparam("hash")),
            )
        return self._built

    def _tables(self) -> tuple[Table, Table]:
        heads: Any = self.head
        entries: Any = self.entry
        return heads.__table__, entries.__table__

    async def verify(self, session: AsyncSession, *, batch: int = 1000) -> Verification:
        """Walk the whole chain; report the first entry that does not hold."""
        entry_cls: Any = self.entry
        expected_prev, expected_seq, checked = GENESIS, 1, 0
        last_seq = 0
        while True:
            rows = (
                await session.scalars(
                    select(entry_cls)
                    .where(entry_cls.seq > last_seq)
                    .order_by(entry_cls.seq)
                    .limit(batch)
                )
            ).all()
            if not rows:
                break
            for entry in rows:
                if entry.seq != expected_seq:
                    return Verification(
                        False, checked, f"entry {expected_seq} is missing", expected_seq
                    )
                if entry.prev_hash != expected_prev:
                    return Verification(False, checked, "chain broken before this entry", entry.seq)
                if entry_hash(entry) != entry.hash:
                    return Verification(False, checked, "entry was altered", entry.seq)
                expected_prev, expected_seq = entry.hash, entry.seq + 1
                checked += 1
                last_seq = entry.seq
        heads, _ = self._tables()
        head = (
            await session.execute(select(heads.c.seq, heads.c.hash).where(heads.c.id == _HEAD_ID))
        ).first()
        if head is None and checked:
            return Verification(False, checked, "the chain head is missing")
        if head is not None and (head.seq != last_seq or head.hash != expected_prev):
            return Verification(
                False, checked, f"entries after {last_seq} were removed", last_seq + 1
            )
        return Verification(True, checked)

    async def page(
        self,
        session: AsyncSession,
        *,
        page: PageRequest,
        action: str | None = None,
        resources: Sequence[str] | None = None,
        resource_prefixes: Sequence[str] = (),
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        actor: str | None = None,
    ) -> Page[EntryT]:
        """Newest first. `resources` (exact) and `resource_prefixes` together name the entries
        wanted, any of them (none given: all); `since` inclusive, `until` exclusive."""
        entry_cls: Any = self.entry
        conditions: list[ColumnElement[bool]] = []
        if action is not None:
            conditions.append(entry_cls.action == action)
        if actor is not None:
            conditions.append(entry_cls.actor == actor)
        if resources is not None or resource_prefixes:
            about = [entry_cls.resource.in_(list(resources or []))]
            about += [
                entry_cls.resource.like(escape_like(prefix) + "%", escape="\\")
                for prefix in resource_prefixes
            ]
            conditions.append(or_(*about))
        if since is not None:
            conditions.append(entry_cls.at >= since)
        if until is not None:
            conditions.append(entry_cls.at < until)
        query = select(entry_cls).where(*conditions).order_by(entry_cls.seq.desc())
        counting = select(func.count()).select_from(entry_cls).where(*conditions)
        if page.after is not None:
            query = query.where(entry_cls.seq < int(page.after[0]))
        rows = (await session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            return await session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)


class AuditLog(Generic[EntryT, HeadT]):
    """Appends events that are their own action (a decision, a token issued, a data access) in
    their own transaction; retried when another process (a console on the same SQLite file)
    took the same sequence number first.

    Group commit: entries that arrive while a transaction is being written wait, then go
    together in the next one. Each caller still returns only once its own entry is committed,
    so an access is never answered before it is on the record, but a busy service writes one
    transaction per batch rather than per access."""

    ATTEMPTS = 5

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], chain: AuditChain[EntryT, HeadT]
    ) -> None:
        self.sessionmaker = sessionmaker
        self.chain = chain
        self._lock = asyncio.Lock()
        self._queue: list[tuple[Event, asyncio.Future[EntryT]]] = []
        self._head: tuple[int, str] | None = None
        """The head as this log last wrote it (sequence, hash); None: read it."""
        self._sqlite: _SqlitePlan | None = None

    @property
    def _engine(self) -> AsyncEngine:
        bind: Any = self.sessionmaker.kw.get("bind")
        if not isinstance(bind, AsyncEngine):
            raise TypeError("the audit log's sessionmaker is bound to no engine")
        return bind

    async def append(
        self,
        *,
        actor: Subject,
        action: str,
        resource: str,
        outcome: str,
        detail: dict[str, Any] | None = None,
    ) -> EntryT:
        event = Event(actor, action, resource, outcome, detail)
        session = await self._blocking_unit_of_work()
        if session is None:
            return await self._committed(event)
        (entry,) = await self.chain.append_many(session, [event])

        async def on_its_own() -> None:
            await self._committed(event)

        # A decision stays on the record when the work it was asked for is rolled back.
        after_rollback(session, on_its_own)
        return entry

    async def _blocking_unit_of_work(self) -> AsyncSession | None:
        """The caller's unit of work on this database when it holds locks our own transaction
        would wait for: this chain's (it appended already), or SQLite's single write lock."""
        session = current_unit_of_work()
        if session is None or not session.in_transaction():
            return None
        ours: Any = self.sessionmaker.kw.get("bind")
        theirs: Any = session.bind
        if ours is None or theirs is None or ours.url != theirs.url:
            return None
        if session.info.get(_LOCKED, {}).get(self.chain.lock_key) is (
            session.sync_session.get_transaction()
        ):
            return session
        if theirs.dialect.name == "sqlite":
            raw = await (await session.connection()).get_raw_connection()
            # The driver opens SQLite's transaction at the first write: then it holds the lock.
            if getattr(raw.driver_connection, "in_transaction", False):
                return session
        return None

    async def _committed(self, event: Event) -> EntryT:
        done: asyncio.Future[EntryT] = asyncio.get_running_loop().create_future()
        self._queue.append((event, done))
        async with self._lock:
            if not done.done():
                batch, self._queue = self._queue, []
                # The batch is others' too: a caller that goes away does not stop its write.
                with contextlib.suppress(Exception):  # set on every future, this one's too
                    await asyncio.shield(self._write(batch))
        return await done

    async def _write(self, batch: list[tuple[Event, asyncio.Future[EntryT]]]) -> None:
        events = [e for e, _ in batch]
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                entries = await self._transaction(events)
            except Exception as exc:
                self._head = None
                # Another process appended first: a head moved since (`StaleHead`) or read
                # just before it moved (the same sequence, IntegrityError), or SQLite's busy
                # timeout; try again, reading the head.
                retry = isinstance(exc, StaleHead | IntegrityError | OperationalError)
                if not retry or attempt == self.ATTEMPTS:
                    log.exception("audit_append_failed", entries=len(batch))
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    return
                if not isinstance(exc, StaleHead):
                    await asyncio.sleep(0.05 * attempt)
            else:
                for (_, done), entry in zip(batch, entries, strict=True):
                    if not done.done():
                        done.set_result(entry)
                return

    async def _transaction(self, events: list[Event]) -> list[EntryT]:
        """One transaction on a Core connection of the pool (no session: nothing here is an
        ORM object), committed before returning. The head this log wrote last is taken as the
        head still: the usual case, one process appending; the move of the head row checks it,
        and another writer's entry in between (a console on the same file, a rolled-back caller's
        decision written again) sends the append back to read it (`StaleHead`)."""
        if self._head is not None and self._engine.dialect.name == "sqlite":
            return await self._sqlite_transaction(events, self._head)
        async with self._engine.begin() as connection:
            entries, head = await self.chain.append_on(connection, events, self._head)
        self._head = head
        return entries

    async def _sqlite_transaction(self, events: list[Event], head: tuple[int, str]) -> list[EntryT]:
        """The same transaction on SQLite in one trip to the connection's thread: the head moved
        and the entries inserted and committed by one function there. The statements themselves
        cost the service about 60 us; through SQLAlchemy and the async driver, a trip to that
        thread and back for each of them and the commit, over 1 ms, most of a governed query's
        audit. The values are bound by the columns' own types, as SQLAlchemy binds them."""
        rows = self.chain._rows(events, head)
        if not rows:
            return []
        moved = (rows[-1]["seq"], rows[-1]["hash"])
        plan = self._plan()
        async with self._engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            if not isinstance(driver, aiosqlite.Connection):  # another driver: as elsewhere
                entries, self._head = await self.chain.append_on(connection, events, head)
                await connection.commit()
                return entries
            values = [tuple(bind(row[name]) for name, bind in plan.binds) for row in rows]
            written = await driver._execute(  # type: ignore[no-untyped-call]
                _append_sqlite, driver._conn, plan, (*moved, *head), values
            )
        if not written:
            raise StaleHead(f"the chain moved past {head[0]}")
        self._head = moved
        return [self.chain.entry(**row) for row in rows]

    def _plan(self) -> _SqlitePlan:
        if self._sqlite is None:
            dialect = self._engine.dialect
            heads, entries = self.chain._tables()
            quote = dialect.identifier_preparer.quote
            names = [c.name for c in entries.columns]

            def binder(column: Any) -> Callable[[Any], Any]:
                process = column.type.dialect_impl(dialect).bind_processor(dialect)
                return process if process is not None else _same

            self._sqlite = _SqlitePlan(
                move_head=(
                    f"UPDATE {quote(heads.name)} SET {quote('seq')} = ?, {quote('hash')} = ? "
                    f"WHERE {quote('id')} = {_HEAD_ID} AND {quote('seq')} = ? "
                    f"AND {quote('hash')} = ?"
                ),
                insert_entries=(
                    f"INSERT INTO {quote(entries.name)} ({', '.join(quote(n) for n in names)}) "
                    f"VALUES ({', '.join('?' for _ in names)})"
                ),
                binds=[(c.name, binder(c)) for c in entries.columns],
            )
        return self._sqlite


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class _SqlitePlan:
    move_head: str
    insert_entries: str
    binds: list[tuple[str, Callable[[Any], Any]]]
    """Each column of an entry, in the statement's order, with how its value is bound."""


def _append_sqlite(
    connection: sqlite3.Connection,
    plan: _SqlitePlan,
    head: tuple[int, str, int, str],
    entries: list[tuple[Any, ...]],
) -> bool:
    """In the connection's thread: move the head from where it was, insert the entries, commit.
    False (nothing written) when the head was not where it was thought to be."""
    try:
        # Whatever the connection's isolation mode: the head and its entries, or neither.
        connection.execute("BEGIN IMMEDIATE")
        if connection.execute(plan.move_head, head).rowcount != 1:
            connection.rollback()
            return False
        connection.executemany(plan.insert_entries, entries)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return True
