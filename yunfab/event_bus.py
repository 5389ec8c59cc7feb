"""Domain events across replicas: NATS JetStream behind the `Broadcaster` interface.

The embedded default (`yunfab.events.Broadcaster`) fans events out inside one process. With
`nats_url` set, each broadcaster of a service is a `NatsBroadcaster`: what a replica publishes
goes to a subject of one JetStream stream (`yunfab.<scope>.<name>`), and every replica reads that
subject with an ordered consumer from the moment it starts, handing each event to its own local
subscribers. A subscriber on replica A thus hears of a reading ingested through replica B.

The stream keeps events in memory for a short while (`max_age_s`, `max_bytes`): they are live
notices, not records (the database holds what happened); a replica that reconnects after a
network cut resumes its ordered consumer where it stopped instead of missing what came in
between. Publishing stays synchronous for the caller (events are published after commit, from
code that must not wait on the network): events go to a bounded outbox that one task sends; when
NATS is unreachable for long, the oldest unsent events are dropped and counted, never memory
without bound.

Events are dataclasses of plain fields (UUIDs, text, numbers, enums, bytes, tuples, optional
values); `DataclassCodec` turns them into JSON and back by their type hints.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import enum
import functools
import re
import types
import typing
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
import structlog

from yunfab.events import Broadcaster

log = structlog.get_logger(__name__)

E = TypeVar("E")

_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


class EventCodecError(ValueError):
    """An event that could not be turned back into its type (another version's, or junk)."""


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):  # a driver's subclass (asyncpg's), which orjson skips
        return str(value)
    raise TypeError(f"{type(value).__name__} is not an event field type")


Decoder = Callable[[Any], Any]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventCodecError(f"expected a number, got {value!r}")
    return float(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventCodecError(f"expected an integer, got {value!r}")
    return value


def _exactly(kind: type[Any]) -> Decoder:
    def decode(value: Any) -> Any:
        if not isinstance(value, kind):
            raise EventCodecError(f"expected {kind.__name__}, got {value!r}")
        return value

    return decode


def _sequence(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise EventCodecError(f"expected a list, got {type(value).__name__}")
    return value


@functools.cache
def _decoder(hint: Any) -> Decoder:
    """A function turning JSON for `hint` back into it, built once per type (resolving types
    on every event costs more than the rest of the decoding together)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        options = [_decoder(arg) for arg in args if arg is not type(None)]
        nullable = len(options) < len(args)

        def union(value: Any) -> Any:
            if value is None:
                if nullable:
                    return None
                raise EventCodecError("null for a field that cannot be null")
            for option in options[:-1]:
                try:
                    return option(value)
                except (EventCodecError, TypeError, ValueError):
                    continue
            return options[-1](value)

        return union
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])
            return lambda value: tuple(item(v) for v in _sequence(value))
        items = [_decoder(arg) for arg in args]

        def fixed(value: Any) -> tuple[Any, ...]:
            value = _sequence(value)
            if len(value) != len(items):
                raise EventCodecError(f"expected {len(items)} items, got {len(value)}")
            return tuple(decode(v) for decode, v in zip(items, value, strict=True))

        return fixed
    if origin is list:
        item = _decoder(typing.get_args(hint)[0])
        return lambda value: [item(v) for v in _sequence(value)]
    if origin is dict:
        key_hint, value_hint = typing.get_args(hint)
        keys, values = _decoder(key_hint), _decoder(value_hint)

        def mapping(value: Any) -> dict[Any, Any]:
            if not isinstance(value, dict):
                raise EventCodecError(f"expected an object, got {type(value).__name__}")
            return {keys(k): values(v) for k, v in value.items()}

        return mapping
    simple: dict[Any, Decoder] = {
        Any: lambda value: value,
        uuid.UUID: uuid.UUID,
        bytes: lambda value: base64.b64decode(value, validate=True),
        datetime: datetime.fromisoformat,
        float: _number,
        int: _integer,
        str: _exactly(str),
        bool: _exactly(bool),
    }
    if hint in simple:
        return simple[hint]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_decoder(hint)
    raise EventCodecError(f"no decoding for {hint!r}")


def _dataclass_decoder(cls: type[Any]) -> Decoder:
    hints = typing.get_type_hints(cls)
    fields = [
        (field.name, _decoder(hints[field.name])) for field in dataclasses.fields(cls) if field.init
    ]

    def decode(value: Any) -> Any:
        if not isinstance(value, dict):
            raise EventCodecError(f"expected an object for {cls.__name__}")
        kwargs = {name: convert(value[name]) for name, convert in fields if name in value}
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise EventCodecError(f"{cls.__name__}: {exc}") from exc

    return decode


class DataclassCodec(Generic[E]):
    """JSON for one dataclass event type, decoded by the type's hints."""

    def __init__(self, event_type: type[E]) -> None:
        if not dataclasses.is_dataclass(event_type):
            raise TypeError(f"{event_type!r} is not a dataclass")
        self.event_type = event_type
        self._decode = _decoder(event_type)  # unresolvable hints fail here, not at an event

    def encode(self, event: E) -> bytes:
        return orjson.dumps(event, default=_default)

    def decode(self, data: bytes) -> E:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise EventCodecError(f"not JSON: {exc}") from exc
        try:
            decoded: E = self._decode(value)
        except (KeyError, TypeError, ValueError) as exc:
            raise EventCodecError(str(exc)) from exc
        return decoded


@dataclasses.dataclass
class BusCounters:
    published: int = 0
    delivered: int = 0
    dropped_unsent: int = 0
    undecodable: int = 0
    unencodable: int = 0


class NatsBroadcaster(Broadcaster[E]):
    """A broadcaster whose publishes go through NATS to every replica's subscribers."""

    def __init__(
        self,
        bus: NatsEventBus,
        subject: str,
        codec: DataclassCodec[E],
        *,
        queue_size: int = 256,
        outbox_size: int = 10_000,
    ) -> None:
        super().__init__(queue_size)
        self._bus = bus
        self.subject = subject
        self._codec = codec
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(outbox_size)
        self._sender: asyncio.Task[None] | None = None
        self._subscription: Any = None
        self.counters = BusCounters()

    @property
    def has_subscribers(self) -> bool:
        """A subscriber may be on another replica: publishers always build their events."""
        return True

    def publish(self, event: E) -> None:
        try:
            data = self._codec.encode(event)
        except TypeError as exc:  # never into the publisher's path (ingest, a mutation)
            self.counters.unencodable += 1
            log.error("event_unencodable", subject=self.subject, error=str(exc))
            return
        if self._outbox.full():
            self._outbox.get_nowait()
            self._outbox.task_done()
            self.counters.dropped_unsent += 1
            log.warning("event_outbox_full", subject=self.subject, dropped=1)
        self._outbox.put_nowait(data)

    async def start(self) -> None:
        from nats.js.api import DeliverPolicy

        self._subscription = await self._bus.js.subscribe(
            self.subject,
            cb=self._received,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
        )
        self._sender = asyncio.create_task(self._send(), name=f"events:{self.subject}")

    async def _send(self) -> None:
        while True:
            data = await self._outbox.get()
            try:
                await self._bus.nc.publish(self.subject, data)
                self.counters.published += 1
            except Exception as exc:  # a closed or draining connection: count it, go on
                self.counters.dropped_unsent += 1
                log.warning("event_not_sent", subject=self.subject, error=str(exc))
            finally:
                self._outbox.task_done()

    async def _received(self, msg: Any) -> None:
        try:
            event = self._codec.decode(msg.data)
        except EventCodecError as exc:
            self.counters.undecodable += 1
            log.warning("event_undecodable", subject=self.subject, error=str(exc))
            return
        self.counters.delivered += 1
        Broadcaster.publish(self, event)

    async def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until the outbox is sent (tests, and shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        await asyncio.wait_for(self._outbox.join(), timeout_s)
        await self._bus.nc.flush(timeout=max(0.1, deadline - loop.time()))

    async def stop(self) -> None:
        if self._sender is not None:
            try:
                await self.flush(timeout_s=2.0)
            except Exception as exc:
                log.warning("events_unflushed", subject=self.subject, error=str(exc))
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
            self._sender = None
        if self._subscription is not None:
            try:
                await self._subscription.unsubscribe()
            except Exception as exc:
                log.debug("events_unsubscribe_failed", subject=self.subject, error=str(exc))
            self._subscription = None


IMMUTABLE_STREAM_FIELDS = frozenset({"storage", "retention"})
"""What JetStream does not change on an existing stream (a stream made otherwise keeps it)."""


def stream_update(current: Any, wanted: Any, *, replicas: int) -> Any | None:
    """The configuration to apply to an existing stream (`current`, as the server reports it)
    so that it has what the service sets in `wanted` (its fields other than the client's
    defaults), or None when it already has. What the service does not set (a limit, a
    description, placement an operator gave) is kept, and so is a replica count an operator
    raised: `replicas` only ever raises it. Storage and retention cannot change on a stream,
    and are left as they are."""
    changes: dict[str, Any] = {}
    defaults = type(wanted)(name=wanted.name)  # what the client fills in when nobody sets it
    for field in dataclasses.fields(wanted):
        name = field.name
        value = getattr(wanted, name)
        if name in ("name", "num_replicas") or name in IMMUTABLE_STREAM_FIELDS:
            continue
        if value is None or value == getattr(defaults, name):
            continue
        if getattr(current, name) != value:
            changes[name] = value
    if (current.num_replicas or 1) < replicas:
        changes["num_replicas"] = replicas
    for name in IMMUTABLE_STREAM_FIELDS:
        wanted_value, current_value = getattr(wanted, name), getattr(current, name)
        if wanted_value is not None and current_value != wanted_value:
            log.warning(
                "stream_kept", stream=current.name, field=name, has=str(current_value),
                wanted=str(wanted_value),
            )  # fmt: skip
    return dataclasses.replace(current, **changes) if changes else None


async def ensure_stream(js: Any, config: Any, *, replicas: int = 1) -> None:
    """Make the stream `config` names with `replicas` replicas, or bring an existing one to
    what `config` sets without undoing what an operator changed (`stream_update`): a start
    must not lower replication or reset limits set by hand."""
    from nats.js.errors import BadRequestError, NotFoundError, ServerError

    try:
        info = await js.stream_info(config.name)
    except NotFoundError:
        try:
            await js.add_stream(dataclasses.replace(config, num_replicas=replicas))
            return
        except (BadRequestError, ServerError) as exc:
            if getattr(exc, "err_code", None) != 10058:  # not "made meanwhile by another replica"
                raise
        info = await js.stream_info(config.name)
    update = stream_update(info.config, config, replicas=replicas)
    if update is not None:
        await js.update_stream(update)


class NatsEventBus:
    """One NATS connection and stream for a service's (a node's, the hub's) event kinds."""

    def __init__(self, nc: Any, js: Any, scope: str) -> None:
        self.nc = nc
        self.js = js
        self.scope = scope
        self.broadcasters: list[NatsBroadcaster[Any]] = []

    @staticmethod
    def token(name: str) -> str:
        """`name` as one subject token and stream-name part (no dots, wildcards or spaces)."""
        cleaned = _TOKEN.sub("_", name)
        if not cleaned:
            raise ValueError("an event scope needs a name")
        return cleaned

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        scope: str,
        max_age_s: float = 300.0,
        max_bytes: int = 256 * 1024 * 1024,
        replicas: int = 1,
        connect_timeout_s: float = 5.0,
    ) -> NatsEventBus:
        """Connect and make sure the scope's stream exists with these limits (`replicas`: at
        least that many copies in a NATS cluster; see `ensure_stream`)."""
        import nats
        from nats.js.api import DiscardPolicy, StorageType, StreamConfig

        async def disconnected() -> None:
            log.warning("nats_disconnected", url=url)

        async def reconnected() -> None:
            log.info("nats_reconnected", url=url)

        async def error(exc: Exception) -> None:
            log.warning("nats_error", error=str(exc))

        nc = await nats.connect(
            url,
            connect_timeout=connect_timeout_s,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
            name=f"yunfab-{scope}",
        )
        token = cls.token(scope)
        js = nc.jetstream()
        config = StreamConfig(
            name=f"YUNFAB_EVENTS_{token}",
            subjects=[f"yunfab.events.{token}.>"],
            storage=StorageType.MEMORY,
            max_age=max_age_s,
            max_bytes=max_bytes,
            discard=DiscardPolicy.OLD,
        )
        try:
            await ensure_stream(js, config, replicas=replicas)
        except BaseException:
            await nc.close()
            raise
        return cls(nc, js, token)

    async def broadcaster(
        self, name: str, event_type: type[E], *, queue_size: int = 256
    ) -> NatsBroadcaster[E]:
        """A started broadcaster for events of `event_type` on subject `yunfab.<scope>.<name>`."""
        subject = f"yunfab.events.{self.scope}.{self.token(name)}"
        broadcaster = NatsBroadcaster(
            self, subject, DataclassCodec(event_type), queue_size=queue_size
        )
        await broadcaster.start()
        self.broadcasters.append(broadcaster)
        return broadcaster

    async def close(self) -> None:
        for broadcaster in self.broadcasters:
            await broadcaster.stop()
        self.broadcasters.clear()
        try:
            await self.nc.drain()
        except Exception as exc:
            log.debug("nats_drain_failed", error=str(exc))
            await self.nc.close()
