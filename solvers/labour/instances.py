"""Seeded shared-worker problems shaped like the Dongguan (Guangdong) textile and moulding belt:
garment towns (Humen, Dalang, Xintang) lending and borrowing sewing operators, moulding towns
(Chang'an, Changping, Tangxia, Qingxi) injection-moulding setters and operators, forklift
drivers and packers everywhere, over an eight-week peak season."""

from __future__ import annotations

import datetime as dt
import random

from solvers.labour.model import Need, Problem, Worker

TOWNS: dict[str, tuple[float, float, str]] = {
    "Humen": (22.815, 113.673, "textile"),
    "Dalang": (22.940, 113.943, "textile"),
    "Xintang": (23.133, 113.610, "textile"),
    "Houjie": (22.942, 113.671, "textile"),
    "Chang'an": (22.803, 113.795, "moulding"),
    "Changping": (22.975, 114.000, "moulding"),
    "Tangxia": (22.810, 114.085, "moulding"),
    "Qingxi": (22.846, 114.163, "moulding"),
    "Songshan Lake": (22.915, 113.890, "moulding"),
}
SKILLS: dict[str, tuple[str, float]] = {
    # skill: (trade, base day wage in yuan)
    "sewing_operator": ("textile", 230.0),
    "overlock_operator": ("textile", 220.0),
    "pattern_cutter": ("textile", 260.0),
    "quality_inspector": ("any", 210.0),
    "injection_moulding_setter": ("moulding", 340.0),
    "injection_moulding_operator": ("moulding", 210.0),
    "cnc_operator": ("moulding", 300.0),
    "forklift_driver": ("any", 250.0),
    "packer": ("any", 180.0),
}
CERTIFICATE_OF = {
    "forklift_driver": "forklift_licence",
    "injection_moulding_setter": "mould_setter",
}
SEASON_START = dt.date(2027, 9, 6)
SEASON_DAYS = 56


def _near(rng: random.Random, town: str, km: float) -> tuple[float, float]:
    lat, lon, _ = TOWNS[town]
    return (lat + rng.gauss(0, km) / 111.0, lon + rng.gauss(0, km) / 102.0)


def _skills_for(rng: random.Random, trade: str) -> list[str]:
    own = [s for s, (t, _) in SKILLS.items() if t in (trade, "any")]
    weights = [4.0 if s in ("sewing_operator", "injection_moulding_operator") else 1.0 for s in own]
    return rng.choices(own, weights=weights, k=rng.choice((1, 1, 2, 2, 3)))


def seeded(
    seed: int,
    *,
    workers: int = 5000,
    needs: int = 500,
    keep_teams: bool = False,
    keep_share: float = 0.1,
) -> Problem:
    """`workers` lent by ~70 employers, `needs` posted by ~90 factories; with `keep_teams`, one
    need in ten (`keep_share`) keeps teams together (a fifth of workers are in teams of 3 to 6)."""
    rng = random.Random(seed)
    towns = list(TOWNS)
    employers = [(f"lender-{i:02d}", rng.choice(towns)) for i in range(70)]
    pool: list[Worker] = []
    team_left, team_id = 0, ""
    team_skills: list[str] = []
    team_of: dict[str, tuple[dt.date, int, tuple[float, float], float]] = {}
    team_shifts = frozenset({"day"})
    source, town = employers[0]
    for i in range(workers):
        if team_left == 0:
            source, town = rng.choice(employers)
            if rng.random() < 0.06:
                team_left, team_id = rng.randint(3, 6), f"t{i}"
            else:
                team_left, team_id = 1, ""
            # A team (a line's crew) shares its trade's skills and its shifts.
            team_skills = _skills_for(rng, TOWNS[town][2])
            team_shifts = rng.choices(
                (frozenset({"day"}), frozenset({"day", "night"}), frozenset({"night"})), (7, 2, 1)
            )[0]
        team_left -= 1
        trade = TOWNS[town][2]
        names = team_skills if team_id else _skills_for(rng, trade)
        skills = {s: rng.choices((1, 2, 3, 4, 5), (2, 3, 3, 2, 1))[0] for s in names}
        first = SEASON_START + dt.timedelta(days=rng.randint(0, 28))
        length = rng.randint(14, SEASON_DAYS)
        home, radius = _near(rng, town, 6.0), rng.choice((8.0, 12.0, 15.0, 20.0, 25.0, 30.0, 40.0))
        if team_id:
            # A crew lives in one dormitory and comes for the same weeks.
            team = team_of.setdefault(team_id, (first, length, home, radius))
            first, length, home, radius = team
        last = min(
            first + dt.timedelta(days=length - 1), SEASON_START + dt.timedelta(SEASON_DAYS - 1)
        )
        floor = max(
            SKILLS[s][1] * (0.75 + 0.1 * level) for s, level in skills.items()
        ) * rng.uniform(0.85, 1.05)
        pool.append(
            Worker(
                id=f"w{i:05d}",
                source=source,
                skills=skills,
                home=home,
                radius_km=radius,
                wage_floor=round(floor),
                first_day=first,
                last_day=last,
                shifts=team_shifts,
                certificates=frozenset(
                    CERTIFICATE_OF[s] for s in skills if s in CERTIFICATE_OF and rng.random() < 0.8
                ),
                safety_trained=rng.random() < 0.6,
                team=team_id or None,
            )
        )
    factories = [(f"factory-{i:02d}", rng.choice(towns)) for i in range(90)]
    wanted: list[Need] = []
    for j in range(needs):
        factory, town = rng.choice(factories)
        trade = TOWNS[town][2]
        skill = _skills_for(rng, trade)[0]
        level = rng.choices((1, 2, 3, 4), (3, 4, 2, 1))[0]
        first = SEASON_START + dt.timedelta(days=rng.randint(0, SEASON_DAYS - 5))
        last = min(
            first + dt.timedelta(days=rng.randint(4, 27)),
            SEASON_START + dt.timedelta(SEASON_DAYS - 1),
        )
        headcount = {"day": rng.randint(1, 8)}
        if rng.random() < 0.3:
            headcount["night"] = rng.randint(1, 6)
        wanted.append(
            Need(
                id=f"n{j:04d}",
                factory=factory,
                site=_near(rng, town, 3.0),
                skill=skill,
                min_level=level,
                first_day=first,
                last_day=last,
                headcount=headcount,
                wage=round(SKILLS[skill][1] * (0.75 + 0.1 * level) * rng.uniform(0.9, 1.3)),
                priority=rng.choices((1, 2, 3, 4, 5), (3, 3, 2, 1, 1))[0],
                certificates=frozenset({CERTIFICATE_OF[skill]})
                if skill in CERTIFICATE_OF
                else frozenset(),
                safety_training=skill
                in ("injection_moulding_setter", "forklift_driver", "cnc_operator")
                or rng.random() < 0.15,
                keep_team=keep_teams and rng.random() < keep_share,
            )
        )
    return Problem(workers=tuple(pool), needs=tuple(wanted))
