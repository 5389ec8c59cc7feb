"""Shared workers across nodes, through the hub's relay (hub/data_exchange/workforce_relay).

On the borrowing node, a factory that found a worker in another node's `workforce-offers` at
the hub asks for them for one of its needs (`request_worker`): the request (the offer's
pseudonym, the factory's organization, the need's skill, days, shift, wage and site area) waits
here until the relay (`relay.py`) hands it to the hub, with a public key made for it.

On the lending node, the relay takes the request in (`take_request`): it finds the worker by
the offer's pseudonym and, when the worker fits (skill, shift, days, wage, free those days),
makes a proposal of it, as a match would, for a need standing for the borrower's (closed to
local matching). The employer and the worker accept or decline it exactly as a local one.
Once both accepted, the relay seals the worker's name and contact to the borrower's key
(`sealing.py`) and sends it (`answer_for`): the release is audited here, as
`node.workforce.contact.release`. Back on the borrowing node the contact is opened and kept
with the request (`receive_answer`, audited as `node.workforce.contact.receive`); the factory
reads it (`remote_contact`, each read audited). The hub never sees a name, phone or e-mail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.runtime import NodeRuntime
from regional_node.workforce import sealing
from regional_node.workforce.errors import NeedNotFound, WorkforceInvalid
from regional_node.workforce.models import (
    NeedStatus,
    ProposalStatus,
    RelayStatus,
    WorkforceNeed,
    WorkforceProposal,
    WorkforceRelayInbound,
    WorkforceRemoteRequest,
    WorkforceWorker,
)
from regional_node.workforce.repository import WorkforceRepository
from regional_node.workforce.service import MAX_WORKERS, SHIFTS, need_resource
from solvers import labour
from yunfab.db import utcnow
from yunfab.errors import NotFound
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject, SubjectKind

RELAY = Subject(kind=SubjectKind.SYSTEM, id="workforce-relay")
"""Who the relay's audit lines name."""
NODE_NAME_MAX = 63


class RemoteRequestNotFound(NotFound):
    code = "remote_request_not_found"


def offer_pseudonym(node_name: str, worker_id: uuid.UUID) -> str:
    """The worker's pseudonym in this node's `workforce-offers` at the hub (the product's own
    formula, regional_node/data_products/products.py)."""
    return hashlib.sha256(f"{node_name}{worker_id}".encode()).hexdigest()[:16]


def remote_resource(row: WorkforceRemoteRequest) -> dict[str, Any]:
    """The borrowing factory's own; `released` once the worker's contact has come."""
    return {"org": row.factory_org, "released": row.contact_name is not None}


# --- the borrowing node ------------------------------------------------------------------------


async def request_worker(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, this_node: str,
    need_id: uuid.UUID, node: str, offer: str, shift: str | None = None,
) -> WorkforceRemoteRequest:  # fmt: skip
    """A factory asks another node (`node`, not `this_node`), through the hub, for the worker
    behind `offer` for its need's days (on one of its shifts, the first by default)."""
    repository = WorkforceRepository(session)
    need = await repository.need(need_id)
    await runtime.authorizer.check_found(
        subject, "node.workforce.remote.request", need_resource(need) if need else None,
        read="node.workforce.need.read", missing=NeedNotFound("no such need"),
    )  # fmt: skip
    assert need is not None
    if need.status is not NeedStatus.OPEN:
        raise WorkforceInvalid("the need is closed")
    if not 1 <= len(node) <= NODE_NAME_MAX or node == this_node:
        raise WorkforceInvalid("node: another node's name (this node's workers are matched here)")
    if not 16 <= len(offer) <= 64 or any(c not in "0123456789abcdef" for c in offer):
        raise WorkforceInvalid("offer: the worker's pseudonym in that node's workforce-offers")
    chosen = shift or next(s for s in SHIFTS if s in need.headcount)
    if chosen not in need.headcount:
        raise WorkforceInvalid(f"shift: one of the need's, {', '.join(sorted(need.headcount))}")
    private, _ = sealing.new_key_pair()
    row = WorkforceRemoteRequest(
        need_id=need.id, factory_org=need.factory_org, lender_node=node, offer=offer,
        shift=chosen, private_key=private, created_by=subject.label,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def list_requests(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime,
    need_id: uuid.UUID | None, page: PageRequest,
) -> Page[WorkforceRemoteRequest]:  # fmt: skip
    """The caller's factory's requests to other nodes (every one for the node's operator)."""
    conditions: list[ColumnElement[bool]] = []
    if not await runtime.authorizer.allows(subject, "node.workforce.list"):
        org = subject.org_id or "-"
        await runtime.authorizer.check(subject, "node.workforce.remote.read", {"org": org})
        conditions.append(WorkforceRemoteRequest.factory_org == org)
    if need_id is not None:
        conditions.append(WorkforceRemoteRequest.need_id == need_id)
    return await WorkforceRepository(session).remote_requests_page(conditions, page)


@dataclass(frozen=True)
class RemoteContact:
    request: WorkforceRemoteRequest
    name: str
    phone: str | None
    email: str | None


async def remote_contact(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, request_id: uuid.UUID
) -> RemoteContact:
    """The worker's name and contact for the factory that asked, once the employer and the
    worker accepted and the contact has come; every read written to the audit chain."""
    row = await WorkforceRepository(session).remote_request(request_id)
    await runtime.authorizer.check_found(
        subject, "node.workforce.remote.contact", remote_resource(row) if row else None,
        read="node.workforce.remote.read",
        missing=RemoteRequestNotFound("no such request to another node"),
    )  # fmt: skip
    assert row is not None
    assert row.contact_name is not None
    await append_entry(
        session, actor=subject, action="node.workforce.contact.release",
        resource=f"workforce-remote-request:{row.id}", outcome="allow",
        detail={"borrower": row.factory_org, "lender_node": row.lender_node,
                "offer": row.offer},
    )  # fmt: skip
    return RemoteContact(row, row.contact_name, row.contact_phone, row.contact_email)


async def pending(session: AsyncSession, limit: int) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """Requests for the hub to take: (id, the body it is sent with). The body is the need's
    terms and a public key: nothing about anyone."""
    repository = WorkforceRepository(session)
    found = []
    for row in await repository.pending_remote_requests(limit):
        need = await repository.need(row.need_id)
        if need is None or row.private_key is None:
            continue
        found.append((row.id, {
            "lender_node": row.lender_node, "borrower_org": row.factory_org,
            "offer": row.offer, "skill": need.skill,
            "first_day": need.first_day.isoformat(), "last_day": need.last_day.isoformat(),
            "shift": row.shift, "wage": need.wage, "site_area": need.site_area,
            "site_lat": round(need.site_lat, 2), "site_lon": round(need.site_lon, 2),
            "public_key": sealing.public_of(row.private_key),
        }))  # fmt: skip
    return found


async def sent(session: AsyncSession, request_id: uuid.UUID, *, refused: str | None = None) -> None:
    """The hub took the request (or refused it, saying why)."""
    row = await WorkforceRepository(session).remote_request(request_id, lock=True)
    if row is None or row.status is not RelayStatus.PENDING:
        return
    row.status = RelayStatus.REFUSED if refused else RelayStatus.REQUESTED
    row.reason = refused[:300] if refused else None
    if refused:
        row.private_key = None
    row.updated_at = utcnow()
    await session.flush()


async def receive_answer(session: AsyncSession, answer: dict[str, Any]) -> str | None:
    """An answer from the lending node, as the hub relays it: the request's status, and with
    an acceptance the sealed contact, opened here and kept with the request (its private key
    then dropped). The status taken, or None for a request this node does not know."""
    try:
        request_id = uuid.UUID(str(answer["id"]))
        status = RelayStatus(answer["status"])
    except (KeyError, ValueError):
        return None
    row = await WorkforceRepository(session).remote_request(request_id, lock=True)
    if row is None:
        return None
    reason = answer.get("reason")
    row.reason = str(reason)[:300] if reason else None
    row.status, row.updated_at = status, utcnow()
    sealed = answer.get("sealed_contact")
    if status is RelayStatus.ACCEPTED and row.contact_name is None:
        if not isinstance(sealed, str) or row.private_key is None:
            return None  # not taken: the hub sends it again
        try:
            contact = sealing.open_sealed(row.private_key, row.id, sealed)
        except sealing.SealError:
            row.reason = "the worker's contact came but did not open: ask the lending node"
            await session.flush()
            return status.value
        row.contact_name = str(contact.get("name") or "")[:100] or "?"
        row.contact_phone = _text(contact.get("phone"), 40)
        row.contact_email = _text(contact.get("email"), 200)
        row.private_key = None
        await append_entry(
            session, actor=RELAY, action="node.workforce.contact.receive",
            resource=f"workforce-remote-request:{row.id}", outcome="allow",
            detail={"borrower": row.factory_org, "lender_node": row.lender_node,
                    "offer": row.offer},
        )  # fmt: skip
    elif status in (RelayStatus.DECLINED, RelayStatus.REFUSED):
        row.private_key = None
    await session.flush()
    return status.value


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value else None


# --- the lending node -------------------------------------------------------------------------


async def take_request(
    session: AsyncSession, *, node_name: str, request: dict[str, Any]
) -> WorkforceRelayInbound | None:
    """A request from another node, as the hub relays it, made a proposal for the worker (or
    refused, saying why). None when it was taken before, or is malformed."""
    try:
        request_id = uuid.UUID(str(request["id"]))
        first = dt.date.fromisoformat(request["first_day"])
        last = dt.date.fromisoformat(request["last_day"])
        shift, skill, offer = str(request["shift"]), str(request["skill"]), str(request["offer"])
        wage = float(request["wage"])
        site = (float(request["site_lat"]), float(request["site_lon"]))
        borrower_node = str(request["borrower_node"])[:63]
        borrower_org = str(request["borrower_org"])[:64]
        borrower_name = str(request.get("borrower_name") or borrower_org)
        public_key = str(request["public_key"])[:64]
        site_area = str(request["site_area"])[:100]
    except (KeyError, ValueError, TypeError):
        return None
    repository = WorkforceRepository(session)
    if await repository.inbound(request_id) is not None:
        return None
    inbound = WorkforceRelayInbound(
        id=request_id, borrower_node=borrower_node, borrower_org=borrower_org, offer=offer,
        public_key=public_key,
    )  # fmt: skip
    worker = await _worker_by_offer(repository, node_name, offer)
    why = _unfit(worker, skill, shift, first, last, wage)
    if why is None and worker is not None:
        days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
        if await repository.worker_days_taken(worker.id) & {d.isoformat() for d in days}:
            why = "the worker is promised elsewhere on some of these days"
    if why is not None or worker is None:
        inbound.refused = why
        session.add(inbound)
        await session.flush()
        return inbound
    need = WorkforceNeed(
        factory_org=borrower_org, title=f"{borrower_name} on {borrower_node}"[:200],
        site_area=site_area, site_lat=site[0], site_lon=site[1], skill=skill, min_level=1,
        first_day=first, last_day=last, headcount={shift: 1}, wage=wage,
        status=NeedStatus.CLOSED, created_by=f"relay:{borrower_node}"[:200],
    )  # fmt: skip
    session.add(need)
    await session.flush()
    km = round(labour.haversine_km((worker.home_lat, worker.home_lon), site), 1)
    proposal = WorkforceProposal(
        run_id=None, worker_id=worker.id, need_id=need.id, employer_org=worker.employer_org,
        factory_org=borrower_org, pseudonym=worker.pseudonym,
        days=[[d.isoformat(), shift] for d in days], first_day=first, last_day=last,
        reason={"skill": skill, "level": worker.skills[skill], "min_level": 1, "km": km,
                "radius_km": worker.radius_km, "wage": wage, "wage_floor": worker.wage_floor,
                "priority": 1,
                "text": f"Asked for through the hub by {borrower_name} on {borrower_node}: "
                        f"{skill} (level {worker.skills[skill]}), {km} km from home, "
                        f"{wage:g} a day against a floor of {worker.wage_floor:g}."},
    )  # fmt: skip
    session.add(proposal)
    await session.flush()
    inbound.proposal_id = proposal.id
    session.add(inbound)
    await session.flush()
    return inbound


async def _worker_by_offer(
    repository: WorkforceRepository, node_name: str, offer: str
) -> WorkforceWorker | None:
    for worker in await repository.all_workers(MAX_WORKERS):
        if offer_pseudonym(node_name, worker.id) == offer:
            return worker
    return None


def _unfit(
    worker: WorkforceWorker | None, skill: str, shift: str, first: dt.date, last: dt.date,
    wage: float,
) -> str | None:  # fmt: skip
    if worker is None:
        return "the offer is no longer here"
    if skill not in worker.skills:
        return f"the worker does not offer {skill}"
    if shift not in worker.shifts:
        return f"the worker does not work the {shift} shift"
    if first < worker.available_from or last > worker.available_to:
        return "the days are outside the worker's availability"
    if (last - first).days + 1 > 120 or last < first:
        return "at most 120 days"
    if wage < worker.wage_floor:
        return "the wage is below the worker's floor"
    return None


async def answer_for(
    session: AsyncSession, inbound: WorkforceRelayInbound
) -> dict[str, Any] | None:
    """What to tell the borrowing node now, or None when nothing changed since the last
    answer. An acceptance carries the worker's contact sealed to the borrower's key, and the
    release is written to the audit chain (with the answer: it is committed once the hub
    has it)."""
    repository = WorkforceRepository(session)
    proposal = await repository.proposal(inbound.proposal_id) if inbound.proposal_id else None
    if inbound.refused is not None:
        status, reason = RelayStatus.REFUSED, inbound.refused
    elif proposal is None:
        status, reason = RelayStatus.DECLINED, "the worker's details were deleted"
    elif proposal.status is ProposalStatus.ACCEPTED:
        status, reason = RelayStatus.ACCEPTED, None
    elif proposal.status is ProposalStatus.PROPOSED:
        status, reason = RelayStatus.PROPOSED, None
    else:
        status, reason = RelayStatus.DECLINED, None
    if status is inbound.reported:
        return None
    body: dict[str, Any] = {"status": status.value, "reason": reason}
    if status is RelayStatus.ACCEPTED and proposal is not None:
        contact = await repository.contact(proposal.worker_id)
        if contact is None:
            body = {"status": RelayStatus.DECLINED.value,
                    "reason": "the worker's details were deleted"}  # fmt: skip
        else:
            body["sealed_contact"] = sealing.seal(
                inbound.public_key, inbound.id,
                {"name": contact.name, "phone": contact.phone, "email": contact.email},
            )  # fmt: skip
            await append_entry(
                session, actor=RELAY, action="node.workforce.contact.release",
                resource=f"workforce-proposal:{proposal.id}", outcome="allow",
                detail={"employer": proposal.employer_org, "borrower": proposal.factory_org,
                        "borrower_node": inbound.borrower_node,
                        "pseudonym": proposal.pseudonym, "via": "hub relay, sealed"},
            )  # fmt: skip
    return body


async def answered(session: AsyncSession, inbound: WorkforceRelayInbound, status: str) -> None:
    inbound.reported = RelayStatus(status)
    await session.flush()
