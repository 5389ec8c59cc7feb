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


async def test_nodes_sharing_a_url_are_parked_until_an_operator_moves_them(
    databases: Databases, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Before URLs were unique a node could move onto another's, and the mover may be the node
    registered first (gd here): no node keeps a shared URL, in any spelling; each is parked at a
    placeholder the hub never calls, logged by name. A URL stored with a trailing dot is kept
    without it; a node the downgrade gave a placeholder has no URL again."""
    import datetime as dt
    import uuid

    import sqlalchemy as sa

    from yunfab.db import create_engine

    tree = TREES["hub"]
    url = databases.fresh(tree, backend, migrated=False)
    await asyncio.to_thread(upgrade, tree, url, "5d0c1f7e2a91")
    nodes = [
        ("gd-moulding", "https://zj.example.cn", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        ("zj-textile", "https://zj.example.cn", dt.datetime(2026, 2, 1, tzinfo=dt.UTC)),
        ("sx-dyeing", "https://zj.example.cn.", dt.datetime(2026, 2, 2, tzinfo=dt.UTC)),
        ("js-cnc", "https://js.example.cn", dt.datetime(2026, 3, 1, tzinfo=dt.UTC)),
        ("hz-print", "https://hz.example.cn.:8443", dt.datetime(2026, 3, 2, tzinfo=dt.UTC)),
        ("nb-port", "https://unenrolled.invalid/nb-port", dt.datetime(2026, 3, 3, tzinfo=dt.UTC)),
    ]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for name, base_url, at in nodes:
                node_id = uuid.uuid4()
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
        with caplog.at_level("WARNING", logger="alembic.runtime.migration"):
            await asyncio.to_thread(upgrade, tree, url)
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.text("SELECT name, base_url FROM regional_nodes ORDER BY name")
            )
            assert dict(rows.tuples().all()) == {
                "gd-moulding": "https://url-shared.invalid/gd-moulding",
                "hz-print": "https://hz.example.cn:8443",
                "js-cnc": "https://js.example.cn",
                "nb-port": None,
                "sx-dyeing": "https://url-shared.invalid/sx-dyeing",
                "zj-textile": "https://url-shared.invalid/zj-textile",
            }
    finally:
        await engine.dispose()
    assert await metadata_drift(tree, url) == []
    logged = caplog.text
    for name in ("gd-moulding", "zj-textile", "sx-dyeing"):
        assert f"node {name} shared its URL" in logged
    assert "js-cnc" not in logged
