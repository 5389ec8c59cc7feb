"""What is matched: workers lent by their employers (pseudonymous profiles) and factories'
needs, and the worker-day slots between them.

A need asks, for each day from `first_day` to `last_day`, `headcount[shift]` workers on each
shift it names. A worker can take a need's slot when they have the skill at the level asked,
hold every certificate asked (and safety training where asked), live within their own travel
radius of the site, ask no more than the wage offered, and are available that day and shift.
Each worker works at most one shift a day. A need with `keep_team` takes a team (the workers one
source lent under one team id) whole or not at all: every member on the same day and shift, a
hard rule.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_KM = 6371.0088
MAX_CERTIFICATES = 62
"""Distinct certificates in one problem: they are held as bits of an int64."""
MAX_PRIORITY = 100


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Worker:
    id: str
    """A pseudonym: names and contact details stay with the employer."""
    source: str
    """The employer (a factory or labour service) lending the worker."""
    skills: Mapping[str, int]
    """Skill -> level (1 novice .. 5 master)."""
    home: tuple[float, float]
    """(latitude, longitude) of the worker's home area."""
    radius_km: float
    wage_floor: float
    """The least day wage the worker accepts."""
    first_day: dt.date
    last_day: dt.date
    shifts: frozenset[str] = frozenset({"day"})
    certificates: frozenset[str] = frozenset()
    safety_trained: bool = False
    team: str | None = None
    """Workers of one source with the same team id go together to needs that keep teams."""

    @property
    def team_key(self) -> tuple[str, str] | None:
        return (self.source, self.team) if self.team else None


@dataclass(frozen=True)
class Need:
    id: str
    factory: str
    site: tuple[float, float]
    skill: str
    min_level: int
    first_day: dt.date
    last_day: dt.date
    headcount: Mapping[str, int]
    """Shift -> workers wanted on that shift, each day of the range."""
    wage: float
    """The day wage offered."""
    priority: int = 1
    """Weight of each worker-day covered (1 .. 100)."""
    certificates: frozenset[str] = frozenset()
    safety_training: bool = False
    keep_team: bool = False


@dataclass(frozen=True)
class Assignment:
    worker: str
    need: str
    day: dt.date
    shift: str


def days_of(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class Problem:
    """Workers, needs and the assignments already accepted (kept as they are on a re-match)."""

    workers: tuple[Worker, ...]
    needs: tuple[Need, ...]
    locked: tuple[Assignment, ...] = ()
    _index: dict[str, dict[str, int]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        workers = {w.id: i for i, w in enumerate(self.workers)}
        needs = {n.id: i for i, n in enumerate(self.needs)}
        if len(workers) != len(self.workers):
            raise ValueError("workers: ids must be unique")
        if len(needs) != len(self.needs):
            raise ValueError("needs: ids must be unique")
        for need in self.needs:
            if need.last_day < need.first_day:
                raise ValueError(f"need {need.id}: last day before first day")
            if not 1 <= need.priority <= MAX_PRIORITY:
                raise ValueError(f"need {need.id}: priority 1 to {MAX_PRIORITY}")
            if any(count < 0 for count in need.headcount.values()):
                raise ValueError(f"need {need.id}: headcount must not be negative")
        for worker in self.workers:
            if worker.last_day < worker.first_day:
                raise ValueError(f"worker {worker.id}: last day before first day")
        for lock in self.locked:
            if lock.worker not in workers or lock.need not in needs:
                raise ValueError(f"locked assignment {lock}: unknown worker or need")
        if len(self.certificate_names) > MAX_CERTIFICATES:
            raise ValueError(f"at most {MAX_CERTIFICATES} distinct certificates")
        self._index.update(workers=workers, needs=needs)

    def worker_index(self, worker_id: str) -> int:
        return self._index["workers"][worker_id]

    def need_index(self, need_id: str) -> int:
        return self._index["needs"][need_id]

    @cached_property
    def shift_names(self) -> tuple[str, ...]:
        names = {s for n in self.needs for s in n.headcount} | {
            s for w in self.workers for s in w.shifts
        }
        return tuple(sorted(names))

    @cached_property
    def skill_names(self) -> tuple[str, ...]:
        return tuple(
            sorted({n.skill for n in self.needs} | {s for w in self.workers for s in w.skills})
        )

    @cached_property
    def certificate_names(self) -> tuple[str, ...]:
        return tuple(
            sorted(
                {c for n in self.needs for c in n.certificates}
                | {c for w in self.workers for c in w.certificates}
            )
        )

    @cached_property
    def origin(self) -> dt.date:
        days = [w.first_day for w in self.workers] + [n.first_day for n in self.needs]
        return min(days) if days else dt.date(2000, 1, 1)

    def day_number(self, day: dt.date) -> int:
        return (day - self.origin).days

    def day_of(self, number: int) -> dt.date:
        return self.origin + dt.timedelta(days=int(number))

    @cached_property
    def arrays(self) -> Arrays:
        return Arrays.of(self)


def _shift_mask(shifts: Collection[str], names: tuple[str, ...]) -> int:
    return sum(1 << i for i, name in enumerate(names) if name in shifts)


def _cert_mask(certificates: frozenset[str], names: tuple[str, ...]) -> int:
    return sum(1 << i for i, name in enumerate(names) if name in certificates)


IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Arrays:
    """The problem as columns, for checks on every worker x need pair at once."""

    level: IntArray
    """workers x skills: the worker's level, 0 without the skill."""
    w_certs: IntArray
    w_safe: BoolArray
    w_lat: FloatArray
    w_lon: FloatArray
    w_radius: FloatArray
    w_floor: FloatArray
    w_first: IntArray
    w_last: IntArray
    w_shifts: IntArray
    n_skill: IntArray
    n_level: IntArray
    n_certs: IntArray
    n_safety: BoolArray
    n_lat: FloatArray
    n_lon: FloatArray
    n_wage: FloatArray
    n_first: IntArray
    n_last: IntArray
    n_shifts: IntArray
    n_priority: IntArray
    n_keep: BoolArray
    headcount: IntArray
    """needs x shifts."""

    @classmethod
    def of(cls, problem: Problem) -> Arrays:
        skills = {name: i for i, name in enumerate(problem.skill_names)}
        shifts, certs = problem.shift_names, problem.certificate_names
        level = np.zeros((len(problem.workers), len(skills)), dtype=np.int64)
        for i, worker in enumerate(problem.workers):
            for skill, value in worker.skills.items():
                level[i, skills[skill]] = value
        ws, ns = problem.workers, problem.needs
        return cls(
            level=level,
            w_certs=np.array([_cert_mask(w.certificates, certs) for w in ws], dtype=np.int64),
            w_safe=np.array([w.safety_trained for w in ws], dtype=np.bool_),
            w_lat=np.array([w.home[0] for w in ws], dtype=np.float64),
            w_lon=np.array([w.home[1] for w in ws], dtype=np.float64),
            w_radius=np.array([w.radius_km for w in ws], dtype=np.float64),
            w_floor=np.array([w.wage_floor for w in ws], dtype=np.float64),
            w_first=np.array([problem.day_number(w.first_day) for w in ws], dtype=np.int64),
            w_last=np.array([problem.day_number(w.last_day) for w in ws], dtype=np.int64),
            w_shifts=np.array([_shift_mask(w.shifts, shifts) for w in ws], dtype=np.int64),
            n_skill=np.array([skills[n.skill] for n in ns], dtype=np.int64),
            n_level=np.array([n.min_level for n in ns], dtype=np.int64),
            n_certs=np.array([_cert_mask(n.certificates, certs) for n in ns], dtype=np.int64),
            n_safety=np.array([n.safety_training for n in ns], dtype=np.bool_),
            n_lat=np.array([n.site[0] for n in ns], dtype=np.float64),
            n_lon=np.array([n.site[1] for n in ns], dtype=np.float64),
            n_wage=np.array([n.wage for n in ns], dtype=np.float64),
            n_first=np.array([problem.day_number(n.first_day) for n in ns], dtype=np.int64),
            n_last=np.array([problem.day_number(n.last_day) for n in ns], dtype=np.int64),
            n_shifts=np.array(
                [_shift_mask({s for s, c in n.headcount.items() if c > 0}, shifts) for n in ns],
                dtype=np.int64,
            ),
            n_priority=np.array([n.priority for n in ns], dtype=np.int64),
            n_keep=np.array([n.keep_team for n in ns], dtype=np.bool_),
            headcount=np.array(
                [[n.headcount.get(s, 0) for s in shifts] for n in ns], dtype=np.int64
            ).reshape(len(ns), len(shifts)),
        )

    def distance_km(self, needs: IntArray | slice = slice(None)) -> FloatArray:
        """workers x needs (those given): the distance from home to site."""
        lat1 = np.radians(self.w_lat)[:, None]
        lon1 = np.radians(self.w_lon)[:, None]
        lat2 = np.radians(self.n_lat[needs])[None, :]
        lon2 = np.radians(self.n_lon[needs])[None, :]
        h = (
            np.sin((lat2 - lat1) / 2) ** 2
            + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
        )
        return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))))

    def pair_km(self, workers: IntArray, needs: IntArray) -> FloatArray:
        """The distance from each worker's home to the site of the need beside it."""
        lat1, lon1 = np.radians(self.w_lat[workers]), np.radians(self.w_lon[workers])
        lat2, lon2 = np.radians(self.n_lat[needs]), np.radians(self.n_lon[needs])
        h = (
            np.sin((lat2 - lat1) / 2) ** 2
            + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
        )
        return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))))

    def stages(self, need: int) -> list[tuple[str, BoolArray]]:
        """The workers left after each of a need's checks, in the order explanations give them."""
        n = need
        has_skill = self.level[:, self.n_skill[n]] > 0
        level = has_skill & (self.level[:, self.n_skill[n]] >= self.n_level[n])
        certs = level & ((self.w_certs & self.n_certs[n]) == self.n_certs[n])
        safety = certs & (self.w_safe | ~self.n_safety[n])
        near = safety & (self.distance_km(np.array([n]))[:, 0] <= self.w_radius)
        wage = near & (self.w_floor <= self.n_wage[n])
        dates = wage & (self.w_first <= self.n_last[n]) & (self.w_last >= self.n_first[n])
        shifts = dates & ((self.w_shifts & self.n_shifts[n]) != 0)
        return [
            ("skill", has_skill),
            ("level", level),
            ("certificates", certs),
            ("safety", safety),
            ("radius", near),
            ("wage", wage),
            ("dates", dates),
            ("shifts", shifts),
        ]

    def eligible(self, chunk: int = 64) -> tuple[IntArray, IntArray, FloatArray]:
        """Every (worker, need) pair that passes all of the need's checks but the day-by-day
        ones: worker indices, need indices and their distances."""
        workers: list[IntArray] = []
        needs: list[IntArray] = []
        distances: list[FloatArray] = []
        for start in range(0, len(self.n_skill), chunk):
            cols = np.arange(start, min(start + chunk, len(self.n_skill)))
            lvl = self.level[:, self.n_skill[cols]]
            ok = (lvl > 0) & (lvl >= self.n_level[cols][None, :])
            ok &= (self.w_certs[:, None] & self.n_certs[cols][None, :]) == self.n_certs[cols][
                None, :
            ]
            ok &= self.w_safe[:, None] | ~self.n_safety[cols][None, :]
            ok &= self.w_floor[:, None] <= self.n_wage[cols][None, :]
            ok &= (self.w_first[:, None] <= self.n_last[cols][None, :]) & (
                self.w_last[:, None] >= self.n_first[cols][None, :]
            )
            ok &= (self.w_shifts[:, None] & self.n_shifts[cols][None, :]) != 0
            dist = self.distance_km(cols)
            ok &= dist <= self.w_radius[:, None]
            w, c = np.nonzero(ok)
            workers.append(w.astype(np.int64))
            needs.append(cols[c])
            distances.append(dist[w, c])
        if not workers:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.float64)
        return np.concatenate(workers), np.concatenate(needs), np.concatenate(distances)
