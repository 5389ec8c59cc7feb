"""Sales from a brand's data product at the hub: the third way a brand's sales reach the node,
beside uploads and GraphQL increments.

The brand publishes its sales at the hub's data exchange (a product whose fields include sku,
date and quantity, and optionally channel and region) and offers it to the node's operator
organization; the operator requests it, and once the contract is finalized the operator (or
the brand) subscribes the node's demand domain to it. From then on the node pulls the agreed
rows with its own hub credentials, page by page through the hub's governed query, so the hub
checks the agreement (finalized, not expired or terminated, the agreed fields) and audits each
page; the node audits each pull too.

A pull is checked as an upload is (every problem named by its row in the pull, nothing stored
when one row is bad) and is idempotent: rows already pulled with the same quantity are left as
they are, rows the brand corrected at the hub are corrected here, new rows are imported as one
import of the feed. A row that collides with sales imported another way (an upload) is refused.
Rows the brand deletes at the hub stay here: sales are history, corrected rather than removed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.demand import sales
from regional_node.demand.errors import FeedNotFound, FeedRefused, SalesInvalid
from regional_node.demand.models import (
    FeedStatus,
    SalesFeed,
    SalesImport,
    SalesRecord,
)
from regional_node.demand.repository import FeedRepository, SalesRepository, SkuRepository
from regional_node.demand.service import brand_of, brand_resource, brands_view, seen
from regional_node.hub_link.client import HubClient, HubError
from regional_node.runtime import NodeRuntime
from yunfab.db import utcnow
from yunfab.errors import Conflict, InvalidInput, YunfabError
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject, SubjectKind, canonical_org_id

PAGE = 1000
"""Rows asked of the hub at a time (its governed query's largest page)."""
MAX_PULL_ROWS = sales.MAX_ROWS
MIN_EVERY_MINUTES = 5
MAX_EVERY_MINUTES = 7 * 24 * 60
FEED_SUBJECT = Subject(kind=SubjectKind.SYSTEM, id="demand-sales-feed")
"""Who pulls in the background: the node itself, on the operator's subscription."""

CONTRACT = """
query($id: UUID!) {
  dataContract(id: $id) {
    id status expiresAt consumerOrganizationId providerOrganizationId termsHash
    terms { fields }
    product { id key title publisherOrganizationId schema { name type role } }
  }
}
"""
ROWS = """
query($id: UUID!, $q: DataQueryInput!) {
  governedData(contractId: $id, query: $q) {
    columns rows totalCount snapshot hasNextPage endCursor termsHash
  }
}
"""
SALES_COLUMNS = ("sku", "date", "quantity", "channel", "region")


@dataclass(frozen=True)
class PullOutcome:
    """What a pull did. `error` is set when nothing was imported (the hub refused, or a row
    did not pass): the feed records it all the same."""

    feed: SalesFeed
    sales_import: SalesImport | None = None
    rows: int = 0
    added: int = 0
    corrected: int = 0
    unchanged: int = 0
    error: YunfabError | None = None


def _refused(exc: HubError) -> FeedRefused:
    return FeedRefused(str(exc), hub_code=exc.code)


def _columns(product: dict[str, Any], agreed: list[str] | None) -> dict[str, str]:
    """Which of the product's fields hold which sales column (the upload's header names, any
    case); only fields the agreement gives count."""
    found: dict[str, str] = {}
    for spec in product.get("schema") or []:
        name = str(spec.get("name", ""))
        if agreed is not None and name not in agreed:
            continue
        column = sales.COLUMNS.get(name.lower())
        if column is not None and column not in found:
            found[column] = name
    missing = [c for c in sales.REQUIRED if c not in found]
    if missing:
        raise InvalidInput(
            f"contractId: the agreed fields of {product.get('key')!r} lack "
            + ", ".join(missing)
            + " (a sales product needs sku, date and quantity; channel and region are optional)"
        )
    return found


async def subscribe(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, hub: HubClient,
    brand: str | None, contract_id: uuid.UUID, every_minutes: int | None,
) -> SalesFeed:  # fmt: skip
    """Take a brand's sales product in under an agreement the node's operator organization
    holds at the hub: checked with the hub (finalized, the brand's, fields enough) first."""
    owner = brand_of(subject, brand)
    await runtime.authorizer.check(subject, "node.demand.sales.write", brand_resource(owner))
    if every_minutes is not None and not MIN_EVERY_MINUTES <= every_minutes <= MAX_EVERY_MINUTES:
        raise InvalidInput(
            f"everyMinutes: {MIN_EVERY_MINUTES} to {MAX_EVERY_MINUTES}, or none to pull on request"
        )
    known = await FeedRepository(session).by_contract(contract_id)
    if known is not None:
        raise Conflict(f"contractId: the node already takes {contract_id} in (feed {known.id})")
    try:
        contract = (await hub.graphql(CONTRACT, {"id": str(contract_id)}))["dataContract"]
    except HubError as exc:
        raise _refused(exc) from exc
    product = contract.get("product") or {}
    if contract["status"] != "FINALIZED":
        raise FeedRefused(
            f"contractId: the agreement is {str(contract['status']).lower()}, not finalized"
        )
    if canonical_org_id(str(contract["providerOrganizationId"])) != owner:
        raise InvalidInput(
            f"contractId: the product is {contract['providerOrganizationId']}'s, not the brand's"
        )
    columns = _columns(product, (contract.get("terms") or {}).get("fields"))
    feed = SalesFeed(
        brand_org=owner,
        contract_id=contract_id,
        product_id=uuid.UUID(str(product["id"])),
        product_key=str(product["key"])[:63],
        product_title=str(product.get("title") or product["key"])[:200],
        columns=columns,
        every_minutes=every_minutes,
        status=FeedStatus.ACTIVE,
        last_counts={},
        created_by=subject.label,
    )
    session.add(feed)
    await session.flush()
    await append_entry(
        session, actor=subject, action="node.demand.sales.feed.subscribe",
        resource=f"brand:{owner}", outcome="ok",
        detail={"feed": str(feed.id), "contract": str(contract_id), "product": feed.product_key,
                "terms_hash": contract.get("termsHash")},
    )  # fmt: skip
    return feed


async def _feed(
    session: AsyncSession, subject: Subject, runtime: NodeRuntime, feed_id: uuid.UUID
) -> SalesFeed:
    feed = await FeedRepository(session).get(feed_id)
    # Who may not read the brand's sales is told SALES_FEED_NOT_FOUND, as for an unknown id.
    await runtime.authorizer.check_found(
        subject, "node.demand.sales.write",
        None if feed is None else brand_resource(feed.brand_org),
        read="node.demand.sales.read", missing=FeedNotFound(f"no sales feed {feed_id}"),
    )  # fmt: skip
    assert feed is not None
    return feed


async def stop(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, feed_id: uuid.UUID
) -> SalesFeed:
    """No more pulls; what was imported stays. The agreement at the hub is the parties' to end."""
    feed = await _feed(session, subject, runtime, feed_id)
    feed.status = FeedStatus.STOPPED
    await session.flush()
    await append_entry(
        session, actor=subject, action="node.demand.sales.feed.stop",
        resource=f"brand:{feed.brand_org}", outcome="ok",
        detail={"feed": str(feed.id), "contract": str(feed.contract_id)},
    )  # fmt: skip
    return feed


async def list_feeds(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, brand: str | None,
    page: PageRequest,
) -> Page[SalesFeed]:  # fmt: skip
    """Newest first."""
    conditions = await brands_view(
        subject, runtime, brand, SalesFeed.brand_org, "node.demand.sales.read"
    )
    found = await FeedRepository(session).page(conditions, page)
    return await seen(subject, runtime, "node.demand.sales.read", found, lambda r: r.brand_org)


async def due(session: AsyncSession, *, now: dt.datetime) -> list[uuid.UUID]:
    """Active feeds pulled in the background whose time has come."""
    found = await FeedRepository(session).background()
    return [
        f.id
        for f in found
        if f.last_pull_at is None
        or f.last_pull_at + dt.timedelta(minutes=f.every_minutes or 0) <= now
    ]


async def _read_rows(hub: HubClient, feed: SalesFeed) -> tuple[list[dict[str, Any]], str | None]:
    """Every agreed row, page by page, and the agreement's terms hash; the product must not
    start a new snapshot in the middle."""
    fields = list(feed.columns.values())
    rows: list[dict[str, Any]] = []
    after: str | None = None
    snapshot: object = ...
    terms_hash: str | None = None
    while True:
        query: dict[str, Any] = {"fields": fields, "first": PAGE}
        if after is not None:
            query["after"] = after
        page = (await hub.graphql(ROWS, {"id": str(feed.contract_id), "q": query}))["governedData"]
        if snapshot is not ... and page["snapshot"] != snapshot:
            raise HubError(
                "the product was replaced while it was read: pull again", retryable=True,
                code="snapshot_changed",
            )  # fmt: skip
        snapshot, terms_hash = page["snapshot"], page.get("termsHash")
        rows += page["rows"]
        if len(rows) > MAX_PULL_ROWS:
            raise HubError(
                f"the product holds more than {MAX_PULL_ROWS} rows: a feed takes at most that",
                retryable=False, code="too_many_rows",
            )  # fmt: skip
        if not page["hasNextPage"]:
            return rows, terms_hash
        after = page["endCursor"]


def _raw(rows: list[dict[str, Any]], columns: dict[str, str]) -> list[sales.RawRow]:
    """Rows numbered from 1 in the order the hub gives them (its row key order)."""
    return [
        sales.RawRow(
            row=number,
            sku=row.get(columns["sku"]),
            date=row.get(columns["date"]),
            quantity=row.get(columns["quantity"]),
            channel=row.get(columns["channel"]) if "channel" in columns else None,
            region=row.get(columns["region"]) if "region" in columns else None,
        )
        for number, row in enumerate(rows, start=1)
    ]


async def pull(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, hub: HubClient,
    feed_id: uuid.UUID,
) -> PullOutcome:  # fmt: skip
    """Read the feed's rows at the hub under its agreement and import what is new or changed.
    A refusal (by the hub, or a row that does not pass) is recorded on the feed and audited,
    and comes back as the outcome's error with nothing imported."""
    feed = await _feed(session, subject, runtime, feed_id)
    if feed.status is not FeedStatus.ACTIVE:
        raise Conflict(f"sales feed {feed.id} is stopped")
    detail: dict[str, Any] = {
        "feed": str(feed.id), "contract": str(feed.contract_id), "product": feed.product_key,
    }  # fmt: skip
    feed.last_pull_at = utcnow()

    async def refuse(error: YunfabError, outcome: str, **more: Any) -> PullOutcome:
        feed.last_outcome, feed.last_message = outcome, error.detail[:2000]
        feed.last_counts = {}
        await session.flush()
        await append_entry(
            session, actor=subject, action="node.demand.sales.pull",
            resource=f"brand:{feed.brand_org}", outcome="deny",
            detail={**detail, "reason": outcome, "message": error.detail[:500], **more},
        )  # fmt: skip
        return PullOutcome(feed=feed, error=error)

    try:
        found, terms_hash = await _read_rows(hub, feed)
    except HubError as exc:
        return await refuse(_refused(exc), "refused", code=exc.code)
    detail["terms_hash"] = terms_hash
    if not found:
        feed.last_outcome, feed.last_message = "ok", "no rows at the hub"
        feed.last_counts = {"rows": 0, "added": 0, "corrected": 0, "unchanged": 0}
        await session.flush()
        await append_entry(
            session, actor=subject, action="node.demand.sales.pull",
            resource=f"brand:{feed.brand_org}", outcome="ok", detail={**detail, "rows": 0},
        )  # fmt: skip
        return PullOutcome(feed=feed)
    rows = _raw(found, feed.columns)
    skus = {sku.code: sku.id for sku in await SkuRepository(session).of_brand(feed.brand_org)}
    days = [d for d in (sales.parse_date(r.date) for r in rows) if d is not None]
    mine = await FeedRepository(session).pulled(feed.id)
    repository = SalesRepository(session)
    elsewhere = (
        await repository.existing_keys(set(skus.values()), min(days), max(days)) if days else set()
    ) - set(mine)
    try:
        good = sales.check(rows, skus, elsewhere, today=utcnow().date())
    except SalesInvalid as exc:
        return await refuse(exc, "invalid", problems=len(exc.extra.get("problems", [])))
    new = [s for s in good if s.key not in mine]
    corrected = unchanged = 0
    for sale in good:
        known = mine.get(sale.key)
        if known is None:
            continue
        if known.quantity == sale.quantity:
            unchanged += 1
        else:
            known.quantity = sale.quantity
            corrected += 1
    record: SalesImport | None = None
    if new:
        record = SalesImport(
            brand_org=feed.brand_org, source=f"hub: {feed.product_key}"[:200], rows=len(new),
            first_day=min(s.day for s in new), last_day=max(s.day for s in new), warnings=[],
            feed_id=feed.id, created_by=subject.label,
        )  # fmt: skip
        await repository.add(record, [])  # its id, for its rows
        await repository.add(
            record,
            [
                SalesRecord(
                    sku_id=s.sku_id, import_id=record.id, day=s.day, channel=s.channel,
                    region=s.region, quantity=s.quantity,
                )
                for s in new
            ],
        )  # fmt: skip
        names = {sku_id: code for code, sku_id in skus.items()}
        touched = {s.sku_id for s in new}
        record.warnings = sales.gaps(
            ((sku_id, day) for sku_id, day in await repository.days(touched)), names
        )
    counts = {"rows": len(good), "added": len(new), "corrected": corrected, "unchanged": unchanged}
    feed.last_outcome, feed.last_counts = "ok", counts
    feed.last_message = None
    await session.flush()
    await append_entry(
        session, actor=subject, action="node.demand.sales.pull",
        resource=f"brand:{feed.brand_org}", outcome="ok", detail={**detail, **counts},
    )  # fmt: skip
    return PullOutcome(
        feed=feed, sales_import=record, rows=len(good), added=len(new), corrected=corrected,
        unchanged=unchanged,
    )  # fmt: skip
