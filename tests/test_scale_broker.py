"""A scaled-out node's API replica manages the broker's logins without consuming (issue #22):
with `mqtt_consume` off it provisions a device at a real Mosquitto (dynamic security), the
device logs in with the credentials it was given, and what it publishes is stored by a
`yunfab node ingest` process, the API's own consumer counting nothing."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import with_device
from tests.support import eventually
from tests.test_ingest_process import Consumer
from tests.test_mqtt_ingest import Publisher, managed_broker, readings_message
from yunfab.db import create_engine
from yunfab_demo.mosquitto import ManagedBrokerConfig

pytestmark = pytest.mark.slow
__all__ = ["managed_broker"]  # the fixture, used by name

NODE_URL = "http://zj-textile.test"


@pytest.fixture
def backend() -> str:
    return "postgresql"


async def test_an_api_replica_that_does_not_consume_still_provisions_devices_at_the_broker(
    hub_factory: HubFactory,
    node_factory: NodeFactory,
    node_db_url: str,
    tmp_path: Path,
    managed_broker: Any,
) -> None:
    cfg: ManagedBrokerConfig = managed_broker
    ingest_login = ("zj-textile-ingest", uuid.uuid4().hex)
    broker = {
        "mqtt_url": f"mqtt://{cfg.host}:{cfg.port}",
        "mqtt_username": ingest_login[0],
        "mqtt_password": ingest_login[1],
        "broker_admin_username": cfg.admin_username,
        "broker_admin_password": cfg.admin_password,
    }
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, mqtt_consume=False, **broker) as node,
    ):
        ready = (await node.client.get("/readyz")).json()
        assert "mqtt" not in ready["checks"]  # no consumer in the API process
        _, _, device = await with_device(hub, node, NODE_URL)

        # The device's login exists at the broker: a wrong password is refused, its own works.
        key = device["username"]
        wrong = Publisher(key, host=cfg.host, port=cfg.port, username=key, password="nope")
        assert wrong.disconnected.wait(10)
        assert wrong.refused is not None
        wrong.client.loop_stop()

        # The consumers' login was created by the API replica too: the ingest process uses it.
        group = f"ingest-{uuid.uuid4().hex[:8]}"
        consumer = Consumer(
            "ingest",
            {
                "YUNFAB_NODE_ENV": "development",
                "YUNFAB_NODE_NAME": "zj-textile",
                "YUNFAB_NODE_REGION": "CN-ZJ",
                "YUNFAB_NODE_INDUSTRY": "textile",
                "YUNFAB_NODE_DATABASE_URL": node_db_url,
                "YUNFAB_NODE_DATA_DIR": str(tmp_path / "ingest"),
                "YUNFAB_NODE_MQTT_URL": broker["mqtt_url"],
                "YUNFAB_NODE_MQTT_USERNAME": ingest_login[0],
                "YUNFAB_NODE_MQTT_PASSWORD": ingest_login[1],
                "YUNFAB_NODE_MQTT_SHARED_GROUP": group,
                "YUNFAB_NODE_MQTT_CLIENT_ID": f"{group}-0",
                "YUNFAB_NODE_MQTT_SESSION_EXPIRY_S": "300",
                "YUNFAB_NODE_LOG_FORMAT": "json",
            },
            tmp_path,
        )
        engine = create_engine(node_db_url)
        try:
            consumer.start()

            async def consumer_subscribed() -> bool:
                return "mqtt_connected" in consumer.log.read_text(errors="replace")

            await eventually(consumer_subscribed, timeout_s=30)
            publisher = Publisher(
                key, host=cfg.host, port=cfg.port, username=key, password=device["password"]
            )
            publisher.wait_connected()
            publisher.publish(
                device["device"]["telemetryTopic"], readings_message(int(time.time() * 1000), 3)
            )
            publisher.close()

            async def stored() -> int:
                async with engine.connect() as conn:
                    return int(await conn.scalar(text("SELECT count(*) FROM telemetry")) or 0)

            async def three_stored() -> bool:
                return await stored() >= 3

            await eventually(three_stored, timeout_s=60)
            assert await stored() == 3
            # Stored by the ingest process: the API took no message over MQTT.
            metrics = (await node.client.get("/metrics")).text
            assert 'yunfab_ingest_messages_total{source="mqtt"}' not in metrics
            assert "yunfab_ingest_mqtt_connected 0.0" in metrics
            assert consumer.stop() == 0
        finally:
            consumer.stop()
            await engine.dispose()
