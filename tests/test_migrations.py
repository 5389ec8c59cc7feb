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
