"""Alembic, driven from code: one migration tree for the hub and one for nodes.

The trees ship inside their packages (`hub/migrations`, `regional_node/migrations`) so an
installed `yunfab` can upgrade a database without a checkout or an `alembic.ini`.
"""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic import command, context
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from yunfab.db import UTCDateTime, create_engine


@dataclass(frozen=True)
class MigrationTree:
    name: str
    package: str
    """Package holding `migrations/`; its `db` module exposes `Base` and imports every model."""

    @property
    def script_location(self) -> str:
        package_file = importlib.import_module(self.package).__file__
        assert package_file is not None
        return str(Path(package_file).parent / "migrations")

    def metadata(self) -> MetaData:
        models = importlib.import_module(f"{self.package}.models")
        metadata: MetaData = models.Base.metadata
        return metadata

    def unmanaged(self, table: str) -> bool:
        """Tables the service makes and drops at run time (a node's daily partitions of its
        readings): not in the models, so the drift check and autogenerate leave them be. The
        package's `models` module says which, with `is_unmanaged_table(name)`."""
        models = importlib.import_module(f"{self.package}.models")
        check = getattr(models, "is_unmanaged_table", None)
        return bool(check(table)) if check is not None else False


TREES = {
    "hub": MigrationTree(name="hub", package="hub"),
    "node": MigrationTree(name="node", package="regional_node"),
}


def alembic_config(tree: MigrationTree, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", tree.script_location)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["tree"] = tree
    return config


def upgrade(tree: MigrationTree, url: str, revision: str = "head") -> None:
    """Upgrade `url` to `revision`. Synchronous: call it through a thread from async code."""
    command.upgrade(alembic_config(tree, url), revision)


def revision(tree: MigrationTree, url: str, message: str) -> None:
    """Autogenerate a new revision against `url` (which must be at head); read it before landing."""
    command.revision(alembic_config(tree, url), message=message, autogenerate=True)


def head_revisions(tree: MigrationTree) -> set[str]:
    script = ScriptDirectory.from_config(alembic_config(tree, "sqlite://"))
    return set(script.get_heads())


def _current(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def current_revisions(connection: AsyncConnection) -> set[str]:
    return await connection.run_sync(_current)


def _render_item(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Write our column types as plain SQLAlchemy types, so a migration never imports app code."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _migration_options(connection: Connection, tree: MigrationTree) -> dict[str, Any]:
    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return not (type_ == "table" and name is not None and tree.unmanaged(name))

    return {
        "compare_type": True,
        "render_as_batch": connection.dialect.name == "sqlite",
        "render_item": _render_item,
        "include_name": include_name,
    }


async def metadata_drift(tree: MigrationTree, url: str) -> list[Any]:
    """Differences between the models and a database at head; empty when they agree."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def diff(sync_connection: Connection) -> list[Any]:
                migration_context = MigrationContext.configure(
                    sync_connection, opts=_migration_options(sync_connection, tree)
                )
                return list(compare_metadata(migration_context, tree.metadata()))

            return await connection.run_sync(diff)
    finally:
        await engine.dispose()


def run_env() -> None:
    """Body of each tree's `env.py`: migrate online over the async engine, or emit SQL offline."""
    config = context.config
    tree: MigrationTree = config.attributes["tree"]
    metadata = tree.metadata()
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection, target_metadata=metadata, **_migration_options(connection, tree)
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())
