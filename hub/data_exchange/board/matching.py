"""Which postings on the other side of the board can serve a posting, and how well.

Pure functions over `Terms` (what a posting asks or offers, where and when), so the rules are
tested without a database. A candidate matches when it is OPEN, on the other side, from another
organization, for the same resource, item and unit, with an overlapping window, and close enough
for both posters' distance limits. Matches are ranked by how much of the posting they cover,
then by distance, then by who can start first.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from hub.data_exchange.board.models import BoardPosting, PostingStatus, Resource, Side

EARTH_RADIUS_KM = 6371.0088
"""The mean Earth radius (IUGG): great-circle distances within about 0.5 % of the ellipsoid's."""


@dataclass(frozen=True)
class Terms:
    """What a posting asks or offers, where and when: all matching looks at."""

    id: uuid.UUID
    organization_id: uuid.UUID
    side: Side
    resource: Resource
    item: str
    unit: str
    quantity: float
    available_from: dt.date
    available_to: dt.date
    latitude: float
    longitude: float
    max_distance_km: float | None = None
    status: PostingStatus = PostingStatus.OPEN

    @classmethod
    def of(cls, posting: BoardPosting) -> Terms:
        return cls(
            id=posting.id,
            organization_id=posting.organization_id,
            side=posting.side,
            resource=posting.resource,
            item=posting.item,
            unit=posting.unit,
            quantity=posting.quantity,
            available_from=posting.available_from,
            available_to=posting.available_to,
            latitude=posting.latitude,
            longitude=posting.longitude,
            max_distance_km=posting.max_distance_km,
            status=posting.status,
        )


@dataclass(frozen=True)
class Match:
    """A candidate that can serve the posting, with what it brings."""

    candidate: Terms
    distance_km: float
    overlap_days: int
    matchable_quantity: float
    """The smaller of the two quantities: what could change hands."""
    coverage: float
    """matchable_quantity / the posting's quantity, 0 to 1."""

    @property
    def rank(self) -> tuple[float, float, str, str]:
        """The ordering key, ascending: best coverage, then nearest, then earliest start (and the
        id, so equal matches keep a stable order across pages)."""
        return (
            -self.coverage,
            self.distance_km,
            self.candidate.available_from.isoformat(),
            str(self.candidate.id),
        )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def overlap_days(a: Terms, b: Terms) -> int:
    """Days both windows share, both ends included; 0 when they do not meet."""
    start = max(a.available_from, b.available_from)
    end = min(a.available_to, b.available_to)
    return max(0, (end - start).days + 1)


def compatible(posting: Terms, candidate: Terms) -> bool:
    """Same thing, measured the same way, on the other side, from someone else, still open."""
    return (
        candidate.status is PostingStatus.OPEN
        and candidate.side is not posting.side
        and candidate.organization_id != posting.organization_id
        and candidate.resource is posting.resource
        and candidate.item == posting.item
        and candidate.unit == posting.unit
    )


def _within(distance_km: float, limit_km: float | None) -> bool:
    return limit_km is None or distance_km <= limit_km


def match(posting: Terms, candidate: Terms) -> Match | None:
    """How `candidate` serves `posting`, or None when it cannot."""
    if not compatible(posting, candidate):
        return None
    days = overlap_days(posting, candidate)
    if days == 0:
        return None
    distance = haversine_km(
        posting.latitude, posting.longitude, candidate.latitude, candidate.longitude
    )
    if not (
        _within(distance, posting.max_distance_km) and _within(distance, candidate.max_distance_km)
    ):
        return None
    matchable = min(posting.quantity, candidate.quantity)
    return Match(
        candidate=candidate,
        distance_km=distance,
        overlap_days=days,
        matchable_quantity=matchable,
        coverage=matchable / posting.quantity,
    )


def find_matches(posting: Terms, candidates: Iterable[Terms]) -> list[Match]:
    """Every candidate that can serve `posting`, best first (see `Match.rank`)."""
    if posting.status is not PostingStatus.OPEN:
        return []
    found = [m for m in (match(posting, candidate) for candidate in candidates) if m is not None]
    return sorted(found, key=lambda m: m.rank)
