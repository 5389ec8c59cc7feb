"""Shared workers' queries and mutations.

Every mutation returns `<Name>Success | <Name>Error`: expected failures (bad input, a thing
not found, a closed proposal, a used consent link) come back as the error with its stable code;
a refusal by the policy is a GraphQL error (FORBIDDEN), as everywhere on the node.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Awaitable
from typing import Annotated, Any, Self, TypeVar

import strawberry
from strawberry.types import Info

from regional_node.graphql.context import NodeContext
from regional_node.workforce import remote, service
from regional_node.workforce.graphql.types import (
    AttendanceSummaryType,
    AttendanceType,
    ContactType,
    FactoryRatingType,
    MatchRunType,
    NeedType,
    ProposalType,
    RatingSideEnum,
    RatingType,
    ReleasedContactType,
    RemoteContactType,
    RemoteRequestType,
    WorkerType,
    WorkforceProposalStatusEnum,
)
from yunfab.errors import Forbidden, InvalidInput, Unauthenticated, YunfabError
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import mutate, page_request, query

T = TypeVar("T")


async def attempt(call: Awaitable[T]) -> T | YunfabError:
    """The result, or the expected failure (rolled back); a policy's refusal is raised on."""
    try:
        return await call
    except (Forbidden, Unauthenticated):
        raise
    except YunfabError as exc:
        if exc.status_code >= 500:
            raise
        return exc


@strawberry.interface(
    name="WorkforceError", description="Why a shared-workers mutation did nothing."
)
class WorkforceError:
    code: str = strawberry.field(description="Stable, e.g. WORKFORCE_INVALID, PROPOSAL_CLOSED.")
    message: str

    @classmethod
    def of(cls, error: YunfabError) -> Self:
        return cls(code=error.code.upper(), message=error.detail)


def _result(name: str) -> Any:
    return strawberry.union(f"{name}Result")


@strawberry.type
class PostWorkersSuccess:
    workers: list[WorkerType]


@strawberry.type
class PostWorkersError(WorkforceError):
    pass


@strawberry.type
class DeleteWorkerSuccess:
    id: uuid.UUID


@strawberry.type
class DeleteWorkerError(WorkforceError):
    pass


@strawberry.type
class PostWorkforceNeedSuccess:
    need: NeedType


@strawberry.type
class PostWorkforceNeedError(WorkforceError):
    pass


@strawberry.type
class CloseWorkforceNeedSuccess:
    need: NeedType


@strawberry.type
class CloseWorkforceNeedError(WorkforceError):
    pass


@strawberry.type
class MatchWorkersSuccess:
    run: MatchRunType


@strawberry.type
class MatchWorkersError(WorkforceError):
    pass


@strawberry.type
class DecideWorkforceProposalSuccess:
    proposal: ProposalType


@strawberry.type
class DecideWorkforceProposalError(WorkforceError):
    pass


@strawberry.type
class IssueConsentLinkSuccess:
    token: str = strawberry.field(description="Shown once: pass it to the worker.")


@strawberry.type
class IssueConsentLinkError(WorkforceError):
    pass


@strawberry.type
class ConsentByLinkSuccess:
    status: WorkforceProposalStatusEnum  # type: ignore[valid-type]
    first_day: dt.date
    last_day: dt.date


@strawberry.type
class ConsentByLinkError(WorkforceError):
    pass


@strawberry.type
class RecordWorkforceAttendanceSuccess:
    attendance: AttendanceType


@strawberry.type
class RecordWorkforceAttendanceError(WorkforceError):
    pass


@strawberry.type
class RateWorkforceAssignmentSuccess:
    rating: RatingType


@strawberry.type
class RateWorkforceAssignmentError(WorkforceError):
    pass


@strawberry.type
class PurgeWorkforceSuccess:
    deleted: int


@strawberry.type
class PurgeWorkforceError(WorkforceError):
    pass


@strawberry.type
class RequestRemoteWorkerSuccess:
    request: RemoteRequestType


@strawberry.type
class RequestRemoteWorkerError(WorkforceError):
    pass


PostWorkersResult = Annotated[PostWorkersSuccess | PostWorkersError, _result("PostWorkers")]
DeleteWorkerResult = Annotated[DeleteWorkerSuccess | DeleteWorkerError, _result("DeleteWorker")]
PostWorkforceNeedResult = Annotated[
    PostWorkforceNeedSuccess | PostWorkforceNeedError, _result("PostWorkforceNeed")
]
CloseWorkforceNeedResult = Annotated[
    CloseWorkforceNeedSuccess | CloseWorkforceNeedError, _result("CloseWorkforceNeed")
]
MatchWorkersResult = Annotated[MatchWorkersSuccess | MatchWorkersError, _result("MatchWorkers")]
DecideWorkforceProposalResult = Annotated[
    DecideWorkforceProposalSuccess | DecideWorkforceProposalError,
    _result("DecideWorkforceProposal"),
]
IssueConsentLinkResult = Annotated[
    IssueConsentLinkSuccess | IssueConsentLinkError, _result("IssueConsentLink")
]
ConsentByLinkResult = Annotated[ConsentByLinkSuccess | ConsentByLinkError, _result("ConsentByLink")]
RecordWorkforceAttendanceResult = Annotated[
    RecordWorkforceAttendanceSuccess | RecordWorkforceAttendanceError,
    _result("RecordWorkforceAttendance"),
]
RateWorkforceAssignmentResult = Annotated[
    RateWorkforceAssignmentSuccess | RateWorkforceAssignmentError,
    _result("RateWorkforceAssignment"),
]
PurgeWorkforceResult = Annotated[
    PurgeWorkforceSuccess | PurgeWorkforceError, _result("PurgeWorkforce")
]
RequestRemoteWorkerResult = Annotated[
    RequestRemoteWorkerSuccess | RequestRemoteWorkerError, _result("RequestRemoteWorker")
]


@strawberry.enum(name="WorkforceParty")
class Party(enum.Enum):
    EMPLOYER = "employer"
    WORKER = "worker"


@strawberry.input(name="WorkforceSkillInput")
class SkillInput:
    skill: str
    level: int


@strawberry.input(name="WorkforceWorkerInput")
class WorkerInput:
    pseudonym: str = strawberry.field(description="Shown to borrowers: not the worker's name.")
    name: str = strawberry.field(description="Kept with the employer; released on consent.")
    skills: list[SkillInput]
    available_from: dt.date
    available_to: dt.date
    home_area: str
    home_lat: float
    home_lon: float
    radius_km: float
    wage_floor: float
    shifts: list[str] = strawberry.field(default_factory=lambda: ["day"])
    certificates: list[str] = strawberry.field(default_factory=list)
    safety_trained: bool = False
    team: str | None = None
    phone: str | None = None
    email: str | None = None

    def to_service(self) -> service.NewWorker:
        if len(self.skills) > service.MAX_SKILLS or len(self.shifts) > 3:
            raise InvalidInput(f"skills: up to {service.MAX_SKILLS}; shifts: up to 3")
        return service.NewWorker(
            pseudonym=self.pseudonym, name=self.name,
            skills={s.skill: s.level for s in self.skills},
            available_from=self.available_from, available_to=self.available_to,
            home_area=self.home_area, home_lat=self.home_lat, home_lon=self.home_lon,
            radius_km=self.radius_km, wage_floor=self.wage_floor, shifts=list(self.shifts),
            certificates=list(self.certificates), safety_trained=self.safety_trained,
            team=self.team, phone=self.phone, email=self.email,
        )  # fmt: skip


@strawberry.input(name="WorkforceHeadcountInput")
class HeadcountInput:
    shift: str
    workers: int


@strawberry.input(name="WorkforceNeedInput")
class NeedInput:
    title: str
    site_area: str
    site_lat: float
    site_lon: float
    skill: str
    min_level: int
    first_day: dt.date
    last_day: dt.date
    headcount: list[HeadcountInput]
    wage: float = strawberry.field(description="The day wage offered.")
    priority: int = 1
    certificates: list[str] = strawberry.field(default_factory=list)
    safety_training: bool = False
    keep_team: bool = False
    housing: bool = False
    transport: bool = False
    factory: str | None = strawberry.field(
        default=None,
        description="The factory's organization id: yours unless you operate the node.",
    )

    def to_service(self) -> service.NewNeed:
        if len(self.headcount) > 3:
            raise InvalidInput("headcount: up to 3 shifts")
        return service.NewNeed(
            title=self.title, site_area=self.site_area, site_lat=self.site_lat,
            site_lon=self.site_lon, skill=self.skill, min_level=self.min_level,
            first_day=self.first_day, last_day=self.last_day,
            headcount={h.shift: h.workers for h in self.headcount}, wage=self.wage,
            priority=self.priority, certificates=list(self.certificates),
            safety_training=self.safety_training, keep_team=self.keep_team,
            housing=self.housing, transport=self.transport, factory=self.factory,
        )  # fmt: skip


@strawberry.type
class WorkforceQuery:
    @strawberry.field(
        description="Pseudonymous worker profiles: yours, or every employer's for the operator."
    )
    async def workforce_workers(
        self, info: Info[NodeContext, None], employer: str | None = None, first: int = 50,
        after: str | None = None,
    ) -> Connection[WorkerType]:  # fmt: skip
        context = info.context
        page = await query(
            context, service.list_workers, runtime=context.runtime, employer=employer,
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[WorkerType].from_page(
            page, key=lambda row: (row.employer_org, row.pseudonym), node=WorkerType.from_model,
            after=after,
        )  # fmt: skip

    @strawberry.field(description="Your own worker's name and contact (the employer's staff).")
    async def workforce_worker_contact(
        self, info: Info[NodeContext, None], worker_id: uuid.UUID
    ) -> ContactType:
        context = info.context
        row = await query(
            context, service.worker_contact, runtime=context.runtime, worker_id=worker_id
        )
        return ContactType.from_model(row)

    @strawberry.field(description="Needs for workers, newest first.")
    async def workforce_needs(
        self, info: Info[NodeContext, None], factory: str | None = None, first: int = 50,
        after: str | None = None,
    ) -> Connection[NeedType]:  # fmt: skip
        context = info.context
        page = await query(
            context, service.list_needs, runtime=context.runtime, factory=factory,
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[NeedType].from_page(
            page, key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=NeedType.from_model, after=after,
        )  # fmt: skip

    @strawberry.field(description="Proposals by first day: an employer's, a factory's, or all.")
    async def workforce_proposals(
        self, info: Info[NodeContext, None], need_id: uuid.UUID | None = None,
        worker_id: uuid.UUID | None = None,
        status: WorkforceProposalStatusEnum | None = None,  # type: ignore[valid-type]
        first: int = 50, after: str | None = None,
    ) -> Connection[ProposalType]:  # fmt: skip
        context = info.context
        page = await query(
            context, service.list_proposals, runtime=context.runtime,
            where=service.ProposalFilter(need_id=need_id, worker_id=worker_id, status=status),
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[ProposalType].from_page(
            page, key=lambda row: (row.first_day.isoformat(), str(row.id)),
            node=ProposalType.from_model, after=after,
        )  # fmt: skip

    @strawberry.field
    async def workforce_proposal(
        self, info: Info[NodeContext, None], id: uuid.UUID
    ) -> ProposalType:
        context = info.context
        row = await query(context, service.get_proposal, runtime=context.runtime, proposal_id=id)
        return ProposalType.from_model(row)

    @strawberry.field(
        description="The worker's name and contact once the employer and the worker accepted "
        "the proposal; each read is audited."
    )
    async def workforce_contact(
        self, info: Info[NodeContext, None], proposal_id: uuid.UUID
    ) -> ReleasedContactType:
        context = info.context
        # A read that writes its audit line: its own unit of work.
        released = await mutate(
            context, service.released_contact, runtime=context.runtime, proposal_id=proposal_id
        )
        return ReleasedContactType.of(released)

    @strawberry.field(description="A match run, with its shortfalls' reasons (the operator).")
    async def workforce_match_run(
        self, info: Info[NodeContext, None], id: uuid.UUID
    ) -> MatchRunType:
        context = info.context
        row = await query(context, service.get_run, runtime=context.runtime, run_id=id)
        return MatchRunType.from_model(row)

    @strawberry.field(description="Days recorded on a proposal, hours and pay owed.")
    async def workforce_attendance(
        self, info: Info[NodeContext, None], proposal_id: uuid.UUID
    ) -> AttendanceSummaryType:
        context = info.context
        found = await query(
            context, service.attendance, runtime=context.runtime, proposal_id=proposal_id
        )
        return AttendanceSummaryType(
            proposal_id=found.proposal.id, days=[AttendanceType.from_model(d) for d in found.days],
            hours=found.hours, pay_owed=found.pay_owed,
        )  # fmt: skip

    @strawberry.field(
        description="Workers' ratings of a factory in aggregate: a mean only from 3 ratings up."
    )
    async def workforce_factory_rating(
        self, info: Info[NodeContext, None], factory: str | None = None
    ) -> FactoryRatingType:
        context = info.context
        count, mean = await query(
            context, service.factory_rating, runtime=context.runtime, factory=factory or ""
        )
        return FactoryRatingType(
            factory=factory or context.subject.org_id or "", ratings=count, mean=mean
        )

    @strawberry.field(
        description="Your factory's requests for other nodes' workers, newest first (all of "
        "them for the node's operator)."
    )
    async def remote_workforce_requests(
        self, info: Info[NodeContext, None], need_id: uuid.UUID | None = None, first: int = 50,
        after: str | None = None,
    ) -> Connection[RemoteRequestType]:  # fmt: skip
        context = info.context
        page = await query(
            context, remote.list_requests, runtime=context.runtime, need_id=need_id,
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[RemoteRequestType].from_page(
            page, key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=RemoteRequestType.from_model, after=after,
        )  # fmt: skip

    @strawberry.field(
        description="The name and contact of a worker another node lent you, once its employer "
        "and the worker accepted; each read is audited."
    )
    async def remote_workforce_contact(
        self, info: Info[NodeContext, None], request_id: uuid.UUID
    ) -> RemoteContactType:
        context = info.context
        # A read that writes its audit line: its own unit of work.
        found = await mutate(
            context, remote.remote_contact, runtime=context.runtime, request_id=request_id
        )
        return RemoteContactType.of(found)


@strawberry.type
class WorkforceMutation:
    @strawberry.mutation(description="An employer's workers (up to 500), all or none.")
    async def post_workers(
        self, info: Info[NodeContext, None], workers: list[WorkerInput], employer: str | None = None
    ) -> PostWorkersResult:
        context = info.context

        async def call() -> list[WorkerType]:
            if len(workers) > service.MAX_WORKERS_AT_ONCE:
                raise InvalidInput(f"workers: up to {service.MAX_WORKERS_AT_ONCE} at once")
            rows = await mutate(
                context, service.post_workers, runtime=context.runtime, employer=employer,
                workers=[w.to_service() for w in workers],
            )  # fmt: skip
            return [WorkerType.from_model(row) for row in rows]

        result = await attempt(call())
        if isinstance(result, YunfabError):
            return PostWorkersError.of(result)
        return PostWorkersSuccess(workers=result)

    @strawberry.mutation(description="Delete a worker and all that is stored about them.")
    async def delete_worker(
        self, info: Info[NodeContext, None], id: uuid.UUID
    ) -> DeleteWorkerResult:
        context = info.context
        result = await attempt(
            mutate(context, service.delete_worker, runtime=context.runtime, worker_id=id)
        )
        if isinstance(result, YunfabError):
            return DeleteWorkerError.of(result)
        return DeleteWorkerSuccess(id=result)

    @strawberry.mutation(description="A factory's need for workers.")
    async def post_workforce_need(
        self, info: Info[NodeContext, None], input: NeedInput
    ) -> PostWorkforceNeedResult:
        context = info.context

        async def call() -> Any:
            return await mutate(
                context, service.post_need, runtime=context.runtime, input=input.to_service()
            )

        result = await attempt(call())
        if isinstance(result, YunfabError):
            return PostWorkforceNeedError.of(result)
        return PostWorkforceNeedSuccess(need=NeedType.from_model(result))

    @strawberry.mutation(description="No more matching for a need; accepted proposals stand.")
    async def close_workforce_need(
        self, info: Info[NodeContext, None], id: uuid.UUID
    ) -> CloseWorkforceNeedResult:
        context = info.context
        result = await attempt(
            mutate(context, service.close_need, runtime=context.runtime, need_id=id)
        )
        if isinstance(result, YunfabError):
            return CloseWorkforceNeedError.of(result)
        return CloseWorkforceNeedSuccess(need=NeedType.from_model(result))

    @strawberry.mutation(
        description="Match open needs to workers (the operator): proposals nobody accepted yet "
        "are replaced, accepted ones kept."
    )
    async def match_workers(self, info: Info[NodeContext, None]) -> MatchWorkersResult:
        context = info.context
        result = await attempt(mutate(context, service.run_match, runtime=context.runtime))
        if isinstance(result, YunfabError):
            return MatchWorkersError.of(result)
        return MatchWorkersSuccess(run=MatchRunType.from_model(result))

    @strawberry.mutation(
        description="The employer's answer, or the worker's recorded by the employer's staff."
    )
    async def decide_workforce_proposal(
        self, info: Info[NodeContext, None], id: uuid.UUID, party: Party, accept: bool
    ) -> DecideWorkforceProposalResult:
        context = info.context
        call = service.employer_decides if party is Party.EMPLOYER else service.worker_decides
        result = await attempt(
            mutate(context, call, runtime=context.runtime, proposal_id=id, accept=accept)
        )
        if isinstance(result, YunfabError):
            return DecideWorkforceProposalError.of(result)
        return DecideWorkforceProposalSuccess(proposal=ProposalType.from_model(result))

    @strawberry.mutation(description="A one-time consent link token for the worker (7 days).")
    async def issue_consent_link(
        self, info: Info[NodeContext, None], proposal_id: uuid.UUID
    ) -> IssueConsentLinkResult:
        context = info.context
        result = await attempt(
            mutate(
                context,
                service.issue_consent_link,
                runtime=context.runtime,
                proposal_id=proposal_id,
            )
        )
        if isinstance(result, YunfabError):
            return IssueConsentLinkError.of(result)
        return IssueConsentLinkSuccess(token=result)

    @strawberry.mutation(description="The worker's own answer with their consent link token.")
    async def consent_by_link(
        self, info: Info[NodeContext, None], token: str, accept: bool
    ) -> ConsentByLinkResult:
        context = info.context
        result = await attempt(
            mutate(
                context,
                service.consent_by_link,
                runtime=context.runtime,
                token=token,
                accept=accept,
            )
        )
        if isinstance(result, YunfabError):
            return ConsentByLinkError.of(result)
        return ConsentByLinkSuccess(
            status=result.status, first_day=result.first_day, last_day=result.last_day
        )

    @strawberry.mutation(description="The borrower's record of a day of an accepted proposal.")
    async def record_workforce_attendance(
        self, info: Info[NodeContext, None], proposal_id: uuid.UUID, day: dt.date,
        present: bool, hours: float = 8.0,
    ) -> RecordWorkforceAttendanceResult:  # fmt: skip
        context = info.context
        result = await attempt(
            mutate(
                context, service.record_attendance, runtime=context.runtime,
                proposal_id=proposal_id, day=day, present=present, hours=hours if present else 0.0,
            )
        )  # fmt: skip
        if isinstance(result, YunfabError):
            return RecordWorkforceAttendanceError.of(result)
        return RecordWorkforceAttendanceSuccess(attendance=AttendanceType.from_model(result))

    @strawberry.mutation(description="A rating after the last day, from one side.")
    async def rate_workforce_assignment(
        self, info: Info[NodeContext, None], proposal_id: uuid.UUID,
        side: RatingSideEnum, score: int, comment: str = "",  # type: ignore[valid-type]
    ) -> RateWorkforceAssignmentResult:  # fmt: skip
        context = info.context
        result = await attempt(
            mutate(
                context, service.rate, runtime=context.runtime, proposal_id=proposal_id,
                side=side, score=score, comment=comment,
            )
        )  # fmt: skip
        if isinstance(result, YunfabError):
            return RateWorkforceAssignmentError.of(result)
        return RateWorkforceAssignmentSuccess(rating=RatingType.from_model(result))

    @strawberry.mutation(
        description="Delete workers whose availability ended more than retentionDays ago (the "
        "operator)."
    )
    async def purge_workforce(
        self, info: Info[NodeContext, None], retention_days: int = 180
    ) -> PurgeWorkforceResult:
        context = info.context
        result = await attempt(
            mutate(
                context, service.purge_expired, runtime=context.runtime,
                retention_days=retention_days,
            )
        )  # fmt: skip
        if isinstance(result, YunfabError):
            return PurgeWorkforceError.of(result)
        return PurgeWorkforceSuccess(deleted=result)

    @strawberry.mutation(
        description="Ask another node, through the hub, for a worker it offers in "
        "workforce-offers (the offer's worker pseudonym), for one of your needs: its days, "
        "wage and site go with it, on the shift given (the need's first by default). The "
        "lending node's employer and worker answer; the contact comes once both accepted."
    )
    async def request_remote_worker(
        self, info: Info[NodeContext, None], need_id: uuid.UUID, node: str, offer: str,
        shift: str | None = None,
    ) -> RequestRemoteWorkerResult:  # fmt: skip
        context = info.context
        result = await attempt(
            mutate(
                context, remote.request_worker, runtime=context.runtime,
                this_node=context.settings.name, need_id=need_id, node=node, offer=offer,
                shift=shift,
            )
        )  # fmt: skip
        if isinstance(result, YunfabError):
            return RequestRemoteWorkerError.of(result)
        return RequestRemoteWorkerSuccess(request=RemoteRequestType.from_model(result))
