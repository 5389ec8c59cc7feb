"""Failure throttling for credential checks (client secrets, passwords).

Counts failures per key (e.g. client id and address, or email and address) in a sliding window;
once a key has failed too often it is refused with 429 until the window moves on, whether or not
the next guess is right. Keys include the caller's address, which is only the real one when the
ingress is listed in `FORWARDED_ALLOW_IPS` (else every caller shares the ingress's address, and
one attacker could lock a client out).

`FailureThrottle`, `CredentialThrottle` and `TokenBucket` keep their counts in this process.
`SharedFailureThrottle`, `SharedCredentialThrottle` and `SharedTokenBucket` keep them in
shared-state buckets (`yunfab.shared_state`): in memory by default, in NATS when the service has
several replicas, so failures and requests spread over replicas add up to one count.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict, deque

import orjson
import structlog

from yunfab.errors import YunfabError
from yunfab.shared_state import MemoryBucket, SharedState, SharedStateError, key_for

log = structlog.get_logger(__name__)


class TooManyFailures(YunfabError):
    code = "rate_limited"
    status_code = 429


class RecentSuccesses:
    """Keys that succeeded within `within_s`, at most `max_keys` of them (the least recently
    succeeded forgotten first)."""

    def __init__(self, *, within_s: float, max_keys: int) -> None:
        self.within_s = within_s
        self.max_keys = max_keys
        self._at: OrderedDict[str, float] = OrderedDict()

    def add(self, key: str) -> None:
        self._at.pop(key, None)
        if len(self._at) >= self.max_keys:
            self._at.popitem(last=False)
        self._at[key] = time.monotonic()

    def __len__(self) -> int:
        return len(self._at)

    def __contains__(self, key: str) -> bool:
        at = self._at.get(key)
        if at is None:
            return False
        if at <= time.monotonic() - self.within_s:
            del self._at[key]
            return False
        return True


class FailureThrottle:
    """Failures per key in a sliding window, and attempts still being checked (`begin`/`end`).

    An attempt in flight counts against `limit` as a failure to come: a burst of concurrent
    guesses cannot all pass before the first failure is recorded, so a key gets at most `limit`
    secret checks a window that it has not proved it can pass. A key that has succeeded within
    the window (a client that knows its secret, fetching tokens from many replicas behind one
    address) may have up to `in_flight_limit` attempts in flight (4 x `limit` unless given), its
    failures still counting: a guesser sharing its address gains at most that many checks a
    window, never an unbounded burst.
    """

    def __init__(
        self,
        *,
        limit: int,
        window_s: float,
        max_keys: int = 100_000,
        in_flight_limit: int | None = None,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self.in_flight_limit = max(limit, in_flight_limit or 4 * limit)
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._pending: dict[str, int] = {}
        self._successes = RecentSuccesses(within_s=window_s, max_keys=max_keys)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def check(self, key: str) -> None:
        """Raise 429 (with the seconds to wait) while `key` is over its limit."""
        now = time.monotonic()
        failures = self._recent(key, now)
        if len(failures) >= self.limit:
            retry_after = int(failures[0] + self.window_s - now) + 1
            raise TooManyFailures(
                "too many failed attempts; try again later", retry_after_s=retry_after
            )

    def begin(self, key: str) -> None:
        """`check`, counting the attempts in flight as failures to come (see the class): 429
        once failures and attempts in flight reach `limit`, or `in_flight_limit` while the key
        has succeeded lately. Pair with `end`."""
        now = time.monotonic()
        failures = self._recent(key, now)
        pending = self._pending.get(key, 0)
        cap = self.in_flight_limit if key in self._successes else self.limit
        if len(failures) >= self.limit or len(failures) + pending >= cap:
            retry_after = int(failures[0] + self.window_s - now) + 1 if failures else 1
            raise TooManyFailures(
                "too many failed attempts; try again later", retry_after_s=retry_after
            )
        self._pending[key] = pending + 1

    def end(self, key: str, *, failed: bool, succeeded: bool = False) -> None:
        """The attempt `begin` counted is over: `failed` records a failure, `succeeded` (the
        secret was right) lets the key have more attempts in flight for a window."""
        pending = self._pending.pop(key, 1) - 1
        if pending > 0:
            self._pending[key] = pending
        if failed:
            self.failed(key)
        elif succeeded:
            self._successes.add(key)

    def failed(self, key: str) -> None:
        """Record a failure. When full, forget the key that failed least recently, never this
        one: spraying new keys cannot wash out the history of the key under attack."""
        now = time.monotonic()
        if key not in self._failures and len(self._failures) >= self.max_keys:
            self._failures.popitem(last=False)
        self._failures.setdefault(key, deque()).append(now)
        self._failures.move_to_end(key)


class SharedFailureThrottle:
    """`FailureThrottle` with its failures and successes in a shared bucket.

    A key's value is its last `limit` failure times and when it last succeeded (wall-clock
    seconds: replicas share no monotonic clock); the bucket forgets a key `window_s` after its
    last write, when none of its failures count any more. Attempts in flight are counted by each
    replica for itself (`begin`/`end`): they guard against a burst at one replica, and a replica
    that dies must not leave a key locked. While the bucket cannot be reached the throttle counts
    in this process, so a guesser gains nothing from an outage but a replica's own count.
    """

    def __init__(
        self,
        bucket: SharedState,
        *,
        limit: int,
        window_s: float,
        in_flight_limit: int | None = None,
        max_keys: int = 100_000,
    ) -> None:
        self.bucket = bucket
        self.limit = limit
        self.window_s = window_s
        self.in_flight_limit = max(limit, in_flight_limit or 4 * limit)
        self._pending: dict[str, int] = {}
        self._local = MemoryBucket(f"{bucket.name}-local", ttl_s=window_s, max_keys=max_keys)
        # A success this replica recorded lately is not written again for every token.
        self._told = RecentSuccesses(within_s=window_s / 2, max_keys=max_keys)

    @staticmethod
    def _decode(value: bytes | None) -> tuple[list[float], float | None]:
        if not value:
            return [], None
        try:
            held = orjson.loads(value)
            failures = [float(at) for at in held.get("f", [])]
            succeeded = held.get("s")
            return failures, None if succeeded is None else float(succeeded)
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
            return [], None  # another version's value: it ages out with the window

    async def _state(self, key: str) -> tuple[list[float], float | None]:
        try:
            entry = await self.bucket.get(key_for(key))
        except SharedStateError as exc:
            log.warning("throttle_state_unreachable", error=str(exc))
            entry = await self._local.get(key_for(key))
        failures, succeeded = self._decode(None if entry is None else entry.value)
        since = time.time() - self.window_s
        return [at for at in failures if at > since], succeeded

    async def _change(self, key: str, *, failed: bool) -> None:
        now = time.time()

        def change(value: bytes | None) -> bytes:
            failures, succeeded = self._decode(value)
            if failed:
                failures = [at for at in failures if at > now - self.window_s]
                failures = [*failures, now][-self.limit :]
            else:
                succeeded = now
            return orjson.dumps({"f": failures, "s": succeeded})

        try:
            await self.bucket.modify(key_for(key), change)
        except SharedStateError as exc:
            log.warning("throttle_state_unreachable", error=str(exc))
            await self._local.modify(key_for(key), change)

    def _refusal(self, failures: list[float]) -> TooManyFailures:
        if not failures:
            wait = 1
        else:  # when the oldest failure that still counts ages out
            oldest = failures[-self.limit] if len(failures) >= self.limit else failures[0]
            wait = int(oldest + self.window_s - time.time()) + 1
        return TooManyFailures(
            "too many failed attempts; try again later", retry_after_s=max(1, wait)
        )

    async def check(self, key: str) -> None:
        """Raise 429 (with the seconds to wait) while `key` is over its limit."""
        failures, _ = await self._state(key)
        if len(failures) >= self.limit:
            raise self._refusal(failures)

    async def begin(self, key: str) -> None:
        """As `FailureThrottle.begin`: attempts in flight here count as failures to come."""
        failures, succeeded = await self._state(key)
        pending = self._pending.get(key, 0)
        known = succeeded is not None and succeeded > time.time() - self.window_s
        cap = self.in_flight_limit if known else self.limit
        if len(failures) >= self.limit or len(failures) + pending >= cap:
            raise self._refusal(failures)
        self._pending[key] = pending + 1

    async def end(self, key: str, *, failed: bool, succeeded: bool = False) -> None:
        pending = self._pending.pop(key, 1) - 1
        if pending > 0:
            self._pending[key] = pending
        if failed:
            await self._change(key, failed=True)
        elif succeeded and key not in self._told:
            await self._change(key, failed=False)
            self._told.add(key)

    async def failed(self, key: str) -> None:
        await self._change(key, failed=True)


class CredentialThrottle:
    """Failures counted per credential at an address, and per address.

    A credential (a device key, a client id) that keeps failing from an address is refused there
    once it reaches `per_credential`, without locking out other credentials behind the same
    address (devices behind one NAT or proxy); an address that fails `per_address` times with
    any credentials (a guesser trying many keys) is refused for them, except for credentials
    that succeeded from that address within `known_for_s` (the window unless given): a device
    already at work behind the guesser's NAT goes on, held only to its own count. A credential
    is not locked out everywhere: that would let anyone lock out a device by failing as it.

    Keys hold a digest of the credential, not the credential (a guesser chooses its length), and
    at most `max_keys` of each kind are kept, the least recently seen forgotten first.
    """

    def __init__(
        self,
        *,
        per_credential: int,
        per_address: int,
        window_s: float,
        known_for_s: float | None = None,
        max_keys: int = 100_000,
    ) -> None:
        self.credentials = FailureThrottle(
            limit=per_credential, window_s=window_s, max_keys=max_keys
        )
        self.addresses = FailureThrottle(limit=per_address, window_s=window_s, max_keys=max_keys)
        self._succeeded = RecentSuccesses(
            within_s=window_s if known_for_s is None else known_for_s, max_keys=max_keys
        )

    @staticmethod
    def _key(credential: str, address: str) -> str:
        digest = hashlib.blake2b(credential.encode(errors="replace"), digest_size=16).hexdigest()
        return f"{address}\0{digest}"

    def check(self, credential: str | None, address: str) -> None:
        """Raise 429 while this credential at the address is over its limit, or the address is
        over its own and the credential has not succeeded there lately."""
        key = None if credential is None else self._key(credential, address)
        if key is None or key not in self._succeeded:
            self.addresses.check(address)
        if key is not None:
            self.credentials.check(key)

    def failed(self, credential: str | None, address: str) -> None:
        self.addresses.failed(address)
        if credential is not None:
            self.credentials.failed(self._key(credential, address))

    def succeeded(self, credential: str, address: str) -> None:
        """The credential was right: the address's failures do not hold it up there for
        `known_for_s`."""
        self._succeeded.add(self._key(credential, address))


class TokenBucket:
    """Requests per key at an average `rate` per second, `burst` at once (a token bucket per key).

    For callers nobody has vouched for (anonymous GraphQL, keyed by address): each request takes
    a token, tokens come back at `rate`, and a key with none left is told how long to wait. Full
    buckets are the default, so only keys seen lately are kept, at most `max_keys` of them.
    """

    def __init__(self, *, rate: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Take a token for `key`: 0 when granted, else the seconds until one is available."""
        now = time.monotonic()
        tokens, since = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - since) * self.rate)
        if tokens >= 1:
            tokens -= 1
            wait = 0.0
        else:
            wait = (1 - tokens) / self.rate
        if len(self._buckets) >= self.max_keys:
            # The least recently seen key goes; a full bucket is what it would get back anyway
            # once it has been idle for burst / rate seconds.
            self._buckets.popitem(last=False)
        self._buckets[key] = (tokens, now)
        return wait


class SharedCredentialThrottle:
    """`CredentialThrottle` with its counts in shared buckets: failures per credential at an
    address (`credentials`, TTL the window), per address (`addresses`, TTL the window), and the
    credentials that succeeded at an address lately (`known`, whose TTL is how long a success
    lets a credential past its address's count).

    A device failing on one replica and then another is held to one count, and a device known
    at an address on one replica is known there on all. A success is written once per half
    that TTL from a replica (a device logging in every second costs no write each time);
    while the buckets cannot be reached each replica counts for itself (`SharedFailureThrottle`)
    and knows only the successes it saw.
    """

    def __init__(
        self,
        *,
        credentials: SharedState,
        addresses: SharedState,
        known: SharedState,
        per_credential: int,
        per_address: int,
        window_s: float,
        max_keys: int = 100_000,
    ) -> None:
        self.credentials = SharedFailureThrottle(
            credentials, limit=per_credential, window_s=window_s, max_keys=max_keys
        )
        self.addresses = SharedFailureThrottle(
            addresses, limit=per_address, window_s=window_s, max_keys=max_keys
        )
        self.known = known
        self._seen = RecentSuccesses(within_s=known.ttl_s / 2, max_keys=max_keys)

    async def _known(self, key: str) -> bool:
        if key in self._seen:
            return True
        try:
            return await self.known.get(key_for(key)) is not None
        except SharedStateError as exc:
            log.warning("throttle_state_unreachable", error=str(exc))
            return False

    async def check(self, credential: str | None, address: str) -> None:
        """Raise 429 while this credential at the address is over its limit, or the address is
        over its own and the credential has not succeeded there lately (on any replica)."""
        key = None if credential is None else CredentialThrottle._key(credential, address)
        if key is None or not await self._known(key):
            await self.addresses.check(address)
        if key is not None:
            await self.credentials.check(key)

    async def failed(self, credential: str | None, address: str) -> None:
        await self.addresses.failed(address)
        if credential is not None:
            await self.credentials.failed(CredentialThrottle._key(credential, address))

    async def succeeded(self, credential: str, address: str) -> None:
        key = CredentialThrottle._key(credential, address)
        if key in self._seen:
            return
        try:
            await self.known.put(key_for(key), b"1")
        except SharedStateError as exc:
            log.warning("throttle_state_unreachable", error=str(exc))
        self._seen.add(key)


class SharedTokenBucket:
    """`TokenBucket` with each key's tokens in a shared bucket, so `rate` and `burst` hold for a
    key across all replicas, not for each.

    A key's value is its tokens and when they were counted (wall-clock seconds: replicas share
    no monotonic clock); a key absent is a full bucket, so the shared bucket's TTL is
    `refill_s(rate, burst)`, the time an idle key takes to fill up. A granted request writes
    with compare-and-set; a refused one writes nothing. While the bucket cannot be reached (or
    a key changes under every attempt) this replica counts for itself.
    """

    def __init__(
        self, bucket: SharedState, *, rate: float, burst: int, max_keys: int = 100_000
    ) -> None:
        self.bucket = bucket
        self.rate = rate
        self.burst = burst
        self._local = MemoryBucket(f"{bucket.name}-local", ttl_s=bucket.ttl_s, max_keys=max_keys)

    @staticmethod
    def refill_s(rate: float, burst: int) -> float:
        """How long an idle key takes to have `burst` tokens again: its value's lifetime."""
        return burst / rate

    async def take(self, key: str) -> float:
        """Take a token for `key`: 0 when granted, else the seconds until one is available."""
        now = time.time()
        wait = 0.0

        def change(value: bytes | None) -> bytes | None:
            nonlocal wait
            tokens, since = float(self.burst), now
            if value:
                try:
                    held = orjson.loads(value)
                    tokens, since = float(held["t"]), float(held["at"])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    pass  # another version's value: a full bucket
            tokens = min(float(self.burst), tokens + max(0.0, now - since) * self.rate)
            if tokens < 1:
                wait = (1 - tokens) / self.rate
                return None
            wait = 0.0
            return orjson.dumps({"t": tokens - 1, "at": now})

        try:
            await self.bucket.modify(key_for(key), change)
        except SharedStateError as exc:
            log.warning("throttle_state_unreachable", error=str(exc))
            await self._local.modify(key_for(key), change)
        return wait
