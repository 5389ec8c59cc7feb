"""SQL of the shared-workers domain."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.workforce.models import (
    NeedStatus,
    ProposalStatus,
    RelayStatus,
    WorkforceAttendance,
    WorkforceContact,
    WorkforceMatchRun,
    WorkforceNeed,
    WorkforceProposal,
    WorkforceRating,
    WorkforceRelayInbound,
    WorkforceRemoteRequest,
    WorkforceWorker,
)
from yunfab.graphql.pagination import Page, PageRequest

MATCHING_LOCK = 7_216_123
"""PostgreSQL advisory lock held while proposals are withdrawn and made again."""


class WorkforceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # workers

    async def worker(self, worker_id: uuid.UUID) -> WorkforceWorker | None:
        return await self.session.get(WorkforceWorker, worker_id)

    async def contact(self, worker_id: uuid.UUID) -> WorkforceContact | None:
        return await self.session.get(WorkforceContact, worker_id)

    async def workers_page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[WorkforceWorker]:
        """By employer and pseudonym."""
        query = (
            select(WorkforceWorker)
            .where(*conditions)
            .order_by(WorkforceWorker.employer_org, WorkforceWorker.pseudonym)
        )
        if page.after is not None:
            org, pseudonym = page.after
            query = query.where(
                or_(
                    WorkforceWorker.employer_org > org,
                    (WorkforceWorker.employer_org == org) & (WorkforceWorker.pseudonym > pseudonym),
                )
            )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(WorkforceWorker).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    async def pseudonyms_in_use(self, employer: str, pseudonyms: Collection[str]) -> set[str]:
        query = select(WorkforceWorker.pseudonym).where(
            WorkforceWorker.employer_org == employer, WorkforceWorker.pseudonym.in_(pseudonyms)
        )
        return set((await self.session.scalars(query)).all())

    async def matching_lock(self) -> None:
        """Takes `MATCHING_LOCK` for the transaction (PostgreSQL; SQLite has one writer), so an
        operator's match and the automatic re-match never interleave."""
        if (await self.session.connection()).dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MATCHING_LOCK}
            )

    async def sides_mark(self) -> tuple[Any, ...]:
        """What changes when a worker is posted or deleted or a need is posted or closed: the
        workers' and the open needs' counts and latest creation times, all needs' count."""
        workers = (
            await self.session.execute(
                select(func.count(WorkforceWorker.id), func.max(WorkforceWorker.created_at))
            )
        ).one()
        needs = (
            await self.session.execute(
                select(func.count(WorkforceNeed.id), func.max(WorkforceNeed.created_at)).where(
                    WorkforceNeed.status == NeedStatus.OPEN
                )
            )
        ).one()
        every_need = await self.session.scalar(select(func.count(WorkforceNeed.id)))
        return (*workers, *needs, every_need)

    async def latest_run_at(self) -> dt.datetime | None:
        return await self.session.scalar(select(func.max(WorkforceMatchRun.created_at)))

    async def all_workers(self, limit: int) -> Sequence[WorkforceWorker]:
        query = select(WorkforceWorker).order_by(WorkforceWorker.id).limit(limit)
        return (await self.session.scalars(query)).all()

    async def delete_worker(self, worker: WorkforceWorker) -> None:
        """The worker and everything about them: contact, proposals, attendance, ratings."""
        proposals = select(WorkforceProposal.id).where(WorkforceProposal.worker_id == worker.id)
        await self.session.execute(
            delete(WorkforceAttendance).where(WorkforceAttendance.proposal_id.in_(proposals))
        )
        await self.session.execute(
            delete(WorkforceRating).where(WorkforceRating.proposal_id.in_(proposals))
        )
        await self.session.execute(
            delete(WorkforceProposal).where(WorkforceProposal.worker_id == worker.id)
        )
        await self.session.execute(
            delete(WorkforceContact).where(WorkforceContact.worker_id == worker.id)
        )
        await self.session.delete(worker)
        await self.session.flush()

    async def expired_workers(self, cutoff: dt.date, limit: int) -> Sequence[WorkforceWorker]:
        """Workers available no later than `cutoff` with no proposal ending after it."""
        recent = select(WorkforceProposal.worker_id).where(WorkforceProposal.last_day > cutoff)
        query = (
            select(WorkforceWorker)
            .where(WorkforceWorker.available_to <= cutoff, WorkforceWorker.id.not_in(recent))
            .order_by(WorkforceWorker.id)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    # needs

    async def need(self, need_id: uuid.UUID) -> WorkforceNeed | None:
        return await self.session.get(WorkforceNeed, need_id)

    async def open_needs(self, limit: int) -> Sequence[WorkforceNeed]:
        query = (
            select(WorkforceNeed)
            .where(WorkforceNeed.status == NeedStatus.OPEN)
            .order_by(WorkforceNeed.id)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def needs_page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[WorkforceNeed]:
        """Newest first."""
        query = (
            select(WorkforceNeed)
            .where(*conditions)
            .order_by(WorkforceNeed.created_at.desc(), WorkforceNeed.id.desc())
        )
        if page.after is not None:
            at, last = dt.datetime.fromisoformat(page.after[0]), uuid.UUID(page.after[1])
            query = query.where(
                or_(
                    WorkforceNeed.created_at < at,
                    (WorkforceNeed.created_at == at) & (WorkforceNeed.id < last),
                )
            )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(WorkforceNeed).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    # proposals

    async def proposal(
        self, proposal_id: uuid.UUID, *, lock: bool = False
    ) -> WorkforceProposal | None:
        return await self.session.get(WorkforceProposal, proposal_id, with_for_update=lock)

    async def proposal_by_token(self, token_hash: str) -> WorkforceProposal | None:
        return await self.session.scalar(
            select(WorkforceProposal)
            .where(WorkforceProposal.consent_token_hash == token_hash)
            .with_for_update()
        )

    async def live_proposals(self) -> Sequence[WorkforceProposal]:
        """Proposals a match must respect or replace: proposed and accepted ones."""
        query = select(WorkforceProposal).where(
            WorkforceProposal.status.in_([ProposalStatus.PROPOSED, ProposalStatus.ACCEPTED])
        )
        return (await self.session.scalars(query.with_for_update())).all()

    async def withdraw(self, ids: Collection[uuid.UUID]) -> None:
        if ids:
            await self.session.execute(
                update(WorkforceProposal)
                .where(WorkforceProposal.id.in_(ids))
                .values(status=ProposalStatus.WITHDRAWN, consent_token_hash=None)
            )

    async def proposals_page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[WorkforceProposal]:
        """By first day, then id."""
        query = (
            select(WorkforceProposal)
            .where(*conditions)
            .order_by(WorkforceProposal.first_day, WorkforceProposal.id)
        )
        if page.after is not None:
            day, last = dt.date.fromisoformat(page.after[0]), uuid.UUID(page.after[1])
            query = query.where(
                or_(
                    WorkforceProposal.first_day > day,
                    (WorkforceProposal.first_day == day) & (WorkforceProposal.id > last),
                )
            )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(WorkforceProposal).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    async def run(self, run_id: uuid.UUID) -> WorkforceMatchRun | None:
        return await self.session.get(WorkforceMatchRun, run_id)

    # follow-up

    async def attendance(self, proposal_id: uuid.UUID) -> Sequence[WorkforceAttendance]:
        query = (
            select(WorkforceAttendance)
            .where(WorkforceAttendance.proposal_id == proposal_id)
            .order_by(WorkforceAttendance.day)
        )
        return (await self.session.scalars(query)).all()

    async def attendance_on(
        self, proposal_id: uuid.UUID, day: dt.date
    ) -> WorkforceAttendance | None:
        return await self.session.scalar(
            select(WorkforceAttendance).where(
                WorkforceAttendance.proposal_id == proposal_id, WorkforceAttendance.day == day
            )
        )

    async def ratings(self, proposal_id: uuid.UUID) -> Sequence[WorkforceRating]:
        query = select(WorkforceRating).where(WorkforceRating.proposal_id == proposal_id)
        return (await self.session.scalars(query)).all()

    async def factory_reliability(
        self, factory_org: str, *, since: dt.datetime | None = None
    ) -> tuple[int, float | None]:
        """Ratings workers gave the factory, in aggregate only: how many and their mean (those
        recorded since `since` when given)."""
        conditions = [
            WorkforceProposal.factory_org == factory_org,
            WorkforceRating.side == "worker_rates_factory",
        ]
        if since is not None:
            conditions.append(WorkforceRating.recorded_at >= since)
        row = (
            await self.session.execute(
                select(func.count(WorkforceRating.id), func.avg(WorkforceRating.score))
                .join(WorkforceProposal, WorkforceProposal.id == WorkforceRating.proposal_id)
                .where(*conditions)
            )
        ).one()
        return int(row[0]), (float(row[1]) if row[1] is not None else None)

    async def factory_attendance(
        self, factory_org: str, *, since: dt.date, until: dt.date
    ) -> dict[str, tuple[int, int, int]]:
        """A factory's record in accepted assignments, in aggregate only: for each role it
        played (`lender`, `borrower`), how many assignments had agreed days in [since, until),
        those days, and the days of them recorded absent. No worker, day or proposal is
        returned."""
        accepted = (
            select(WorkforceProposal.id, WorkforceProposal.days, WorkforceProposal.employer_org)
            .where(
                WorkforceProposal.status == ProposalStatus.ACCEPTED,
                or_(
                    WorkforceProposal.employer_org == factory_org,
                    WorkforceProposal.factory_org == factory_org,
                ),
                WorkforceProposal.last_day >= since,
                WorkforceProposal.first_day < until,
            )
            .limit(10_000)
        )
        rows = (await self.session.execute(accepted)).all()
        absent = select(WorkforceAttendance.proposal_id, func.count(WorkforceAttendance.id)).where(
            WorkforceAttendance.proposal_id.in_([row.id for row in rows]),
            WorkforceAttendance.present.is_(False),
            WorkforceAttendance.day >= since,
            WorkforceAttendance.day < until,
        )
        absences = dict(
            (await self.session.execute(absent.group_by(WorkforceAttendance.proposal_id))).all()
        )
        record = {"lender": [0, 0, 0], "borrower": [0, 0, 0]}
        for row in rows:
            days = {d for d, _ in row.days if since.isoformat() <= d < until.isoformat()}
            if not days:
                continue
            role = record["lender" if row.employer_org == factory_org else "borrower"]
            role[0] += 1
            role[1] += len(days)
            role[2] += int(absences.get(row.id, 0))
        return {role: (n, agreed, gone) for role, (n, agreed, gone) in record.items()}

    # across nodes

    async def remote_request(
        self, request_id: uuid.UUID, *, lock: bool = False
    ) -> WorkforceRemoteRequest | None:
        return await self.session.get(WorkforceRemoteRequest, request_id, with_for_update=lock)

    async def remote_requests_page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[WorkforceRemoteRequest]:
        """Newest first."""
        query = (
            select(WorkforceRemoteRequest)
            .where(*conditions)
            .order_by(WorkforceRemoteRequest.created_at.desc(), WorkforceRemoteRequest.id.desc())
        )
        if page.after is not None:
            at, last = dt.datetime.fromisoformat(page.after[0]), uuid.UUID(page.after[1])
            query = query.where(
                or_(
                    WorkforceRemoteRequest.created_at < at,
                    (WorkforceRemoteRequest.created_at == at) & (WorkforceRemoteRequest.id < last),
                )
            )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(WorkforceRemoteRequest).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    async def pending_remote_requests(self, limit: int) -> Sequence[WorkforceRemoteRequest]:
        query = (
            select(WorkforceRemoteRequest)
            .where(WorkforceRemoteRequest.status == RelayStatus.PENDING)
            .order_by(WorkforceRemoteRequest.created_at)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def inbound(self, request_id: uuid.UUID) -> WorkforceRelayInbound | None:
        return await self.session.get(WorkforceRelayInbound, request_id)

    async def inbound_to_report(self, limit: int) -> Sequence[WorkforceRelayInbound]:
        """Requests from other nodes whose last reported status may still change."""
        query = (
            select(WorkforceRelayInbound)
            .where(
                or_(
                    WorkforceRelayInbound.reported.is_(None),
                    WorkforceRelayInbound.reported == RelayStatus.PROPOSED,
                )
            )
            .order_by(WorkforceRelayInbound.created_at)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def relayed_proposal_ids(self) -> set[uuid.UUID]:
        query = select(WorkforceRelayInbound.proposal_id).where(
            WorkforceRelayInbound.proposal_id.is_not(None)
        )
        return {i for i in (await self.session.scalars(query)).all() if i is not None}

    async def worker_days_taken(self, worker_id: uuid.UUID) -> set[str]:
        """Days of the worker's proposals that someone accepted or that came from another
        node: not free for a new request."""
        query = select(WorkforceProposal).where(
            WorkforceProposal.worker_id == worker_id,
            WorkforceProposal.status.in_([ProposalStatus.PROPOSED, ProposalStatus.ACCEPTED]),
        )
        taken: set[str] = set()
        for proposal in (await self.session.scalars(query)).all():
            if (
                proposal.status is ProposalStatus.ACCEPTED
                or proposal.employer_accepted_at
                or proposal.worker_accepted_at
                or proposal.run_id is None
            ):
                taken |= {day for day, _ in proposal.days}
        return taken
