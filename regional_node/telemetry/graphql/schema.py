from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from regional_node.devices.models import Device
from regional_node.devices.service import device_with_factory
from regional_node.graphql.context import NodeContext
from regional_node.telemetry import service
from regional_node.telemetry.models import DeadLetter
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import page_request, query, read
from yunfab.graphql.subscriptions import gated_events

ResolutionEnum = strawberry.enum(service.Resolution, name="TelemetryResolution")


@strawberry.type(name="TelemetryPoint")
class PointType:
    at: dt.datetime = strawberry.field(description="Device time (bucket start for rollups).")
    value: float = strawberry.field(description="The reading, or the bucket's mean.")
    count: int
    min: float | None
    max: float | None


@strawberry.type(name="TelemetrySeries")
class SeriesType:
    device_id: uuid.UUID
    metric: str
    unit: str
    resolution: ResolutionEnum  # type: ignore[valid-type]
    points: list[PointType]


@strawberry.type(name="Reading")
class ReadingType:
    metric: str
    at: dt.datetime
    value: float


@strawberry.type(name="MetricValue", description="A metric's newest reading.")
class MetricValueType:
    metric: str
    unit: str
    at: dt.datetime = strawberry.field(description="Device time of the reading.")
    value: float

    @classmethod
    def from_latest(cls, latest: service.LatestValue) -> MetricValueType:
        return cls(metric=latest.metric, unit=latest.unit, at=_at(latest.ts_ms), value=latest.value)


@strawberry.type(name="TelemetryUpdate")
class TelemetryUpdateType:
    device_id: uuid.UUID
    device_key: str
    readings: list[ReadingType]


@strawberry.type(name="DeadLetter")
class DeadLetterType:
    id: int
    received_at: dt.datetime
    source: str
    topic: str | None
    device_key: str | None
    reason: str
    detail: str
    payload_base64: str = strawberry.field(description="The bytes as received.")
    payload_size: int

    @classmethod
    def from_model(cls, row: DeadLetter) -> DeadLetterType:
        return cls(
            id=row.id,
            received_at=row.received_at,
            source=row.source,
            topic=row.topic,
            device_key=row.device_key,
            reason=row.reason,
            detail=row.detail,
            payload_base64=base64.b64encode(row.payload).decode(),
            payload_size=len(row.payload),
        )


def _at(ts_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.UTC)


def _ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


@strawberry.type
class TelemetryQuery:
    @strawberry.field(description="One metric of one device over [from, to), oldest first.")
    async def telemetry(
        self,
        info: Info[NodeContext, None],
        device_id: uuid.UUID,
        metric: str,
        start: dt.datetime,
        end: dt.datetime,
        resolution: ResolutionEnum = service.Resolution.RAW,  # type: ignore[valid-type]
        limit: int = 1000,
    ) -> SeriesType:
        context = info.context
        spec, points = await query(
            context,
            service.series,
            runtime=context.runtime,
            query=service.SeriesQuery(
                device_id=device_id,
                metric=metric,
                start_ms=_ms(start),
                end_ms=_ms(end),
                resolution=resolution,
                limit=limit,
            ),
        )
        return SeriesType(
            device_id=device_id,
            metric=spec.name,
            unit=spec.unit,
            resolution=resolution,
            points=[
                PointType(at=_at(p.ts_ms), value=p.value, count=p.count, min=p.min, max=p.max)
                for p in points
            ],
        )

    @strawberry.field(description="What ingest could not accept, newest first (node operators).")
    async def dead_letters(
        self,
        info: Info[NodeContext, None],
        reason: str | None = None,
        device_key: str | None = None,
        source: Annotated[str | None, strawberry.argument(description="mqtt or http.")] = None,
        since: Annotated[
            dt.datetime | None, strawberry.argument(description="Received at or after.")
        ] = None,
        until: Annotated[
            dt.datetime | None, strawberry.argument(description="Received before.")
        ] = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[DeadLetterType]:
        context = info.context
        page = await query(
            context,
            service.dead_letters,
            runtime=context.runtime,
            where=service.DeadLetterFilter(
                reason=reason, device_key=device_key, source=source, since=since, until=until
            ),
            page=page_request(context, first, after, arity=1, types=(int,)),
        )
        return Connection[DeadLetterType].from_page(
            page, key=lambda row: (row.id,), node=DeadLetterType.from_model, after=after
        )


@strawberry.type
class TelemetrySubscription:
    @strawberry.subscription(
        description=(
            "A device's readings as they are accepted. With `since`, the stored readings from "
            "then on (device time, the newest 1000) come first, so a chart that asked up to "
            "`since` misses nothing accepted while the subscription opened."
        )
    )
    async def device_telemetry(
        self,
        info: Info[NodeContext, None],
        device_id: uuid.UUID,
        since: dt.datetime | None = None,
    ) -> AsyncGenerator[TelemetryUpdateType, None]:
        context = info.context

        async def may_read(session: AsyncSession) -> tuple[Device, object]:
            return await device_with_factory(
                session,
                context.subject,
                runtime=context.runtime,
                device_id=device_id,
                action="node.telemetry.read",
            )

        device, _ = await read(context, may_read)
        async with context.runtime.telemetry_events.listening() as events:
            # Listening before reading back: what is accepted meanwhile is held, not lost;
            # a reading both read back and heard is handed on once.
            replayed: set[tuple[str, int]] = set()
            if since is not None:
                stored = await read(
                    context,
                    service.readings_since,
                    context.subject,
                    runtime=context.runtime,
                    device_id=device_id,
                    since_ms=_ms(since),
                )
                replayed = {(metric, ts) for metric, ts, _ in stored}
                if stored:
                    yield TelemetryUpdateType(
                        device_id=device_id,
                        device_key=device.key,
                        readings=[
                            ReadingType(metric=metric, at=_at(ts), value=value)
                            for metric, ts, value in stored
                        ],
                    )
            async for event in gated_events(
                context,
                events,
                wanted=lambda event: event.device_id == device_id,
                check=may_read,
            ):
                readings = [
                    ReadingType(metric=metric, at=_at(ts), value=value)
                    for metric, ts, value in event.readings
                    if (metric, ts) not in replayed
                ]
                if not readings:
                    continue
                yield TelemetryUpdateType(
                    device_id=event.device_id, device_key=event.device_key, readings=readings
                )
