"""`yunfab node ingest` as real processes on PostgreSQL and Mosquitto: two consumers split the
stream through a shared subscription, one is killed (SIGKILL) mid-stream and comes back under
its client id, and every reading published is stored once (issue #22)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import with_device
from tests.support import eventually
from tests.test_mqtt_ingest import BROKER, Publisher, readings_message
from yunfab.db import create_engine
from yunfab.processes import yunfab_argv

pytestmark = pytest.mark.slow

NODE_URL = "http://zj-textile.test"
MESSAGES, PER_MESSAGE = 40, 250


@pytest.fixture
def backend() -> str:
    return "postgresql"


class Consumer:
    """One `yunfab node ingest` process under a fixed client id, restartable."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                yunfab_argv("node", "ingest"),
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while self.log.read_text(errors="replace").count("ingest_started") < self.starts:
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, self.log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            return None


@pytest.fixture
def consumers(node_db_url: str, tmp_path: Path) -> Iterator[list[Consumer]]:
    group = f"ingest-{uuid.uuid4().hex[:8]}"
    base = {
        "YUNFAB_NODE_ENV": "development",
        "YUNFAB_NODE_NAME": "zj-textile",
        "YUNFAB_NODE_REGION": "CN-ZJ",
        "YUNFAB_NODE_INDUSTRY": "textile",
        "YUNFAB_NODE_DATABASE_URL": node_db_url,
        "YUNFAB_NODE_DATA_DIR": str(tmp_path / "ingest"),
        "YUNFAB_NODE_MQTT_URL": f"mqtt://{BROKER[0]}:{BROKER[1]}",
        "YUNFAB_NODE_MQTT_SHARED_GROUP": group,
        "YUNFAB_NODE_MQTT_SESSION_EXPIRY_S": "300",
        "YUNFAB_NODE_LOG_FORMAT": "json",
    }
    made = [
        Consumer(
            name,
            {**base, "YUNFAB_NODE_MQTT_CLIENT_ID": f"{group}-{name}"},
            tmp_path,
        )
        for name in ("a", "b")
    ]
    yield made
    for consumer in made:
        consumer.stop()


async def test_a_consumer_killed_mid_stream_loses_no_reading(
    hub_factory: HubFactory,
    node_factory: NodeFactory,
    node_db_url: str,
    consumers: list[Consumer],
) -> None:
    a, b = consumers
    async with hub_factory() as hub, node_factory(hub=hub) as node:  # the API, without MQTT
        _, _, device = await with_device(hub, node, NODE_URL)
        topic = device["device"]["telemetryTopic"]
        a.start()
        b.start()
        publisher = Publisher(f"dev-{uuid.uuid4().hex[:8]}")
        publisher.wait_connected()
        start_ms = int(time.time() * 1000) - MESSAGES * PER_MESSAGE
        for i in range(MESSAGES):
            if i == MESSAGES // 3:
                a.kill()  # mid-stream, no goodbye: what it had not acknowledged is redelivered
            if i == 2 * MESSAGES // 3:
                a.start()  # back under its client id, as a StatefulSet's pod comes back
            publisher.publish(topic, readings_message(start_ms + i * PER_MESSAGE, PER_MESSAGE))
        publisher.close()

        engine = create_engine(node_db_url)
        try:

            async def stored() -> int:
                async with engine.connect() as conn:
                    return int(await conn.scalar(text("SELECT count(*) FROM telemetry")) or 0)

            async def all_stored() -> bool:
                return await stored() >= MESSAGES * PER_MESSAGE

            await eventually(all_stored, timeout_s=60)
            assert await stored() == MESSAGES * PER_MESSAGE
        finally:
            await engine.dispose()
    # Both took part: the killed one before it died, the other throughout.
    logs = [c.log.read_text(errors="replace") for c in consumers]
    assert all("ingest_started" in text for text in logs)
    assert b.stop() == 0, logs[1][-2000:]
