"""The supply-and-demand board: needs and offers of materials and production capacity, posted
by organizations, and the matches between them across regions.

In an epidemic a suit maker needs meltblown fabric within two weeks while a weaver elsewhere has
idle looms: the board puts both in one place and ranks who can serve whom. The hub only matches;
the parties agree between themselves.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import append_entry
from hub.data_exchange.board.matching import Match, Terms, find_matches
from hub.data_exchange.board.models import BoardPosting, PostingStatus, Resource, Side
from hub.data_exchange.board.repository import BoardFilter, BoardRepository
from hub.data_exchange.errors import PostingClosed, PostingNotFound, TooManyOpenPostings
from yunfab.authorization import Authorizer
from yunfab.db import utcnow
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.settings import check_region
from yunfab.subject import Subject

ITEM = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
"""A process (`injection-moulding`) or a material code (`pp-resin`): lower case, single hyphens."""
UNIT = re.compile(r"^[a-z][a-z0-9./-]*$")
MAX_ITEM = 63
MAX_UNIT = 16
MAX_CITY = 100
MAX_NOTE = 1000
MAX_QUANTITY = 1e12
MAX_DISTANCE_KM = 20_100.0
"""Half the Earth's circumference, rounded up: no two places are further apart."""
MAX_WINDOW_DAYS = 366
MAX_LEAD_DAYS = 730
"""A window may start at most two years ahead."""
MAX_OPEN_PER_ORGANIZATION = 500
CLOSING = (PostingStatus.WITHDRAWN, PostingStatus.FILLED)


@dataclass(frozen=True)
class NewPosting:
    side: Side
    resource: Resource
    item: str
    quantity: float
    unit: str
    available_from: dt.date
    available_to: dt.date
    latitude: float
    longitude: float
    region: str
    city: str
    max_distance_km: float | None = None
    note: str = ""

    def validated(self, today: dt.date) -> NewPosting:
        """The posting with its text trimmed, or InvalidInput naming the first problem."""
        item, unit, city, note = (
            self.item.strip(), self.unit.strip(), self.city.strip(), self.note.strip()
        )  # fmt: skip
        numbers = [self.quantity, self.latitude, self.longitude]
        if self.max_distance_km is not None:
            numbers.append(self.max_distance_km)
        if not all(math.isfinite(value) for value in numbers):
            raise InvalidInput("numbers must be finite")
        checks = [
            (len(item) <= MAX_ITEM and bool(ITEM.match(item)),
             "item: a process or material code in lower case with single hyphens, at most 63 "
             "characters (e.g. weaving, meltblown-fabric)"),
            (0 < self.quantity <= MAX_QUANTITY, "quantity: more than 0"),
            (len(unit) <= MAX_UNIT and bool(UNIT.match(unit)),
             "unit: lower case, at most 16 characters (e.g. kg, t, pcs, hours)"),
            (self.available_from <= self.available_to,
             "availableFrom must not be after availableTo"),
            ((self.available_to - self.available_from).days < MAX_WINDOW_DAYS,
             "the window may span at most a year"),
            # One day's grace: the poster's calendar may be ahead of UTC.
            (self.available_to >= today - dt.timedelta(days=1), "the window has already passed"),
            (self.available_from <= today + dt.timedelta(days=MAX_LEAD_DAYS),
             "the window may start at most two years ahead"),
            (-90 <= self.latitude <= 90, "latitude: -90 to 90 degrees"),
            (-180 <= self.longitude <= 180, "longitude: -180 to 180 degrees"),
            (1 <= len(city) <= MAX_CITY and city.isprintable(), "city: 1 to 100 characters"),
            (self.max_distance_km is None or 0 < self.max_distance_km <= MAX_DISTANCE_KM,
             "maxDistanceKm: more than 0, at most 20100"),
            (len(note) <= MAX_NOTE and _plain_text(note), "note: at most 1000 characters"),
        ]  # fmt: skip
        for ok, message in checks:
            if not ok:
                raise InvalidInput(message)
        try:
            region = check_region(self.region.strip())
        except ValueError as exc:
            raise InvalidInput(f"region: {exc}") from exc
        return NewPosting(
            side=self.side, resource=self.resource, item=item, quantity=self.quantity, unit=unit,
            available_from=self.available_from, available_to=self.available_to,
            latitude=self.latitude, longitude=self.longitude, region=region, city=city,
            max_distance_km=self.max_distance_km, note=note,
        )  # fmt: skip


def _plain_text(value: str) -> bool:
    return all(char.isprintable() or char in "\n\t" for char in value)


def _resource(posting: BoardPosting) -> dict[str, str]:
    return {"id": str(posting.id), "org": str(posting.organization_id)}


async def post(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, input: NewPosting
) -> BoardPosting:
    """Put a need or an offer on the board, in the name of the subject's organization."""
    await authorizer.check(subject, "hub.board.post", {"org": subject.org_id})
    posting = input.validated(utcnow().date())
    repository = BoardRepository(session)
    organization = (
        await repository.organization(uuid.UUID(subject.org_id)) if subject.org_id else None
    )
    if organization is None:
        raise InvalidInput("postings are made for an organization known to the hub")
    if await repository.count_open(organization.id) >= MAX_OPEN_PER_ORGANIZATION:
        raise TooManyOpenPostings(
            f"an organization may have at most {MAX_OPEN_PER_ORGANIZATION} open postings: "
            "withdraw or fill some first"
        )
    row = BoardPosting(
        organization=organization,
        side=posting.side,
        resource=posting.resource,
        item=posting.item,
        quantity=posting.quantity,
        unit=posting.unit,
        available_from=posting.available_from,
        available_to=posting.available_to,
        latitude=posting.latitude,
        longitude=posting.longitude,
        region=posting.region,
        city=posting.city,
        max_distance_km=posting.max_distance_km,
        note=posting.note,
        status=PostingStatus.OPEN,
        posted_by=subject.label,
    )
    repository.add(row)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="hub.board.post",
        resource=f"board-posting:{row.id}",
        outcome="ok",
        detail={
            "side": row.side.value, "resource": row.resource.value, "item": row.item,
            "quantity": row.quantity, "unit": row.unit, "region": row.region,
        },
    )  # fmt: skip
    return row


async def close(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, posting_id: uuid.UUID,
    status: PostingStatus,
) -> BoardPosting:  # fmt: skip
    """Take a posting off the board as withdrawn or filled; only its organization may.

    Closing again with the same status changes nothing (a retried request); with the other
    status it is refused."""
    if status not in CLOSING:
        raise InvalidInput("a posting is closed as withdrawn or filled")
    repository = BoardRepository(session)
    row = await repository.get(posting_id, for_update=True)
    if row is None:
        raise PostingNotFound(f"no posting {posting_id} on the board")
    await authorizer.check(subject, "hub.board.close", _resource(row))
    if row.status is status:
        return row
    if row.status is not PostingStatus.OPEN:
        raise PostingClosed(f"the posting was already closed as {row.status.value}")
    row.status = status
    row.closed_at = utcnow()
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="hub.board.close",
        resource=f"board-posting:{row.id}",
        outcome="ok",
        detail={"status": status.value},
    )
    return row


async def list_postings(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, board: BoardFilter,
    page: PageRequest,
) -> Page[BoardPosting]:  # fmt: skip
    await authorizer.check(subject, "hub.board.read")
    if board.item is not None and len(board.item) > MAX_ITEM:
        raise InvalidInput("item: at most 63 characters")
    if board.region is not None and len(board.region) > 16:
        raise InvalidInput("region: at most 16 characters")
    return await BoardRepository(session).page(board, page)


async def get_posting(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, posting_id: uuid.UUID
) -> BoardPosting:
    """One posting, open or closed, for whoever may read the board (a match's page links it)."""
    await authorizer.check(subject, "hub.board.read")
    posting = await BoardRepository(session).get(posting_id)
    if posting is None:
        raise PostingNotFound(f"no posting {posting_id} on the board")
    return posting


@dataclass(frozen=True)
class PostingMatch:
    posting: BoardPosting
    """The candidate that can serve the posting asked about."""
    match: Match


MATCH_CURSOR_TYPES = (float, float, str, str)
"""A match cursor is its `Match.rank`."""


async def list_matches(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, posting_id: uuid.UUID,
    page: PageRequest, max_distance_km: float | None = None, min_coverage: float | None = None,
) -> Page[PostingMatch]:  # fmt: skip
    """The postings that can serve this one, best first; none once it is closed. The filters
    narrow the matches (and their total) without changing their order."""
    await authorizer.check(subject, "hub.board.read")
    repository = BoardRepository(session)
    posting = await repository.get(posting_id)
    if posting is None:
        raise PostingNotFound(f"no posting {posting_id} on the board")
    candidates = {row.id: row for row in await repository.candidates(posting)}
    found = [
        m
        for m in find_matches(Terms.of(posting), (Terms.of(row) for row in candidates.values()))
        if (max_distance_km is None or m.distance_km <= max_distance_km)
        and (min_coverage is None or m.coverage >= min_coverage)
    ]
    total = len(found)
    if page.after is not None:
        after = tuple(page.after)
        found = [m for m in found if m.rank > after]
    rows = [PostingMatch(posting=candidates[m.candidate.id], match=m) for m in found]

    async def count() -> int:
        return total

    return Page.from_rows(rows, page.limit, count)
