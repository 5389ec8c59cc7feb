"""Storage behaves the same on SQLite and PostgreSQL: foreign keys enforced, UTC datetimes kept."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select, text
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
