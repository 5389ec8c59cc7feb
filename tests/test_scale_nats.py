"""A node's start keeps the replication an operator gave its NATS streams (issue #22).

The node makes its events and jobs streams and its shared-state buckets with `nats_replicas`
copies and, at each start, brings the streams to the limits it sets without undoing the rest.
These tests run against the single NATS server of the test machine, which cannot hold more than
one copy of anything: asked to *make* a stream of three it refuses, which shows the setting
reaches the server; asked to *raise* an existing stream to three it records the count (it has
no peers to place the copies on), which is what lets the test show that a node's start leaves
a raised count, and a limit set by hand, as the operator left them. Real placement of copies
needs a NATS cluster, which this machine does not run.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from nats.js.api import StreamConfig

from tests.conftest import NodeFactory
from tests.support import forget_nats, skip_or_fail
from tests.test_event_bus import NATS_URL, nats_up
from yunfab.event_bus import NatsEventBus, stream_update

pytestmark = pytest.mark.usefixtures("_nats")


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the streams are the point, not the node's database


@pytest.fixture
def _nats() -> None:
    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")


async def _streams(names: list[str]) -> dict[str, Any]:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        return {name: (await js.stream_info(name)).config for name in names}
    finally:
        await nc.close()


async def _by_hand(name: str, **changes: Any) -> None:
    """What an operator does with `nats stream edit`."""
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        config = (await js.stream_info(name)).config
        await js.update_stream(dataclasses.replace(config, **changes))
    finally:
        await nc.close()


async def test_a_start_keeps_the_replicas_and_limits_an_operator_set(
    node_factory: NodeFactory,
) -> None:
    name = f"zj-{uuid.uuid4().hex[:8]}"
    events, jobs = f"YUNFAB_EVENTS_node-{name}", f"YUNFAB_JOBS_node-{name}"
    timers = f"KV_YUNFAB_node-{name}_alert_timers"
    streams = [events, jobs, timers]
    node: dict[str, Any] = {"name": name, "nats_url": NATS_URL, "events_max_age_s": 300.0}
    try:
        async with node_factory(**node):
            made = await _streams(streams)
        assert {config.num_replicas for config in made.values()} == {1}
        assert made[events].max_age == 300.0

        # The operator raises replication (their cluster has three servers) and caps the
        # work queue's backlog, by hand.
        for stream in streams:
            await _by_hand(stream, num_replicas=3)
        await _by_hand(jobs, max_msgs=50_000)

        # The node restarts with the default nats_replicas (1) and a new events limit.
        async with node_factory(**{**node, "events_max_age_s": 120.0}):
            after = await _streams(streams)
        assert {stream: config.num_replicas for stream, config in after.items()} == {
            events: 3,
            jobs: 3,
            timers: 3,
        }
        assert after[jobs].max_msgs == 50_000  # what the node does not set, it leaves
        assert after[events].max_age == 120.0  # what it sets, it applies
    finally:
        await forget_nats(f"node-{name}")


async def test_a_stream_is_made_with_the_replicas_asked_for() -> None:
    """A single server refuses three copies when the stream is made: the count reached it."""
    from nats.js.errors import APIError

    scope = f"r3-{uuid.uuid4().hex[:8]}"
    with pytest.raises(APIError, match="replicas"):
        await NatsEventBus.connect(NATS_URL, scope=scope, replicas=3)
    bus = await NatsEventBus.connect(NATS_URL, scope=scope, replicas=1)
    try:
        (config,) = (await _streams([f"YUNFAB_EVENTS_{scope}"])).values()
        assert config.num_replicas == 1
    finally:
        await bus.close()
        await forget_nats(scope)


def test_the_update_raises_replicas_and_never_lowers_them() -> None:
    current = StreamConfig(
        name="S", subjects=["s.>"], num_replicas=3, max_msgs=10, max_age=60.0,
        duplicate_window=300.0, deny_delete=True,
    )  # fmt: skip
    wanted = StreamConfig(name="S", subjects=["s.>"], max_age=60.0)
    assert stream_update(current, wanted, replicas=1) is None  # nothing the service sets differs
    raised = stream_update(dataclasses.replace(current, num_replicas=1), wanted, replicas=3)
    assert raised is not None
    assert raised.num_replicas == 3
    assert raised.max_msgs == 10
    changed = stream_update(current, dataclasses.replace(wanted, max_age=30.0), replicas=1)
    assert changed is not None
    assert (changed.num_replicas, changed.max_age, changed.max_msgs) == (3, 30.0, 10)
