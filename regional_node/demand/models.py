"""C2M demand on a node: brands' configurable products and SKUs, their sales, forecasts made
from them, and the production proposals those forecasts lead to."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class DemandProduct(Base):
    """A brand's configurable product: options whose values map to routing changes and bill of
    materials lines, made on a base routing of the orders domain."""

    __tablename__ = "demand_products"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    brand_org: Mapped[str] = mapped_column(String(64), index=True)
    """The brand: a buyer organization at the hub."""
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    base_product: Mapped[str] = mapped_column(String(63))
    """The product of the routing its SKUs are made on (variants change it)."""
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """Validated, see `regional_node.demand.configuration`."""
    bom: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """The base bill of materials per unit."""
    min_lot: Mapped[int] = mapped_column(Integer, default=1)
    lot_multiple: Mapped[int] = mapped_column(Integer, default=1)
    service_level: Mapped[float] = mapped_column(Float, default=0.9)
    """The forecast quantile proposals cover (one of the forecasts' quantiles)."""
    frozen_weeks: Mapped[int] = mapped_column(Integer, default=2)
    """Weeks from the plan's date within which open proposals do not change on a re-plan."""
    auto_accept_up_to: Mapped[int | None] = mapped_column(Integer)
    """The operator's rule: proposals up to this quantity are accepted as they are made."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DemandSku(Base):
    """A product with one value chosen for each of its options."""

    __tablename__ = "demand_skus"
    __table_args__ = (UniqueConstraint("brand_org", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    product_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("demand_products.id"), index=True
    )
    brand_org: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    """The brand's own SKU code, as its sales data names it."""
    options: Mapped[dict[str, str]] = mapped_column(JSON)
    variant: Mapped[str] = mapped_column(String(16))
    """The routing variant (`configuration.Choice.variant`): "" for the base routing."""
    stock_on_hand: Mapped[float] = mapped_column(Float, default=0.0)
    """What the brand says it holds, netted against the forecast."""
    stock_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SalesImport(Base):
    """One accepted upload (or increment) of sales: every row of it, or none, was stored."""

    __tablename__ = "demand_sales_imports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    brand_org: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(Integer)
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Gaps in a SKU's history and the like: stored, but worth a look."""
    feed_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("demand_sales_feeds.id"), index=True
    )
    """The hub data product it was pulled from, if it was: later pulls may correct its rows."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedStatus(enum.StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"


class SalesFeed(Base):
    """A brand's sales data product at the hub that this node's demand domain takes in, under
    an agreement (a finalized contract) between the node's operator organization and the brand:
    the node pulls the agreed rows with its own credentials and imports what is new."""

    __tablename__ = "demand_sales_feeds"
    __table_args__ = (UniqueConstraint("contract_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    brand_org: Mapped[str] = mapped_column(String(64), index=True)
    contract_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    """The agreement at the hub."""
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    """The brand's data product at the hub."""
    product_key: Mapped[str] = mapped_column(String(63))
    product_title: Mapped[str] = mapped_column(String(200))
    columns: Mapped[dict[str, str]] = mapped_column(JSON)
    """Sales column (sku, date, quantity, channel, region) -> the product's field."""
    every_minutes: Mapped[int | None] = mapped_column(Integer)
    """Pulled in the background this often; None: only when asked."""
    status: Mapped[FeedStatus] = mapped_column(str_enum(FeedStatus, 16), default=FeedStatus.ACTIVE)
    last_pull_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    """ok, refused (the hub said no) or invalid (rows refused by the import's checks)."""
    last_message: Mapped[str | None] = mapped_column(String(2000))
    last_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    """rows read, added, corrected, unchanged."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SalesRecord(Base):
    """Units of a SKU sold (negative: returned) on a day or in the week starting that day, in a
    channel and region ("" when not given)."""

    __tablename__ = "demand_sales"
    __table_args__ = (UniqueConstraint("sku_id", "day", "channel", "region"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    sku_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("demand_skus.id"))
    import_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("demand_sales_imports.id"), index=True
    )
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    channel: Mapped[str] = mapped_column(String(32), default="")
    region: Mapped[str] = mapped_column(String(32), default="")
    quantity: Mapped[float] = mapped_column(Float)


class ForecastRun(Base):
    """One forecast of a brand's weekly sales: every SKU, product and the brand's total,
    reconciled so that SKUs add up to their product and products to the total."""

    __tablename__ = "demand_forecast_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    brand_org: Mapped[str] = mapped_column(String(64), index=True)
    horizon: Mapped[int] = mapped_column(Integer)
    freq: Mapped[str] = mapped_column(String(16))
    season_length: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    quantiles: Mapped[list[float]] = mapped_column(JSON)
    history_start: Mapped[dt.date] = mapped_column(Date)
    history_end: Mapped[dt.date] = mapped_column(Date)
    """The last week of history: the forecast starts the week after."""
    skus: Mapped[int] = mapped_column(Integer)
    chosen: Mapped[dict[str, str]] = mapped_column(JSON)
    """Series id -> the model chosen for it by cross-validation."""
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the forecaster reports beside the numbers: the reconciliation method, weeks filled
    with zero sales, returns left out of demand, the series' demand classes."""
    elapsed_s: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ForecastLevel(enum.StrEnum):
    TOTAL = "total"
    PRODUCT = "product"
    SKU = "sku"
    REGION = "region"
    """A SKU in one region (`<product>/<sku code>/<region>`), where the brand's sales name
    regions."""
    CHANNEL = "channel"
    """A SKU in one sales channel (`<product>/<sku code>/<channel>`), in a forecast made by
    channel."""


class ForecastPoint(Base):
    """One series' forecast for one week: the mean, quantiles and the 90% interval."""

    __tablename__ = "demand_forecast_points"

    run_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("demand_forecast_runs.id", ondelete="CASCADE"), primary_key=True
    )
    series: Mapped[str] = mapped_column(String(200), primary_key=True)
    """`total`, a product's slug, or `<product>/<sku code>`."""
    week: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    level: Mapped[ForecastLevel] = mapped_column(str_enum(ForecastLevel))
    product_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    sku_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    mean: Mapped[float] = mapped_column(Float)
    q50: Mapped[float] = mapped_column(Float)
    q80: Mapped[float] = mapped_column(Float)
    q90: Mapped[float] = mapped_column(Float)
    q95: Mapped[float] = mapped_column(Float)
    lo90: Mapped[float] = mapped_column(Float)
    hi90: Mapped[float] = mapped_column(Float)


class ProposalStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    """A later plan replaced it (outside the frozen horizon)."""


class DemandPlan(Base):
    """Net requirements worked out from a forecast: the proposals it made and, against the
    proposals open before it, what moved."""

    __tablename__ = "demand_plans"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    brand_org: Mapped[str] = mapped_column(String(64), index=True)
    forecast_run_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("demand_forecast_runs.id"))
    as_of: Mapped[dt.date] = mapped_column(Date)
    frozen_until: Mapped[dt.date] = mapped_column(Date)
    """Proposals for weeks before this day were kept as they were (per product; the latest)."""
    effect: Mapped[dict[str, Any]] = mapped_column(JSON)
    """What moved against the open proposals before it: `moves`, `kept_frozen`, totals."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProductionProposal(Base):
    """Units of a SKU to have made by a week: the net requirement, rounded up to a lot."""

    __tablename__ = "demand_proposals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    brand_org: Mapped[str] = mapped_column(String(64), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("demand_plans.id"), index=True)
    sku_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("demand_skus.id"), index=True)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("demand_products.id"))
    variant: Mapped[str] = mapped_column(String(16))
    week: Mapped[dt.date] = mapped_column(Date)
    """The week the units are needed in (its Monday): the order's due date is the day before."""
    release: Mapped[dt.date] = mapped_column(Date)
    """When production must start: the week less the routing's lead time."""
    lead_time_days: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    requirement: Mapped[float] = mapped_column(Float)
    """The net requirement before lot sizing."""
    demand: Mapped[float] = mapped_column(Float)
    """The forecast's mean for the week."""
    safety: Mapped[float] = mapped_column(Float)
    """The quantile at the service level less the mean: the week's safety stock."""
    stock: Mapped[float] = mapped_column(Float)
    """Projected stock at the start of the week (on hand, open production, earlier proposals,
    less the demand before it)."""
    service_level: Mapped[float] = mapped_column(Float)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    """Kept from an earlier plan: inside the frozen horizon."""
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    """Its release date had passed when it was proposed."""
    status: Mapped[ProposalStatus] = mapped_column(
        str_enum(ProposalStatus), default=ProposalStatus.PROPOSED, index=True
    )
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("orders.id"))
    """The production lot's order, once accepted."""
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
