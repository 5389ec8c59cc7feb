"""The hub's domain events behind one interface, one suite run against each implementation:
the embedded in-process broadcasters (one replica: the subscriber and the cause share it) and
NATS JetStream (two hub replicas on one PostgreSQL database, a subscriber on replica A hearing
of what was caused through replica B) (issue #22)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from hub.federated import service as federated
from hub.federated.events import RunChanged
from hub.federation.events import NodeEvent, NodeEventKind, NodeSnapshot
from hub.federation.models import NodeStatus, RegionalNode
from hub.state import hub_state
from tests.conftest import HubFactory
from tests.support import (
    InProcessService,
    forget_nats,
    node_token,
    served,
    skip_or_fail,
    subscribed,
)
from tests.test_event_bus import NATS_URL, nats_up
from yunfab.db import session_scope, utcnow
from yunfab.event_bus import DataclassCodec
from yunfab.processes import free_port
from yunfab.subject import SYSTEM

NODE_EVENTS = "subscription { regionalNodeEvents { kind node { name region status } } }"


@pytest.fixture
def backend() -> str:
    return "postgresql"  # replicas are processes on one server database


@pytest.fixture(params=["embedded", "nats"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "nats" and not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")
    return str(request.param)


@asynccontextmanager
async def replicas(
    hub_factory: HubFactory, kind: str
) -> AsyncIterator[tuple[InProcessService, InProcessService]]:
    """(A, B): two hub replicas on one database and NATS, or (embedded) one hub twice."""
    if kind == "embedded":
        async with hub_factory() as hub:
            yield hub, hub
        return
    scope = f"test-{uuid.uuid4().hex[:10]}"
    try:
        async with (
            hub_factory(nats_url=NATS_URL, nats_scope=scope) as a,
            hub_factory(nats_url=NATS_URL, nats_scope=scope) as b,
        ):
            yield a, b
    finally:
        await forget_nats(scope)


async def message(ws: Any) -> dict[str, Any]:
    received = json.loads(await asyncio.wait_for(ws.recv(), 15))
    assert received["type"] == "next", received
    data: dict[str, Any] = received["payload"]["data"]
    return data


async def test_a_node_registering_through_b_is_pushed_to_a_subscriber_on_a(
    hub_factory: HubFactory, kind: str
) -> None:
    async with replicas(hub_factory, kind) as (a, b):
        async with served(a.app, free_port(), lifespan="off") as url_a:
            async with subscribed(url_a, NODE_EVENTS) as ws:
                await asyncio.sleep(0.5)  # the subscription is registered on replica A
                headers = {"authorization": f"Bearer {await node_token(b, 'zj-textile', 'CN-ZJ')}"}
                body = {"region": "CN-ZJ", "industry": "textile", "base_url": "http://zj.test"}
                registered = await b.client.put(
                    "/api/v1/nodes/zj-textile", json=body, headers=headers
                )
                assert registered.status_code == 200, registered.text
                first = (await message(ws))["regionalNodeEvents"]
                stopping = await b.client.post(
                    "/api/v1/nodes/zj-textile/heartbeats",
                    json={"status": "stopping"},
                    headers=headers,
                )
                assert stopping.status_code in (200, 204), stopping.text
                second = (await message(ws))["regionalNodeEvents"]
    assert first == {
        "kind": "REGISTERED",
        "node": {"name": "zj-textile", "region": "CN-ZJ", "status": "ONLINE"},
    }
    assert second["kind"] == "OFFLINE"
    assert second["node"]["status"] == "OFFLINE"


async def test_a_federated_run_s_progress_recorded_on_b_reaches_a_s_subscribers(
    hub_factory: HubFactory, kind: str, tmp_path: Path
) -> None:
    async with replicas(hub_factory, kind) as (a, b):
        async with session_scope(hub_state(b.app).db.sessionmaker) as session:
            run = await federated.create_run(
                session, SYSTEM, authorizer=hub_state(b.app).authorizer,
                request=federated.RunRequest(rounds=2), available=True,
            )  # fmt: skip
        events = hub_state(a.app).run_events.subscribe()

        async def first() -> RunChanged:
            return await anext(events)

        waiting = asyncio.create_task(first())
        await asyncio.sleep(0.3)  # A's subscription is registered (and, on NATS, settled)
        progress = tmp_path / "progress.json"
        progress.write_text(json.dumps({"per_round": [{"round": 1}]}))
        # B's runner records what its run wrote, as it does at each status poll.
        await hub_state(b.app).federated_runner.record_progress(run.id, progress, None)
        heard = await asyncio.wait_for(waiting, 15)
    assert heard == RunChanged(run.id)


NODE = RegionalNode(
    id=uuid.uuid4(),
    name="gd-moulding",
    region="CN-GD",
    industry="injection-moulding",
    base_url=None,
    status=NodeStatus.ONLINE,
    last_heartbeat=None,
    registered_at=utcnow(),
    yunfab_version="0.9.0",
)


@pytest.mark.parametrize(
    "event",
    [
        NodeEvent(NodeEventKind.REGISTERED, NodeSnapshot.of(NODE), utcnow()),
        RunChanged(uuid.uuid4()),
    ],
    ids=["node", "federated-run"],
)
def test_every_hub_event_survives_the_wire(event: Any) -> None:
    codec = DataclassCodec(type(event))
    assert codec.decode(codec.encode(event)) == event


def test_a_node_event_shows_the_node_as_committed() -> None:
    shown = NodeSnapshot.of(NODE).as_model()
    assert (shown.name, shown.region, shown.status, shown.yunfab_version, shown.base_url) == (
        "gd-moulding",
        "CN-GD",
        NodeStatus.ONLINE,
        "0.9.0",
        None,
    )
