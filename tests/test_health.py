"""Liveness and readiness: /readyz turns unhealthy when the database is gone or behind."""

from __future__ import annotations

from tests.conftest import HubFactory, NodeFactory
from tests.support import HUB_TREE, Databases, InProcessService


async def test_healthy_hub_is_live_and_ready(hub: InProcessService) -> None:
    assert (await hub.client.get("/healthz")).json() == {"status": "ok"}
    response = await hub.client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True


async def test_readyz_fails_when_the_database_is_gone(
    hub: InProcessService, hub_db_url: str, databases: Databases
) -> None:
    assert (await hub.client.get("/readyz")).status_code == 200
    databases.drop(hub_db_url)

    response = await hub.client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["reason"].startswith("database unreachable")
    assert (await hub.client.get("/healthz")).status_code == 200


async def test_readyz_fails_when_migrations_are_not_at_head(
    databases: Databases, backend: str, tmp_path: object
) -> None:
    from hub.app import create_app
    from hub.settings import HubSettings
    from tests.support import in_process

    empty = databases.fresh(HUB_TREE, backend, migrated=False)
    if backend == "sqlite":
        # A SQLite file must exist to be "reachable"; an empty one has no migrations applied.
        from sqlalchemy.engine import make_url

        open(make_url(empty).database or "", "wb").close()  # noqa: PTH123
    async with in_process(create_app(HubSettings(database_url=empty)), "http://hub.test") as hub:
        response = await hub.client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["database"]["reason"] == "migrations not at head"


async def test_node_readiness_reports_its_hub_link(
    node_factory: NodeFactory, hub_factory: HubFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        body = (await node.client.get("/readyz")).json()
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["hub"]["url"] == "http://hub.test"
