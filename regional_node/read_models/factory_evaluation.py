"""Factory evaluation: four scores from data the node holds, each with the inputs behind it.

Scores run 0-100 and are null when the node has no data for them yet; `explanation` says how
the number came about, so a buyer or an operator can check it rather than trust it. Sources grow
with the platform: delivery keeps pace with work orders' daily plans, quality uses process
stability from telemetry until inspection records exist (factory vision).
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.alerts.models import Alert
from regional_node.devices.models import Device, DeviceMetric
from regional_node.factories.models import Factory
from regional_node.factories.repository import FactoryRepository
from regional_node.orders.models import WorkOrder, WorkOrderStatus
from regional_node.telemetry.models import DeadLetter, HourRollup
from regional_node.workforce.repository import WorkforceRepository
from yunfab.db import utcnow

WINDOW_DAYS = 90
FAST_ACK_MIN = 5.0
SLOW_ACK_MIN = 240.0
MIN_RATINGS = 3
"""Fewer ratings than this from borrowed workers leave reliability without a value: a mean of
one or two would show what a single worker said."""
MIN_ASSIGNMENTS = 3
"""Fewer shared-worker assignments than this leave the attendance record out of reliability:
one or two would show a single worker's absences."""


@dataclass(frozen=True)
class ScoreInput:
    name: str
    value: float
    unit: str


@dataclass(frozen=True)
class Score:
    name: str
    value: float | None
    explanation: str
    inputs: list[ScoreInput] = field(default_factory=list)


@dataclass(frozen=True)
class Evaluation:
    computed_at: dt.datetime
    window_days: int
    scores: list[Score]


async def evaluate(session: AsyncSession, factory: Factory) -> Evaluation:
    now = utcnow()
    since = now - dt.timedelta(days=WINDOW_DAYS)
    return Evaluation(
        computed_at=now,
        window_days=WINDOW_DAYS,
        scores=[
            await _development(session, factory),
            await _quality(session, factory, since),
            await _response(session, factory, since, now),
            await _delivery(session, factory, since.date(), now.date()),
            await _reliability(session, factory, since),
        ],
    )


async def _delivery(
    session: AsyncSession, factory: Factory, since: dt.date, today: dt.date
) -> Score:
    """How well the factory kept pace with its work orders' daily plans: for every planned day
    that has passed, the units it had made by then (as reported per day) against the units
    planned by then, capped at the plan. 100 is on plan every day."""
    works = (
        await session.scalars(
            select(WorkOrder).where(
                WorkOrder.factory_id == factory.id,
                WorkOrder.status != WorkOrderStatus.CANCELLED,
                WorkOrder.end_date >= since,
                WorkOrder.start_date < today,
            )
        )
    ).all()
    planned_total = kept_total = 0.0
    for work in works:
        planned = made = 0.0
        for day in sorted(set(work.daily) | set(work.produced)):
            if dt.date.fromisoformat(day) >= today:
                break
            planned += work.daily.get(day, 0)
            made += work.produced.get(day, 0)
            planned_total += planned
            kept_total += min(made, planned)
    inputs = [
        ScoreInput("work_orders", len(works), "work orders"),
        ScoreInput("planned_unit_days", planned_total, "unit-days"),
        ScoreInput("unit_days_on_plan", kept_total, "unit-days"),
    ]
    if planned_total == 0:
        return Score(
            name="delivery",
            value=None,
            explanation="No work order has had a planned day pass yet.",
            inputs=inputs,
        )
    return Score(
        name="delivery",
        value=round(100.0 * kept_total / planned_total, 1),
        explanation="For every planned day that has passed, units made by then against units "
        "planned by then (capped at the plan), over all work orders in the window.",
        inputs=inputs,
    )


async def _development(session: AsyncSession, factory: Factory) -> Score:
    equipment = await FactoryRepository(session).equipment(factory.id)
    types = len({item.type for item in equipment})
    machines = sum(item.count for item in equipment)
    today = utcnow().date()
    valid_certificates = sum(
        1
        for cert in factory.certifications
        if cert.get("valid_until") is None
        or dt.date.fromisoformat(str(cert["valid_until"])) >= today
    )
    skills = len(factory.skills)
    value = (
        40 * min(types, 5) / 5
        + 20 * min(math.log10(machines + 1) / 2, 1.0)
        + 20 * min(skills, 5) / 5
        + 20 * min(valid_certificates, 3) / 3
    )
    return Score(
        name="development_capability",
        value=round(value, 1),
        explanation="40 for equipment variety (5 kinds or more), 20 for machine count "
        "(100 or more, log scale), 20 for special skills (5 or more), 20 for valid "
        "certifications (3 or more).",
        inputs=[
            ScoreInput("equipment_types", types, "kinds"),
            ScoreInput("machines", machines, "machines"),
            ScoreInput("special_skills", skills, "skills"),
            ScoreInput("valid_certifications", valid_certificates, "certificates"),
        ],
    )


async def _quality(session: AsyncSession, factory: Factory, since: dt.datetime) -> Score:
    since_ms = int(since.timestamp() * 1000)
    accepted = await session.scalar(
        select(func.coalesce(func.sum(HourRollup.count), 0))
        .join(DeviceMetric, DeviceMetric.id == HourRollup.series_id)
        .join(Device, Device.id == DeviceMetric.device_id)
        .where(Device.factory_id == factory.id, HourRollup.bucket_ms >= since_ms)
    )
    keys = select(Device.key).where(Device.factory_id == factory.id).scalar_subquery()
    out_of_range = await session.scalar(
        select(func.count())
        .select_from(DeadLetter)
        .where(
            DeadLetter.reason == "out_of_range",
            DeadLetter.device_key.in_(keys),
            DeadLetter.received_at >= since,
        )
    )
    accepted, out_of_range = int(accepted or 0), int(out_of_range or 0)
    inputs = [
        ScoreInput("readings_in_range", accepted, "readings"),
        ScoreInput("messages_out_of_range", out_of_range, "messages"),
    ]
    if accepted + out_of_range == 0:
        return Score(
            name="quality_control",
            value=None,
            explanation="No process telemetry in the window yet.",
            inputs=inputs,
        )
    share = out_of_range / (accepted + out_of_range)
    return Score(
        name="quality_control",
        value=round(max(0.0, 100.0 - 2000.0 * share), 1),
        explanation="Process stability until inspection records exist: 100 less 20 points per "
        "percent of process messages carrying values outside the machines' valid ranges.",
        inputs=inputs,
    )


async def _response(
    session: AsyncSession, factory: Factory, since: dt.datetime, now: dt.datetime
) -> Score:
    rows = (
        await session.execute(
            select(Alert.opened_at, Alert.acknowledged_at).where(
                Alert.factory_id == factory.id, Alert.opened_at >= since
            )
        )
    ).all()
    minutes: list[float] = []
    for opened, acknowledged in rows:
        end = acknowledged or now
        waited = (end - opened).total_seconds() / 60
        if acknowledged is not None or waited >= SLOW_ACK_MIN:
            minutes.append(min(waited, SLOW_ACK_MIN))
    if not minutes:
        return Score(
            name="quick_response",
            value=None,
            explanation="No alerts acknowledged (or left waiting) in the window yet.",
            inputs=[ScoreInput("alerts", len(rows), "alerts")],
        )
    median = statistics.median(minutes)
    value = 100.0 * (SLOW_ACK_MIN - max(median, FAST_ACK_MIN)) / (SLOW_ACK_MIN - FAST_ACK_MIN)
    return Score(
        name="quick_response",
        value=round(value, 1),
        explanation=f"Median time to acknowledge an alert: 100 at {FAST_ACK_MIN:g} minutes or "
        f"less, 0 at {SLOW_ACK_MIN:g} minutes (an alert left unacknowledged that long counts "
        "as that long).",
        inputs=[
            ScoreInput("alerts_counted", len(minutes), "alerts"),
            ScoreInput("median_minutes_to_acknowledge", round(median, 2), "min"),
        ],
    )


async def _reliability(session: AsyncSession, factory: Factory, since: dt.datetime) -> Score:
    """How the factory keeps its word in shared workers, only in aggregate: how borrowed
    workers rated it after their assignments ended (the mean over at least MIN_RATINGS
    ratings, 1 to 5 mapped to 0 to 100), and its attendance record as a lender and as a
    borrower (days absent against days agreed in accepted assignments up to today, over at
    least MIN_ASSIGNMENTS assignments, 100 when nobody missed a day). With both, the mean of
    the two. No single rating, rater, comment, worker or day is read here, only counts and
    the mean."""
    count, mean = 0, None
    record = {"lender": (0, 0, 0), "borrower": (0, 0, 0)}
    if factory.organization_id is not None:
        repository = WorkforceRepository(session)
        count, mean = await repository.factory_reliability(factory.organization_id, since=since)
        record = await repository.factory_attendance(
            factory.organization_id, since=since.date(), until=utcnow().date()
        )
    parts: list[float] = []
    inputs: list[ScoreInput] = []
    said: list[str] = []
    if count >= MIN_RATINGS and mean is not None:
        parts.append(100.0 * (mean - 1) / 4)
        inputs += [
            ScoreInput("worker_ratings", count, "ratings"),
            ScoreInput("mean_worker_rating", round(mean, 2), "of 5"),
        ]
        said.append(
            f"borrowed workers' ratings of the factory after their assignments ended, in "
            f"aggregate only (at least {MIN_RATINGS}): the mean of 1 to 5 stars, 1 is 0 and 5 "
            "is 100"
        )
    assignments = sum(n for n, _, _ in record.values())
    agreed = sum(days for _, days, _ in record.values())
    absent = sum(gone for _, _, gone in record.values())
    if assignments >= MIN_ASSIGNMENTS and agreed:
        parts.append(100.0 * (1 - absent / agreed))
        for role, (n, days, gone) in record.items():
            if n:
                inputs += [
                    ScoreInput(f"days_agreed_as_{role}", days, "worker-days"),
                    ScoreInput(f"days_absent_as_{role}", gone, "worker-days"),
                ]
        said.append(
            f"its attendance record in {assignments} shared-worker assignments as lender and "
            f"borrower (at least {MIN_ASSIGNMENTS}): worker-days absent against worker-days "
            "agreed up to today, none absent is 100"
        )
    if not parts:
        return Score(
            name="reliability",
            value=None,
            explanation=f"Fewer than {MIN_RATINGS} ratings from borrowed workers and fewer than "
            f"{MIN_ASSIGNMENTS} shared-worker assignments with days worked in the window: too "
            "few to show without revealing a single worker's rating or absence, so they have "
            "no effect.",
            inputs=[],
        )
    text = "; and ".join(said)
    return Score(
        name="reliability",
        value=round(sum(parts) / len(parts), 1),
        explanation=("The mean of two parts: " if len(parts) > 1 else "")
        + text[0].upper()
        + text[1:]
        + ".",
        inputs=inputs,
    )
