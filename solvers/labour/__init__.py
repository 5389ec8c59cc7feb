"""Shared workers (issue #23): seasonal labour lent between factories, matched worker-day by
worker-day (OR-Tools min-cost flow, CP-SAT where teams must stay together), with explanations,
a greedy reference and an independent constraint check."""

from solvers.labour.checks import violations
from solvers.labour.explain import Reason, Shortfall, shortfalls, why
from solvers.labour.greedy import greedy
from solvers.labour.matching import Match, match
from solvers.labour.model import Assignment, Need, Problem, Worker, haversine_km

__all__ = [
    "Assignment",
    "Match",
    "Need",
    "Problem",
    "Reason",
    "Shortfall",
    "Worker",
    "greedy",
    "haversine_km",
    "match",
    "shortfalls",
    "violations",
    "why",
]
