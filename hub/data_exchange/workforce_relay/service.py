"""The workforce relay: a factory on one node asks, through the hub, for a worker another node
offers in its `workforce-offers` product; the lending node turns the request into a proposal
its employer and worker answer as any other; the answer comes back the same way.

The hub holds no personal data of it. A request carries the offer's pseudonym (the one made
for the hub), the borrower's organization and its need's terms (skill, days, shift, wage, site
area and its place to 0.01 degree). Once both sides accept, the lending node seals the worker's
name and contact to a key the borrowing node made for this request (X25519, AES-GCM): the hub
keeps the sealed text only until the borrowing node takes it, and cannot open it.

Only nodes' own clients call the machine-to-machine part, each for itself (the policy's
`hub.workforce.relay.*`); a borrower may ask only for offers of a product it holds an agreement
on, and the hub operator and the borrower read the requests (`workforceRelayRequests`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import append_entry
from hub.data_exchange.workforce_relay.models import RelayStatus, WorkforceRelayRequest
from hub.data_exchange.workforce_relay.repository import RelayRepository
from yunfab.authorization import Authorizer
from yunfab.db import utcnow
from yunfab.errors import Conflict, Forbidden, InvalidInput, NotFound
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject, canonical_org_id

SHIFTS = ("day", "evening", "night")
SKILL = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
OFFER = re.compile(r"^[0-9a-f]{16,64}$")
MAX_DAYS = 120
MAX_SEALED = 4096
MAX_REASON = 300
MAX_BATCH = 100
ANSWERS: dict[RelayStatus, set[RelayStatus]] = {
    RelayStatus.REQUESTED: {
        RelayStatus.PROPOSED, RelayStatus.ACCEPTED, RelayStatus.DECLINED, RelayStatus.REFUSED,
    },
    RelayStatus.PROPOSED: {RelayStatus.ACCEPTED, RelayStatus.DECLINED},
}  # fmt: skip
"""Which answer may follow which: accepted, declined and refused are final."""


class RelayRequestNotFound(NotFound):
    code = "relay_request_not_found"


class RelayOfferNotFound(NotFound):
    code = "relay_offer_not_found"


class RelayConflict(Conflict):
    code = "relay_conflict"


class RelayNoAgreement(Forbidden):
    code = "relay_no_agreement"


def resource(row: WorkforceRelayRequest) -> dict[str, str]:
    return {
        "borrower_node": row.borrower_node,
        "lender_node": row.lender_node,
        "borrower_org": row.borrower_org,
    }


def _node(subject: Subject) -> str:
    if not subject.node:
        raise Forbidden("only a regional node's own client relays workforce requests")
    return subject.node


@dataclass(frozen=True)
class NewRequest:
    id: uuid.UUID
    lender_node: str
    borrower_org: str
    offer: str
    skill: str
    first_day: dt.date
    last_day: dt.date
    shift: str
    wage: float
    site_area: str
    site_lat: float
    site_lon: float
    public_key: str


def _check(new: NewRequest) -> None:
    checks = [
        (bool(OFFER.match(new.offer)), "offer: the worker's pseudonym in workforce-offers"),
        (bool(SKILL.match(new.skill)), "skill: lower-case letters, digits and _"),
        (new.first_day <= new.last_day, "lastDay is before firstDay"),
        ((new.last_day - new.first_day).days < MAX_DAYS, f"at most {MAX_DAYS} days"),
        (new.shift in SHIFTS, f"shift: one of {', '.join(SHIFTS)}"),
        (math.isfinite(new.wage) and 0 < new.wage <= 100_000, "wage: above 0, up to 100000"),
        (1 <= len(new.site_area) <= 100 and new.site_area.isprintable(),
         "siteArea: 1 to 100 characters"),
        (math.isfinite(new.site_lat) and -90 <= new.site_lat <= 90,
         "siteLat: -90 to 90"),
        (math.isfinite(new.site_lon) and -180 <= new.site_lon <= 180,
         "siteLon: -180 to 180"),
    ]  # fmt: skip
    for ok, message in checks:
        if not ok:
            raise InvalidInput(message)
    try:
        key = base64.b64decode(new.public_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("publicKey: an X25519 public key in base64") from exc
    if len(key) != 32:
        raise InvalidInput("publicKey: an X25519 public key in base64 (32 bytes)")


async def request(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, input: NewRequest
) -> WorkforceRelayRequest:
    """The borrowing node passes on its factory's request (again with the same id: the same
    request back). Checked before anything is stored: the caller is that node, the lending
    node exists and offers this worker now, and the borrower holds an agreement on the offers."""
    node = _node(subject)
    await authorizer.check(subject, "hub.workforce.relay.request", {"borrower_node": node})
    repository = RelayRepository(session)
    existing = await repository.request(input.id)
    if existing is not None:
        if existing.borrower_node != node:
            raise RelayConflict("this request id is taken")
        return existing
    _check(input)
    org = canonical_org_id(input.borrower_org)
    if not org or len(org) > 64 or await repository.organization_name(org) is None:
        raise InvalidInput("borrowerOrg: an organization registered at the hub")
    if input.lender_node == node:
        raise InvalidInput("lenderNode: another node (a node's own workers are matched there)")
    product = await repository.offers_product(input.lender_node)
    if product is None or not await repository.offer_listed(product, input.offer):
        raise RelayOfferNotFound("no such offer in that node's workforce-offers")
    if not await repository.holds_contract(org, product):
        raise RelayNoAgreement(
            "the borrower holds no agreement on that node's workforce-offers: request one first"
        )
    row = WorkforceRelayRequest(
        id=input.id, borrower_node=node, lender_node=input.lender_node, borrower_org=org,
        offer=input.offer, skill=input.skill, first_day=input.first_day,
        last_day=input.last_day, shift=input.shift, wage=input.wage,
        site_area=input.site_area, site_lat=round(input.site_lat, 2),
        site_lon=round(input.site_lon, 2), public_key=input.public_key,
        requested_by=subject.label,
    )  # fmt: skip
    repository.add(row)
    await repository.flush()
    await append_entry(
        session, actor=subject, action="hub.workforce.relay.request",
        resource=f"workforce-relay:{row.id}", outcome="allow",
        detail={"from": node, "to": row.lender_node, "offer": row.offer},
    )  # fmt: skip
    return row


@dataclass(frozen=True)
class Inbound:
    request: WorkforceRelayRequest
    borrower_name: str


async def inbox(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, node: str
) -> list[Inbound]:
    """Requests to the calling node it has not answered yet, with the borrower's name."""
    await authorizer.check(subject, "hub.workforce.relay.inbox", {"lender_node": node})
    repository = RelayRepository(session)
    found = []
    for row in await repository.inbox(node, MAX_BATCH):
        name = await repository.organization_name(row.borrower_org)
        found.append(Inbound(row, name or row.borrower_org))
    return found


async def answer(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, request_id: uuid.UUID,
    status: RelayStatus, reason: str | None, sealed_contact: str | None,
) -> WorkforceRelayRequest:  # fmt: skip
    """The lending node's answer: proposed, then accepted (with the sealed contact) or
    declined; or refused at once. The same answer again changes nothing."""
    repository = RelayRepository(session)
    row = await repository.request(request_id, for_update=True)
    if row is None or not await authorizer.allows(subject, "hub.workforce.relay.answer",
                                                  resource(row)):  # fmt: skip
        raise RelayRequestNotFound("no such request to this node")
    if reason is not None and len(reason) > MAX_REASON:
        raise InvalidInput(f"reason: up to {MAX_REASON} characters")
    if (status is RelayStatus.ACCEPTED) != bool(sealed_contact):
        raise InvalidInput("sealedContact: with an acceptance, and only then")
    if sealed_contact is not None and len(sealed_contact) > MAX_SEALED:
        raise InvalidInput(f"sealedContact: up to {MAX_SEALED} characters")
    if status is row.status:
        return row
    if status not in ANSWERS.get(row.status, set()):
        raise RelayConflict(f"the request is {row.status.value}: it cannot become {status.value}")
    row.status, row.reason, row.updated_at = status, reason, utcnow()
    row.sealed_contact = sealed_contact
    await repository.flush()
    await append_entry(
        session, actor=subject, action="hub.workforce.relay.answer",
        resource=f"workforce-relay:{row.id}", outcome=status.value,
        detail={"from": row.lender_node, "to": row.borrower_node,
                "sealed_contact": sealed_contact is not None},
    )  # fmt: skip
    return row


async def outbox(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, node: str
) -> list[WorkforceRelayRequest]:
    """The calling node's requests with an answer it has not taken yet."""
    await authorizer.check(subject, "hub.workforce.relay.outbox", {"borrower_node": node})
    return list(await RelayRepository(session).outbox(node, MAX_BATCH))


async def taken(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, request_id: uuid.UUID,
    status: RelayStatus,
) -> WorkforceRelayRequest:  # fmt: skip
    """The borrowing node took the answer: a sealed contact goes from the hub now."""
    repository = RelayRepository(session)
    row = await repository.request(request_id, for_update=True)
    if row is None or not await authorizer.allows(subject, "hub.workforce.relay.outbox",
                                                  resource(row)):  # fmt: skip
        raise RelayRequestNotFound("no such request from this node")
    if status is not row.status:
        raise RelayConflict(f"the request is {row.status.value}, not {status.value}")
    if row.sealed_contact is not None:
        await append_entry(
            session, actor=subject, action="hub.workforce.relay.deliver",
            resource=f"workforce-relay:{row.id}", outcome="allow",
            detail={"from": row.lender_node, "to": row.borrower_node},
        )  # fmt: skip
    row.delivered, row.sealed_contact = status, None
    await repository.flush()
    return row


async def list_requests(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, page: PageRequest
) -> Page[WorkforceRelayRequest]:
    """Newest first: every request for the hub's operators, an organization's own else."""
    conditions: list[ColumnElement[bool]] = []
    if not await authorizer.allows(subject, "hub.workforce.relay.list"):
        if not subject.org_id:
            raise Forbidden("requests are read by their borrower and the hub's operators")
        conditions.append(WorkforceRelayRequest.borrower_org == subject.org_id)
        await authorizer.check(
            subject, "hub.workforce.relay.read", {"borrower_org": subject.org_id}
        )
    return await RelayRepository(session).page(conditions, page)
