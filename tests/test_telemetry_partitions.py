"""Raw readings on PostgreSQL are partitioned by day: readings land in their day's partition,
a day's partition made late takes its rows over from the default one, and retention drops whole
days while what is kept stays readable through the API (issue #22)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from regional_node.telemetry import partitions
from regional_node.telemetry.rollups import Retention, apply_retention
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import with_device
from tests.test_ingest import SERIES, iso, send
from yunfab.db import create_engine

NODE_URL = "http://zj-textile.test"
DAY = partitions.DAY_MS


@pytest.fixture
def backend() -> str:
    """PostgreSQL only: SQLite keeps one table."""
    return "postgresql"


@pytest.fixture
async def engine(node_db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(node_db_url)
    yield engine
    await engine.dispose()


async def rows_by_table(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tableoid::regclass::text, count(*) FROM telemetry GROUP BY 1")
        )
        return dict(rows.tuples().all())


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE tablename LIKE 'telemetry_%'")
        )
        return {name for (name,) in rows}


async def test_readings_land_in_their_days_partition_and_old_days_are_dropped_whole(
    hub_factory: HubFactory, node_factory: NodeFactory, engine: AsyncEngine
) -> None:
    retention = Retention(raw_s=7 * 86400, minute_s=90 * 86400, hour_s=None)
    now = int(time.time() * 1000)
    today = partitions.day_of(now)
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, _, device = await with_device(hub, node, NODE_URL)
        # A retention pass (the node runs one at start and every hour) makes the days ready.
        await apply_retention(engine, retention)
        names = await tables(engine)
        for day in range(-7, partitions.AHEAD_DAYS + 1):
            assert partitions.partition_name(today + day * DAY) in names
        readings = [
            {"ts": now - 1000 * i, "metrics": {"clamp_force_kn": 800 + i}} for i in range(50)
        ]
        sent = await send(node.client, device, readings)
        assert sent.json()["accepted"] == 50
        by_table = await rows_by_table(engine)
        assert sum(by_table.values()) == 50
        assert set(by_table) <= {
            partitions.partition_name(today),
            partitions.partition_name(today - DAY),  # a reading a second before midnight
        }

        # Readings of a day with no partition yet wait in the default one; the day's partition
        # takes them over when it is made. Then that day falls out of the retention window.
        old = today - 10 * DAY
        async with engine.begin() as conn:
            series = await conn.scalar(text("SELECT series_id FROM telemetry LIMIT 1"))
            await conn.execute(
                text("INSERT INTO telemetry (series_id, ts_ms, value) VALUES (:s, :t, 1.0)"),
                [{"s": series, "t": old + i * 60_000} for i in range(30)],
            )
        assert (await rows_by_table(engine))["telemetry_default"] == 30
        async with engine.begin() as conn:
            made = await partitions.ensure_partitions(conn, old, old)
        assert made == [partitions.partition_name(old)]
        by_table = await rows_by_table(engine)
        assert by_table[partitions.partition_name(old)] == 30
        assert "telemetry_default" not in by_table

        removed = await apply_retention(engine, retention)
        assert removed["raw_partitions"] >= 1
        assert partitions.partition_name(old) not in await tables(engine)
        assert partitions.partition_name(today) in await tables(engine)
        assert sum((await rows_by_table(engine)).values()) == 50

        # What is kept reads as before.
        points = (
            await node.graphql(
                SERIES,
                {
                    "id": device["device"]["id"],
                    "metric": "clamp_force_kn",
                    "start": iso(now - 3_600_000),
                    "end": iso(now + 1000),
                    "res": "RAW",
                },
                headers=operator,
            )
        )["telemetry"]["points"]
        assert len(points) == 50


async def test_a_reading_sent_twice_is_stored_once_across_partitions(
    hub_factory: HubFactory, node_factory: NodeFactory, engine: AsyncEngine
) -> None:
    now = int(time.time() * 1000)
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        _, _, device = await with_device(hub, node, NODE_URL)
        await apply_retention(engine, Retention(raw_s=86400, minute_s=86400, hour_s=None))
        readings = [{"ts": now - 1000 * i, "metrics": {"clamp_force_kn": 900}} for i in range(20)]
        first = (await send(node.client, device, readings)).json()
        again = (await send(node.client, device, readings)).json()
        assert (first["accepted"], again["accepted"], again["duplicates"]) == (20, 0, 20)
        assert sum((await rows_by_table(engine)).values()) == 20
