from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from hub.app import create_app as create_hub_app
from hub.settings import HubSettings
from regional_node.app import create_app as create_node_app
from regional_node.settings import NodeSettings
from tests import ast_guard
from tests.demo_run import DemoRun, start_demo_run
from tests.support import (
    HUB_TREE,
    NODE_TREE,
    Databases,
    InProcessService,
    RunningService,
    create_node_client,
    in_process,
)
from yunfab.logs import configure_logging
from yunfab.processes import ProcessSpec, Supervisor, free_port, yunfab_argv

ast_guard.install()  # before any test runs (tests/ast_guard.py)

# Services default to production. The tests run them in development unless a test says otherwise
# (`env="production"`), in this process and in the processes they start, which inherit this.
os.environ["YUNFAB_HUB_ENV"] = "development"
os.environ["YUNFAB_NODE_ENV"] = "development"


@pytest.fixture(scope="session", autouse=True)
def _logging() -> None:
    """Log as the services do (plain tracebacks, JSON-free console lines), captured by pytest."""
    configure_logging(HubSettings(log_level="info"))


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("databases"))
    yield dbs
    dbs.close()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """One `yunfab demo` for the suite (tests/demo_run.py): started by its first user, stopped
    by tests/test_demo.py's clean-stop test or, failing that, at the end of the session.
    (Starting it in the background when the session began saved its minute, but tests running
    beside its start failed on timing and on ports it took: it starts when first needed.)"""
    run = start_demo_run(tmp_path_factory.mktemp("shared-demo") / "demo")
    yield run
    run.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    value: str = request.param
    return value


@pytest.fixture
def hub_db_url(databases: Databases, backend: str) -> str:
    return databases.fresh(HUB_TREE, backend)


@pytest.fixture
def node_db_url(databases: Databases, backend: str) -> str:
    return databases.fresh(NODE_TREE, backend)


HubFactory = Callable[..., AbstractAsyncContextManager[InProcessService]]


@pytest.fixture
def hub_factory(hub_db_url: str, tmp_path: Path) -> HubFactory:
    """In-process hubs on the test's database; keyword arguments override settings."""

    def make(**overrides: Any) -> AbstractAsyncContextManager[InProcessService]:
        settings = HubSettings(
            **{
                "database_url": hub_db_url,
                "data_dir": tmp_path / "hub",
                "public_url": "http://hub.test",
                **overrides,
            }
        )
        return in_process(create_hub_app(settings), "http://hub.test")

    return make


@pytest.fixture
async def hub(hub_factory: HubFactory) -> AsyncIterator[InProcessService]:
    async with hub_factory() as service:
        yield service


NodeFactory = Callable[..., AbstractAsyncContextManager[InProcessService]]


@pytest.fixture
def node_factory(node_db_url: str, tmp_path: Path) -> NodeFactory:
    """In-process nodes; `hub=` an in-process hub they reach through its ASGI transport."""

    @asynccontextmanager
    async def make(
        hub: InProcessService | None = None, *, credentials: bool = True, **overrides: Any
    ) -> AsyncIterator[InProcessService]:
        name = overrides.get("name", "zj-textile")
        region = overrides.get("region", "CN-ZJ")
        if hub is not None and credentials:
            client_id, secret = await create_node_client(hub, name, region)
            overrides = {"client_id": client_id, "client_secret": secret, **overrides}
        values: dict[str, Any] = {
            "name": "zj-textile",
            "region": "CN-ZJ",
            "industry": "textile",
            "database_url": node_db_url,
            "data_dir": tmp_path / "node",
            "hub_url": "http://hub.test",
            "public_url": "http://zj-textile.test",
            "hub_retry_initial_s": 0.05,
            "hub_retry_max_s": 0.2,
            **overrides,
        }
        app = create_node_app(
            NodeSettings(**values), hub_transport=hub.transport if hub is not None else None
        )
        async with in_process(app, str(values["public_url"])) as node:
            yield node

    return make


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., RunningService]]:
    """Start real `yunfab` processes; every one is stopped when the test ends, pass or fail."""
    supervisor = Supervisor()

    def start(
        name: str,
        *args: str,
        env: dict[str, str] | None = None,
        ready_path: str | None = "/readyz",
        port: int | None = None,
        wait: bool = True,
    ) -> RunningService:
        port = port or free_port()
        argv = yunfab_argv(*args, "--host", "127.0.0.1", "--port", str(port))
        spec = ProcessSpec(
            name=name,
            argv=argv,
            log_path=tmp_path / "logs" / f"{name}.log",
            ready_url=f"http://127.0.0.1:{port}{ready_path}" if ready_path else None,
            env=env or {},
        )
        running = RunningService(process=supervisor.start(spec), url=f"http://127.0.0.1:{port}")
        if wait:
            running.process.wait_ready(60)
        return running

    yield start
    supervisor.stop_all(grace_s=10)
