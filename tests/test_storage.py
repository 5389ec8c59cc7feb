"""Storage behaves the same on SQLite and PostgreSQL: foreign keys enforced, UTC datetimes kept."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import uuid

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from hub.federation.models import RegionalNode
from tests.support import HUB_TREE, Databases
from yunfab.db import create_engine, create_sessionmaker, session_scope


async def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(databases: Databases) -> None:
    engine = create_engine(databases.fresh(HUB_TREE, "sqlite"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
    await engine.dispose()


async def test_foreign_keys_are_enforced(hub_db_url: str) -> None:
    engine = create_engine(hub_db_url)
    sessions = create_sessionmaker(engine)
    node = RegionalNode(
        name="zj-textile",
        region="CN-ZJ",
        industry="textile",
        base_url="http://a.test",
        operator_id=uuid.uuid4(),
    )
    with pytest.raises(IntegrityError):
        async with session_scope(sessions) as session:
            session.add(node)
    async with session_scope(sessions) as session:
        assert (await session.execute(select(RegionalNode))).first() is None
    await engine.dispose()


async def test_datetimes_come_back_aware_in_utc(hub_db_url: str) -> None:
    engine = create_engine(hub_db_url)
    sessions = create_sessionmaker(engine)
    shanghai = dt.timezone(dt.timedelta(hours=8))
    beat = dt.datetime(2026, 11, 22, 18, 30, tzinfo=shanghai)
    async with session_scope(sessions) as session:
        session.add(
            RegionalNode(
                name="n", region="CN", industry="x", base_url="http://a.test", last_heartbeat=beat
            )
        )
    async with session_scope(sessions) as session:
        stored = (await session.execute(select(RegionalNode))).scalar_one()
        assert stored.last_heartbeat == beat
        assert stored.last_heartbeat is not None
        assert stored.last_heartbeat.utcoffset() == dt.timedelta(0)

    with pytest.raises(StatementError, match="naive datetime"):
        async with session_scope(sessions) as session:
            session.add(
                RegionalNode(
                    name="m",
                    region="CN",
                    industry="x",
                    base_url="http://a.test",
                    last_heartbeat=dt.datetime(2026, 1, 1),  # noqa: DTZ001
                )
            )
    await engine.dispose()


async def test_sqlite_reads_see_committed_rows_only_and_keep_up_with_many_sessions(
    databases: Databases,
) -> None:
    """Reads run on the event loop's thread (yunfab.sqlite_driver): a writer's open transaction
    is invisible to other sessions and does not block them, its own session reads what it wrote,
    and more sessions at once than the pool keeps all get their rows."""
    engine = create_engine(databases.fresh(HUB_TREE, "sqlite"))
    sessions = create_sessionmaker(engine)
    names = select(RegionalNode.name).order_by(RegionalNode.name)

    def node(name: str) -> RegionalNode:
        return RegionalNode(
            name=name, region="CN-ZJ", industry="textile", base_url=f"http://{name}.test"
        )

    async with session_scope(sessions) as session:
        session.add(node("a-node"))
    async with sessions() as writer:
        writer.add(node("b-node"))
        await writer.flush()
        assert list(await writer.scalars(names)) == ["a-node", "b-node"]
        async with sessions() as reader:
            assert list(await reader.scalars(names)) == ["a-node"]
        await writer.commit()

    async def read() -> list[str]:
        async with sessions() as session:
            await asyncio.sleep(0)  # every session holds its connection at once
            return list(await session.scalars(names))

    assert await asyncio.gather(*(read() for _ in range(40))) == [["a-node", "b-node"]] * 40
    await engine.dispose()


async def test_json_columns_read_back_what_the_standard_library_writes(
    databases: Databases,
) -> None:
    """JSON is decoded by orjson, and what it refuses (NaN, a 100-digit integer) by `json`."""
    engine = create_engine(databases.fresh(HUB_TREE, "sqlite"))
    table = Table("scratch_json", MetaData(), Column("id", Integer, primary_key=True),
                  Column("value", JSON))  # fmt: skip
    values = [{"a": [1, 2.5, "x", None, True]}, {"n": float("nan")}, {"big": 10**100}]
    async with engine.begin() as connection:
        await connection.run_sync(table.create)
        await connection.execute(
            table.insert(), [{"id": i, "value": v} for i, v in enumerate(values)]
        )
        got = [row.value for row in await connection.execute(select(table).order_by(table.c.id))]
    assert got[0] == values[0]
    assert math.isnan(got[1]["n"])
    assert got[2] == {"big": 10**100}
    await engine.dispose()
