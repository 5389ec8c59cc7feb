"""The data exchange: catalog, offers, contract negotiation, sync of rows from publishers, and
governed queries.

Who may do what is the policy's (policies/hub_exchange.rego); which terms a request or a query
breaks is the policy's too (`contract_decision`, `query_violations`), so the refusal can name
the term. Every governed query, answered or refused, is written to the hub's audit chain.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.data_exchange import disclosure
from hub.data_exchange import query as engine
from hub.data_exchange.errors import (
    ContractNotFound,
    DataProductNotFound,
    InvalidTransition,
    OfferNotFound,
    PolicyUnavailable,
    SyncGap,
    TermViolated,
)
from hub.data_exchange.models import (
    Contract,
    ContractState,
    DataProduct,
    DataRow,
    Offer,
    OfferStatus,
)
from hub.data_exchange.repository import CatalogFilter, ExchangeRepository
from yunfab.authorization import Authorizer
from yunfab.db import utcnow
from yunfab.errors import Conflict, InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.policy import PolicyEngine
from yunfab.subject import Subject
from yunfab.usage_policy import (
    FieldRole,
    FieldSpec,
    ProductDefinition,
    Purpose,
    UsagePolicy,
    canonical_hash,
    field_of_role,
    validate_row,
)

log = structlog.get_logger(__name__)

MAX_BATCH_ROWS = 5000
AuditSink = Callable[..., Awaitable[Any]]


def schema_of(product: DataProduct) -> list[FieldSpec]:
    return [FieldSpec.model_validate(f) for f in product.fields]


# --- catalog ------------------------------------------------------------------------------


async def publish_product(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    key: str,
    definition: ProductDefinition,
) -> DataProduct:
    """Create or update the caller's product `key`, and add the offers it brings. A changed
    schema starts the rows over: the publisher is told (sync seq 0) to send a snapshot."""
    await authorizer.check(subject, "hub.exchange.product.publish", {"org": subject.org_id})
    assert subject.org_id is not None  # the policy allows only subjects of an organization
    repository = ExchangeRepository(session)
    product = await repository.product_of(subject.org_id, key)
    now = utcnow()
    fields = [f.model_dump(mode="json") for f in definition.fields]
    if product is None:
        product = DataProduct(
            publisher_org=subject.org_id, key=key, fields=fields, created_at=now, sync_seq=0
        )
        repository.add(product)
    elif product.fields != fields:
        await repository.delete_rows(product.id)
        product.fields, product.sync_seq, product.live_snapshot = fields, 0, None
        product.row_count, product.data_updated_at = 0, None
        log.info("data_product_schema_changed", product=key, org=subject.org_id)
    product.node = subject.node
    product.title = definition.title
    product.description = definition.description
    product.region = definition.region
    product.industry = definition.industry
    product.update_frequency = definition.update_frequency.value
    product.sample = definition.sample
    product.live = definition.live
    product.updated_at = now
    await repository.flush()
    for policy in definition.offers:
        await _add_offer(session, product, policy)
    return product


async def _add_offer(session: AsyncSession, product: DataProduct, policy: UsagePolicy) -> Offer:
    document = policy.document()
    digest = canonical_hash(document)
    repository = ExchangeRepository(session)
    offer = await repository.offer_with_policy(product.id, digest)
    if offer is None:
        offer = Offer(product_id=product.id, policy=document, policy_hash=digest)
        repository.add(offer)
        await repository.flush()
    return offer


async def search_catalog(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    page: PageRequest,
    search: str | None = None,
    region: str | None = None,
    industry: str | None = None,
    node: str | None = None,
    publisher: str | None = None,
    field_name: str | None = None,
) -> Page[DataProduct]:
    await authorizer.check(subject, "hub.exchange.catalog.read")
    catalog = CatalogFilter(search, region, industry, node, publisher, field_name)
    return await ExchangeRepository(session).catalog_page(catalog, page)


@dataclass(frozen=True)
class CatalogFacets:
    """How many products match per value, over everything the filters let through."""

    industry: dict[str, int]
    region: dict[str, int]
    fields: dict[str, int]
    """Per field name in the products' schemas."""


MAX_FIELD_FACETS = 100


async def catalog_facets(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    search: str | None = None,
    region: str | None = None,
    industry: str | None = None,
    node: str | None = None,
    publisher: str | None = None,
    field_name: str | None = None,
) -> CatalogFacets:
    await authorizer.check(subject, "hub.exchange.catalog.read")
    catalog = CatalogFilter(search, region, industry, node, publisher, field_name)
    industries, regions, schemas = await ExchangeRepository(session).catalog_counts(catalog)
    fields: dict[str, int] = {}
    for schema in schemas:
        for name in {f.get("name") for f in schema}:
            if isinstance(name, str):
                fields[name] = fields.get(name, 0) + 1
    # The most common fields: a catalog of many schemas would otherwise list every name.
    common = sorted(fields.items(), key=lambda item: (-item[1], item[0]))[:MAX_FIELD_FACETS]
    return CatalogFacets(industry=industries, region=regions, fields=dict(common))


async def get_product(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, product_id: uuid.UUID
) -> DataProduct:
    await authorizer.check(subject, "hub.exchange.catalog.read")
    product = await ExchangeRepository(session).product(product_id)
    if product is None:
        raise DataProductNotFound(f"no data product {product_id}")
    return product


async def products_by_id(
    session: AsyncSession, product_ids: Sequence[uuid.UUID]
) -> list[DataProduct]:
    """Products named by contracts their parties read (they read the catalog too)."""
    if not product_ids:
        return []
    return await ExchangeRepository(session).products_by_id(product_ids)


async def offers_of(session: AsyncSession, product_ids: Sequence[uuid.UUID]) -> list[Offer]:
    """Active offers of these products, oldest first (the catalog shows them with the product)."""
    if not product_ids:
        return []
    return await ExchangeRepository(session).active_offers_of(product_ids)


async def publish_offer(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    product_id: uuid.UUID,
    policy: UsagePolicy,
) -> Offer:
    product = await ExchangeRepository(session).product(product_id)
    if product is None:
        raise DataProductNotFound(f"no data product {product_id}")
    await authorizer.check(subject, "hub.exchange.offer.publish", {"org": product.publisher_org})
    try:
        policy.check_against(schema_of(product))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    offer = await _add_offer(session, product, policy)
    if offer.status is OfferStatus.WITHDRAWN:
        raise Conflict("this policy was offered before and withdrawn: change a term to offer anew")
    return offer


async def withdraw_offer(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, offer_id: uuid.UUID
) -> Offer:
    """No new contracts on it; agreements already made run to their end (or are terminated)."""
    repository = ExchangeRepository(session)
    offer = await repository.offer(offer_id, for_update=True)
    product = await repository.product(offer.product_id) if offer else None
    if offer is None or product is None:
        raise OfferNotFound(f"no offer {offer_id}")
    await authorizer.check(subject, "hub.exchange.offer.publish", {"org": product.publisher_org})
    if offer.status is OfferStatus.ACTIVE:
        offer.status, offer.withdrawn_at = OfferStatus.WITHDRAWN, utcnow()
    return offer


# --- sync from publishers -----------------------------------------------------------------


@dataclass(frozen=True)
class Upsert:
    key: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Batch:
    seq: int
    kind: str
    """"snapshot" or "increment"."""
    snapshot: int | None = None
    last: bool = False
    upserts: list[Upsert] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Applied:
    seq: int
    applied: bool


async def own_product(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, key: str
) -> DataProduct:
    await authorizer.check(subject, "hub.exchange.product.publish", {"org": subject.org_id})
    product = await ExchangeRepository(session).product_of(subject.org_id, key)
    if product is None:
        raise DataProductNotFound(f"no data product {key!r} of yours: PUT it first")
    return product


async def apply_batch(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, key: str, batch: Batch
) -> Applied:
    """Apply one batch in order. A batch already applied is acknowledged again and changes
    nothing (a resend after a cut connection); one that skips ahead is refused with the seq
    expected. A snapshot's chunks stay invisible until its last chunk arrives."""
    product = await own_product(session, subject, authorizer=authorizer, key=key)
    if batch.seq <= product.sync_seq:
        return Applied(seq=product.sync_seq, applied=False)
    expected = product.sync_seq + 1
    if batch.seq != expected:
        raise SyncGap(
            f"batch {batch.seq} skips ahead: the hub has applied up to {product.sync_seq}",
            expected=expected,
        )
    if len(batch.upserts) + len(batch.deletes) > MAX_BATCH_ROWS:
        raise InvalidInput(f"at most {MAX_BATCH_ROWS} upserts and deletes in one batch")
    schema = schema_of(product)
    rows: dict[str, DataRow] = {}
    region_field = field_of_role(schema, FieldRole.REGION)
    contributor_field = field_of_role(schema, FieldRole.CONTRIBUTOR)
    for upsert in batch.upserts:
        try:
            validate_row(schema, upsert.data)
        except ValueError as exc:
            raise InvalidInput(f"row {upsert.key!r}: {exc}") from exc
        region = upsert.data.get(region_field.name) if region_field else None
        contributor = upsert.data.get(contributor_field.name) if contributor_field else None
        rows[upsert.key] = DataRow(
            product_id=product.id,
            key=upsert.key,
            region=str(region) if region is not None else product.region,
            contributor=str(contributor) if contributor is not None else None,
            data=upsert.data,
            seq=batch.seq,
        )
    if batch.kind == "snapshot":
        await _apply_snapshot_chunk(session, product, batch, rows)
    elif batch.kind == "increment":
        await _apply_increment(session, product, batch, rows)
    else:
        raise InvalidInput("kind must be snapshot or increment")
    product.sync_seq = batch.seq
    product.data_updated_at = utcnow()
    if product.live_snapshot is not None:
        product.row_count = await ExchangeRepository(session).snapshot_row_count(
            product.id, product.live_snapshot
        )
    return Applied(seq=batch.seq, applied=True)


async def _staging(session: AsyncSession, product: DataProduct) -> int | None:
    """The snapshot being staged, if any: rows newer than the live snapshot."""
    return await ExchangeRepository(session).newest_snapshot_after(
        product.id, product.live_snapshot
    )


async def _apply_snapshot_chunk(
    session: AsyncSession, product: DataProduct, batch: Batch, rows: dict[str, DataRow]
) -> None:
    if batch.deletes:
        raise InvalidInput("a snapshot carries rows only: its rows replace all others")
    if batch.snapshot is None or batch.snapshot > batch.seq:
        raise InvalidInput("snapshot: the snapshot's id is the seq of its first chunk")
    if batch.snapshot == batch.seq:
        # A new snapshot: whatever an abandoned one staged goes.
        await ExchangeRepository(session).delete_rows_outside(product.id, product.live_snapshot)
    elif await _staging(session, product) != batch.snapshot:
        raise InvalidInput(
            f"chunk of snapshot {batch.snapshot}, which is not being staged: start it again"
        )
    for row in rows.values():
        row.snapshot = batch.snapshot
    await _replace(session, product.id, batch.snapshot, rows)
    if batch.last:
        if product.live_snapshot is not None:
            await ExchangeRepository(session).delete_snapshot(product.id, product.live_snapshot)
        product.live_snapshot = batch.snapshot


async def _apply_increment(
    session: AsyncSession, product: DataProduct, batch: Batch, rows: dict[str, DataRow]
) -> None:
    if product.live_snapshot is None:
        raise InvalidInput("no snapshot yet: the first batch of a product is a snapshot")
    if await _staging(session, product) is not None:
        raise InvalidInput("a snapshot is being staged: send its remaining chunks first")
    snapshot = product.live_snapshot
    for row in rows.values():
        row.snapshot = snapshot
    await ExchangeRepository(session).delete_rows_with_keys(product.id, snapshot, batch.deletes)
    await _replace(session, product.id, snapshot, rows)


async def _replace(
    session: AsyncSession, product_id: uuid.UUID, snapshot: int, rows: dict[str, DataRow]
) -> None:
    repository = ExchangeRepository(session)
    await repository.delete_rows_with_keys(product_id, snapshot, list(rows))
    repository.add_all(rows.values())
    await repository.flush()


# --- contracts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractRequest:
    purpose: Purpose
    fields: list[str] | None = None
    regions: list[str] | None = None
    accept_terms: bool = True
    """Agree in advance to terms that are the offer's narrowed to this request, so an offer that
    the policy approves is finalized in one step."""


def _epoch(when: dt.datetime | None) -> float | None:
    return when.timestamp() if when is not None else None


def _step(contract: Contract, state: ContractState, by: str, note: str = "") -> None:
    now = utcnow()
    contract.state, contract.updated_at = state, now
    contract.history = [
        *contract.history,
        {"state": state.value, "at": now.isoformat(), "by": by, **({"note": note} if note else {})},
    ]


def _terms(
    product: DataProduct, offer: Offer, policy: UsagePolicy, contract: Contract
) -> dict[str, Any]:
    request = contract.request
    fields = request.get("fields") or policy.fields or [f["name"] for f in product.fields]
    return {
        "product": str(product.id),
        "product_key": product.key,
        "offer": str(offer.id),
        "offer_hash": offer.policy_hash,
        "provider_org": product.publisher_org,
        "consumer_org": contract.consumer_org,
        "purpose": contract.purpose,
        "fields": sorted(fields),
        "regions": sorted(request.get("regions") or policy.regions or []) or None,
        "aggregation": policy.aggregation.model_dump() if policy.aggregation else None,
        "retention_days": policy.retention_days,
        "contract_days": policy.contract_days,
        "onward_sharing": policy.onward_sharing,
        "fresh_data": policy.fresh_data,
    }


def _finalize(contract: Contract, policy: UsagePolicy, by: str) -> None:
    now = utcnow()
    expires = now + dt.timedelta(days=policy.contract_days)
    if policy.expires_at is not None:
        expires = min(expires, policy.expires_at)
    assert contract.terms is not None
    contract.terms = {**contract.terms, "expires_at": expires.isoformat()}
    contract.terms_hash = canonical_hash(contract.terms)
    contract.finalized_at, contract.expires_at = now, expires
    _step(contract, ContractState.FINALIZED, by)


async def _policy(policy_engine: PolicyEngine, rule: str, document: dict[str, Any]) -> Any:
    try:
        return await policy_engine.decide(rule, document)
    except Exception as exc:  # deny by default: no answer is no
        log.exception("policy_error", rule=rule)
        raise PolicyUnavailable("the policy engine could not decide; nothing was done") from exc


async def request_contract(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    policy_engine: PolicyEngine,
    offer_id: uuid.UUID,
    request: ContractRequest,
) -> Contract:
    """Ask for an agreement on an offer. The policy refuses a request outside the offer (naming
    the term), approves it at once where the offer says approval is automatic, or leaves it to
    the provider."""
    await authorizer.check(subject, "hub.exchange.contract.request")
    repository = ExchangeRepository(session)
    offer = await repository.offer(offer_id)
    product = await repository.product(offer.product_id) if offer else None
    if offer is None or product is None:
        raise OfferNotFound(f"no offer {offer_id}")
    policy = UsagePolicy.model_validate(offer.policy)
    names = {f["name"] for f in product.fields}
    unknown = sorted(set(request.fields or []) - names)
    if unknown:
        raise InvalidInput(f"fields: not in the product's schema: {', '.join(unknown)}")
    asked = {
        "purpose": request.purpose.value,
        "fields": sorted(request.fields or policy.fields or names),
        "regions": sorted(request.regions or []),
    }
    decision = await _policy(
        policy_engine,
        "contract_decision",
        {
            "subject": subject.policy_input(),
            "offer": {
                "status": offer.status.value,
                "expires_at": _epoch(policy.expires_at),
                "provider_org": product.publisher_org,
                "policy": offer.policy,
            },
            "request": asked,
            "now": time.time(),
        },
    )
    violations = sorted(decision.get("violations") or [], key=lambda v: v["term"])
    outcome = decision.get("outcome")
    if violations or outcome not in ("automatic", "provider"):
        first = violations[0] if violations else {"term": "policy", "message": "refused"}
        raise TermViolated(
            f"{first['term']}: {first['message']}",
            term=first["term"],
            terms=[v["term"] for v in violations],
        )
    assert subject.org_id is not None
    contract = Contract(
        offer_id=offer.id,
        product_id=product.id,
        consumer_org=subject.org_id,
        provider_org=product.publisher_org,
        purpose=request.purpose.value,
        request=asked,
        requested_by=subject.label,
        history=[],
    )
    _step(contract, ContractState.REQUESTED, subject.label)
    if outcome == "automatic":
        contract.terms = _terms(product, offer, policy, contract)
        contract.terms_hash = canonical_hash(contract.terms)
        _step(contract, ContractState.OFFERED, "policy", "the offer approves such requests")
        if request.accept_terms:
            _step(contract, ContractState.AGREED, subject.label, "terms accepted with the request")
            _finalize(contract, policy, "policy")
    repository.add(contract)
    await repository.flush()
    return contract


async def _contract(
    session: AsyncSession, contract_id: uuid.UUID
) -> tuple[Contract, Offer, DataProduct]:
    repository = ExchangeRepository(session)
    contract = await repository.contract(contract_id, for_update=True)
    if contract is None:
        raise ContractNotFound(f"no contract {contract_id}")
    offer = await repository.offer(contract.offer_id)
    product = await repository.product(contract.product_id)
    assert offer is not None
    assert product is not None
    return contract, offer, product


def _parties(contract: Contract) -> dict[str, Any]:
    return {
        "org": contract.consumer_org,
        "consumer_org": contract.consumer_org,
        "provider_org": contract.provider_org,
    }


def _expect(contract: Contract, *states: ContractState) -> None:
    if contract.state not in states:
        wanted = " or ".join(s.value for s in states)
        raise InvalidTransition(f"the contract is {contract.state.value}, not {wanted}")


async def offer_contract(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, contract_id: uuid.UUID
) -> Contract:
    """The provider answers a request with the offer's terms narrowed to it."""
    contract, offer, product = await _contract(session, contract_id)
    await authorizer.check(subject, "hub.exchange.contract.decide", _parties(contract))
    _expect(contract, ContractState.REQUESTED)
    if offer.status is not OfferStatus.ACTIVE:
        raise InvalidTransition("the offer was withdrawn since: terminate the request")
    contract.terms = _terms(product, offer, UsagePolicy.model_validate(offer.policy), contract)
    contract.terms_hash = canonical_hash(contract.terms)
    _step(contract, ContractState.OFFERED, subject.label)
    return contract


async def agree_contract(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, contract_id: uuid.UUID
) -> Contract:
    """The consumer accepts the offered terms; an offer approved automatically is finalized at
    once, otherwise the provider finalizes."""
    contract, offer, _ = await _contract(session, contract_id)
    await authorizer.check(subject, "hub.exchange.contract.agree", _parties(contract))
    _expect(contract, ContractState.OFFERED)
    _step(contract, ContractState.AGREED, subject.label)
    policy = UsagePolicy.model_validate(offer.policy)
    if policy.approval == "automatic":
        _finalize(contract, policy, "policy")
    return contract


async def finalize_contract(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, contract_id: uuid.UUID
) -> Contract:
    contract, offer, _ = await _contract(session, contract_id)
    await authorizer.check(subject, "hub.exchange.contract.decide", _parties(contract))
    _expect(contract, ContractState.AGREED)
    _finalize(contract, UsagePolicy.model_validate(offer.policy), subject.label)
    return contract


async def terminate_contract(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    contract_id: uuid.UUID,
    reason: str,
) -> Contract:
    """Either party ends the contract, in any state but terminated; access stops at once (every
    query reads the contract's state)."""
    contract, _, _ = await _contract(session, contract_id)
    await authorizer.check(subject, "hub.exchange.contract.terminate", _parties(contract))
    _expect(
        contract,
        ContractState.REQUESTED,
        ContractState.OFFERED,
        ContractState.AGREED,
        ContractState.FINALIZED,
    )
    if not reason.strip() or len(reason) > 500:
        raise InvalidInput("reason: say why, in at most 500 characters")
    contract.terminated_at, contract.termination_reason = utcnow(), reason.strip()
    _step(contract, ContractState.TERMINATED, subject.label, reason.strip())
    return contract


async def get_contract(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, contract_id: uuid.UUID
) -> Contract:
    contract = await ExchangeRepository(session).contract(contract_id)
    if contract is None:
        raise ContractNotFound(f"no contract {contract_id}")
    if not await authorizer.allows(subject, "hub.exchange.contract.read", _parties(contract)):
        # Someone else's contract is not confirmed to exist.
        raise ContractNotFound(f"no contract {contract_id}")
    return contract


async def list_contracts(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    page: PageRequest,
    as_provider: bool,
    state: ContractState | None = None,
    product_id: uuid.UUID | None = None,
) -> Page[Contract]:
    """The caller's organization's contracts, as consumer or as provider, newest first."""
    await authorizer.check(subject, "hub.exchange.catalog.read")
    return await ExchangeRepository(session).contracts_page(
        subject.org_id or "", page, as_provider=as_provider, state=state, product_id=product_id
    )


# --- queries ------------------------------------------------------------------------------


class LiveSource(Protocol):
    async def rows(self, product: DataProduct) -> list[dict[str, Any]]:
        """The product's rows now, from its publishing node."""
        ...


@dataclass(frozen=True)
class Answer:
    result: engine.Result
    product: DataProduct
    snapshot: int | None
    fresh: bool
    contract: Contract | None = None


@dataclass(frozen=True)
class _Cached:
    rows: list[dict[str, Any]]
    """In key order."""
    by_region: dict[str | None, list[dict[str, Any]]]
    """The same rows per region, each in key order."""
    identities: dict[tuple[str, ...], dict[int, str]] = field(default_factory=dict)
    """Each row's identity for disclosure control (by `id` of the row, which the entry holds),
    per schema, worked out once on the first aggregation-only query."""
    cells: dict[tuple[Any, ...], dict[tuple[int, ...], engine.Cell]] = field(default_factory=dict)
    """The rows behind a figure (identities, contributors and their digest) per schema and
    contributor field, by the `id`s of the group's rows: the same group asked again (the same
    figure, or one of another query over the same rows) is not worked out again."""

    def identity(self, schema: Sequence[FieldSpec]) -> Callable[[dict[str, Any]], str]:
        of = engine.row_identity(schema)
        names = tuple(f.name for f in schema if f.role is not FieldRole.MEASURE)
        known = self.identities.get(names)
        if known is None:
            known = self.identities[names] = {id(row): of(row) for row in self.rows}

        def identity(row: dict[str, Any]) -> str:
            return known.get(id(row)) or of(row)

        return identity

    def cell(
        self, schema: Sequence[FieldSpec], contributor: str | None
    ) -> Callable[[list[dict[str, Any]]], engine.Cell]:
        """`engine.run`'s `cell` for groups of this entry's rows (only: rows are known by their
        `id`, and the entry holds them, so an `id` stays theirs while it is in use)."""
        make = engine.cell_of(self.identity(schema), contributor)
        names = (contributor, *(f.name for f in schema if f.role is not FieldRole.MEASURE))
        known = self.cells.setdefault(names, {})

        def cell(members: list[dict[str, Any]]) -> engine.Cell:
            key = tuple(map(id, members))
            found = known.get(key)
            if found is None:
                if len(known) >= MAX_CACHED_CELLS:
                    known.clear()
                found = known[key] = make(members)
            return found

        return cell


MAX_CACHED_CELLS = 20_000
"""Figures whose rows one cached product keeps worked out, per schema."""


class RowCache:
    """A product's live rows as last read, keyed by how far its sync has gone: any applied batch
    changes the key, so a query never sees rows older than the database's (in any hub process),
    and an unchanged product is not decoded again for every query. Bounded by rows held."""

    def __init__(self, max_rows: int = 250_000) -> None:
        self.max_rows = max_rows
        self._entries: OrderedDict[tuple[Any, ...], _Cached] = OrderedDict()
        self._held = 0

    async def get(self, session: AsyncSession, product: DataProduct) -> _Cached:
        key = (product.id, product.sync_seq, product.live_snapshot, product.data_updated_at)
        cached = self._entries.get(key)
        if cached is not None:
            self._entries.move_to_end(key)
            return cached
        if product.live_snapshot is None:
            return _Cached(rows=[], by_region={})
        found = await ExchangeRepository(session).snapshot_rows(product.id, product.live_snapshot)
        by_region: dict[str | None, list[dict[str, Any]]] = {}
        rows = []
        for region, data in found:
            rows.append(data)
            by_region.setdefault(region, []).append(data)
        cached = _Cached(rows=rows, by_region=by_region)
        for stale in [k for k in self._entries if k[0] == product.id]:
            self._held -= len(self._entries.pop(stale).rows)
        if len(rows) <= self.max_rows:
            self._entries[key] = cached
            self._held += len(rows)
            while self._held > self.max_rows:
                _, evicted = self._entries.popitem(last=False)
                self._held -= len(evicted.rows)
        return cached


ROWS = RowCache()


async def _stored_rows(
    session: AsyncSession, product: DataProduct, regions: list[str] | None
) -> list[dict[str, Any]]:
    """The live rows, or those of some regions only: region by region (in the order of the
    regions), each in key order."""
    return _of_regions(await ROWS.get(session, product), regions)


def _of_regions(cached: _Cached, regions: list[str] | None) -> list[dict[str, Any]]:
    if regions is None:
        return cached.rows
    if len(regions) == 1:
        return cached.by_region.get(regions[0], [])
    return [row for region in sorted(set(regions)) for row in cached.by_region.get(region, [])]


def _in_regions(
    rows: list[dict[str, Any]], product: DataProduct, regions: list[str] | None
) -> list[dict[str, Any]]:
    if regions is None:
        return rows
    region = field_of_role(schema_of(product), FieldRole.REGION)
    allowed = set(regions)
    return [r for r in rows if (r.get(region.name) if region else product.region) in allowed]


async def query_own(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    product_id: uuid.UUID,
    query: engine.DataQuery,
    live: LiveSource | None = None,
) -> Answer:
    """A publisher reading its own product: no agreement, no terms."""
    product = await ExchangeRepository(session).product(product_id)
    if product is None:
        raise DataProductNotFound(f"no data product {product_id}")
    await authorizer.check(subject, "hub.exchange.data.own", {"org": product.publisher_org})
    schema = schema_of(product)
    engine.validate(query, schema)
    if query.fresh and (live is None or not product.live):
        raise InvalidInput("this product's publisher does not answer live queries")
    rows = (
        await live.rows(product)
        if query.fresh and live is not None
        else await _stored_rows(session, product, None)
    )
    visible = [f.name for f in schema]
    contributor = field_of_role(schema, FieldRole.CONTRIBUTOR)
    result = engine.run(
        rows,
        query,
        visible=visible,
        contributor=contributor.name if contributor else None,
        min_contributors=None,
    )
    return Answer(result=result, product=product, snapshot=product.live_snapshot, fresh=query.fresh)


async def query_governed(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    policy_engine: PolicyEngine,
    audit: AuditSink,
    contract_id: uuid.UUID,
    query: engine.DataQuery,
    live: LiveSource | None = None,
    disclosures: async_sessionmaker[AsyncSession] | None = None,
) -> Answer:
    """A consumer's query under its agreement: only the agreement's fields and regions, only
    aggregates over k contributors where the agreement says so; anything else is refused with
    the term it breaks and no data. Answered or refused, the access is audited. Under
    aggregation-only terms the figures given are remembered (in their own unit of work, from
    `disclosures`) so that later answers cannot be differenced against them."""
    await authorizer.check(subject, "hub.exchange.data.query")
    found = await ExchangeRepository(session).contract_and_product(contract_id)
    if found is None or subject.org_id not in (found[0].consumer_org, found[0].provider_org):
        raise ContractNotFound(f"no contract {contract_id}")
    contract, product = found
    schema = schema_of(product)
    engine.validate(query, schema)
    terms = contract.terms or {}
    visible = [f.name for f in schema if f.name in set(terms.get("fields") or [])]

    async def record(outcome: str, **detail: Any) -> None:
        await audit(
            actor=subject,
            action="hub.exchange.data.query",
            resource=f"data_product:{product.id}",
            outcome=outcome,
            detail={
                "contract": str(contract.id),
                "terms_hash": contract.terms_hash,
                "provider_org": product.publisher_org,
                "product": product.key,
                "fields": query.referenced(visible),
                "aggregate": query.aggregate,
                "fresh": query.fresh,
                **detail,
            },
        )

    violations = await _policy(
        policy_engine,
        "query_violations",
        {
            "subject": subject.policy_input(),
            "contract": {
                "state": contract.state.value,
                "consumer_org": contract.consumer_org,
                "expires_at": _epoch(contract.expires_at),
                "terms": terms,
            },
            "query": {
                "fields": query.referenced(visible),
                "regions": query.regions(schema),
                "aggregate": query.aggregate,
                "fresh": query.fresh,
            },
            "now": time.time(),
        },
    )
    if violations:
        ordered = sorted(violations, key=lambda v: v["term"])
        first = ordered[0]
        await record("deny", term=first["term"], terms=[v["term"] for v in ordered])
        raise TermViolated(
            f"{first['term']}: {first['message']}",
            term=first["term"],
            terms=[v["term"] for v in ordered],
        )
    regions = terms.get("regions")
    contributor = field_of_role(schema, FieldRole.CONTRIBUTOR)
    contributor_name = contributor.name if contributor else None
    cell = engine.cell_of(engine.row_identity(schema), contributor_name)
    if query.fresh:
        if live is None or not product.live:
            await record("deny", term="fresh_data")
            raise TermViolated(
                "fresh_data: the publisher of this product does not answer live queries",
                term="fresh_data",
            )
        rows = _in_regions(await live.rows(product), product, regions)
    else:
        cached = await ROWS.get(session, product)
        rows = _of_regions(cached, regions)
        if terms.get("aggregation"):
            cell = cached.cell(schema, contributor_name)
    k: int | None = (terms.get("aggregation") or {}).get("min_contributors")
    try:
        if k is not None:
            engine.check_aggregation_only(query, schema)
        result = engine.run(
            rows,
            query,
            visible=visible,
            contributor=contributor_name,
            min_contributors=k,
            cell=cell if k is not None else None,
        )
        if k is not None:
            if disclosures is None:
                raise RuntimeError("aggregation-only answers need the disclosure ledger")
            # The figures are the reader's, whichever of its agreements they come under.
            async with disclosure.answering(
                disclosures, consumer_org=subject.org_id or contract.consumer_org,
                product_id=product.id, contract_id=contract.id, cells=result.cells, k=k,
            ):  # fmt: skip
                await record("allow", rows=len(result.rows), total=result.total)
        else:
            await record("allow", rows=len(result.rows), total=result.total)
    except TermViolated as exc:
        await record("deny", term=exc.extra.get("term"))
        raise
    return Answer(
        result=result,
        product=product,
        snapshot=product.live_snapshot,
        fresh=query.fresh,
        contract=contract,
    )
