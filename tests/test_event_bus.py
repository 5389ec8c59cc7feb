"""Domain events behind one interface, one suite run against each implementation: the embedded
in-process broadcaster and NATS JetStream (the server at 127.0.0.1:4222). Then what only NATS
gives: two replicas of a node on one database, a live subscriber on one hearing of readings
ingested through the other (issue #22)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from regional_node.alerts.engine import AlertEvent
from regional_node.orders.events import OrderNotice
from regional_node.telemetry.pipeline import TelemetryEvent
from regional_node.vision.events import InspectionEvent, TrainingProgress
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import with_device
from tests.support import served, skip_or_fail, subscribed
from tests.test_ingest import now_ms, send
from vision_ml.progress import TrainingStage
from yunfab.event_bus import DataclassCodec, EventCodecError, NatsEventBus
from yunfab.events import Broadcaster
from yunfab.processes import free_port

NATS_URL = "nats://127.0.0.1:4222"
NODE_URL = "http://zj-textile.test"


def nats_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def _nats() -> None:
    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")


@dataclass(frozen=True)
class Ping:
    n: int
    who: str


# A replica's broadcaster of Ping events; a fresh scope per test so tests never hear each other.
Replica = Callable[[int], Awaitable[Broadcaster[Ping]]]


@asynccontextmanager
async def replicas(kind: str, queue_size: int = 256) -> AsyncIterator[Replica]:
    """`replica(i)` is replica i's broadcaster. Embedded: one process, so every replica is the
    same broadcaster (what one process can offer); NATS: one connection per replica."""
    scope = f"test-{uuid.uuid4().hex[:10]}"
    buses: dict[int, NatsEventBus] = {}
    shared: dict[int, Broadcaster[Ping]] = {}

    async def replica(i: int) -> Broadcaster[Ping]:
        if kind == "embedded":
            if 0 not in shared:
                shared[0] = Broadcaster(queue_size)
            return shared[0]
        if i not in buses:
            buses[i] = await NatsEventBus.connect(NATS_URL, scope=scope, max_age_s=30)
        bus = buses[i]
        existing = [b for b in bus.broadcasters if b.subject.endswith(".ping")]
        if existing:
            return existing[0]
        return await bus.broadcaster("ping", Ping, queue_size=queue_size)

    try:
        yield replica
    finally:
        if buses:  # the test's stream goes too: NATS keeps no stream per test run
            first = next(iter(buses.values()))
            with contextlib.suppress(Exception):
                await first.js.delete_stream(f"YUNFAB_EVENTS_{first.scope}")
        for bus in buses.values():
            await bus.close()


@pytest.fixture(params=["embedded", "nats"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "nats" and not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")
    return str(request.param)


async def take(events: AsyncIterator[Ping], count: int, timeout_s: float = 5.0) -> list[Ping]:
    async def collect() -> list[Ping]:
        got = []
        async for event in events:
            got.append(event)
            if len(got) == count:
                break
        return got

    return await asyncio.wait_for(collect(), timeout_s)


async def next_event(events: AsyncIterator[Ping]) -> Ping:
    return await anext(events)


async def registered() -> None:
    """A subscription registers at its first `anext`; let it (and NATS) settle."""
    await asyncio.sleep(0.2)


async def test_subscribers_get_every_event_in_order(kind: str) -> None:
    async with replicas(kind) as replica:
        bus = await replica(0)
        first, second = bus.subscribe(), bus.subscribe()
        one = asyncio.create_task(take(first, 50))
        two = asyncio.create_task(take(second, 50))
        await registered()
        for n in range(50):
            bus.publish(Ping(n, "a"))
        assert [p.n for p in await one] == list(range(50))
        assert [p.n for p in await two] == list(range(50))
        assert (await one)[0] == Ping(0, "a")


async def test_a_subscriber_hears_only_what_comes_after_it_subscribed(kind: str) -> None:
    async with replicas(kind) as replica:
        bus = await replica(0)
        bus.publish(Ping(-1, "before"))
        await asyncio.sleep(0.3)
        later = asyncio.create_task(take(bus.subscribe(), 1))
        await registered()
        bus.publish(Ping(1, "after"))
        assert await later == [Ping(1, "after")]


async def test_a_slow_subscriber_loses_its_oldest_events_not_the_newest(kind: str) -> None:
    async with replicas(kind, queue_size=5) as replica:
        bus = await replica(0)
        slow = bus.subscribe()
        started = asyncio.create_task(next_event(slow))
        await registered()
        for n in range(40):
            bus.publish(Ping(n, "a"))
        await asyncio.sleep(0.5)  # all delivered to the subscriber's bounded queue
        got = [(await asyncio.wait_for(started, 5)).n]
        while True:
            try:
                got.append((await asyncio.wait_for(anext(slow), 0.5)).n)
            except TimeoutError:
                break
        assert got[-1] == 39, got  # the newest is kept
        assert len(got) <= 6, got  # the rest of the burst did not pile up
        assert got == sorted(got)


async def test_events_reach_subscribers_on_another_replica(kind: str) -> None:
    async with replicas(kind) as replica:
        a, b = await replica(0), await replica(1)
        on_a = asyncio.create_task(take(a.subscribe(), 3))
        on_b = asyncio.create_task(take(b.subscribe(), 3))
        await registered()
        b.publish(Ping(1, "b"))
        a.publish(Ping(2, "a"))
        await asyncio.sleep(0.1)
        b.publish(Ping(3, "b"))
        assert sorted(p.n for p in await on_a) == [1, 2, 3]
        assert sorted(p.n for p in await on_b) == [1, 2, 3]


async def test_a_subscription_that_ends_is_forgotten(kind: str) -> None:
    async with replicas(kind) as replica:
        bus = await replica(0)
        events = bus.subscribe()
        task = asyncio.create_task(take(events, 1))
        await registered()
        bus.publish(Ping(1, "a"))
        assert await task == [Ping(1, "a")]
        await events.aclose()  # type: ignore[attr-defined]
        bus.publish(Ping(2, "a"))  # nobody listens: no queue grows
        assert not bus._subscribers


# -- NATS only -------------------------------------------------------------------------------

NODE_EVENTS: list[Any] = [
    TelemetryEvent(
        device_id=uuid.uuid4(),
        device_key="dg-imm-01",
        factory_id=uuid.uuid4(),
        readings=(("clamp_force_kn", 1_700_000_000_000, 812.5), ("cycles", 1_700_000_000_001, 3.0)),
    ),
    AlertEvent(alert_id=uuid.uuid4(), factory_id=uuid.uuid4(), change="opened"),
    OrderNotice(order_id=uuid.uuid4(), event_id=uuid.uuid4()),
    InspectionEvent(
        record_id=uuid.uuid4(),
        station_id=uuid.uuid4(),
        factory_id=uuid.uuid4(),
        heatmap_png=b"\x89PNG\r\n\x1a\n\x00\xff",
        image_threshold=None,
        total_ms=17.25,
        people_masked=2,
    ),
    TrainingProgress(
        key=uuid.uuid4(), subject="user:42", stage=TrainingStage.FITTING, done=3, total=10
    ),
]


@pytest.mark.parametrize("event", NODE_EVENTS, ids=lambda e: type(e).__name__)
def test_every_node_event_survives_the_wire(event: Any) -> None:
    codec = DataclassCodec(type(event))
    assert codec.decode(codec.encode(event)) == event


@pytest.mark.parametrize(
    "junk",
    [
        b"not json",
        b'{"alert_id": "nope", "factory_id": "x", "change": "opened"}',
        b'{"alert_id": null}',
        b"[1, 2]",
    ],
)
def test_an_event_that_is_not_its_type_is_refused_with_a_reason(junk: bytes) -> None:
    with pytest.raises(EventCodecError):
        DataclassCodec(AlertEvent).decode(junk)


@pytest.mark.usefixtures("_nats")
async def test_junk_on_the_subject_is_counted_and_skipped_not_fatal() -> None:
    async with replicas("nats") as replica:
        bus = await replica(0)
        task = asyncio.create_task(take(bus.subscribe(), 1))
        await registered()
        raw: Any = bus
        await raw._bus.nc.publish(raw.subject, b"{junk")
        bus.publish(Ping(7, "a"))
        assert await task == [Ping(7, "a")]
        assert raw.counters.undecodable == 1


# -- two replicas of a node ------------------------------------------------------------------

LIVE = 'subscription { deviceTelemetry(deviceId: "%s") { deviceKey readings { metric value } } }'


@pytest.mark.slow
@pytest.mark.usefixtures("_nats")
async def test_a_reading_ingested_on_one_replica_is_pushed_to_a_subscriber_on_the_other(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, nats_url=NATS_URL) as replica_a,
        node_factory(hub=hub, nats_url=NATS_URL) as replica_b,
    ):
        operator, _factory, device = await with_device(hub, replica_b, NODE_URL)
        token = operator["authorization"].removeprefix("Bearer ")
        device_id = device["device"]["id"]
        async with served(replica_a.app, free_port(), lifespan="off") as url_a:
            async with subscribed(url_a, LIVE % device_id, token) as ws:
                await asyncio.sleep(0.5)  # the subscription is registered on replica A
                sent = await send(
                    replica_b.client, device, [{"ts": now_ms(), "metrics": {"clamp_force_kn": 900}}]
                )
                assert sent.status_code == 200, sent.text
                pushed = json.loads(await asyncio.wait_for(ws.recv(), 10))
        update = pushed["payload"]["data"]["deviceTelemetry"]
        assert update["deviceKey"] == device["username"]
        assert update["readings"] == [{"metric": "clamp_force_kn", "value": 900.0}]
