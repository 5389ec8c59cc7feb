"""From forecast to production: net requirements per SKU and week as lot-sized proposals,
re-planned outside the frozen horizon, and accepted by the node operator into orders of the
orders domain, one per product variant and week, in the brand's name."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.demand import configuration, sales
from regional_node.demand.errors import (
    ProposalClosed,
    ProposalNotFound,
)
from regional_node.demand.forecasts import get_forecast
from regional_node.demand.models import (
    DemandPlan,
    DemandProduct,
    DemandSku,
    ForecastLevel,
    ForecastPoint,
    ProductionProposal,
    ProposalStatus,
)
from regional_node.demand.repository import (
    ForecastRepository,
    PlanRepository,
    ProductRepository,
    ProposalRepository,
    SkuRepository,
)
from regional_node.demand.requirements import Lots, WeekDemand, lead_time_days, net_requirements
from regional_node.demand.service import (
    PLAN_TIME_LIMIT_S,
    SERVICE_LEVELS,
    WEEK,
    base_routing,
    brand_of,
    brand_resource,
    brands_view,
    product_configuration,
    seen,
)
from regional_node.orders import service as orders
from regional_node.orders.errors import OrderInfeasible, RoutingDisabled
from regional_node.orders.models import Order
from regional_node.orders.repository import RoutingRepository
from regional_node.orders.routings import steps_from_json
from regional_node.runtime import NodeRuntime
from yunfab.db import utcnow
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject, SubjectKind

# --- plans and proposals ------------------------------------------------------------------------

MAX_LOTS = 50
"""Production lots accepted at once: each is an order planned over the node's factories."""


@dataclass(frozen=True)
class Lot:
    """One production lot: a variant of a product, in one week, as one order."""

    product: str
    variant: str
    week: dt.date
    quantity: int
    proposals: list[uuid.UUID]
    order: Order | None = None
    planned: bool = False
    problem: str | None = None
    """Why it was not planned (the order is placed all the same, for the operator to plan)."""


@dataclass(frozen=True)
class Acceptance:
    proposals: list[ProductionProposal]
    lots: list[Lot]


async def plan_production(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, brand: str | None,
    forecast_id: uuid.UUID | None = None, as_of: dt.date | None = None,
) -> tuple[DemandPlan, Acceptance | None]:  # fmt: skip
    """Net requirements of every SKU from the forecast (the brand's latest unless named) as
    proposals. Open proposals in a product's frozen horizon stay as they are; the others are
    replaced, and the plan records what moved. Products with an auto-accept rule have their
    small proposals accepted at once, when the caller may accept."""
    owner = brand_of(subject, brand)
    await runtime.authorizer.check(subject, "node.demand.plan.make", brand_resource(owner))
    may_accept = await runtime.authorizer.allows(
        subject, "node.demand.proposal.accept", brand_resource(owner)
    )
    today = utcnow().date()
    as_of = as_of or today
    if as_of > today + dt.timedelta(days=1):
        raise InvalidInput(f"asOf {as_of} is in the future")
    run = await get_forecast(session, subject, runtime=runtime, run_id=forecast_id, brand=owner)
    if run.brand_org != owner:
        raise InvalidInput("the forecast is another brand's")
    # Locked: two plans of a brand at once would both replace its open proposals.
    products = {p.id: p for p in await ProductRepository(session).of_brand(owner, lock=True)}
    skus = {s.id: s for s in await SkuRepository(session).of_brand(owner)}
    proposals = ProposalRepository(session)
    plans = PlanRepository(session)
    previous_plan = await plans.latest(owner)
    previous = await proposals.open_of_brand(owner, lock=True)
    open_production: dict[uuid.UUID, dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    for sku_id, week, units in await proposals.open_production(owner):
        open_production[sku_id][week] += units
    points = await ForecastRepository(session).points(run.id, level=ForecastLevel.SKU)
    by_sku: dict[uuid.UUID, list[ForecastPoint]] = defaultdict(list)
    for point in points:
        if point.sku_id is not None and point.sku_id in skus:
            by_sku[point.sku_id].append(point)
    this_week = sales.monday(as_of)
    lead_times = await _lead_times(session, products.values(), skus.values())
    previously_planned: dict[uuid.UUID, set[dt.date]] = defaultdict(set)
    if previous_plan is not None:
        earlier = await ForecastRepository(session).points(
            previous_plan.forecast_run_id, level=ForecastLevel.SKU
        )
        for point in earlier:
            if point.sku_id is not None:
                previously_planned[point.sku_id].add(point.week)
    plan = DemandPlan(
        brand_org=owner,
        forecast_run_id=run.id,
        as_of=as_of,
        frozen_until=this_week + WEEK * max((p.frozen_weeks for p in products.values()), default=0),
        effect={},
        created_by=subject.label,
    )
    await plans.add(plan)
    kept: list[ProductionProposal] = []
    superseded: list[ProductionProposal] = []
    made: list[ProductionProposal] = []
    for sku_id, sku_points in sorted(by_sku.items(), key=lambda item: skus[item[0]].code):
        sku, product = skus[sku_id], products[skus[sku_id].product_id]
        frozen_until = this_week + WEEK * product.frozen_weeks
        column = SERVICE_LEVELS[product.service_level]
        weeks = [
            WeekDemand(week=p.week, mean=p.mean, quantile=getattr(p, column))
            for p in sku_points
            if p.week >= this_week
        ]
        frozen = frozenset(
            w.week for w in weeks
            if w.week < frozen_until and w.week in previously_planned[sku_id]
        )  # fmt: skip
        arriving: dict[dt.date, float] = defaultdict(float, open_production[sku_id])
        for old in previous:
            if old.sku_id != sku_id:
                continue
            if old.week in frozen:
                kept.append(old)
                arriving[old.week] += old.quantity
            else:
                superseded.append(old)
        lead = lead_times.get((product.id, sku.variant), 1)
        for need in net_requirements(
            weeks, on_hand=sku.stock_on_hand, arriving=arriving,
            lots=Lots(product.min_lot, product.lot_multiple), frozen=frozen,
        ):  # fmt: skip
            if need.quantity <= 0:
                continue
            release = need.week - dt.timedelta(days=1 + lead)
            made.append(
                ProductionProposal(
                    brand_org=owner, plan_id=plan.id, sku_id=sku.id, product_id=product.id,
                    variant=sku.variant, week=need.week, release=release,
                    lead_time_days=lead, quantity=need.quantity, requirement=need.short,
                    demand=need.demand, safety=need.safety, stock=need.stock,
                    service_level=product.service_level, frozen=False, late=release < as_of,
                )
            )  # fmt: skip
    handled = {p.id for p in kept} | {p.id for p in superseded}
    for old in previous:
        if old.id not in handled:  # a SKU with no forecast now: its proposals go
            superseded.append(old)
    now = utcnow()
    for old in superseded:
        old.status, old.decided_by, old.decided_at = ProposalStatus.SUPERSEDED, subject.label, now
    for old in kept:
        old.frozen = True
    await proposals.add(made)
    plan.effect = {
        **_effect(previous, kept, made, skus),
        "factories": factory_effect(previous, [*kept, *made], await proposals.lot_factories(owner)),
    }
    await session.flush()
    await append_entry(
        session, actor=subject, action="node.demand.plan", resource=f"brand:{owner}",
        outcome="ok",
        detail={"plan": str(plan.id), "forecast": str(run.id), "proposed": len(made),
                "kept_frozen": len(kept), "superseded": len(superseded)},
    )  # fmt: skip
    acceptance = None
    automatic = [
        p for p in made
        if products[p.product_id].auto_accept_up_to is not None
        and p.quantity <= (products[p.product_id].auto_accept_up_to or 0)
    ]  # fmt: skip
    if automatic and may_accept:
        acceptance = await _accept(session, subject, runtime, automatic, products, skus)
        plan.effect = {**plan.effect, "auto_accepted": [str(p.id) for p in automatic]}
        await session.flush()
    return plan, acceptance


def _effect(
    previous: Sequence[ProductionProposal], kept: Sequence[ProductionProposal],
    made: Sequence[ProductionProposal], skus: Mapping[uuid.UUID, DemandSku],
) -> dict[str, Any]:  # fmt: skip
    """What a re-plan moved: units per SKU and week before (open proposals) and after (kept
    and new), the weeks that changed, and the totals."""
    before: dict[tuple[uuid.UUID, dt.date], int] = defaultdict(int)
    after: dict[tuple[uuid.UUID, dt.date], int] = defaultdict(int)
    for p in previous:
        before[(p.sku_id, p.week)] += p.quantity
    for p in [*kept, *made]:
        after[(p.sku_id, p.week)] += p.quantity
    frozen = {(p.sku_id, p.week) for p in kept}
    moves = [
        {
            "sku_id": str(sku_id),
            "sku": skus[sku_id].code if sku_id in skus else str(sku_id),
            "week": week.isoformat(),
            "before": before.get((sku_id, week), 0),
            "after": after.get((sku_id, week), 0),
            "change": after.get((sku_id, week), 0) - before.get((sku_id, week), 0),
            "frozen": (sku_id, week) in frozen,
        }
        for sku_id, week in sorted(
            set(before) | set(after),
            key=lambda key: (key[1], skus[key[0]].code if key[0] in skus else ""),
        )
        if before.get((sku_id, week), 0) != after.get((sku_id, week), 0)
    ]
    return {
        "moves": moves,
        "kept_frozen": len(kept),
        "units_before": sum(before.values()),
        "units_after": sum(after.values()),
        "first_plan": not previous,
    }


def factory_effect(
    before: Sequence[ProductionProposal],
    after: Sequence[ProductionProposal],
    lots: Iterable[tuple[uuid.UUID, str, dt.date, uuid.UUID, str, float]],
) -> list[dict[str, Any]]:
    """Which factories gain or lose work: for every product, variant and week that already has
    lots accepted into open orders, the proposals' units before and after the re-plan shared
    out in proportion to each factory's units in those orders' current plans (an estimate: the
    new proposals are not allocated until they are accepted and planned). Factories whose
    share does not change are left out."""
    shares: dict[tuple[uuid.UUID, str, dt.date], dict[uuid.UUID, float]] = defaultdict(
        lambda: defaultdict(float)
    )
    names: dict[uuid.UUID, str] = {}
    for product_id, variant, week, factory_id, name, units in lots:
        shares[product_id, variant, week][factory_id] += float(units)
        names[factory_id] = name
    units_before: dict[tuple[uuid.UUID, str, dt.date], int] = defaultdict(int)
    units_after: dict[tuple[uuid.UUID, str, dt.date], int] = defaultdict(int)
    for p in before:
        units_before[p.product_id, p.variant, p.week] += p.quantity
    for p in after:
        units_after[p.product_id, p.variant, p.week] += p.quantity
    per_factory: dict[uuid.UUID, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for key, work in shares.items():
        total = sum(work.values())
        if total <= 0 or units_before.get(key, 0) == units_after.get(key, 0):
            continue
        for factory_id, done in work.items():
            per_factory[factory_id][0] += units_before.get(key, 0) * done / total
            per_factory[factory_id][1] += units_after.get(key, 0) * done / total
    return [
        {
            "factory_id": str(factory_id), "factory": names[factory_id],
            "before": round(was, 1), "after": round(now, 1), "change": round(now - was, 1),
        }
        for factory_id, (was, now) in sorted(per_factory.items(), key=lambda i: names[i[0]])
        if round(now - was, 1) != 0
    ]  # fmt: skip


async def _lead_times(
    session: AsyncSession, products: Sequence[DemandProduct] | Any, skus: Sequence[DemandSku] | Any
) -> dict[tuple[uuid.UUID, str], int]:
    """Lead time in days per (product, variant), from the base routing with the variant's
    changes."""
    found: dict[tuple[uuid.UUID, str], int] = {}
    by_id = {p.id: p for p in products}
    routings = RoutingRepository(session)
    for sku in skus:
        key = (sku.product_id, sku.variant)
        if key in found:
            continue
        product = by_id[sku.product_id]
        routing = await routings.latest(product.base_product)
        if routing is None:
            found[key] = 1
            continue
        choice = configuration.choose(product_configuration(product), sku.options)
        steps = steps_from_json(routing.steps)
        if choice.variant:
            steps = configuration.variant_routing(
                steps, routing.unit, product.slug, choice, name=product.name
            ).steps
        found[key] = lead_time_days(steps)
    return found


async def get_plan(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, plan_id: uuid.UUID | None,
    brand: str | None = None,
) -> DemandPlan:  # fmt: skip
    repository = PlanRepository(session)
    if plan_id is None:
        owner = brand_of(subject, brand)
        await runtime.authorizer.check(subject, "node.demand.plan.read", brand_resource(owner))
        latest = await repository.latest(owner)
        if latest is None:
            raise ProposalNotFound("the brand has no plan yet")
        return latest
    plan = await repository.get(plan_id)
    await runtime.authorizer.check_found(
        subject, "node.demand.plan.read", None if plan is None else brand_resource(plan.brand_org),
        read="node.demand.plan.read", missing=ProposalNotFound(f"no plan {plan_id} on this node"),
    )  # fmt: skip
    assert plan is not None
    return plan


async def list_plans(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, brand: str | None,
    page: PageRequest,
) -> Page[DemandPlan]:  # fmt: skip
    conditions = await brands_view(
        subject, runtime, brand, DemandPlan.brand_org, "node.demand.plan.read"
    )
    found = await PlanRepository(session).page(conditions, page)
    return await seen(subject, runtime, "node.demand.plan.read", found, lambda r: r.brand_org)


@dataclass(frozen=True)
class ProposalFilter:
    brand: str | None = None
    status: ProposalStatus | None = None
    plan_id: uuid.UUID | None = None
    sku_id: uuid.UUID | None = None


async def list_proposals(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, where: ProposalFilter,
    page: PageRequest,
) -> Page[ProductionProposal]:  # fmt: skip
    conditions = await brands_view(
        subject, runtime, where.brand, ProductionProposal.brand_org, "node.demand.plan.read"
    )
    if where.status is not None:
        conditions.append(ProductionProposal.status == where.status)
    if where.plan_id is not None:
        conditions.append(ProductionProposal.plan_id == where.plan_id)
    if where.sku_id is not None:
        conditions.append(ProductionProposal.sku_id == where.sku_id)
    found = await ProposalRepository(session).page(conditions, page)
    return await seen(subject, runtime, "node.demand.plan.read", found, lambda r: r.brand_org)


async def _open_proposals(
    session: AsyncSession, subject: Subject, runtime: NodeRuntime, ids: Sequence[uuid.UUID],
    action: str,
) -> list[ProductionProposal]:  # fmt: skip
    if not 1 <= len(ids) <= 500:
        raise InvalidInput("proposals: 1 to 500 at once")
    found = await ProposalRepository(session).many(set(ids), lock=True)
    brands = {p.brand_org for p in found}
    readable = {
        brand for brand in brands
        if await runtime.authorizer.allows(subject, "node.demand.plan.read", brand_resource(brand))
    }  # fmt: skip
    missing = set(ids) - {p.id for p in found if p.brand_org in readable}
    if missing:
        raise ProposalNotFound(f"no proposal {sorted(missing)[0]} on this node")
    for brand in brands:
        await runtime.authorizer.check(subject, action, brand_resource(brand))
    for proposal in found:
        if proposal.status is not ProposalStatus.PROPOSED:
            raise ProposalClosed(f"proposal {proposal.id} is {proposal.status.value}")
    return list(found)


async def accept_proposals(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime,
    proposal_ids: Sequence[uuid.UUID], plan: bool = True,
) -> Acceptance:  # fmt: skip
    """The node operator accepts proposals: each production lot (a product's variant in one
    week) becomes one order in the brand's name, on the variant's routing, planned over the
    node's factories (unless `plan` is false). A lot that cannot be planned is still placed,
    with the reason, for the operator to plan once capacity is there."""
    found = await _open_proposals(
        session, subject, runtime, proposal_ids, "node.demand.proposal.accept"
    )
    products = {
        p.id: p for p in await ProductRepository(session).many({p.product_id for p in found})
    }
    skus = {s.id: s for s in await SkuRepository(session).many({p.sku_id for p in found})}
    return await _accept(session, subject, runtime, found, products, skus, plan=plan)


async def _accept(
    session: AsyncSession, subject: Subject, runtime: NodeRuntime,
    found: Sequence[ProductionProposal], products: Mapping[uuid.UUID, DemandProduct],
    skus: Mapping[uuid.UUID, DemandSku], *, plan: bool = True,
) -> Acceptance:  # fmt: skip
    lots: dict[tuple[uuid.UUID, str, dt.date], list[ProductionProposal]] = defaultdict(list)
    for proposal in found:
        lots[(proposal.product_id, proposal.variant, proposal.week)].append(proposal)
    if len(lots) > MAX_LOTS:
        raise InvalidInput(
            f"{len(lots)} production lots: accept at most {MAX_LOTS} at once (each is planned)"
        )
    today = utcnow().date()
    placed: list[Lot] = []
    now = utcnow()
    for (product_id, variant, week), members in sorted(
        lots.items(), key=lambda item: (item[0][2], products[item[0][0]].slug, item[0][1])
    ):
        product = products[product_id]
        routing_product = await _lot_routing(session, subject, runtime, product, skus, members)
        quantity = sum(p.quantity for p in members)
        start = max(min(p.release for p in members), today)
        due = max(week - dt.timedelta(days=1), start)
        days = (due - start).days + 1
        lines = ", ".join(f"{skus[p.sku_id].code} x{p.quantity}" for p in members)
        order = await orders.place_order(
            session, in_brands_name(subject, product.brand_org), runtime=runtime,
            input=orders.NewOrder(
                product=routing_product, quantity=quantity, due_date=due,
                daily_target=max(1, math.ceil(quantity / days)), start_date=start,
                buyer_reference=f"C2M {product.slug} {week.isoformat()}"[:100],
                note=f"C2M lot of {product.name}, week of {week}: {lines}"[:2000],
            ),
        )  # fmt: skip
        for proposal in members:
            proposal.status = ProposalStatus.ACCEPTED
            proposal.order_id = order.id
            proposal.decided_by, proposal.decided_at = subject.label, now
        await session.flush()
        planned, problem = False, None
        if plan:
            try:
                await orders.plan_order(
                    session, subject, runtime=runtime, order_id=order.id,
                    time_limit_s=PLAN_TIME_LIMIT_S,
                )  # fmt: skip
                planned = True
            except (OrderInfeasible, RoutingDisabled) as exc:
                problem = f"{exc.code}: {exc.detail}"
        placed.append(
            Lot(
                product=product.slug, variant=variant, week=week, quantity=quantity,
                proposals=[p.id for p in members], order=order, planned=planned, problem=problem,
            )
        )  # fmt: skip
        await append_entry(
            session, actor=subject, action="node.demand.proposal.accept",
            resource=f"order:{order.number}", outcome="ok",
            detail={"brand": product.brand_org, "product": product.slug, "variant": variant,
                    "week": week.isoformat(), "quantity": quantity, "proposals": len(members),
                    "planned": planned, "problem": problem},
        )  # fmt: skip
    return Acceptance(proposals=list(found), lots=placed)


async def _lot_routing(
    session: AsyncSession, subject: Subject, runtime: NodeRuntime, product: DemandProduct,
    skus: Mapping[uuid.UUID, DemandSku], members: Sequence[ProductionProposal],
) -> str:  # fmt: skip
    """The routing product a lot's order is placed on: the base routing's, or the variant's,
    imported into the orders domain (the same variant again adds nothing)."""
    base = await base_routing(session, product.base_product)
    sku = skus[members[0].sku_id]
    choice = configuration.choose(product_configuration(product), sku.options)
    if not choice.variant:
        return base.product
    spec = configuration.variant_routing(
        steps_from_json(base.steps), base.unit, product.slug, choice,
        name=f"{product.name} ({', '.join(f'{k} {v}' for k, v in choice.as_json().items())})",
    )  # fmt: skip
    routing, _ = await orders.import_routing(
        session, subject, runtime=runtime, spec=spec, source=f"c2m:{product.slug}"
    )
    return routing.product


def in_brands_name(subject: Subject, brand: str) -> Subject:
    """Who places an accepted lot's order: the accepting subject (the audit trail names them)
    acting for the brand, which is the order's buyer and sees it as its own. It holds only what
    placing an order takes (orders:write) and is used for nothing else."""
    return dataclasses.replace(
        subject,
        kind=subject.kind
        if subject.kind in (SubjectKind.CLIENT, SubjectKind.USER)
        else SubjectKind.CLIENT,
        # Named apart from the subject itself in the order's events and audit lines.
        id=f"{subject.id or subject.kind.value}+c2m",
        org_id=brand,
        org_kind="consumer",
        node=None,
        scopes=frozenset({"orders:write"}),
        roles=frozenset(),
    )


async def reject_proposals(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime,
    proposal_ids: Sequence[uuid.UUID], reason: str,
) -> list[ProductionProposal]:  # fmt: skip
    """Turn proposals down (the operator); a later plan proposes again what is still needed."""
    if not reason.strip():
        raise InvalidInput("reason: say why")
    found = await _open_proposals(
        session, subject, runtime, proposal_ids, "node.demand.proposal.accept"
    )
    now = utcnow()
    for proposal in found:
        proposal.status = ProposalStatus.REJECTED
        proposal.decided_by, proposal.decided_at = subject.label, now
    await session.flush()
    await append_entry(
        session, actor=subject, action="node.demand.proposal.reject",
        resource=f"brand:{','.join(sorted({p.brand_org for p in found}))}"[:200], outcome="ok",
        detail={"proposals": len(found), "reason": reason.strip()[:500]},
    )  # fmt: skip
    return found
