"""Shared workers ("共享员工"): in peak and slack seasons a factory or labour service lends
workers it has no work for to factories short of hands.

Employers post their workers as pseudonymous profiles (skills with levels and certificates,
availability, home area and travel radius, wage floor); the names and contacts are stored apart
and read only by the employer's staff. Factories post needs. The node operator runs the
matching (solvers.labour) over every open need and worker; it proposes, worker by need, the
days each worker would work. A proposal is accepted by the employer and by the worker (recorded
by the employer's staff on the worker's behalf, or by the worker through a one-time consent
link); only then may the borrowing factory read the worker's name and contact, and every such
read is audited. A re-match keeps every proposal that either side has accepted and withdraws
the others. The borrower records attendance (pay owed follows from it) and, after the last
day, both sides rate each other (the factory's ratings are only shown in aggregate). Workers
are deleted on their employer's request, and by `purge_expired` once their availability ended
more than a retention period ago.

Who may do what is the policy's (policies/node_workforce.rego, `node.workforce.*`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.runtime import NodeRuntime
from regional_node.workforce.errors import (
    ConsentLinkInvalid,
    MatchRunNotFound,
    NeedNotFound,
    ProposalClosed,
    ProposalNotFound,
    WorkerNotFound,
    WorkforceInvalid,
)
from regional_node.workforce.models import (
    NeedStatus,
    ProposalStatus,
    RatingSide,
    WorkforceAttendance,
    WorkforceContact,
    WorkforceMatchRun,
    WorkforceNeed,
    WorkforceProposal,
    WorkforceRating,
    WorkforceWorker,
)
from regional_node.workforce.repository import WorkforceRepository
from solvers import labour
from yunfab.db import utcnow
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject, canonical_org_id

SHIFTS = ("day", "evening", "night")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
MAX_WORKERS_AT_ONCE = 500
MAX_WORKERS = 20_000
MAX_NEEDS = 2_000
MAX_DAYS = 120
MAX_SKILLS = 10
MAX_CERTIFICATES = 10
MAX_SHORTFALLS = 500
CONSENT_LINK_DAYS = 7
STANDARD_HOURS = 8.0
OVERTIME_RATE = 1.5
"""Hours beyond eight in a day are paid at 150% (Labour Law of the PRC, art. 44)."""
MATCH_TIME_LIMIT_S = 10.0


def _org(subject: Subject, named: str | None, what: str) -> str:
    chosen = canonical_org_id(named) if named else subject.org_id
    if not chosen or len(chosen) > 64:
        raise InvalidInput(f"{what}: an organization id (the node operator names one)")
    return chosen


def worker_resource(worker: WorkforceWorker) -> dict[str, Any]:
    return {"org": worker.employer_org}


def need_resource(need: WorkforceNeed) -> dict[str, Any]:
    return {"org": need.factory_org}


def proposal_resource(proposal: WorkforceProposal) -> dict[str, Any]:
    """The employer is the resource's `org`: a borrower's reads are cross-organization, and
    audited. `released` is true once both sides accepted."""
    return {
        "org": proposal.employer_org,
        "borrower": proposal.factory_org,
        "released": proposal.status is ProposalStatus.ACCEPTED,
    }


def _check_name(value: str, what: str) -> str:
    if not NAME.match(value):
        raise WorkforceInvalid(
            f"{what}: lower-case letters, digits and _ (up to 60), got {value!r}"
        )
    return value


def _check_place(lat: float, lon: float, what: str) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise WorkforceInvalid(f"{what}: latitude -90..90 and longitude -180..180")


def _check_dates(first: dt.date, last: dt.date, what: str) -> None:
    if last < first:
        raise WorkforceInvalid(f"{what}: the last day is before the first")
    if (last - first).days + 1 > MAX_DAYS:
        raise WorkforceInvalid(f"{what}: at most {MAX_DAYS} days")


# --- workers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewWorker:
    pseudonym: str
    name: str
    skills: dict[str, int]
    available_from: dt.date
    available_to: dt.date
    home_area: str
    home_lat: float
    home_lon: float
    radius_km: float
    wage_floor: float
    shifts: list[str] = field(default_factory=lambda: ["day"])
    certificates: list[str] = field(default_factory=list)
    safety_trained: bool = False
    team: str | None = None
    phone: str | None = None
    email: str | None = None


def _check_worker(index: int, w: NewWorker) -> None:
    at = f"workers[{index}]"
    if not 1 <= len(w.pseudonym) <= 40 or not w.pseudonym.isprintable():
        raise WorkforceInvalid(f"{at}.pseudonym: 1 to 40 printable characters")
    if not 1 <= len(w.name.strip()) <= 100:
        raise WorkforceInvalid(f"{at}.name: 1 to 100 characters")
    if not 1 <= len(w.skills) <= MAX_SKILLS:
        raise WorkforceInvalid(f"{at}.skills: 1 to {MAX_SKILLS}")
    for skill, level in w.skills.items():
        _check_name(skill, f"{at}.skills")
        if not 1 <= level <= 5:
            raise WorkforceInvalid(f"{at}.skills.{skill}: level 1 to 5")
    if len(w.certificates) > MAX_CERTIFICATES:
        raise WorkforceInvalid(f"{at}.certificates: up to {MAX_CERTIFICATES}")
    for certificate in w.certificates:
        _check_name(certificate, f"{at}.certificates")
    if not w.shifts or any(s not in SHIFTS for s in w.shifts):
        raise WorkforceInvalid(f"{at}.shifts: some of {', '.join(SHIFTS)}")
    if w.available_to < w.available_from:
        raise WorkforceInvalid(f"{at}: availableTo before availableFrom")
    _check_place(w.home_lat, w.home_lon, f"{at}.home")
    if not 1 <= len(w.home_area) <= 100:
        raise WorkforceInvalid(f"{at}.homeArea: 1 to 100 characters")
    if not 0 <= w.radius_km <= 300:
        raise WorkforceInvalid(f"{at}.radiusKm: 0 to 300")
    if not 0 <= w.wage_floor <= 100_000:
        raise WorkforceInvalid(f"{at}.wageFloor: 0 to 100000 a day")
    if w.team is not None and not 1 <= len(w.team) <= 40:
        raise WorkforceInvalid(f"{at}.team: 1 to 40 characters")
    if w.phone is not None and len(w.phone) > 40:
        raise WorkforceInvalid(f"{at}.phone: up to 40 characters")
    if w.email is not None and len(w.email) > 200:
        raise WorkforceInvalid(f"{at}.email: up to 200 characters")


async def post_workers(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, employer: str | None,
    workers: list[NewWorker],
) -> list[WorkforceWorker]:  # fmt: skip
    """An employer's workers (up to 500 at once), all or none; names and contacts stored apart."""
    org = _org(subject, employer, "employer")
    await runtime.authorizer.check(subject, "node.workforce.worker.manage", {"org": org})
    if not 1 <= len(workers) <= MAX_WORKERS_AT_ONCE:
        raise WorkforceInvalid(f"workers: 1 to {MAX_WORKERS_AT_ONCE} at once")
    if len({w.pseudonym for w in workers}) != len(workers):
        raise WorkforceInvalid("workers: pseudonyms must be unique")
    for index, w in enumerate(workers):
        _check_worker(index, w)
    taken = await WorkforceRepository(session).pseudonyms_in_use(
        org, [w.pseudonym for w in workers]
    )
    if taken:
        raise WorkforceInvalid(
            f"workers: pseudonym already in use here: {', '.join(sorted(taken)[:5])}"
        )
    rows = []
    for w in workers:
        row = WorkforceWorker(
            employer_org=org,
            pseudonym=w.pseudonym,
            skills=dict(w.skills),
            certificates=sorted(set(w.certificates)),
            safety_trained=w.safety_trained,
            available_from=w.available_from,
            available_to=w.available_to,
            shifts=sorted(set(w.shifts)),
            home_area=w.home_area,
            # About a kilometre: what travel needs, no closer to a home address.
            home_lat=round(w.home_lat, 2),
            home_lon=round(w.home_lon, 2),
            radius_km=w.radius_km,
            wage_floor=w.wage_floor,
            team=w.team,
            created_by=subject.label,
        )
        session.add(row)
        rows.append(row)
    await session.flush()
    for row, w in zip(rows, workers, strict=True):
        session.add(
            WorkforceContact(worker_id=row.id, name=w.name.strip(), phone=w.phone, email=w.email)
        )
    await session.flush()
    return rows


async def list_workers(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, employer: str | None,
    page: PageRequest,
) -> Page[WorkforceWorker]:  # fmt: skip
    """Pseudonymous profiles: every employer's for the node operator, the caller's own else."""
    conditions: list[ColumnElement[bool]] = []
    if await runtime.authorizer.allows(subject, "node.workforce.list"):
        if employer:
            conditions.append(WorkforceWorker.employer_org == canonical_org_id(employer))
    else:
        org = _org(subject, employer, "employer")
        await runtime.authorizer.check(subject, "node.workforce.worker.read", {"org": org})
        conditions.append(WorkforceWorker.employer_org == org)
    return await WorkforceRepository(session).workers_page(conditions, page)


async def _worker(
    session: AsyncSession, subject: Subject, runtime: NodeRuntime, worker_id: uuid.UUID,
    action: str,
) -> WorkforceWorker:  # fmt: skip
    worker = await WorkforceRepository(session).worker(worker_id)
    await runtime.authorizer.check_found(
        subject, action, worker_resource(worker) if worker else None,
        read="node.workforce.worker.read", missing=WorkerNotFound("no such worker"),
    )  # fmt: skip
    assert worker is not None
    return worker


async def worker_contact(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, worker_id: uuid.UUID
) -> WorkforceContact:
    """The employer's own record of who the worker is."""
    worker = await _worker(session, subject, runtime, worker_id, "node.workforce.worker.manage")
    contact = await WorkforceRepository(session).contact(worker.id)
    if contact is None:
        raise WorkerNotFound("no contact stored for this worker")
    return contact


async def delete_worker(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, worker_id: uuid.UUID
) -> uuid.UUID:
    """On the worker's request: the profile, name and contact, proposals, attendance and
    ratings, all gone; the audit line keeps only the pseudonym's id."""
    worker = await _worker(session, subject, runtime, worker_id, "node.workforce.worker.manage")
    await WorkforceRepository(session).delete_worker(worker)
    await append_entry(
        session, actor=subject, action="node.workforce.worker.delete",
        resource=f"workforce-worker:{worker_id}", outcome="allow",
        detail={"employer": worker.employer_org, "reason": "request"},
    )  # fmt: skip
    return worker_id


async def purge_expired(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, retention_days: int,
    today: dt.date | None = None,
) -> int:  # fmt: skip
    """Delete the workers whose availability ended more than `retention_days` ago (and whose
    last proposal ended before that): how many went."""
    await runtime.authorizer.check(subject, "node.workforce.purge")
    if not 0 <= retention_days <= 3650:
        raise InvalidInput("retentionDays: 0 to 3650")
    cutoff = (today or utcnow().date()) - dt.timedelta(days=retention_days)
    repository = WorkforceRepository(session)
    gone = 0
    while batch := await repository.expired_workers(cutoff, 500):
        for worker in batch:
            await repository.delete_worker(worker)
        gone += len(batch)
    await append_entry(
        session, actor=subject, action="node.workforce.purge", resource="workforce-workers",
        outcome="allow", detail={"deleted": gone, "cutoff": cutoff.isoformat()},
    )  # fmt: skip
    return gone


# --- needs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewNeed:
    title: str
    site_area: str
    site_lat: float
    site_lon: float
    skill: str
    min_level: int
    first_day: dt.date
    last_day: dt.date
    headcount: dict[str, int]
    wage: float
    priority: int = 1
    certificates: list[str] = field(default_factory=list)
    safety_training: bool = False
    keep_team: bool = False
    housing: bool = False
    transport: bool = False
    factory: str | None = None


async def post_need(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, input: NewNeed
) -> WorkforceNeed:
    org = _org(subject, input.factory, "factory")
    await runtime.authorizer.check(subject, "node.workforce.need.manage", {"org": org})
    if not 1 <= len(input.title) <= 200:
        raise WorkforceInvalid("title: 1 to 200 characters")
    if not 1 <= len(input.site_area) <= 100:
        raise WorkforceInvalid("siteArea: 1 to 100 characters")
    _check_place(input.site_lat, input.site_lon, "site")
    _check_name(input.skill, "skill")
    if not 1 <= input.min_level <= 5:
        raise WorkforceInvalid("minLevel: 1 to 5")
    _check_dates(input.first_day, input.last_day, "need")
    if not input.headcount or any(s not in SHIFTS for s in input.headcount):
        raise WorkforceInvalid(f"headcount: per shift, some of {', '.join(SHIFTS)}")
    if any(not 0 <= c <= 500 for c in input.headcount.values()) or not any(
        input.headcount.values()
    ):
        raise WorkforceInvalid("headcount: 0 to 500 a shift, someone on some shift")
    if not 0 < input.wage <= 100_000:
        raise WorkforceInvalid("wage: above 0, up to 100000 a day")
    if not 1 <= input.priority <= 10:
        raise WorkforceInvalid("priority: 1 to 10")
    if len(input.certificates) > MAX_CERTIFICATES:
        raise WorkforceInvalid(f"certificates: up to {MAX_CERTIFICATES}")
    for certificate in input.certificates:
        _check_name(certificate, "certificates")
    need = WorkforceNeed(
        factory_org=org, title=input.title, site_area=input.site_area,
        site_lat=input.site_lat, site_lon=input.site_lon, skill=input.skill,
        min_level=input.min_level, certificates=sorted(set(input.certificates)),
        first_day=input.first_day, last_day=input.last_day,
        headcount={s: c for s, c in input.headcount.items() if c > 0}, wage=input.wage,
        priority=input.priority, safety_training=input.safety_training,
        keep_team=input.keep_team, housing=input.housing, transport=input.transport,
        created_by=subject.label,
    )  # fmt: skip
    session.add(need)
    await session.flush()
    return need


async def close_need(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, need_id: uuid.UUID
) -> WorkforceNeed:
    """No more matching for it; accepted proposals stand."""
    need = await WorkforceRepository(session).need(need_id)
    await runtime.authorizer.check_found(
        subject, "node.workforce.need.manage", need_resource(need) if need else None,
        read="node.workforce.need.read", missing=NeedNotFound("no such need"),
    )  # fmt: skip
    assert need is not None
    need.status = NeedStatus.CLOSED
    await session.flush()
    return need


async def list_needs(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory: str | None,
    page: PageRequest,
) -> Page[WorkforceNeed]:  # fmt: skip
    conditions: list[ColumnElement[bool]] = []
    if await runtime.authorizer.allows(subject, "node.workforce.list"):
        if factory:
            conditions.append(WorkforceNeed.factory_org == canonical_org_id(factory))
    else:
        org = _org(subject, factory, "factory")
        await runtime.authorizer.check(subject, "node.workforce.need.read", {"org": org})
        conditions.append(WorkforceNeed.factory_org == org)
    return await WorkforceRepository(session).needs_page(conditions, page)


# --- matching ---------------------------------------------------------------------------------


def _as_worker(row: WorkforceWorker, today: dt.date) -> labour.Worker:
    return labour.Worker(
        id=str(row.id), source=row.employer_org, skills=dict(row.skills),
        home=(row.home_lat, row.home_lon), radius_km=row.radius_km, wage_floor=row.wage_floor,
        first_day=max(row.available_from, today), last_day=max(row.available_to, today),
        shifts=frozenset(row.shifts), certificates=frozenset(row.certificates),
        safety_trained=row.safety_trained, team=row.team,
    )  # fmt: skip


def _as_need(row: WorkforceNeed, today: dt.date) -> labour.Need:
    """A closed need (there only for its accepted proposals) asks nobody new."""
    return labour.Need(
        id=str(row.id), factory=row.factory_org, site=(row.site_lat, row.site_lon),
        skill=row.skill, min_level=row.min_level, first_day=max(row.first_day, today),
        last_day=max(row.last_day, today),
        headcount=dict(row.headcount) if row.status is NeedStatus.OPEN else {}, wage=row.wage,
        priority=row.priority, certificates=frozenset(row.certificates),
        safety_training=row.safety_training, keep_team=row.keep_team,
    )  # fmt: skip


def _consented(proposal: WorkforceProposal) -> bool:
    """Someone accepted it: a re-match does not move it without their consent."""
    return proposal.status is ProposalStatus.ACCEPTED or bool(
        proposal.employer_accepted_at or proposal.worker_accepted_at
    )


async def run_match(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, today: dt.date | None = None
) -> WorkforceMatchRun:
    """Match every open need to every worker from today on: proposals nobody has accepted yet
    are withdrawn and made again; accepted ones are kept as they are."""
    await runtime.authorizer.check(subject, "node.workforce.match")
    return await match_all(session, created_by=subject.label, today=today)


async def match_all(
    session: AsyncSession, *, created_by: str, today: dt.date | None = None
) -> WorkforceMatchRun:
    """The matching itself, for the operator's run and for the node's own re-match after a
    side changed (regional_node/workforce/rematch.py), one at a time."""
    today = today or utcnow().date()
    repository = WorkforceRepository(session)
    await repository.matching_lock()
    live = await repository.live_proposals()
    # A proposal asked for from another node (no run made it) stays until it is answered.
    kept = [p for p in live if _consented(p) or p.run_id is None]
    await repository.withdraw([p.id for p in live if not _consented(p) and p.run_id is not None])
    workers = list(await repository.all_workers(MAX_WORKERS + 1))
    if len(workers) > MAX_WORKERS:
        raise WorkforceInvalid(f"more than {MAX_WORKERS} workers on this node: purge first")
    needs = {n.id: n for n in await repository.open_needs(MAX_NEEDS + 1)}
    if len(needs) > MAX_NEEDS:
        raise WorkforceInvalid(f"more than {MAX_NEEDS} open needs on this node: close some")
    for proposal in kept:
        if proposal.need_id not in needs:
            need = await repository.need(proposal.need_id)
            if need is not None:
                needs[need.id] = need
    locked = [
        labour.Assignment(str(p.worker_id), str(p.need_id), dt.date.fromisoformat(day), shift)
        for p in kept
        for day, shift in p.days
        if dt.date.fromisoformat(day) >= today
    ]
    active = [n for n in needs.values() if n.last_day >= today]
    working = {x.worker for x in locked}
    problem = labour.Problem(
        workers=tuple(_as_worker(w, today) for w in workers
                      if w.available_to >= today or str(w.id) in working),
        needs=tuple(_as_need(n, today) for n in active),
        locked=tuple(x for x in locked if x.need in {str(n.id) for n in active}),
    )  # fmt: skip
    result, short = await asyncio.to_thread(_solve, problem)
    fresh = [x for x in result.assignments if x not in set(problem.locked)]
    run = WorkforceMatchRun(
        method=result.method, optimal=result.optimal, workers=len(problem.workers),
        needs=len(problem.needs), demanded=result.demanded, covered=result.covered,
        weighted_coverage=round(result.weighted_coverage, 4), kept=len(problem.locked),
        shortfalls=short, elapsed_s=round(result.elapsed_s, 3), created_by=created_by,
    )  # fmt: skip
    session.add(run)
    await session.flush()
    grouped: dict[tuple[str, str], list[labour.Assignment]] = defaultdict(list)
    for x in fresh:
        grouped[(x.worker, x.need)].append(x)
    by_id = {str(w.id): w for w in workers}
    for (worker_id, need_id), days in grouped.items():
        days.sort(key=lambda x: (x.day, x.shift))
        reason = labour.why(problem, days[0])
        need = needs[uuid.UUID(need_id)]
        session.add(
            WorkforceProposal(
                run_id=run.id, worker_id=uuid.UUID(worker_id), need_id=need.id,
                employer_org=by_id[worker_id].employer_org, factory_org=need.factory_org,
                pseudonym=by_id[worker_id].pseudonym,
                days=[[x.day.isoformat(), x.shift] for x in days], first_day=days[0].day,
                last_day=days[-1].day,
                reason={"skill": reason.skill, "level": reason.level,
                        "min_level": reason.min_level, "km": reason.km,
                        "radius_km": reason.radius_km, "wage": reason.wage,
                        "wage_floor": reason.wage_floor, "priority": reason.priority,
                        "text": reason.text},
            )
        )  # fmt: skip
    await session.flush()
    return run


def _solve(problem: labour.Problem) -> tuple[labour.Match, list[dict[str, Any]]]:
    result = labour.match(problem, time_limit_s=MATCH_TIME_LIMIT_S)
    short = [
        {"need": s.need, "day": str(s.day), "shift": s.shift, "wanted": s.wanted,
         "covered": s.covered, "code": s.code, "text": s.text}
        for s in labour.shortfalls(problem, result, limit=MAX_SHORTFALLS)
    ]  # fmt: skip
    return result, short


async def get_run(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, run_id: uuid.UUID
) -> WorkforceMatchRun:
    await runtime.authorizer.check(subject, "node.workforce.match")
    run = await WorkforceRepository(session).run(run_id)
    if run is None:
        raise MatchRunNotFound("no such match run")
    return run


# --- proposals and consent --------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalFilter:
    need_id: uuid.UUID | None = None
    worker_id: uuid.UUID | None = None
    status: ProposalStatus | None = None


async def list_proposals(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, where: ProposalFilter,
    page: PageRequest,
) -> Page[WorkforceProposal]:  # fmt: skip
    """The operator's all; an employer's of its workers and a factory's for its needs, each row
    decided by the policy (a borrower's reads audited, a line a page)."""
    conditions: list[ColumnElement[bool]] = []
    if not await runtime.authorizer.allows(subject, "node.workforce.list"):
        own = subject.org_id or "-"
        conditions.append(
            or_(WorkforceProposal.employer_org == own, WorkforceProposal.factory_org == own)
        )
    if where.need_id:
        conditions.append(WorkforceProposal.need_id == where.need_id)
    if where.worker_id:
        conditions.append(WorkforceProposal.worker_id == where.worker_id)
    if where.status:
        conditions.append(WorkforceProposal.status == where.status)
    found = await WorkforceRepository(session).proposals_page(conditions, page)
    kept = await runtime.authorizer.filter(
        subject, "node.workforce.proposal.read", found.rows, proposal_resource
    )
    return Page(rows=kept, has_next=found.has_next, count=found.count)


async def _proposal(
    session: AsyncSession, subject: Subject, runtime: NodeRuntime, proposal_id: uuid.UUID,
    action: str,
) -> WorkforceProposal:  # fmt: skip
    proposal = await WorkforceRepository(session).proposal(proposal_id, lock=True)
    await runtime.authorizer.check_found(
        subject, action, proposal_resource(proposal) if proposal else None,
        read="node.workforce.proposal.read", missing=ProposalNotFound("no such proposal"),
    )  # fmt: skip
    assert proposal is not None
    return proposal


async def get_proposal(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, proposal_id: uuid.UUID
) -> WorkforceProposal:
    return await _proposal(session, subject, runtime, proposal_id, "node.workforce.proposal.read")


def _open(proposal: WorkforceProposal) -> None:
    if proposal.status is not ProposalStatus.PROPOSED:
        raise ProposalClosed(f"the proposal is {proposal.status.value}")


def _settle(proposal: WorkforceProposal) -> None:
    if proposal.employer_accepted_at and proposal.worker_accepted_at:
        proposal.status = ProposalStatus.ACCEPTED
        proposal.consent_token_hash = None


async def employer_decides(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, proposal_id: uuid.UUID,
    accept: bool,
) -> WorkforceProposal:  # fmt: skip
    """The lending employer accepts (or declines) lending the worker for these days."""
    proposal = await _proposal(
        session, subject, runtime, proposal_id, "node.workforce.proposal.consent"
    )
    _open(proposal)
    if not accept:
        proposal.status = ProposalStatus.DECLINED
        proposal.consent_token_hash = None
    else:
        proposal.employer_accepted_at = utcnow()
        proposal.employer_accepted_by = subject.label
        _settle(proposal)
    await session.flush()
    return proposal


async def worker_decides(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, proposal_id: uuid.UUID,
    accept: bool,
) -> WorkforceProposal:  # fmt: skip
    """The worker's answer, recorded by the employer's staff on the worker's behalf."""
    proposal = await _proposal(
        session, subject, runtime, proposal_id, "node.workforce.proposal.consent"
    )
    return await _worker_answer(session, proposal, accept, via=subject.label)


async def _worker_answer(
    session: AsyncSession, proposal: WorkforceProposal, accept: bool, *, via: str
) -> WorkforceProposal:
    _open(proposal)
    if not accept:
        proposal.status = ProposalStatus.DECLINED
        proposal.consent_token_hash = None
    else:
        proposal.worker_accepted_at = utcnow()
        proposal.worker_accepted_via = via
        _settle(proposal)
    await session.flush()
    return proposal


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_consent_link(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, proposal_id: uuid.UUID
) -> str:
    """A one-time token the employer passes to the worker (by text message, say): with it the
    worker answers for themself. Only its hash is stored; a new one replaces the old."""
    proposal = await _proposal(
        session, subject, runtime, proposal_id, "node.workforce.proposal.consent"
    )
    _open(proposal)
    token = secrets.token_urlsafe(32)
    proposal.consent_token_hash = _hash(token)
    proposal.consent_token_expires = utcnow() + dt.timedelta(days=CONSENT_LINK_DAYS)
    await session.flush()
    return token


async def consent_by_link(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, token: str, accept: bool
) -> WorkforceProposal:
    """The worker's own answer through their consent link (no account needed; the link is used
    up by it)."""
    if not 20 <= len(token) <= 100:
        raise ConsentLinkInvalid("unknown, used or expired consent link")
    proposal = await WorkforceRepository(session).proposal_by_token(_hash(token))
    expires = proposal.consent_token_expires if proposal else None
    if proposal is None or expires is None or expires < utcnow():
        raise ConsentLinkInvalid("unknown, used or expired consent link")
    await runtime.authorizer.check(subject, "node.workforce.consent.link", {"link": "verified"})
    proposal.consent_token_hash = None
    await append_entry(
        session, actor=subject, action="node.workforce.consent.link",
        resource=f"workforce-proposal:{proposal.id}", outcome="accept" if accept else "decline",
    )  # fmt: skip
    return await _worker_answer(session, proposal, accept, via="link")


@dataclass(frozen=True)
class ReleasedContact:
    proposal: WorkforceProposal
    pseudonym: str
    name: str
    phone: str | None
    email: str | None


async def released_contact(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, proposal_id: uuid.UUID
) -> ReleasedContact:
    """The worker's name and contact for the borrowing factory (and the employer), once both
    the employer and the worker accepted; every read is written to the node's audit chain."""
    proposal = await _proposal(
        session, subject, runtime, proposal_id, "node.workforce.contact.read"
    )
    repository = WorkforceRepository(session)
    worker = await repository.worker(proposal.worker_id)
    contact = await repository.contact(proposal.worker_id)
    if worker is None or contact is None:
        raise WorkerNotFound("the worker's details were deleted")
    await append_entry(
        session, actor=subject, action="node.workforce.contact.release",
        resource=f"workforce-proposal:{proposal.id}", outcome="allow",
        detail={"employer": proposal.employer_org, "borrower": proposal.factory_org,
                "pseudonym": worker.pseudonym},
    )  # fmt: skip
    return ReleasedContact(proposal, worker.pseudonym, contact.name, contact.phone, contact.email)


# --- follow-up --------------------------------------------------------------------------------


async def record_attendance(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, proposal_id: uuid.UUID,
    day: dt.date, present: bool, hours: float,
) -> WorkforceAttendance:  # fmt: skip
    """The borrower's record of a day (again for the same day replaces it)."""
    proposal = await _proposal(
        session, subject, runtime, proposal_id, "node.workforce.attendance.record"
    )
    if proposal.status is not ProposalStatus.ACCEPTED:
        raise ProposalClosed("attendance is recorded on accepted proposals only")
    if day.isoformat() not in {d for d, _ in proposal.days}:
        raise WorkforceInvalid(f"day: {day} is not one of the proposal's days")
    if not 0 <= hours <= 16 or (not present and hours):
        raise WorkforceInvalid("hours: 0 to 16, and 0 when absent")
    repository = WorkforceRepository(session)
    row = await repository.attendance_on(proposal.id, day)
    if row is None:
        row = WorkforceAttendance(proposal_id=proposal.id, day=day, present=present, hours=hours,
                                  recorded_by=subject.label)  # fmt: skip
        session.add(row)
    else:
        row.present, row.hours, row.recorded_by, row.recorded_at = (
            present,
            hours,
            subject.label,
            utcnow(),
        )
    await session.flush()
    return row


def pay_owed(wage: float, attendance: list[WorkforceAttendance]) -> tuple[float, float]:
    """Hours worked and pay owed: the day wage for eight hours (pro rata below), overtime hours
    at 150% of the hourly rate."""
    hours = sum(a.hours for a in attendance if a.present)
    hourly = wage / STANDARD_HOURS
    pay = sum(
        hourly * min(a.hours, STANDARD_HOURS)
        + hourly * OVERTIME_RATE * max(0.0, a.hours - STANDARD_HOURS)
        for a in attendance
        if a.present
    )
    return hours, round(pay, 2)


async def rate(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, proposal_id: uuid.UUID,
    side: RatingSide, score: int, comment: str = "", today: dt.date | None = None,
) -> WorkforceRating:  # fmt: skip
    """After the last day: the borrower rates the worker, the employer's staff record the
    worker's rating of the factory."""
    action = (
        "node.workforce.rating.worker"
        if side is RatingSide.FACTORY_RATES_WORKER
        else "node.workforce.rating.factory"
    )
    proposal = await _proposal(session, subject, runtime, proposal_id, action)
    if proposal.status is not ProposalStatus.ACCEPTED:
        raise ProposalClosed("only accepted proposals are rated")
    if (today or utcnow().date()) <= proposal.last_day:
        raise ProposalClosed(f"ratings open after the last day, {proposal.last_day}")
    if not 1 <= score <= 5:
        raise WorkforceInvalid("score: 1 to 5")
    if len(comment) > 500:
        raise WorkforceInvalid("comment: up to 500 characters")
    existing = {r.side: r for r in await WorkforceRepository(session).ratings(proposal.id)}
    if side in existing:
        raise ProposalClosed("already rated from this side")
    row = WorkforceRating(proposal_id=proposal.id, side=side, score=score, comment=comment,
                          recorded_by=subject.label)  # fmt: skip
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True)
class AttendanceSummary:
    proposal: WorkforceProposal
    days: list[WorkforceAttendance]
    hours: float
    pay_owed: float


async def attendance(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, proposal_id: uuid.UUID
) -> AttendanceSummary:
    """Days recorded, hours and pay owed: for the borrower, the employer and the operator."""
    proposal = await _proposal(
        session, subject, runtime, proposal_id, "node.workforce.proposal.read"
    )
    repository = WorkforceRepository(session)
    days = list(await repository.attendance(proposal.id))
    need = await repository.need(proposal.need_id)
    hours, pay = pay_owed(need.wage if need else 0.0, days)
    return AttendanceSummary(proposal, days, hours, pay)


async def factory_rating(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory: str
) -> tuple[int, float | None]:
    """How workers rated a factory, in aggregate only (a single rating is not shown)."""
    org = _org(subject, factory, "factory")
    await runtime.authorizer.check(subject, "node.workforce.reliability.read", {"org": org})
    count, mean = await WorkforceRepository(session).factory_reliability(org)
    return (count, round(mean, 2) if count >= 3 and mean is not None else None)
