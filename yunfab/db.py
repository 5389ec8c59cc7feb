"""Async SQLAlchemy plumbing shared by hub and nodes.

SQLite is the embedded default: WAL so readers never block the writer, foreign keys on (SQLite
leaves them off), and a busy timeout so a second writer waits instead of failing. PostgreSQL is
used by URL. One session per request: the dependency commits on success and rolls back on error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import importlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import structlog
from sqlalchemy import DateTime, Engine, Enum, MetaData, TypeDecorator, event
from sqlalchemy import create_engine as create_sync
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from yunfab.sqlite_driver import OneTripDBAPI

log = structlog.get_logger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_POOL_SIZE = 32
"""SQLite connections kept open. Each request holds its session's connection until it ends, so
a service serving n requests at once holds n; SQLAlchemy's default pool (5 kept, 10 more made
and closed as needed) opened a new connection, with its thread and pragmas, for most requests
beyond the fifth, more CPU than the request's reads."""
SQLITE_POOL_OVERFLOW = 32

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def import_models(package: ModuleType) -> tuple[ModuleType, ...]:
    """Every `models` module of an app's domains (`<app>/<domain>/models.py`, nested ones too),
    imported so that the app's `Base.metadata` is complete: what alembic and the model registry
    need, without importing the domains' GraphQL, routers or libraries."""
    root = Path(next(iter(package.__path__)))
    found = sorted(
        path.relative_to(root).with_suffix("")
        for path in root.rglob("models.py")
        if path.parent != root and "migrations" not in path.parts
    )
    names = (".".join((package.__name__, *relative.parts)) for relative in found)
    return tuple(importlib.import_module(name) for name in names)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def str_enum(cls: type[enum.Enum], length: int = 32) -> Enum:
    """A string enum stored as its values in a plain column (no PostgreSQL ENUM type to migrate)."""
    return Enum(
        cls,
        native_enum=False,
        length=length,
        values_callable=lambda values: [value.value for value in values],
        validate_strings=True,
    )


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_LONG_NUMBER = re.compile(r"\d{19}")
"""A run of digits that may be an integer beyond 64 bits, which orjson reads as a float."""


def _json_loads(text: str) -> Any:
    """JSON columns as they are read: orjson, several times quicker than the standard library at
    what a list of rows holds (a factory page decoded some 50 documents). What orjson refuses or
    reads otherwise than `json` (NaN, which `json.dumps` writes; an integer beyond 64 bits) is
    read by `json`, so the values are the same."""
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, probe: bool = False) -> AsyncEngine:
    """An engine for `url`; `probe=True` gives one that never creates a missing SQLite file.

    The readiness probe uses that variant with no pool, so a deleted database file or a dropped
    PostgreSQL database is seen at once instead of being hidden by a pooled connection.
    """
    kwargs: dict[str, Any] = {}
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        kwargs["json_deserializer"] = _json_loads
        if probe:
            sa_url = sa_url.set(database=f"file:{sa_url.database}?mode=rw", query={"uri": "true"})
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if sa_url.get_driver_name() == "aiosqlite":
            kwargs["module"] = OneTripDBAPI()
        if not probe and sa_url.database not in (None, "", ":memory:"):
            # A file's pool (an in-memory database has one connection, StaticPool).
            kwargs["pool_size"] = SQLITE_POOL_SIZE
            kwargs["max_overflow"] = SQLITE_POOL_OVERFLOW
    else:
        kwargs["pool_pre_ping"] = True
        if probe:
            kwargs["connect_args"] = {"timeout": 3}
    if probe:
        kwargs["poolclass"] = NullPool
    engine = create_async_engine(sa_url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_sync_engine(url: str) -> Engine:
    """A blocking engine on the same database, for libraries that are not async (authlib)."""
    sa_url = make_url(url)
    sync_driver = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}
    sa_url = sa_url.set(drivername=sync_driver[sa_url.get_backend_name()])
    if sa_url.get_backend_name() == "sqlite":
        engine = create_sync(sa_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_sync(sa_url, pool_pre_ping=True)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once the unit of work commits (e.g. publish an event); never on rollback."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def after_rollback(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Await `callback` once the unit of work has rolled back (its locks released); never on
    commit. A failing callback is logged and does not hide the error that rolled back."""
    session.info.setdefault(_AFTER_ROLLBACK, []).append(callback)


def current_unit_of_work() -> AsyncSession | None:
    """The session of the `session_scope` the running task is inside, while it is open.

    Code that must write beside the caller's work without a second connection (which would wait
    on the caller's own locks: SQLite's one writer, a PostgreSQL advisory lock) joins it."""
    scope = _UNIT_OF_WORK.get()
    if scope is None or scope[1] is not asyncio.current_task():
        return None  # a task spawned inside a unit of work does not inherit it
    return scope[0]


_AFTER_COMMIT = "yunfab.after_commit"
_AFTER_ROLLBACK = "yunfab.after_rollback"
_UNIT_OF_WORK: ContextVar[tuple[AsyncSession, asyncio.Task[Any] | None] | None] = ContextVar(
    "yunfab.unit_of_work", default=None
)


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the caller's block succeeds, roll back when it raises."""
    async with sessionmaker() as session:
        outer = _UNIT_OF_WORK.get()
        _UNIT_OF_WORK.set((session, asyncio.current_task()))
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            _UNIT_OF_WORK.set(outer)
            session.info.pop(_AFTER_COMMIT, None)
            for undo in session.info.pop(_AFTER_ROLLBACK, []):
                try:
                    await undo()
                except Exception:
                    log.exception("after_rollback_failed")
            raise
        finally:
            _UNIT_OF_WORK.set(outer)
        session.info.pop(_AFTER_ROLLBACK, None)
        for callback in session.info.pop(_AFTER_COMMIT, []):
            callback()
