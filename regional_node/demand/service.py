"""C2M on a node ("以销定产": make what sells): a brand's configurable products and SKUs, the
sales it sends, forecasts made from them, and the production they call for, proposed week by
week and, once the node operator accepts, placed as orders through the orders domain in the
brand's name (so planning, allocation and the twelve stages apply, and the brand follows them
as a buyer does).

Who may do what is the policy's (policies/node.rego, `node.demand.*`): a brand sees and edits
its own products, SKUs, sales, forecasts and plans (orders:read to see, orders:write to change);
the node operator sees all of them, accepts proposals and sets auto-accept rules. The brand is
the resource's `org`, so the operator's reads of a brand's data are audited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.demand import configuration, forecaster, sales
from regional_node.demand.configuration import Configuration
from regional_node.demand.errors import (
    ProductInUse,
    ProductInvalid,
    ProductNotFound,
    SkuNotFound,
)
from regional_node.demand.models import (
    DemandProduct,
    DemandSku,
    SalesImport,
    SalesRecord,
)
from regional_node.demand.repository import (
    ProductRepository,
    SalesRepository,
    SkuRepository,
)
from regional_node.orders.models import Routing
from regional_node.orders.repository import RoutingRepository
from regional_node.orders.routings import steps_from_json
from regional_node.runtime import NodeRuntime
from yunfab.db import utcnow
from yunfab.errors import Conflict, InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject, canonical_org_id

T = TypeVar("T")

SERVICE_LEVELS = {0.5: "q50", 0.8: "q80", 0.9: "q90", 0.95: "q95"}
"""Service levels a proposal may cover: the forecasts' quantiles."""
MAX_HORIZON = 52
MAX_SERIES = 500
"""SKUs in one forecast: a bound on the work one request can start."""
MIN_WEEKS = 8
MAX_LOT = 1_000_000
MAX_FROZEN_WEEKS = 26
MAX_SKUS_AT_ONCE = 200
SKU_CODE = configuration.ITEM
PLAN_TIME_LIMIT_S = 10.0
WEEK = dt.timedelta(days=7)


def brand_resource(brand: str) -> dict[str, Any]:
    """How the policy sees a brand's demand data: `org` is the brand, so others' access is
    audited."""
    return {"org": brand}


def product_resource(product: DemandProduct) -> dict[str, Any]:
    return {"product": product.slug, "org": product.brand_org}


def brand_of(subject: Subject, brand: str | None) -> str:
    """The brand asked about: the one named, else the caller's own organization."""
    chosen = canonical_org_id(brand) if brand else subject.org_id
    if not chosen:
        raise InvalidInput("brand: the brand's organization id (the node operator names one)")
    if len(chosen) > 64:
        raise InvalidInput("brand: an organization id")
    return chosen


async def brands_view(
    subject: Subject, runtime: NodeRuntime, brand: str | None, column: Any, action: str
) -> list[ColumnElement[bool]]:
    """The conditions of a listing: any brand's (or the one named) for the node operator, the
    caller's own otherwise (the policy decides once for the whole view, as orders do)."""
    if await runtime.authorizer.allows(subject, "node.demand.list"):
        return [column == canonical_org_id(brand)] if brand else []
    own = subject.org_id or "-"
    if brand and canonical_org_id(brand) != own:
        # Decided, and audited, as a read of that brand's data.
        await runtime.authorizer.check(subject, action, brand_resource(brand_of(subject, brand)))
        return [column == canonical_org_id(brand)]
    await runtime.authorizer.check(subject, action, brand_resource(own))
    return [column == own]


async def seen(
    subject: Subject, runtime: NodeRuntime, action: str, page: Page[T],
    brand: Callable[[T], str],
) -> Page[T]:  # fmt: skip
    """A listing's page as the policy lets the caller see it, each row decided with its brand
    in one evaluation: the operator's reads of brands' rows are audited (a line a page), as
    cross-organization reads are on the node."""
    kept = await runtime.authorizer.filter(
        subject, action, page.rows, lambda row: brand_resource(brand(row))
    )
    return Page(rows=kept, has_next=page.has_next, count=page.count)


# --- products ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewProduct:
    slug: str
    name: str
    base_product: str
    """The routing (its product) the SKUs are made on."""
    options: list[dict[str, Any]] = field(default_factory=list)
    """`configuration`'s JSON form."""
    bom: list[dict[str, Any]] = field(default_factory=list)
    min_lot: int = 1
    lot_multiple: int = 1
    service_level: float = 0.9
    frozen_weeks: int = 2
    brand: str | None = None
    """The brand's organization id; the caller's own when not given."""


@dataclass(frozen=True)
class ProductChanges:
    """What to change; None leaves a field as it is."""

    name: str | None = None
    base_product: str | None = None
    options: list[dict[str, Any]] | None = None
    bom: list[dict[str, Any]] | None = None
    min_lot: int | None = None
    lot_multiple: int | None = None
    service_level: float | None = None
    frozen_weeks: int | None = None


def product_configuration(product: DemandProduct) -> Configuration:
    return configuration.parse(product.options, product.bom)


async def base_routing(session: AsyncSession, base_product: str) -> Routing:
    routing = await RoutingRepository(session).latest(base_product)
    if routing is None:
        raise ProductInvalid(
            f"baseProduct: no routing for {base_product!r} on this node (the node operator "
            "imports routings)"
        )
    return routing


def _check_variants(product_slug: str, name: str, config: Configuration, routing: Routing) -> None:
    """Every option value's routing changes apply to the base routing on their own."""
    steps = steps_from_json(routing.steps)
    for option in config.options:
        for value in option.values:
            if value.routing:
                configuration.variant_routing(
                    steps, routing.unit, product_slug,
                    configuration.Choice(values=((option, value),)), name=name,
                )  # fmt: skip


def _check_numbers(
    *, min_lot: int, lot_multiple: int, service_level: float, frozen_weeks: int
) -> None:
    if not 1 <= min_lot <= MAX_LOT:
        raise InvalidInput(f"minLot: 1 to {MAX_LOT:,}")
    if not 1 <= lot_multiple <= MAX_LOT:
        raise InvalidInput(f"lotMultiple: 1 to {MAX_LOT:,}")
    if service_level not in SERVICE_LEVELS:
        raise InvalidInput(
            "serviceLevel: one of the forecasts' quantiles, "
            + ", ".join(f"{level:g}" for level in SERVICE_LEVELS)
        )
    if not 0 <= frozen_weeks <= MAX_FROZEN_WEEKS:
        raise InvalidInput(f"frozenWeeks: 0 to {MAX_FROZEN_WEEKS}")


async def create_product(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, input: NewProduct
) -> DemandProduct:
    brand = brand_of(subject, input.brand)
    await runtime.authorizer.check(subject, "node.demand.product.manage", brand_resource(brand))
    if not configuration.NAME.match(input.slug):
        raise InvalidInput("slug: a lowercase slug of at most 40 characters")
    if input.slug == forecaster.TOTAL:
        raise InvalidInput(f"slug: {forecaster.TOTAL!r} names the brand's total in forecasts")
    name = input.name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("name: 1 to 200 characters")
    _check_numbers(
        min_lot=input.min_lot, lot_multiple=input.lot_multiple,
        service_level=input.service_level, frozen_weeks=input.frozen_weeks,
    )  # fmt: skip
    config = configuration.parse(input.options, input.bom)
    routing = await base_routing(session, input.base_product)
    _check_variants(input.slug, name, config, routing)
    products = ProductRepository(session)
    if await products.by_slug(input.slug) is not None:
        raise Conflict(f"a product {input.slug!r} exists on this node: choose another slug")
    product = DemandProduct(
        brand_org=brand,
        slug=input.slug,
        name=name,
        base_product=routing.product,
        options=config.options_json(),
        bom=config.bom_json(),
        min_lot=input.min_lot,
        lot_multiple=input.lot_multiple,
        service_level=input.service_level,
        frozen_weeks=input.frozen_weeks,
        created_by=subject.label,
    )
    session.add(product)
    await session.flush()
    await append_entry(
        session, actor=subject, action="node.demand.product.create",
        resource=f"product:{product.slug}", outcome="ok",
        detail={"brand": brand, "options": len(config.options)},
    )  # fmt: skip
    return product


async def _product_for(
    session: AsyncSession, subject: Subject, runtime: NodeRuntime, product_id: uuid.UUID,
    action: str, *, lock: bool = False,
) -> DemandProduct:  # fmt: skip
    product = await ProductRepository(session).get(product_id, lock=lock)
    # Who may not read it is told PRODUCT_NOT_FOUND, as for an id that is not there.
    await runtime.authorizer.check_found(
        subject, action, None if product is None else product_resource(product),
        read="node.demand.product.read",
        missing=ProductNotFound(f"no product {product_id} on this node"),
    )  # fmt: skip
    assert product is not None
    return product


async def get_product(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime,
    product_id: uuid.UUID | None = None, slug: str | None = None,
) -> DemandProduct:  # fmt: skip
    if product_id is None:
        found = await ProductRepository(session).by_slug((slug or "").strip()[:40])
        await runtime.authorizer.check_found(
            subject, "node.demand.product.read",
            None if found is None else product_resource(found),
            read="node.demand.product.read",
            missing=ProductNotFound(f"no product {slug!r} on this node"),
        )  # fmt: skip
        assert found is not None
        return found
    return await _product_for(session, subject, runtime, product_id, "node.demand.product.read")


async def list_products(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, brand: str | None,
    page: PageRequest,
) -> Page[DemandProduct]:  # fmt: skip
    conditions = await brands_view(
        subject, runtime, brand, DemandProduct.brand_org, "node.demand.product.read"
    )
    found = await ProductRepository(session).page(conditions, page)
    return await seen(subject, runtime, "node.demand.product.read", found, lambda r: r.brand_org)


async def update_product(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, product_id: uuid.UUID,
    changes: ProductChanges,
) -> DemandProduct:  # fmt: skip
    """Change a product; its SKUs must still be valid choices (their variants follow)."""
    product = await _product_for(
        session, subject, runtime, product_id, "node.demand.product.manage", lock=True
    )
    name = product.name if changes.name is None else changes.name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("name: 1 to 200 characters")
    min_lot = product.min_lot if changes.min_lot is None else changes.min_lot
    multiple = product.lot_multiple if changes.lot_multiple is None else changes.lot_multiple
    level = product.service_level if changes.service_level is None else changes.service_level
    frozen = product.frozen_weeks if changes.frozen_weeks is None else changes.frozen_weeks
    _check_numbers(min_lot=min_lot, lot_multiple=multiple, service_level=level, frozen_weeks=frozen)
    config = configuration.parse(
        product.options if changes.options is None else changes.options,
        product.bom if changes.bom is None else changes.bom,
    )
    routing = await base_routing(session, changes.base_product or product.base_product)
    _check_variants(product.slug, name, config, routing)
    skus = await SkuRepository(session).of_product(product.id)
    variants: dict[uuid.UUID, str] = {}
    for sku in skus:
        try:
            choice = configuration.choose(config, sku.options)
        except ProductInvalid as exc:
            raise ProductInvalid(f"SKU {sku.code} would no longer be valid: {exc.detail}") from exc
        _check_sku_variant(product.slug, name, choice, routing)
        variants[sku.id] = choice.variant
    product.name = name
    product.base_product = routing.product
    product.options, product.bom = config.options_json(), config.bom_json()
    product.min_lot, product.lot_multiple = min_lot, multiple
    product.service_level, product.frozen_weeks = level, frozen
    product.updated_at = utcnow()
    for sku in skus:
        sku.variant = variants[sku.id]
    await session.flush()
    await append_entry(
        session, actor=subject, action="node.demand.product.update",
        resource=f"product:{product.slug}", outcome="ok",
        detail={k: v for k, v in dataclasses.asdict(changes).items()
                if v is not None and k not in ("options", "bom")},
    )  # fmt: skip
    return product


async def delete_product(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, product_id: uuid.UUID
) -> uuid.UUID:
    """A product and its SKUs, while nothing (sales, proposals) points at them."""
    product = await _product_for(
        session, subject, runtime, product_id, "node.demand.product.manage", lock=True
    )
    skus = SkuRepository(session)
    own = await skus.of_product(product.id)
    if await skus.in_use([sku.id for sku in own]):
        raise ProductInUse(
            f"product {product.slug} has sales or proposals: they keep it (change it instead)"
        )
    await skus.delete(own)
    await ProductRepository(session).delete(product)
    await append_entry(
        session, actor=subject, action="node.demand.product.delete",
        resource=f"product:{product.slug}", outcome="ok", detail={"skus": len(own)},
    )  # fmt: skip
    return product_id


async def set_auto_accept(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, product_id: uuid.UUID,
    up_to: int | None,
) -> DemandProduct:  # fmt: skip
    """The operator's rule: proposals of the product up to `up_to` units are accepted (and
    planned) as a plan makes them; None turns it off."""
    product = await _product_for(
        session, subject, runtime, product_id, "node.demand.rule.manage", lock=True
    )
    if up_to is not None and not 1 <= up_to <= MAX_LOT * 10:
        raise InvalidInput(f"upTo: 1 to {MAX_LOT * 10:,} units, or null for none")
    product.auto_accept_up_to = up_to
    product.updated_at = utcnow()
    await append_entry(
        session, actor=subject, action="node.demand.rule.set",
        resource=f"product:{product.slug}", outcome="ok", detail={"auto_accept_up_to": up_to},
    )  # fmt: skip
    return product


# --- SKUs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSku:
    code: str
    options: dict[str, str]


def _check_sku_variant(
    product_slug: str, name: str, choice: configuration.Choice, routing: Routing
) -> None:
    if choice.variant:
        configuration.variant_routing(
            steps_from_json(routing.steps), routing.unit, product_slug, choice, name=name
        )


async def create_skus(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, product_id: uuid.UUID,
    skus: Sequence[NewSku],
) -> list[DemandSku]:  # fmt: skip
    """SKUs of a product, each a value for every option; all of them or none."""
    product = await _product_for(
        session, subject, runtime, product_id, "node.demand.product.manage"
    )
    if not 1 <= len(skus) <= MAX_SKUS_AT_ONCE:
        raise InvalidInput(f"skus: 1 to {MAX_SKUS_AT_ONCE} at once")
    config = product_configuration(product)
    routing = await base_routing(session, product.base_product)
    repository = SkuRepository(session)
    made: list[DemandSku] = []
    codes: set[str] = set()
    for index, new in enumerate(skus):
        code = new.code.strip()
        if not SKU_CODE.match(code) or len(code) > 64:
            raise InvalidInput(f"skus[{index}].code: 1 to 64 letters, digits, '.', '_', '/' or '-'")
        if code in codes or await repository.by_code(product.brand_org, code) is not None:
            raise Conflict(f"skus[{index}].code: the brand has a SKU {code} already")
        codes.add(code)
        try:
            choice = configuration.choose(config, new.options)
            _check_sku_variant(product.slug, product.name, choice, routing)
        except ProductInvalid as exc:
            raise ProductInvalid(f"skus[{index}] ({code}): {exc.detail}") from exc
        made.append(
            DemandSku(
                product_id=product.id,
                brand_org=product.brand_org,
                code=code,
                options=choice.as_json(),
                variant=choice.variant,
            )
        )
    session.add_all(made)
    await session.flush()
    await append_entry(
        session, actor=subject, action="node.demand.sku.create",
        resource=f"product:{product.slug}", outcome="ok",
        detail={"skus": [sku.code for sku in made][:50]},
    )  # fmt: skip
    return made


async def _sku_for(
    session: AsyncSession, subject: Subject, runtime: NodeRuntime, sku_id: uuid.UUID,
    action: str, *, lock: bool = False,
) -> DemandSku:  # fmt: skip
    sku = await SkuRepository(session).get(sku_id, lock=lock)
    await runtime.authorizer.check_found(
        subject, action, None if sku is None else {"sku": sku.code, "org": sku.brand_org},
        read="node.demand.product.read", missing=SkuNotFound(f"no SKU {sku_id} on this node"),
    )  # fmt: skip
    assert sku is not None
    return sku


async def get_sku(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, sku_id: uuid.UUID
) -> DemandSku:
    return await _sku_for(session, subject, runtime, sku_id, "node.demand.product.read")


async def list_skus(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, brand: str | None,
    product_id: uuid.UUID | None, page: PageRequest,
) -> Page[DemandSku]:  # fmt: skip
    conditions = await brands_view(
        subject, runtime, brand, DemandSku.brand_org, "node.demand.product.read"
    )
    if product_id is not None:
        conditions.append(DemandSku.product_id == product_id)
    found = await SkuRepository(session).page(conditions, page)
    return await seen(subject, runtime, "node.demand.product.read", found, lambda r: r.brand_org)


async def delete_sku(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, sku_id: uuid.UUID
) -> uuid.UUID:
    sku = await _sku_for(session, subject, runtime, sku_id, "node.demand.product.manage")
    repository = SkuRepository(session)
    if await repository.in_use([sku.id]):
        raise ProductInUse(f"SKU {sku.code} has sales or proposals: it is kept")
    await repository.delete([sku])
    await append_entry(
        session, actor=subject, action="node.demand.sku.delete", resource=f"sku:{sku.code}",
        outcome="ok", detail={"brand": sku.brand_org},
    )  # fmt: skip
    return sku_id


@dataclass(frozen=True)
class StockLevel:
    on_hand: float
    sku_id: uuid.UUID | None = None
    code: str | None = None
    """The SKU by id, or by the brand's code."""


async def set_stock(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, brand: str | None,
    levels: Sequence[StockLevel],
) -> list[DemandSku]:  # fmt: skip
    """Stock on hand per SKU, as the brand counts it: what plans net the forecast against."""
    owner = brand_of(subject, brand)
    await runtime.authorizer.check(subject, "node.demand.product.manage", brand_resource(owner))
    if not 1 <= len(levels) <= 1000:
        raise InvalidInput("stock: 1 to 1000 SKUs at once")
    repository = SkuRepository(session)
    changed: list[DemandSku] = []
    now = utcnow()
    for index, level in enumerate(levels):
        if (level.sku_id is None) == (level.code is None):
            raise InvalidInput(f"stock[{index}]: give the SKU's id or its code")
        sku = (
            await repository.get(level.sku_id)
            if level.sku_id is not None
            else await repository.by_code(owner, str(level.code).strip())
        )
        if sku is None or sku.brand_org != owner:
            raise SkuNotFound(f"stock[{index}]: no SKU {level.sku_id or level.code} of the brand")
        if not math.isfinite(level.on_hand) or not 0 <= level.on_hand <= 1e12:
            raise InvalidInput(f"stock[{index}].onHand: 0 or more units")
        sku.stock_on_hand, sku.stock_at = float(level.on_hand), now
        changed.append(sku)
    await session.flush()
    await append_entry(
        session, actor=subject, action="node.demand.stock.set", resource=f"brand:{owner}",
        outcome="ok", detail={"skus": len(changed)},
    )  # fmt: skip
    return changed


# --- sales ------------------------------------------------------------------------------------


async def authorize_sales(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, brand: str | None
) -> str:
    """Who may send the brand's sales (the brand, the operator): asked before an upload is
    read. Returns the brand."""
    owner = brand_of(subject, brand)
    await runtime.authorizer.check(subject, "node.demand.sales.write", brand_resource(owner))
    return owner


async def import_sales(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, brand: str | None,
    rows: Sequence[sales.RawRow], source: str,
) -> SalesImport:  # fmt: skip
    """Every row stored, or none: SalesInvalid names each problem by row and column. Weeks
    missing inside a SKU's history come back as warnings."""
    owner = await authorize_sales(session, subject, runtime=runtime, brand=brand)
    skus = {sku.code: sku.id for sku in await SkuRepository(session).of_brand(owner)}
    days = [d for d in (sales.parse_date(r.date) for r in rows) if d is not None]
    repository = SalesRepository(session)
    stored = (
        await repository.existing_keys(set(skus.values()), min(days), max(days)) if days else set()
    )
    good = sales.check(rows, skus, stored, today=utcnow().date())
    record = SalesImport(
        brand_org=owner,
        source=source.strip()[:200] or "upload",
        rows=len(good),
        first_day=min(s.day for s in good),
        last_day=max(s.day for s in good),
        warnings=[],
        created_by=subject.label,
    )
    await repository.add(record, [])
    await repository.add(
        record,
        [
            SalesRecord(
                sku_id=s.sku_id, import_id=record.id, day=s.day, channel=s.channel,
                region=s.region, quantity=s.quantity,
            )
            for s in good
        ],
    )  # fmt: skip
    touched = {s.sku_id for s in good}
    names = {sku_id: code for code, sku_id in skus.items()}
    record.warnings = sales.gaps(
        ((sku_id, day) for sku_id, day in await repository.days(touched)), names
    )
    await session.flush()
    await append_entry(
        session, actor=subject, action="node.demand.sales.import", resource=f"brand:{owner}",
        outcome="ok",
        detail={"rows": record.rows, "source": record.source, "gaps": len(record.warnings)},
    )  # fmt: skip
    return record


@dataclass(frozen=True)
class SalesFilter:
    brand: str | None = None
    sku_id: uuid.UUID | None = None
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    channel: str | None = None
    region: str | None = None


async def sales_history(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, where: SalesFilter,
    page: PageRequest,
) -> Page[SalesRecord]:  # fmt: skip
    conditions = await brands_view(
        subject, runtime, where.brand, DemandSku.brand_org, "node.demand.sales.read"
    )
    if where.sku_id is not None:
        conditions.append(SalesRecord.sku_id == where.sku_id)
    if where.first_day is not None:
        conditions.append(SalesRecord.day >= where.first_day)
    if where.last_day is not None:
        conditions.append(SalesRecord.day <= where.last_day)
    if where.channel is not None:
        conditions.append(SalesRecord.channel == where.channel)
    if where.region is not None:
        conditions.append(SalesRecord.region == where.region)
    found = await SalesRepository(session).page(conditions, page)
    brands = {
        sku.id: sku.brand_org
        for sku in await SkuRepository(session).many({row.sku_id for row in found.rows})
    }
    return await seen(subject, runtime, "node.demand.sales.read", found, lambda r: brands[r.sku_id])


async def sales_imports(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, brand: str | None,
    page: PageRequest,
) -> Page[SalesImport]:  # fmt: skip
    conditions = await brands_view(
        subject, runtime, brand, SalesImport.brand_org, "node.demand.sales.read"
    )
    found = await SalesRepository(session).imports_page(conditions, page)
    return await seen(subject, runtime, "node.demand.sales.read", found, lambda r: r.brand_org)
