"""Counts for the operator's overview page, each one SQL aggregate (no rows are loaded but
today's work orders).

A device is online while Sparkplug says so or while its last reading is at most
`device_online_window_s` old (`last_seen_at`, written as readings are accepted); never seen
when nothing of it has arrived; offline otherwise. Retired devices are not counted.

Today is the node's calendar day in its `TIME_ZONE`; the plan is the work orders' planned units
for that day, the output the good units reported for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.alerts.models import Alert, AlertStatus, Severity
from regional_node.devices.models import Connection, Device, DeviceStatus
from regional_node.factories.models import Factory, FactoryStatus
from regional_node.orders.models import (
    Order,
    OrderStage,
    OrderStatus,
    WorkOrder,
    WorkOrderStatus,
)
from regional_node.runtime import NodeRuntime
from yunfab.db import utcnow
from yunfab.subject import Subject


@dataclass(frozen=True)
class DeviceCounts:
    online: int
    offline: int
    never_seen: int
    window_s: int


@dataclass(frozen=True)
class AlertCounts:
    severity: Severity
    open: int
    acknowledged: int


@dataclass(frozen=True)
class Output:
    day: dt.date
    time_zone: str
    planned: int
    produced: int
    work_orders: int
    """Work orders with units planned or reported for the day."""


@dataclass(frozen=True)
class Overview:
    as_of: dt.datetime
    factories: dict[FactoryStatus, int]
    devices: DeviceCounts
    open_alerts: list[AlertCounts]
    orders: dict[OrderStage, int]
    """Open orders by the stage they are at."""
    orders_by_status: dict[OrderStatus, int]
    today: Output


async def overview(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    time_zone: str,
    online_window_s: int,
    now: dt.datetime | None = None,
) -> Overview:
    await runtime.authorizer.check(subject, "node.overview.read")
    now = now or utcnow()
    return Overview(
        as_of=now,
        factories=await _factories(session),
        devices=await _devices(
            session, now - dt.timedelta(seconds=online_window_s), online_window_s
        ),
        open_alerts=await _alerts(session),
        orders=await _order_stages(session),
        orders_by_status=await _order_statuses(session),
        today=await _output(
            session,
            now.astimezone(ZoneInfo(time_zone)).date(),
            time_zone,
            touched_since=now - dt.timedelta(days=2),
        ),
    )


async def _factories(session: AsyncSession) -> dict[FactoryStatus, int]:
    counted = await session.execute(select(Factory.status, func.count()).group_by(Factory.status))
    found = {status: int(n) for status, n in counted.all()}
    return {status: found.get(status, 0) for status in FactoryStatus}


async def _devices(session: AsyncSession, cutoff: dt.datetime, window_s: int) -> DeviceCounts:
    state = case(
        (Device.connection == Connection.ONLINE, "online"),
        (Device.last_seen_at >= cutoff, "online"),
        (Device.last_seen_at.is_(None), "never_seen"),
        else_="offline",
    )
    counted = await session.execute(
        select(state, func.count()).where(Device.status != DeviceStatus.RETIRED).group_by(state)
    )
    found = {str(name): int(n) for name, n in counted.all()}
    return DeviceCounts(
        online=found.get("online", 0),
        offline=found.get("offline", 0),
        never_seen=found.get("never_seen", 0),
        window_s=window_s,
    )


async def _alerts(session: AsyncSession) -> list[AlertCounts]:
    counted = await session.execute(
        select(Alert.severity, Alert.status, func.count())
        .where(Alert.status != AlertStatus.CLOSED)
        .group_by(Alert.severity, Alert.status)
    )
    found = {(severity, status): int(n) for severity, status, n in counted.all()}
    return [
        AlertCounts(
            severity=severity,
            open=found.get((severity, AlertStatus.OPEN), 0),
            acknowledged=found.get((severity, AlertStatus.ACKNOWLEDGED), 0),
        )
        for severity in reversed(Severity)
    ]


async def _order_stages(session: AsyncSession) -> dict[OrderStage, int]:
    counted = await session.execute(
        select(Order.stage, func.count())
        .where(Order.status == OrderStatus.OPEN)
        .group_by(Order.stage)
    )
    found = {stage: int(n) for stage, n in counted.all()}
    return {stage: found.get(stage, 0) for stage in OrderStage}


async def _order_statuses(session: AsyncSession) -> dict[OrderStatus, int]:
    counted = await session.execute(select(Order.status, func.count()).group_by(Order.status))
    found = {status: int(n) for status, n in counted.all()}
    return {status: found.get(status, 0) for status in OrderStatus}


async def _output(
    session: AsyncSession, day: dt.date, time_zone: str, touched_since: dt.datetime
) -> Output:
    """Work orders' days are JSON (ISO day -> units): the day's are summed here, over the work
    orders whose span covers it or that changed lately."""
    rows = await session.execute(
        select(WorkOrder.daily, WorkOrder.produced).where(
            WorkOrder.status != WorkOrderStatus.CANCELLED,
            or_(
                (WorkOrder.start_date <= day) & (WorkOrder.end_date >= day),
                # units may be reported for a day outside the work order's planned span
                WorkOrder.updated_at >= touched_since,
            ),
        )
    )
    key = day.isoformat()
    planned = produced = counted = 0
    for daily, made in rows.all():
        plan_units = int((daily or {}).get(key, 0))
        made_units = int((made or {}).get(key, 0))
        planned += plan_units
        produced += made_units
        counted += 1 if plan_units or made_units else 0
    return Output(
        day=day, time_zone=time_zone, planned=planned, produced=produced, work_orders=counted
    )
