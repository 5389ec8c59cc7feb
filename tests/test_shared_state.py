"""State shared by replicas (issue #22): one suite, run against the embedded engine and NATS KV.

A "replica" is a `SharedStates` of its own: with NATS, its own connection to the same scope (what
two processes have); embedded, the one in-process engine (all that one process can offer).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import orjson
import pytest

from tests.support import eventually, forget_nats, skip_or_fail
from tests.test_event_bus import NATS_URL, nats_up
from yunfab.ratelimit import (
    SharedCredentialThrottle,
    SharedFailureThrottle,
    SharedTokenBucket,
    TooManyFailures,
)
from yunfab.revocations import RevocationSet
from yunfab.shared_state import (
    Change,
    InvalidKey,
    MemoryStates,
    NatsStates,
    SharedState,
    SharedStates,
    key_for,
)

Replica = Callable[[int], Awaitable[SharedStates]]


@pytest.fixture(params=["memory", "nats"])
def engine(request: pytest.FixtureRequest) -> str:
    if request.param == "nats" and not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")
    return str(request.param)


@asynccontextmanager
async def replicas(engine: str) -> AsyncIterator[Replica]:
    """`replica(i)`: replica i's engine; a fresh scope per test, its buckets removed after."""
    scope = f"test-{uuid.uuid4().hex[:10]}"
    opened: dict[int, SharedStates] = {}
    shared = MemoryStates()

    async def replica(i: int) -> SharedStates:
        if engine == "memory":
            return shared
        if i not in opened:
            opened[i] = await NatsStates.connect(NATS_URL, scope=scope)
        return opened[i]

    try:
        yield replica
    finally:
        for states in opened.values():
            await states.close()
        await forget_nats(scope)


async def test_create_update_and_compare_and_set(engine: str) -> None:
    async with replicas(engine) as replica:
        bucket = await (await replica(0)).bucket("things", ttl_s=60)
        assert await bucket.get("a") is None
        first = await bucket.create("a", b"1")
        assert first is not None
        assert await bucket.create("a", b"2") is None  # already there
        second = await bucket.update("a", b"2", revision=first.revision)
        assert second is not None
        assert await bucket.update("a", b"3", revision=first.revision) is None  # stale revision
        got = await bucket.get("a")
        assert got == second
        await bucket.delete("a")
        assert await bucket.get("a") is None
        assert await bucket.create("a", b"again") is not None  # a deleted key can be made anew


async def test_a_write_on_one_replica_is_read_on_another(engine: str) -> None:
    async with replicas(engine) as replica:
        a = await (await replica(0)).bucket("things", ttl_s=60)
        b = await (await replica(1)).bucket("things", ttl_s=60)
        await a.put("k", b"from a")
        got = await b.get("k")
        assert got is not None
        assert got.value == b"from a"


async def test_concurrent_changes_from_two_replicas_all_land(engine: str) -> None:
    """Compare-and-set: increments racing from two replicas lose none."""

    def increment(value: bytes | None) -> bytes:
        return str(int(value or b"0") + 1).encode()

    async with replicas(engine) as replica:
        buckets = [await (await replica(i)).bucket("counts", ttl_s=60) for i in (0, 1)]
        await asyncio.gather(
            *(buckets[n % 2].modify("hits", increment, attempts=100) for n in range(40))
        )
        got = await buckets[0].get("hits")
        assert got is not None
        assert int(got.value) == 40


async def test_a_value_is_forgotten_ttl_after_its_last_write(engine: str) -> None:
    async with replicas(engine) as replica:
        bucket = await (await replica(0)).bucket("short", ttl_s=1)
        await bucket.put("k", b"v")
        assert await bucket.get("k") is not None

        async def gone() -> bool:
            return await bucket.get("k") is None

        await eventually(gone, timeout_s=15)


async def test_a_watcher_sees_current_values_then_changes_from_any_replica(engine: str) -> None:
    async with replicas(engine) as replica:
        a = await (await replica(0)).bucket("watched", ttl_s=60)
        b = await (await replica(1)).bucket("watched", ttl_s=60)
        await a.put("before", b"1")
        seen: list[Change] = []
        watching = a.watch()

        async def collect() -> None:
            async for change in watching:
                seen.append(change)

        task = asyncio.create_task(collect())
        try:

            async def saw(change: Change) -> bool:
                return change in seen

            await eventually(lambda: saw(Change("before", b"1")), timeout_s=10)
            await b.put("after", b"2")
            await eventually(lambda: saw(Change("after", b"2")), timeout_s=10)
            await b.delete("before")
            await eventually(lambda: saw(Change("before", None)), timeout_s=10)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await watching.aclose()
        assert seen[0] == Change("before", b"1")


async def test_keys_and_values_are_checked(engine: str) -> None:
    async with replicas(engine) as replica:
        bucket = await (await replica(0)).bucket("checked", ttl_s=60)
        for bad in ("", "a b", "a.*", ".a", "a."):
            with pytest.raises(InvalidKey):
                await bucket.put(bad, b"v")
        with pytest.raises(ValueError, match="at most"):
            await bucket.put("big", b"x" * (64 * 1024 + 1))
        key = key_for("someone@example.cn|10.0.0.9")
        await bucket.put(key, b"v")
        assert len(key) == 32


async def throttles(replica: Replica, *, limit: int) -> list[SharedFailureThrottle]:
    buckets: list[SharedState] = [
        await (await replica(i)).bucket("auth_failures", ttl_s=60) for i in (0, 1)
    ]
    return [SharedFailureThrottle(bucket, limit=limit, window_s=60) for bucket in buckets]


async def test_failures_alternating_between_replicas_lock_the_key_at_the_limit(
    engine: str,
) -> None:
    """What one replica allows, two allow no more of: the count is the key's, not a replica's."""
    async with replicas(engine) as replica:
        a, b = await throttles(replica, limit=4)
        key = "client-1|10.0.0.9"
        for attempt in range(4):
            replica_throttle = (a, b)[attempt % 2]
            await replica_throttle.begin(key)
            await replica_throttle.end(key, failed=True)
        for throttle in (a, b):
            with pytest.raises(TooManyFailures) as refused:
                await throttle.begin(key)
            assert 1 <= refused.value.extra["retry_after_s"] <= 61
            with pytest.raises(TooManyFailures):
                await throttle.check(key)
        await b.begin("client-1|10.0.0.7")  # the same client from elsewhere is not locked out


async def test_a_password_failure_recorded_on_one_replica_counts_on_the_other(
    engine: str,
) -> None:
    async with replicas(engine) as replica:
        a, b = await throttles(replica, limit=3)
        for _ in range(2):
            await a.failed("ops@example.cn|10.0.0.9")
        await b.check("ops@example.cn|10.0.0.9")
        await b.failed("ops@example.cn|10.0.0.9")
        with pytest.raises(TooManyFailures):
            await a.check("ops@example.cn|10.0.0.9")


async def test_the_last_failures_only_are_kept_for_a_key(engine: str) -> None:
    """A guesser cannot grow a key's value without bound: its last `limit` failures decide."""
    async with replicas(engine) as replica:
        (a, _) = await throttles(replica, limit=3)
        for _ in range(50):
            await a.failed("k|1.2.3.4")
        bucket = a.bucket
        held = await bucket.get(key_for("k|1.2.3.4"))
        assert held is not None
        assert len(orjson.loads(held.value)["f"]) == 3
        with pytest.raises(TooManyFailures):
            await a.check("k|1.2.3.4")


async def test_a_revocation_on_one_replica_is_refused_at_once_on_the_other(engine: str) -> None:
    async with replicas(engine) as replica:
        sets = [RevocationSet(), RevocationSet()]
        for i, revocations in enumerate(sets):
            await revocations.share(await (await replica(i)).bucket("revocations", ttl_s=3600))
        try:
            assert not await sets[1].revoked("jti-1")
            await sets[0].revoke("jti-1", 4_000_000_000.0)
            assert await sets[1].revoked("jti-1")  # asked at once, not on a refresh
            assert not await sets[1].revoked("jti-2")

            async def watched() -> bool:  # and the watch brings it to the other's own list
                await sets[0].revoke("jti-3")
                return sets[1].is_revoked("jti-3")

            await eventually(watched, timeout_s=10)
        finally:
            for revocations in sets:
                await revocations.close()


async def test_the_embedded_deny_list_without_sharing_is_this_process_only() -> None:
    revocations = RevocationSet()
    await revocations.revoke("jti-1")
    assert await revocations.revoked("jti-1")
    assert revocations.is_revoked("jti-1")
    assert not await revocations.revoked("jti-2")


async def test_a_key_that_succeeded_on_one_replica_may_have_more_checks_in_flight_on_another(
    engine: str,
) -> None:
    """A client that knows its secret, fetching tokens through several replicas at once, is
    not held to the guesser's limit of attempts in flight (its failures still count)."""
    async with replicas(engine) as replica:
        a, b = await throttles(replica, limit=2)
        await a.begin("known|10.0.0.9")
        await a.end("known|10.0.0.9", failed=False, succeeded=True)
        for _ in range(5):
            await b.begin("known|10.0.0.9")
        await b.begin("unknown|10.0.0.9")
        await b.begin("unknown|10.0.0.9")
        with pytest.raises(TooManyFailures):
            await b.begin("unknown|10.0.0.9")


async def test_a_token_bucket_holds_its_burst_across_replicas(engine: str) -> None:
    """Requests alternating between replicas take from one key's tokens, not one set each."""
    async with replicas(engine) as replica:
        limits = [
            SharedTokenBucket(
                await (await replica(i)).bucket(
                    "requests", ttl_s=SharedTokenBucket.refill_s(0.01, 3)
                ),
                rate=0.01,
                burst=3,
            )
            for i in (0, 1)
        ]
        waits = [await limits[attempt % 2].take("10.0.0.9") for attempt in range(5)]
        assert waits[:3] == [0.0, 0.0, 0.0]
        assert all(wait > 60 for wait in waits[3:])  # a token comes back in 100 s
        assert await limits[1].take("10.0.0.7") == 0.0  # another address has its own


async def test_a_device_known_at_an_address_on_one_replica_passes_its_flood_on_another(
    engine: str,
) -> None:
    """The node's device logins: failures per credential and per address add up across
    replicas, and a device that logged in through one replica is let past its address's count
    (a guesser behind its NAT) on the other, held to its own."""
    async with replicas(engine) as replica:
        throttles = []
        for i in (0, 1):
            states = await replica(i)
            throttles.append(
                SharedCredentialThrottle(
                    credentials=await states.bucket("device_failures", ttl_s=60),
                    addresses=await states.bucket("device_addresses", ttl_s=60),
                    known=await states.bucket("device_known", ttl_s=3600),
                    per_credential=2,
                    per_address=4,
                    window_s=60,
                )
            )
        a, b = throttles
        await a.succeeded("device-1", "10.0.0.9")
        for i in range(4):
            await (a, b)[i % 2].failed(f"guess-{i}", "10.0.0.9")
        await b.check("device-1", "10.0.0.9")  # known there, through the other replica
        with pytest.raises(TooManyFailures):
            await b.check("device-2", "10.0.0.9")
        with pytest.raises(TooManyFailures):
            await a.check(None, "10.0.0.9")
        await a.failed("device-1", "10.0.0.9")
        await b.failed("device-1", "10.0.0.9")
        for throttle in (a, b):
            with pytest.raises(TooManyFailures):
                await throttle.check("device-1", "10.0.0.9")
        await b.check("device-1", "10.0.0.7")  # elsewhere it is not locked out


async def test_without_nats_a_replica_still_throttles_and_remembers_its_own_revocations() -> None:
    """NATS gone: a replica counts failures itself, and refuses what it revoked itself."""
    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")
    states = await NatsStates.connect(NATS_URL, scope=f"test-{uuid.uuid4().hex[:10]}")
    try:
        throttle = SharedFailureThrottle(
            await states.bucket("auth_failures", ttl_s=60), limit=2, window_s=60
        )
        revocations = RevocationSet()
        await revocations.share(await states.bucket("revocations", ttl_s=60))
    finally:
        await states.delete_buckets()
        await states.nc.close()
    try:
        for _ in range(2):
            await throttle.begin("k|10.0.0.9")
            await throttle.end("k|10.0.0.9", failed=True)
        with pytest.raises(TooManyFailures):
            await throttle.begin("k|10.0.0.9")
        await revocations.revoke("jti-1")
        assert await revocations.revoked("jti-1")
        assert not await revocations.revoked("jti-2")
    finally:
        await revocations.close()
