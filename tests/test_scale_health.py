"""The health port of `yunfab node worker` and `yunfab node ingest` (issue #22): real processes
answer `/healthz` (alive, engines' connections not broken for good) and `/readyz` (every
connection up, the process at its work), and an ingest process whose broker is unreachable is
alive but not ready."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import eventually, forget_nats, run_sync, skip_or_fail
from tests.test_event_bus import NATS_URL, nats_up
from tests.test_mqtt_ingest import BROKER
from yunfab.processes import free_port, yunfab_argv

pytestmark = pytest.mark.slow


@pytest.fixture
def backend() -> str:
    return "postgresql"


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.port = int(env["YUNFAB_NODE_HEALTH_PORT"])
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                yunfab_argv(*args),
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def get(self, path: str) -> tuple[int, dict[str, Any]] | None:
        """The answer, or None while the port is not listening yet."""
        assert self.popen.poll() is None, self.log.read_text(errors="replace")[-3000:]
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as client:
                response = await client.get(path, timeout=5)
        except httpx.TransportError:
            return None
        return response.status_code, response.json()

    def stop(self) -> int | None:
        if self.popen.poll() is not None:
            return self.popen.returncode
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(90)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)
            return None


@pytest.fixture
def start(node_db_url: str, tmp_path: Path) -> Iterator[Any]:
    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")
    started: list[Process] = []
    name = f"zj-{uuid.uuid4().hex[:8]}"

    def run(command: str, **extra: str) -> Process:
        env = {
            "YUNFAB_NODE_ENV": "development",
            "YUNFAB_NODE_NAME": name,
            "YUNFAB_NODE_REGION": "CN-ZJ",
            "YUNFAB_NODE_INDUSTRY": "textile",
            "YUNFAB_NODE_DATABASE_URL": node_db_url,
            "YUNFAB_NODE_DATA_DIR": str(tmp_path / command),
            "YUNFAB_NODE_NATS_URL": NATS_URL,
            "YUNFAB_NODE_HEALTH_PORT": str(free_port()),
            "YUNFAB_NODE_LOG_FORMAT": "json",
            **extra,
        }
        process = Process(["node", command], env, tmp_path / f"{command}-{len(started)}.log")
        started.append(process)
        return process

    yield run
    for process in started:
        process.stop()
    run_sync(lambda: forget_nats(f"node-{name}"))


async def _answer(process: Process, path: str, status: int) -> dict[str, Any]:
    seen: list[tuple[int, dict[str, Any]] | None] = []

    async def answered() -> bool:
        seen.append(await process.get(path))
        return seen[-1] is not None and seen[-1][0] == status

    await eventually(answered, timeout_s=60, every_s=0.25)
    last = seen[-1]
    assert last is not None
    return last[1]


async def test_a_worker_answers_its_probes(start: Any) -> None:
    worker = start("worker")
    alive = await _answer(worker, "/healthz", 200)
    assert alive == {"status": "ok", "checks": {"database": True, "nats": True}}
    ready = await _answer(worker, "/readyz", 200)
    assert ready["checks"] == {
        "database": True,
        "nats": True,
        "nats_connected": True,
        "taking_jobs": True,
    }
    assert (await worker.get("/nothing-here")) == (
        404,
        {"error": "not_found", "detail": "GET /healthz or /readyz"},
    )
    assert worker.stop() == 0


async def test_an_ingest_process_is_ready_once_connected_to_its_broker(start: Any) -> None:
    consumer = start(
        "ingest",
        YUNFAB_NODE_MQTT_URL=f"mqtt://{BROKER[0]}:{BROKER[1]}",
        YUNFAB_NODE_MQTT_CLIENT_ID=f"health-{uuid.uuid4().hex[:8]}",
        YUNFAB_NODE_MQTT_SESSION_EXPIRY_S="0",
    )
    ready = await _answer(consumer, "/readyz", 200)
    assert ready["checks"]["mqtt"] is True
    assert ready["checks"]["database"] is True

    # A broker nobody listens at: the process lives on (it keeps trying) but is not ready.
    cut_off = start(
        "ingest",
        YUNFAB_NODE_MQTT_URL=f"mqtt://127.0.0.1:{free_port()}",
        YUNFAB_NODE_MQTT_CLIENT_ID=f"health-{uuid.uuid4().hex[:8]}",
    )
    alive = await _answer(cut_off, "/healthz", 200)
    assert alive["checks"] == {"database": True, "nats": True}
    not_ready = await _answer(cut_off, "/readyz", 503)
    assert not_ready["status"] == "failing"
    assert not_ready["checks"]["mqtt"] is False
    assert consumer.stop() == 0
    assert cut_off.stop() == 0
