"""Both migration trees reach head on both databases and match the models exactly."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command

from tests.support import Databases
from yunfab.migrations import TREES, alembic_config, metadata_drift, upgrade


@pytest.mark.parametrize("tree_name", ["hub", "node"])
async def test_migrations_match_the_models(
    databases: Databases, backend: str, tree_name: str
) -> None:
    tree = TREES[tree_name]
    url = databases.fresh(tree, backend, migrated=False)
    await asyncio.to_thread(upgrade, tree, url)
    assert await metadata_drift(tree, url) == []

    # Upgrading a database already at head is a no-op, as a restart or a second job does.
    await asyncio.to_thread(upgrade, tree, url)
    assert await metadata_drift(tree, url) == []


@pytest.mark.parametrize("tree_name", ["hub", "node"])
async def test_downgrade_to_base_and_back(
    databases: Databases, backend: str, tree_name: str
) -> None:
    tree = TREES[tree_name]
    url = databases.fresh(tree, backend)
    await asyncio.to_thread(command.downgrade, alembic_config(tree, url), "base")
    await asyncio.to_thread(upgrade, tree, url)
    assert await metadata_drift(tree, url) == []


async def test_nodes_sharing_a_url_keep_it_for_the_first_registered(
    databases: Databases, backend: str
) -> None:
    """Before URLs were unique a node could move onto another's: the migration to unique URLs
    leaves the URL with the node registered first and clears the later one's."""
    import datetime as dt
    import uuid

    import sqlalchemy as sa

    from yunfab.db import create_engine

    tree = TREES["hub"]
    url = databases.fresh(tree, backend, migrated=False)
    await asyncio.to_thread(upgrade, tree, url, "5d0c1f7e2a91")
    nodes = [
        (
            uuid.uuid4(),
            "zj-textile",
            "https://zj.example.cn",
            dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        ),
        (
            uuid.uuid4(),
            "gd-moulding",
            "https://zj.example.cn",
            dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        ),
        (uuid.uuid4(), "js-cnc", "https://js.example.cn", dt.datetime(2026, 3, 1, tzinfo=dt.UTC)),
    ]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for node_id, name, base_url, at in nodes:
                await connection.execute(
                    sa.text(
                        "INSERT INTO regional_nodes (id, name, region, industry, base_url, "
                        "status, registered_at) VALUES (:id, :name, 'CN-ZJ', 'textile', :url, "
                        "'online', :at)"
                    ),
                    {
                        "id": node_id.hex if backend == "sqlite" else node_id,
                        "name": name,
                        "url": base_url,
                        "at": at.isoformat(sep=" ") if backend == "sqlite" else at,
                    },
                )
        await asyncio.to_thread(upgrade, tree, url)
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.text("SELECT name, base_url FROM regional_nodes ORDER BY name")
            )
            assert dict(rows.tuples().all()) == {
                "gd-moulding": None,
                "js-cnc": "https://js.example.cn",
                "zj-textile": "https://zj.example.cn",
            }
    finally:
        await engine.dispose()
    assert await metadata_drift(tree, url) == []
