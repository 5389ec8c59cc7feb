"""GraphQL types of shared workers. A proposal shows the borrower the worker's pseudonym and
the skill matched, never a name: that is `workforceContact`, released after both accept."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry

from regional_node.workforce import remote, service
from regional_node.workforce.models import (
    ProposalStatus,
    RatingSide,
    RelayStatus,
    WorkforceAttendance,
    WorkforceContact,
    WorkforceMatchRun,
    WorkforceNeed,
    WorkforceProposal,
    WorkforceRating,
    WorkforceRemoteRequest,
    WorkforceWorker,
)

WorkforceProposalStatusEnum = strawberry.enum(
    ProposalStatus,
    name="WorkforceProposalStatus",
    description="proposed (waiting for the employer and the worker), accepted (by both), "
    "declined (by either), or withdrawn (replaced by a later match before anyone accepted).",
)
RelayStatusEnum = strawberry.enum(
    RelayStatus,
    name="WorkforceRelayStatus",
    description="pending (not yet at the hub), requested (at the hub), proposed (on the "
    "lending node, waiting for the employer and the worker), accepted (by both: the contact "
    "is here), declined, or refused (the lending node made no proposal: see reason).",
)
RatingSideEnum = strawberry.enum(
    RatingSide,
    name="WorkforceRatingSide",
    description="The borrowing factory rating the worker, or the worker (through their "
    "employer) rating the factory.",
)


@strawberry.type(name="WorkforceSkill")
class SkillType:
    skill: str
    level: int = strawberry.field(description="1 novice .. 5 master.")


@strawberry.type(name="WorkforceWorker", description="A worker's pseudonymous profile.")
class WorkerType:
    id: uuid.UUID
    employer: str = strawberry.field(description="The lending organization's id.")
    pseudonym: str
    skills: list[SkillType]
    certificates: list[str]
    safety_trained: bool
    available_from: dt.date
    available_to: dt.date
    shifts: list[str]
    home_area: str
    home_lat: float = strawberry.field(description="Rounded to 0.01 degree.")
    home_lon: float
    radius_km: float
    wage_floor: float = strawberry.field(description="The least day wage accepted.")
    team: str | None
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: WorkforceWorker) -> WorkerType:
        return cls(
            id=row.id, employer=row.employer_org, pseudonym=row.pseudonym,
            skills=[SkillType(skill=s, level=v) for s, v in sorted(row.skills.items())],
            certificates=list(row.certificates), safety_trained=row.safety_trained,
            available_from=row.available_from, available_to=row.available_to,
            shifts=list(row.shifts), home_area=row.home_area, home_lat=row.home_lat,
            home_lon=row.home_lon, radius_km=row.radius_km, wage_floor=row.wage_floor,
            team=row.team, created_at=row.created_at,
        )  # fmt: skip


@strawberry.type(name="WorkforceContact")
class ContactType:
    name: str
    phone: str | None
    email: str | None

    @classmethod
    def from_model(cls, row: WorkforceContact) -> ContactType:
        return cls(name=row.name, phone=row.phone, email=row.email)


@strawberry.type(name="WorkforceReleasedContact")
class ReleasedContactType:
    proposal_id: uuid.UUID
    pseudonym: str
    name: str
    phone: str | None
    email: str | None

    @classmethod
    def of(cls, released: service.ReleasedContact) -> ReleasedContactType:
        return cls(
            proposal_id=released.proposal.id, pseudonym=released.pseudonym, name=released.name,
            phone=released.phone, email=released.email,
        )  # fmt: skip


@strawberry.type(name="WorkforceHeadcount")
class HeadcountType:
    shift: str
    workers: int


@strawberry.type(name="WorkforceNeed")
class NeedType:
    id: uuid.UUID
    factory: str
    title: str
    site_area: str
    site_lat: float
    site_lon: float
    skill: str
    min_level: int
    certificates: list[str]
    first_day: dt.date
    last_day: dt.date
    headcount: list[HeadcountType] = strawberry.field(description="Workers a day, per shift.")
    wage: float = strawberry.field(description="The day wage offered.")
    priority: int
    safety_training: bool
    keep_team: bool = strawberry.field(
        description="Teams lent by one employer come whole or not at all (a hard rule)."
    )
    housing: bool
    transport: bool
    status: str
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: WorkforceNeed) -> NeedType:
        return cls(
            id=row.id, factory=row.factory_org, title=row.title, site_area=row.site_area,
            site_lat=row.site_lat, site_lon=row.site_lon, skill=row.skill,
            min_level=row.min_level, certificates=list(row.certificates),
            first_day=row.first_day, last_day=row.last_day,
            headcount=[HeadcountType(shift=s, workers=c) for s, c in sorted(row.headcount.items())],
            wage=row.wage, priority=row.priority, safety_training=row.safety_training,
            keep_team=row.keep_team, housing=row.housing, transport=row.transport,
            status=row.status.value, created_at=row.created_at,
        )  # fmt: skip


@strawberry.type(name="WorkforceShortfall", description="A need's day and shift short of hands.")
class ShortfallType:
    need_id: str
    day: dt.date
    shift: str
    wanted: int
    covered: int
    code: str = strawberry.field(
        description="skill, level, certificates, safety, radius, wage, dates, shifts, day, "
        "taken, teams or free."
    )
    reason: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> ShortfallType:
        return cls(
            need_id=row["need"], day=dt.date.fromisoformat(row["day"]), shift=row["shift"],
            wanted=row["wanted"], covered=row["covered"], code=row["code"], reason=row["text"],
        )  # fmt: skip


@strawberry.type(name="WorkforceMatchRun")
class MatchRunType:
    id: uuid.UUID
    method: str = strawberry.field(description="min-cost-flow, or cp-sat where teams are kept.")
    optimal: bool
    workers: int
    needs: int
    demanded: int = strawberry.field(description="Worker-days the open needs ask for.")
    covered: int
    weighted_coverage: float = strawberry.field(description="Covered / demanded by priority.")
    kept: int = strawberry.field(description="Worker-days of accepted proposals, kept.")
    elapsed_s: float
    created_at: dt.datetime
    model: strawberry.Private[WorkforceMatchRun]

    @classmethod
    def from_model(cls, row: WorkforceMatchRun) -> MatchRunType:
        return cls(
            id=row.id, method=row.method, optimal=row.optimal, workers=row.workers,
            needs=row.needs, demanded=row.demanded, covered=row.covered,
            weighted_coverage=row.weighted_coverage, kept=row.kept, elapsed_s=row.elapsed_s,
            created_at=row.created_at, model=row,
        )  # fmt: skip

    @strawberry.field(description="Need-days short of hands with the reason (up to 100 a call).")
    def shortfalls(self, first: int = 100, offset: int = 0) -> list[ShortfallType]:
        first = max(0, min(first, 100))
        return [ShortfallType.of(r) for r in self.model.shortfalls[offset : offset + first]]


@strawberry.type(name="WorkforceDayShift")
class DayShiftType:
    day: dt.date
    shift: str


@strawberry.type(name="WorkforceMatchReason", description="Why this worker for this need.")
class ReasonType:
    skill: str
    level: int
    min_level: int
    km: float
    radius_km: float
    wage: float
    wage_floor: float
    priority: int
    text: str


@strawberry.type(name="WorkforceProposal")
class ProposalType:
    id: uuid.UUID
    run_id: uuid.UUID | None = strawberry.field(
        description="The match that proposed it; null for a request from another node."
    )
    need_id: uuid.UUID
    worker_id: uuid.UUID
    pseudonym: str
    employer: str
    factory: str
    status: WorkforceProposalStatusEnum  # type: ignore[valid-type]
    days: list[DayShiftType]
    first_day: dt.date
    last_day: dt.date
    reason: ReasonType
    employer_accepted_at: dt.datetime | None
    worker_accepted_at: dt.datetime | None
    worker_accepted_via: str | None = strawberry.field(
        description="link (the worker's consent link) or the staff member who recorded it."
    )

    @classmethod
    def from_model(cls, row: WorkforceProposal) -> ProposalType:
        r = row.reason
        return cls(
            id=row.id, run_id=row.run_id, need_id=row.need_id, worker_id=row.worker_id,
            pseudonym=row.pseudonym, employer=row.employer_org, factory=row.factory_org,
            status=row.status,
            days=[DayShiftType(day=dt.date.fromisoformat(d), shift=s) for d, s in row.days],
            first_day=row.first_day, last_day=row.last_day,
            reason=ReasonType(
                skill=r["skill"], level=r["level"], min_level=r["min_level"], km=r["km"],
                radius_km=r["radius_km"], wage=r["wage"], wage_floor=r["wage_floor"],
                priority=r["priority"], text=r["text"],
            ),
            employer_accepted_at=row.employer_accepted_at,
            worker_accepted_at=row.worker_accepted_at,
            worker_accepted_via=row.worker_accepted_via,
        )  # fmt: skip


@strawberry.type(name="WorkforceAttendanceDay")
class AttendanceType:
    day: dt.date
    present: bool
    hours: float

    @classmethod
    def from_model(cls, row: WorkforceAttendance) -> AttendanceType:
        return cls(day=row.day, present=row.present, hours=row.hours)


@strawberry.type(name="WorkforceAttendance")
class AttendanceSummaryType:
    proposal_id: uuid.UUID
    days: list[AttendanceType]
    hours: float
    pay_owed: float = strawberry.field(
        description="The day wage for eight hours (pro rata below), overtime at 150%."
    )


@strawberry.type(name="WorkforceRating")
class RatingType:
    proposal_id: uuid.UUID
    side: RatingSideEnum  # type: ignore[valid-type]
    score: int
    comment: str

    @classmethod
    def from_model(cls, row: WorkforceRating) -> RatingType:
        return cls(proposal_id=row.proposal_id, side=row.side, score=row.score, comment=row.comment)


@strawberry.type(name="WorkforceFactoryRating", description="Workers' ratings, in aggregate.")
class FactoryRatingType:
    factory: str
    ratings: int
    mean: float | None


@strawberry.type(
    name="WorkforceRemoteRequest",
    description="A factory's request, for one of its needs, for a worker another node offers "
    "at the hub (workforce-offers), relayed by the hub.",
)
class RemoteRequestType:
    id: uuid.UUID
    need_id: uuid.UUID
    factory: str
    node: str = strawberry.field(description="The lending node.")
    offer: str = strawberry.field(description="The worker's pseudonym in workforce-offers.")
    shift: str
    status: RelayStatusEnum  # type: ignore[valid-type]
    reason: str | None
    contact_received: bool = strawberry.field(
        description="The worker's contact has come: read it with remoteWorkforceContact."
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, row: WorkforceRemoteRequest) -> RemoteRequestType:
        return cls(
            id=row.id, need_id=row.need_id, factory=row.factory_org, node=row.lender_node,
            offer=row.offer, shift=row.shift, status=row.status, reason=row.reason,
            contact_received=row.contact_name is not None, created_at=row.created_at,
            updated_at=row.updated_at,
        )  # fmt: skip


@strawberry.type(name="WorkforceRemoteContact", description="Released after both accepted.")
class RemoteContactType:
    request_id: uuid.UUID
    node: str
    offer: str
    name: str
    phone: str | None
    email: str | None

    @classmethod
    def of(cls, found: remote.RemoteContact) -> RemoteContactType:
        return cls(
            request_id=found.request.id, node=found.request.lender_node,
            offer=found.request.offer, name=found.name, phone=found.phone, email=found.email,
        )  # fmt: skip
