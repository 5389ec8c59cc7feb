"""State a service's replicas share: small keyed values with revisions, in named buckets.

What one replica learns that another must act on at once (failed secret checks, revoked token
ids, an alert rule's pending breach) lives in a bucket: `get` a value with its revision, `create`
it if absent, `update` it only if nobody wrote it since that revision (compare-and-set: two
replicas counting the same failure both land, one after retrying), `put` it regardless, `watch`
the bucket's changes. A value lives `ttl_s` after its last write, so a bucket cleans itself.

Two engines behind `SharedStates`: `MemoryStates` (the embedded default: one process, nothing to
run; each bucket also bounded to `max_keys`, the least recently written forgotten first) and
`NatsStates` (JetStream key-value buckets on the NATS that already carries events and jobs
between replicas: one engine fewer to run than Redis, and compare-and-set, TTL and watches are
what JetStream KV offers). Both pass the same tests (tests/test_shared_state.py).

Keys are NATS KV keys (letters, digits, `-_=/.`; no leading or trailing dot) in both engines;
`key_for` turns any text (an email, a client id and address) into one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)

_KEY = re.compile(r"^[-/_=a-zA-Z0-9]+(\.[-/_=a-zA-Z0-9]+)*$")
_BUCKET = re.compile(r"^[a-zA-Z0-9_-]+$")
T = TypeVar("T")
MAX_VALUE_BYTES = 64 * 1024
"""The largest value a bucket takes; what replicas share is counters and markers, not data."""


class SharedStateError(Exception):
    """The shared state could not be read or written (NATS unreachable, a timeout)."""


class InvalidKey(ValueError):
    pass


def key_for(text: str) -> str:
    """A valid key for any text, of fixed length (a caller chooses the text's length)."""
    return hashlib.blake2b(text.encode(errors="replace"), digest_size=16).hexdigest()


def _checked(key: str, value: bytes | None = None) -> str:
    if not _KEY.match(key) or len(key) > 256:
        raise InvalidKey(f"not a shared-state key: {key[:40]!r}")
    if value is not None and len(value) > MAX_VALUE_BYTES:
        raise ValueError(f"a shared value holds at most {MAX_VALUE_BYTES} bytes")
    return key


@dataclass(frozen=True)
class Entry:
    value: bytes
    revision: int


@dataclass(frozen=True)
class Change:
    """A key written (`value`) or deleted or expired (`value` None), as a watcher sees it."""

    key: str
    value: bytes | None


class SharedState(ABC):
    """One bucket."""

    name: str
    ttl_s: float

    @abstractmethod
    async def get(self, key: str) -> Entry | None: ...

    @abstractmethod
    async def create(self, key: str, value: bytes) -> Entry | None:
        """Write `key` if it holds nothing; None when it does."""

    @abstractmethod
    async def update(self, key: str, value: bytes, *, revision: int) -> Entry | None:
        """Write `key` if its revision is still `revision`; None when someone wrote it since."""

    @abstractmethod
    async def put(self, key: str, value: bytes) -> Entry: ...

    @abstractmethod
    async def delete(self, key: str) -> None: ...

    @abstractmethod
    def watch(self) -> AsyncGenerator[Change, None]:
        """Every key's current value, then each change as it happens, until the iterator is
        closed."""

    async def modify(
        self, key: str, change: Callable[[bytes | None], bytes | None], *, attempts: int = 20
    ) -> bytes | None:
        """Apply `change` to the key's value (None: absent) until it lands without a write in
        between; `change` returning None leaves the key as it is. Returns what was written."""
        for _ in range(attempts):
            current = await self.get(key)
            new = change(None if current is None else current.value)
            if new is None:
                return None
            if current is None:
                written = await self.create(key, new)
            else:
                written = await self.update(key, new, revision=current.revision)
            if written is not None:
                return new
        raise SharedStateError(f"{self.name}: {key} kept changing under {attempts} attempts")


class SharedStates(ABC):
    """An engine's buckets for one service (a hub, a node)."""

    @abstractmethod
    async def bucket(self, name: str, *, ttl_s: float, max_keys: int = 100_000) -> SharedState:
        """The bucket `name`, made if it does not exist yet."""

    async def close(self) -> None:
        return None


class MemoryBucket(SharedState):
    def __init__(self, name: str, *, ttl_s: float, max_keys: int) -> None:
        self.name = name
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._values: OrderedDict[str, tuple[bytes, int, float]] = OrderedDict()
        self._revision = 0
        self._watchers: list[asyncio.Queue[Change]] = []

    def _live(self, key: str) -> tuple[bytes, int, float] | None:
        held = self._values.get(key)
        if held is not None and held[2] <= time.monotonic() - self.ttl_s:
            del self._values[key]
            self._tell(Change(key, None))
            return None
        return held

    def _tell(self, change: Change) -> None:
        for queue in self._watchers:
            if queue.full():  # a watcher that does not keep up loses its oldest changes
                queue.get_nowait()
            queue.put_nowait(change)

    def _write(self, key: str, value: bytes) -> Entry:
        self._revision += 1
        self._values.pop(key, None)
        while len(self._values) >= self.max_keys:
            self._values.popitem(last=False)
        self._values[key] = (value, self._revision, time.monotonic())
        self._tell(Change(key, value))
        return Entry(value, self._revision)

    async def get(self, key: str) -> Entry | None:
        held = self._live(_checked(key))
        return None if held is None else Entry(held[0], held[1])

    async def create(self, key: str, value: bytes) -> Entry | None:
        if self._live(_checked(key, value)) is not None:
            return None
        return self._write(key, value)

    async def update(self, key: str, value: bytes, *, revision: int) -> Entry | None:
        held = self._live(_checked(key, value))
        if held is None or held[1] != revision:
            return None
        return self._write(key, value)

    async def put(self, key: str, value: bytes) -> Entry:
        return self._write(_checked(key, value), value)

    async def delete(self, key: str) -> None:
        if self._values.pop(_checked(key), None) is not None:
            self._tell(Change(key, None))

    async def watch(self) -> AsyncGenerator[Change, None]:
        queue: asyncio.Queue[Change] = asyncio.Queue(1024)
        current = [(key, self._live(key)) for key in list(self._values)]
        self._watchers.append(queue)
        try:
            for key, held in current:
                if held is not None:
                    yield Change(key, held[0])
            while True:
                yield await queue.get()
        finally:
            self._watchers.remove(queue)


class MemoryStates(SharedStates):
    """The embedded default: buckets in this process (right for one replica only)."""

    def __init__(self) -> None:
        self._buckets: dict[str, MemoryBucket] = {}

    async def bucket(self, name: str, *, ttl_s: float, max_keys: int = 100_000) -> MemoryBucket:
        if not _BUCKET.match(name):
            raise ValueError(f"not a bucket name: {name!r}")
        if name not in self._buckets:
            self._buckets[name] = MemoryBucket(name, ttl_s=ttl_s, max_keys=max_keys)
        return self._buckets[name]


async def _guarded(bucket: str, work: Awaitable[T]) -> T:
    """NATS's own failures as `SharedStateError` (callers decide how to carry on)."""
    import nats.errors
    import nats.js.errors

    try:
        return await work
    except (nats.errors.Error, nats.js.errors.Error, TimeoutError, OSError) as exc:
        raise SharedStateError(f"{bucket}: {exc.__class__.__name__} {exc}") from exc


class NatsBucket(SharedState):
    def __init__(self, name: str, kv: Any, *, ttl_s: float) -> None:
        self.name = name
        self.ttl_s = ttl_s
        self._kv = kv

    async def get(self, key: str) -> Entry | None:
        import nats.js.errors

        try:
            entry = await _guarded(self.name, self._kv.get(_checked(key)))
        except SharedStateError as exc:
            if isinstance(exc.__cause__, nats.js.errors.KeyNotFoundError):
                return None
            raise
        return Entry(entry.value or b"", entry.revision)

    async def create(self, key: str, value: bytes) -> Entry | None:
        import nats.js.errors

        try:
            revision = await _guarded(self.name, self._kv.create(_checked(key, value), value))
        except SharedStateError as exc:
            if isinstance(exc.__cause__, nats.js.errors.KeyWrongLastSequenceError):
                return None
            raise
        return Entry(value, revision)

    async def update(self, key: str, value: bytes, *, revision: int) -> Entry | None:
        import nats.js.errors

        try:
            written = await _guarded(
                self.name, self._kv.update(_checked(key, value), value, last=revision)
            )
        except SharedStateError as exc:
            if isinstance(exc.__cause__, nats.js.errors.KeyWrongLastSequenceError):
                return None
            raise
        return Entry(value, written)

    async def put(self, key: str, value: bytes) -> Entry:
        revision = await _guarded(self.name, self._kv.put(_checked(key, value), value))
        return Entry(value, revision)

    async def delete(self, key: str) -> None:
        await _guarded(self.name, self._kv.delete(_checked(key)))

    async def watch(self) -> AsyncGenerator[Change, None]:
        watcher = await _guarded(self.name, self._kv.watchall())
        try:
            async for entry in watcher:
                if entry is None:  # the end of the values held when the watch began
                    continue
                deleted = entry.operation is not None  # DEL or PURGE (an expiry on 2.11+)
                yield Change(entry.key, None if deleted else (entry.value or b""))
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()


class NatsStates(SharedStates):
    """JetStream key-value buckets `YUNFAB_<scope>_<name>`, kept in memory on the server (the
    state is short-lived by design: counts for a window, ids until their token expires)."""

    def __init__(self, nc: Any, scope: str, *, max_bucket_bytes: int, replicas: int = 1) -> None:
        self.nc = nc
        self.scope = re.sub(r"[^A-Za-z0-9_-]", "_", scope)
        self.max_bucket_bytes = max_bucket_bytes
        self.replicas = replicas
        """Copies of a bucket this engine makes, in a NATS cluster (an existing bucket is
        left as it is: what an operator raised stays)."""
        self._buckets: dict[str, NatsBucket] = {}

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        scope: str,
        max_bucket_bytes: int = 64 * 1024 * 1024,
        replicas: int = 1,
        connect_timeout_s: float = 5.0,
    ) -> NatsStates:
        import nats

        async def disconnected() -> None:
            log.warning("shared_state_disconnected", url=url)

        async def reconnected() -> None:
            log.info("shared_state_reconnected", url=url)

        async def error(exc: Exception) -> None:
            log.warning("shared_state_error", error=str(exc))

        nc = await nats.connect(
            url,
            connect_timeout=connect_timeout_s,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
            name=f"yunfab-{scope}-state",
        )
        return cls(nc, scope, max_bucket_bytes=max_bucket_bytes, replicas=replicas)

    async def bucket(self, name: str, *, ttl_s: float, max_keys: int = 100_000) -> NatsBucket:
        from nats.js.api import KeyValueConfig, StorageType
        from nats.js.errors import BadRequestError

        if not _BUCKET.match(name):
            raise ValueError(f"not a bucket name: {name!r}")
        if name in self._buckets:
            return self._buckets[name]
        js = self.nc.jetstream(timeout=5.0)
        full = f"YUNFAB_{self.scope}_{name}"
        config = KeyValueConfig(
            bucket=full,
            history=1,
            ttl=ttl_s,
            storage=StorageType.MEMORY,
            max_value_size=MAX_VALUE_BYTES,
            max_bytes=self.max_bucket_bytes,
            replicas=self.replicas,
        )
        try:
            kv = await js.create_key_value(config)
        except BadRequestError:  # made by another replica, perhaps with other limits
            kv = await js.key_value(full)
        self._buckets[name] = NatsBucket(name, kv, ttl_s=ttl_s)
        return self._buckets[name]

    async def delete_buckets(self) -> None:
        """Remove this scope's buckets from the server (tests)."""
        js = self.nc.jetstream()
        for name in list(self._buckets):
            with contextlib.suppress(Exception):
                await js.delete_key_value(f"YUNFAB_{self.scope}_{name}")
        self._buckets.clear()

    async def close(self) -> None:
        try:
            await self.nc.drain()
        except Exception as exc:
            log.debug("shared_state_drain_failed", error=str(exc))
            await self.nc.close()


async def open_states(nats_url: str | None, *, scope: str, replicas: int = 1) -> SharedStates:
    """NATS buckets when `nats_url` is set, else the embedded default."""
    if nats_url is None:
        return MemoryStates()
    return await NatsStates.connect(nats_url, scope=scope, replicas=replicas)


def _cancelled_meanwhile() -> None:
    """Raise the cancellation of the running task that a call swallowed: nats-py's flush of
    pending writes catches `CancelledError` and returns, so a task stopped while it talked to
    NATS would carry on as if nothing had happened (and a replica's stop would wait for it
    forever). The request stays counted on the task (`cancelling()`), which is what this reads.
    Not for cleanup code running because of a cancellation, which must be let finish."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Leases:
    """Tasks that must run in one replica at a time (rollups, sending notifications, a
    schedule), each under a lease: a key of `bucket` (whose TTL is the lease's length) holding
    this replica's id, taken with compare-and-set, renewed every third of the TTL while the
    task runs. A replica that stops gives its leases back; one that dies stops renewing, and
    another takes the task over once the key has lapsed. One that cannot renew for a whole
    TTL (NATS unreachable) stops the task: another may have taken it meanwhile."""

    def __init__(self, bucket: SharedState, holder: str) -> None:
        self.bucket = bucket
        self.holder = holder
        self.renew_s = bucket.ttl_s / 3
        self.held: set[str] = set()
        """The tasks this replica runs now (the node's /readyz lists them)."""
        self._revisions: dict[str, int] = {}

    async def _take(self, key: str) -> bool:
        mine = self.holder.encode()
        try:
            entry = await self.bucket.get(key)
            if entry is None:
                written = await self.bucket.create(key, mine)
            elif entry.value == mine:
                written = await self.bucket.update(key, mine, revision=entry.revision)
            else:
                return False
        except (SharedStateError, OSError, TimeoutError) as exc:
            log.warning("lease_unreachable", lease=key, error=str(exc))
            return False
        if written is None:
            return False
        self._revisions[key] = written.revision
        return True

    async def _renew(self, key: str) -> bool | None:
        """True: renewed; False: lost (written by another); None: not known (unreachable)."""
        try:
            written = await self.bucket.update(
                key, self.holder.encode(), revision=self._revisions[key]
            )
        except (SharedStateError, OSError, TimeoutError) as exc:
            log.warning("lease_unreachable", lease=key, error=str(exc))
            return None
        if written is None:
            return False
        self._revisions[key] = written.revision
        return True

    async def _release(self, key: str) -> None:
        self.held.discard(key)
        revision = self._revisions.pop(key, None)
        if revision is None:
            return
        with contextlib.suppress(Exception):
            current = await self.bucket.get(key)
            if current is not None and current.value == self.holder.encode():
                await self.bucket.delete(key)

    async def hold(self, name: str, start: Callable[[], Awaitable[None] | None]) -> None:
        """Run the task `start()` makes whenever this replica holds the lease `name`; returns
        when the task ends by itself (or does not apply: `start` returns None)."""
        key = _checked(name)
        while True:
            taken = await self._take(key)
            try:
                _cancelled_meanwhile()
            except asyncio.CancelledError:
                if taken:  # a stopping replica gives back what it has just taken
                    await self._release(key)
                raise
            if not taken:
                await asyncio.sleep(self.renew_s)
                continue
            work_made = start()
            if work_made is None:
                await self._release(key)
                return
            log.info("lease_taken", task=name, holder=self.holder)
            self.held.add(key)
            work = asyncio.ensure_future(work_made)
            renewed_at = time.monotonic()
            try:
                while True:
                    done, _ = await asyncio.wait({work}, timeout=self.renew_s)
                    if done:
                        await self._release(key)
                        work.result()  # the task's own failure, as without a lease
                        return
                    outcome = await self._renew(key)
                    _cancelled_meanwhile()
                    if outcome:
                        renewed_at = time.monotonic()
                    elif outcome is False or time.monotonic() - renewed_at > self.bucket.ttl_s:
                        log.warning("lease_lost", task=name, holder=self.holder)
                        break
            finally:
                if not work.done():
                    work.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await work
                if key in self.held:
                    await self._release(key)
