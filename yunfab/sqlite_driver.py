"""SQLAlchemy's aiosqlite driver with one trip to the connection's thread per statement.

aiosqlite runs each SQLite connection in a thread of its own, and SQLAlchemy's adapter calls it
as a DB-API cursor: make a cursor, execute, fetch the rows, close, each a trip to that thread and
back (a queue put, a thread wake-up, a future resolved through the event loop's self-pipe). A
page of a GraphQL list reads a few statements, and those trips were most of what the server
spent on SQLite: each cost more CPU than the statement itself. Here a statement is executed,
fetched and closed in one function run in the thread; the cursor SQLAlchemy sees holds the
rows, the description, the row count and the last row id that came back.

A statement that only reads (a SELECT) makes no trip at all: it runs on the event loop's thread,
the connection opened to allow that (`check_same_thread=False`; statements on a connection still
run one at a time, under the adapter's mutex). A read of a WAL database never waits for a writer,
so it costs the loop what the statement costs and no more; the trip (a queue put, the thread
woken, the answer handed back through the loop's self-pipe, the GIL passed back and forth) cost
more CPU than the small reads of a GraphQL page themselves. Anything that writes, or may wait
for the write lock (busy timeout), still goes to the connection's thread.

A rollback or commit of a connection in no transaction (one that only read) is skipped: sqlite3
does nothing for it either, but the trip was two more per request.

Everything else (connections, transactions, server-side cursors for streamed results) is the
stock driver's.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

_Outcome = tuple[Any, int, int | None, list[Any] | None]
"""description, rowcount, lastrowid, rows (None when the statement returns none)."""


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """In the connection's thread: the whole statement, its cursor closed before returning."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _reads_only(operation: Any) -> bool:
    """A statement that cannot write or take the write lock: a plain SELECT (SQLAlchemy's
    statements start with their keyword; a WITH may hold a writing CTE, so it goes by thread)."""
    return isinstance(operation, str) and operation[:7].upper() == "SELECT "


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statements each take one trip to the connection's thread."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor (making one is a trip): each statement has its own sqlite3 one.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        """Nothing is left open: the rows were fetched with the statement."""

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        return await self._trip(operation, seq_of_parameters, many=True)

    async def _trip(self, operation: Any, parameters: Any, *, many: bool) -> Any:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            if not many and _reads_only(operation):
                outcome = _run(connection._conn, operation, parameters, many)
            else:
                outcome = await connection._execute(  # type: ignore[no-untyped-call]
                    _run, connection._conn, operation, parameters, many
                )
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows) if rows is not None else collections.deque()
        return self


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]

    def rollback(self) -> None:
        # The pool rolls back every connection it is given back, and a session that only read
        # began no transaction (the driver begins one at the first write): sqlite3's rollback
        # and commit do nothing then, and are not worth a trip.
        if not self._idle():
            super().rollback()

    def commit(self) -> None:
        if not self._idle():
            super().commit()

    def _idle(self) -> bool:
        """Open and in no transaction. sqlite3 answers this from any thread without touching
        the database; nothing else runs on the connection while SQLAlchemy ends its work."""
        sqlite: sqlite3.Connection | None = self._connection._connection
        return sqlite is not None and not sqlite.in_transaction


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """Pass as `module=` to `create_async_engine` for a `sqlite+aiosqlite` URL."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        # Reads run on the event loop's thread (above), not only on the connection's own.
        kw.setdefault("check_same_thread", False)
        stock = super().connect(*arg, **kw)
        return OneTripConnection(self, stock._connection)
