"""Candidate causes of defects: inspection results set against the process that made the parts.

Two kinds of cause are looked for, both as plain statistics over the parts of one device:

- A process parameter that goes with defects. Each part gets the value the parameter had when it
  was made: the mean of that metric's readings in ``[at - lookback, at]`` or, when none fall in
  that window (devices often report on change only), the last reading before it no older than
  ``max_age``. Parts without such a value are left out of that metric and counted. The effect
  size is the AUROC of the parameter for telling defective from good parts (0.5: no relation;
  above: high values go with defects; below: low ones do). Its two-sided p-value comes from the
  Mann-Whitney U test, with the normal approximation and tie correction from ``SMALL_SAMPLE``
  parts on and a seeded permutation test below that; p-values are adjusted across metrics by
  Benjamini-Hochberg, since a dozen metrics tested at 5% would otherwise throw up a false cause
  in every other report. The threshold split a person can act on ("defect rate 38% above 82.5")
  is the one with the largest difference in defect rate between its sides, each side holding at
  least ``min_split_share`` of the parts, so a handful of extreme parts cannot make it (on 300
  planted parts, a tenth per side missed the planted threshold by over 1.5 °C in 15 of 200 runs,
  a fifth in 7).
- Defects that gather at one position of the part across a batch, as a damaged mould cavity or
  fixture leaves them. Every defect box centre of a defective part is a candidate seed; the disc
  of ``cluster_radius`` around the seed that holds defects of the most parts is the candidate
  cluster. Against defects spread uniformly over where defects occur at all (the bounding box of
  every defect centre in the analysis, taken as at least ``MIN_REGION`` of the image, since a part
  rarely fills its image), a part with ``m`` boxes lands in a disc taking the share ``A`` of that
  region with probability ``1 - (1 - A)^m``; the chance that at least as many other
  parts land in the disc is a Poisson-binomial tail, and multiplying it by the number of seeds
  tried (a union bound) accounts for having picked the best disc. A found cluster's centres are
  removed and the search repeats, up to ``max_clusters`` per scope; the p-values of every scope
  (each batch, and all parts when there is more than one batch) are then adjusted together by
  Benjamini-Hochberg. Discs that cross the image border are smaller in truth than ``A``, so the
  test errs on the side of reporting nothing.

Both are associations over observational data: a cause to look at, not a proven one. The tests
take parts as independent, which parts made minutes apart are not: they share readings and drift
together, so p-values are optimistic. With one part every 1.6 minutes, 5-minute windows and a
metric of pure noise, 11% of runs called it significant at 5%; read a borderline q with that in
mind, and prefer longer spans of production to more parts from one hour. Nothing here
touches a database; the caller loads parts and telemetry and renders ``RootCauseReport.as_json``.
Bad input that a person should fix (naive datetimes, options out of range) raises ``ValueError``;
data that merely cannot be analysed (no parts, a metric that never moves) is said so in the report.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

from vision_ml.metrics import _ranks, auroc

Box = tuple[float, float, float, float]
Reading = tuple[datetime, float]
Telemetry = Mapping[str, Sequence[Reading]]
Direction = Literal["high", "low"]
Test = Literal["normal", "permutation"]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SMALL_SAMPLE = 30
MIN_REGION = 0.25
PERMUTATIONS = 20_000
_SEED_CHUNK = 512


@dataclass(frozen=True)
class Part:
    """One inspected part. ``boxes`` are defect boxes as (x, y, w, h) of the image's width and
    height, (x, y) the top-left corner; boxes of a part that is not defective are ignored."""

    at: datetime
    defective: bool
    batch: str | None = None
    defect_class: str | None = None
    boxes: list[Box] = field(default_factory=list)
    device: str | None = None


@dataclass(frozen=True)
class Split:
    """The parts divided at ``threshold``: "above" holds values greater than it."""

    threshold: float
    risk_side: Literal["above", "below"]
    rate_above: float
    rate_below: float
    parts_above: int
    parts_below: int

    def describe(self, metric: str) -> str:
        risky, other = (
            (self.rate_above, self.rate_below)
            if self.risk_side == "above"
            else (self.rate_below, self.rate_above)
        )
        sign = ">" if self.risk_side == "above" else "<="
        return (
            f"defect rate {risky:.0%} when {metric} {sign} {self.threshold:.4g}"
            f" vs {other:.0%} otherwise"
        )


@dataclass(frozen=True)
class RateBin:
    """Parts whose value lies in ``[low, high]`` (a quantile bin), and how many were defective."""

    low: float
    high: float
    parts: int
    defective: int

    @property
    def rate(self) -> float:
        return self.defective / self.parts if self.parts else 0.0


@dataclass(frozen=True)
class ParameterCandidate:
    metric: str
    parts: int
    defective: int
    parts_without_value: int
    auroc: float
    direction: Direction
    p_value: float
    q_value: float
    significant: bool
    test: Test
    split: Split
    bins: list[RateBin]

    @property
    def strength(self) -> float:
        """0 for no relation, 1 when the parameter separates defective from good parts."""
        return abs(self.auroc - 0.5) * 2.0

    @property
    def explanation(self) -> str:
        verdict = "significant" if self.significant else "not significant"
        return (
            f"{self.split.describe(self.metric)}; {self.direction} {self.metric} goes with"
            f" defects (AUROC {self.auroc:.2f}, adjusted p {self.q_value:.2g}, {verdict})"
        )


@dataclass(frozen=True)
class SkippedMetric:
    """A metric that could not be analysed, and why."""

    metric: str
    reason: str
    parts: int
    parts_without_value: int


@dataclass(frozen=True)
class BatchRate:
    batch: str
    parts: int
    defective: int

    @property
    def rate(self) -> float:
        return self.defective / self.parts if self.parts else 0.0


@dataclass(frozen=True)
class PositionCluster:
    """Defects of ``parts`` parts within ``radius`` of ``centre``; ``batch`` None means every
    part analysed. Shares are of the scope's defective parts and of all its parts."""

    batch: str | None
    centre: tuple[float, float]
    radius: float
    parts: int
    scope_parts: int
    scope_defective: int
    p_value: float
    q_value: float

    @property
    def share_of_defective(self) -> float:
        return self.parts / self.scope_defective if self.scope_defective else 0.0

    @property
    def share_of_parts(self) -> float:
        return self.parts / self.scope_parts if self.scope_parts else 0.0

    @property
    def explanation(self) -> str:
        where = f"batch {self.batch}" if self.batch is not None else "all batches"
        x, y = self.centre
        return (
            f"defects gather at ({x:.2f}, {y:.2f}) in {self.parts} of {self.scope_parts} parts"
            f" of {where} ({self.parts} of {self.scope_defective} defective):"
            " a damaged mould or fixture?"
        )


@dataclass(frozen=True)
class RootCauseReport:
    parts: int
    defective: int
    parts_without_telemetry: int
    batches: list[BatchRate]
    candidates: list[ParameterCandidate]
    not_analysable: list[SkippedMetric]
    clusters: list[PositionCluster]
    notes: list[str]

    @property
    def defect_rate(self) -> float | None:
        return self.defective / self.parts if self.parts else None

    def as_json(self) -> dict[str, object]:
        return {
            "parts": self.parts,
            "defective": self.defective,
            "defect_rate": _share(self.defect_rate),
            "parts_without_telemetry": self.parts_without_telemetry,
            "batches": [
                {
                    "batch": b.batch,
                    "parts": b.parts,
                    "defective": b.defective,
                    "rate": _share(b.rate),
                }
                for b in self.batches
            ],
            "candidates": [_candidate_json(c) for c in self.candidates],
            "not_analysable": [
                {
                    "metric": s.metric,
                    "reason": s.reason,
                    "parts": s.parts,
                    "parts_without_value": s.parts_without_value,
                }
                for s in self.not_analysable
            ],
            "clusters": [_cluster_json(c) for c in self.clusters],
            "notes": list(self.notes),
        }


def analyse(
    parts: Sequence[Part],
    telemetry: Telemetry,
    *,
    lookback: timedelta = timedelta(minutes=10),
    max_age: timedelta = timedelta(hours=1),
    device: str | None = None,
    min_parts: int = 20,
    min_per_class: int = 5,
    alpha: float = 0.05,
    bins: int = 5,
    min_split_share: float = 0.2,
    cluster_radius: float = 0.05,
    min_cluster_parts: int = 3,
    max_clusters: int = 3,
    seed: int = 0,
) -> RootCauseReport:
    """Parameter candidates and position clusters for ``parts`` made on the device whose readings
    are ``telemetry`` (metric name to time-ordered readings). With ``device`` set, parts known to
    come from another device are left out and counted."""
    _check_options(
        lookback, max_age, min_parts, min_per_class, alpha, bins, min_split_share, cluster_radius
    )
    for part in parts:
        _require_aware(part.at, "part inspection time")
    series = {name: _series(name, readings) for name, readings in telemetry.items()}

    notes: list[str] = []
    if device is not None:
        kept = [p for p in parts if p.device is None or p.device == device]
        if len(kept) < len(parts):
            notes.append(
                f"{len(parts) - len(kept)} parts from devices other than {device} left out"
            )
        parts = kept
    if not parts:
        notes.append("nothing to analyse: no parts")
        return RootCauseReport(0, 0, 0, [], [], [], [], notes)

    defective = np.array([p.defective for p in parts], dtype=bool)
    times = np.array([p.at.timestamp() for p in parts], dtype=np.float64)
    candidates, skipped, without = _parameters(
        times,
        defective,
        series,
        lookback=lookback,
        max_age=max_age,
        min_parts=min_parts,
        min_per_class=min_per_class,
        alpha=alpha,
        bins=bins,
        min_split_share=min_split_share,
        seed=seed,
        notes=notes,
    )
    clusters = _clusters(
        parts,
        radius=cluster_radius,
        min_parts=min_cluster_parts,
        max_clusters=max_clusters,
        alpha=alpha,
        notes=notes,
    )
    return RootCauseReport(
        parts=len(parts),
        defective=int(defective.sum()),
        parts_without_telemetry=without,
        batches=_batch_rates(parts, notes),
        candidates=candidates,
        not_analysable=skipped,
        clusters=clusters,
        notes=notes,
    )


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Adjusted p-values (q-values) controlling the false discovery rate, in the given order."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return []
    order = np.argsort(p, kind="mergesort")
    scaled = p[order] * p.size / np.arange(1, p.size + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(p.size, dtype=np.float64)
    q[order] = np.minimum(adjusted, 1.0)
    return [float(v) for v in q]


def mann_whitney_p(
    values: Sequence[float] | FloatArray,
    labels: Sequence[int] | BoolArray,
    *,
    seed: int = 0,
) -> tuple[float, Test]:
    """Two-sided Mann-Whitney U p-value, and which test gave it: a seeded permutation test of the
    rank sum below ``SMALL_SAMPLE`` values, the tie-corrected normal approximation with
    continuity correction from there on."""
    x = np.asarray(values, dtype=np.float64)
    positive = np.asarray(labels, dtype=bool)
    n = x.size
    n_pos = int(positive.sum())
    n_neg = n - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("a Mann-Whitney test needs both groups")
    u = auroc(x, positive) * n_pos * n_neg
    mean = n_pos * n_neg / 2.0
    if n < SMALL_SAMPLE:
        ranks = _ranks(x)
        rng = np.random.default_rng(seed)
        draws = rng.permuted(np.tile(ranks, (PERMUTATIONS, 1)), axis=1)[:, :n_pos]
        u_perm = draws.sum(axis=1) - n_pos * (n_pos + 1) / 2.0
        extreme = np.abs(u_perm - mean) >= abs(u - mean) - 1e-9
        return float((1 + extreme.sum()) / (PERMUTATIONS + 1)), "permutation"
    _, ties = np.unique(x, return_counts=True)
    tie_term = float((ties.astype(np.float64) ** 3 - ties).sum()) / (n * (n - 1))
    variance = n_pos * n_neg / 12.0 * ((n + 1) - tie_term)
    if variance <= 0:
        return 1.0, "normal"
    z = max(abs(u - mean) - 0.5, 0.0) / math.sqrt(variance)
    return math.erfc(z / math.sqrt(2.0)), "normal"


def _check_options(
    lookback: timedelta,
    max_age: timedelta,
    min_parts: int,
    min_per_class: int,
    alpha: float,
    bins: int,
    min_split_share: float,
    cluster_radius: float,
) -> None:
    if lookback <= timedelta(0):
        raise ValueError(f"lookback must be positive, not {lookback}")
    if max_age < timedelta(0):
        raise ValueError(f"max_age must not be negative, not {max_age}")
    if min_parts < 2 or min_per_class < 1:
        raise ValueError("min_parts must be at least 2 and min_per_class at least 1")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie between 0 and 1, not {alpha}")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins}")
    if not 0.0 < min_split_share <= 0.5:
        raise ValueError(f"min_split_share must lie in (0, 0.5], not {min_split_share}")
    if not 0.0 < cluster_radius < 0.5:
        raise ValueError(f"cluster_radius must lie in (0, 0.5), not {cluster_radius}")


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{what} {moment.isoformat()} has no time zone; pass aware datetimes (e.g. UTC)"
        )


def _series(name: str, readings: Sequence[Reading]) -> tuple[FloatArray, FloatArray]:
    """Finite readings as (timestamps, values), sorted by time."""
    stamps, values = [], []
    for at, value in readings:
        _require_aware(at, f"reading of {name} at")
        if math.isfinite(value):
            stamps.append(at.timestamp())
            values.append(float(value))
    t = np.asarray(stamps, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    order = np.argsort(t, kind="mergesort")
    return t[order], v[order]


def values_at(
    times: FloatArray, stamps: FloatArray, values: FloatArray, lookback: float, max_age: float
) -> FloatArray:
    """A metric's value in force at each of ``times`` (epoch seconds); NaN where there is none."""
    if stamps.size == 0:
        return np.full(times.size, np.nan)
    sums = np.concatenate([[0.0], np.cumsum(values)])
    lo = np.searchsorted(stamps, times - lookback, side="left")
    hi = np.searchsorted(stamps, times, side="right")
    count = hi - lo
    windowed = (sums[hi] - sums[lo]) / np.maximum(count, 1)
    last = np.maximum(hi - 1, 0)
    fresh = (hi > 0) & (times - stamps[last] <= max_age)
    carried = np.where(fresh, values[last], np.nan)
    return np.where(count > 0, windowed, carried)


def _parameters(
    times: FloatArray,
    defective: BoolArray,
    series: Mapping[str, tuple[FloatArray, FloatArray]],
    *,
    lookback: timedelta,
    max_age: timedelta,
    min_parts: int,
    min_per_class: int,
    alpha: float,
    bins: int,
    min_split_share: float,
    seed: int,
    notes: list[str],
) -> tuple[list[ParameterCandidate], list[SkippedMetric], int]:
    if not series:
        notes.append("no telemetry given: no parameter analysed")
        return [], [], times.size
    tested: list[tuple[str, FloatArray, BoolArray, int, float, Test]] = []
    skipped: list[SkippedMetric] = []
    any_value = np.zeros(times.size, dtype=bool)
    for metric in sorted(series):
        stamps, readings = series[metric]
        x = values_at(times, stamps, readings, lookback.total_seconds(), max_age.total_seconds())
        has = np.isfinite(x)
        any_value |= has
        missing = int((~has).sum())
        if missing:
            notes.append(
                f"{metric}: {missing} parts had no reading within {lookback} before inspection"
                f" nor an earlier one within {max_age}; left out"
            )
        xs, ys = x[has], defective[has]
        reason = _unanalysable(xs, ys, stamps.size, min_parts, min_per_class)
        if reason is not None:
            skipped.append(SkippedMetric(metric, reason, int(has.sum()), missing))
            notes.append(f"{metric} not analysable: {reason}")
            continue
        p, test = mann_whitney_p(xs, ys, seed=seed)
        tested.append((metric, xs, ys, missing, p, test))

    q_values = benjamini_hochberg([t[4] for t in tested])
    candidates = []
    for (metric, xs, ys, missing, p, test), q in zip(tested, q_values, strict=True):
        effect = auroc(xs, ys)
        candidates.append(
            ParameterCandidate(
                metric=metric,
                parts=xs.size,
                defective=int(ys.sum()),
                parts_without_value=missing,
                auroc=effect,
                direction="high" if effect >= 0.5 else "low",
                p_value=p,
                q_value=q,
                significant=q <= alpha,
                test=test,
                split=best_split(xs, ys, min_share=min_split_share),
                bins=rate_bins(xs, ys, bins),
            )
        )
    candidates.sort(key=lambda c: (not c.significant, -c.strength, c.metric))
    return candidates, skipped, int((~any_value).sum())


def _unanalysable(
    x: FloatArray, defective: BoolArray, readings: int, min_parts: int, min_per_class: int
) -> str | None:
    if readings == 0:
        return "no finite readings"
    if x.size == 0:
        return "no part has a value"
    if x.size < min_parts:
        return f"only {x.size} parts have a value, {min_parts} needed"
    if float(x.min()) == float(x.max()):
        return f"does not vary: every part has {float(x[0]):.6g}"
    bad = int(defective.sum())
    good = x.size - bad
    if bad < min_per_class:
        return f"only {bad} defective parts have a value, {min_per_class} needed"
    if good < min_per_class:
        return f"only {good} good parts have a value, {min_per_class} needed"
    return None


def best_split(x: FloatArray, defective: BoolArray, *, min_share: float) -> Split:
    """The threshold, halfway between two neighbouring distinct values, whose sides differ most
    in defect rate while each holds at least ``min_share`` of the parts (or one part)."""
    order = np.argsort(x, kind="mergesort")
    xs, ys = x[order], defective[order].astype(np.float64)
    n = xs.size
    below_count = np.arange(1, n)
    below_bad = np.cumsum(ys)[:-1]
    total_bad = float(ys.sum())
    distinct = xs[1:] != xs[:-1]
    least = max(1, math.ceil(min_share * n))
    allowed = distinct & (below_count >= least) & (n - below_count >= least)
    if not allowed.any():
        allowed = distinct
    rate_below = below_bad / below_count
    rate_above = (total_bad - below_bad) / (n - below_count)
    gap = np.where(allowed, np.abs(rate_above - rate_below), -1.0)
    i = int(np.argmax(gap))
    return Split(
        threshold=float((xs[i] + xs[i + 1]) / 2.0),
        risk_side="above" if rate_above[i] >= rate_below[i] else "below",
        rate_above=float(rate_above[i]),
        rate_below=float(rate_below[i]),
        parts_above=int(n - below_count[i]),
        parts_below=int(below_count[i]),
    )


def rate_bins(x: FloatArray, defective: BoolArray, count: int) -> list[RateBin]:
    """Defect rate in ``count`` quantile bins of ``x``; tied quantiles merge bins."""
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, count + 1)))
    if edges.size < 2:
        return [RateBin(float(x.min()), float(x.max()), x.size, int(defective.sum()))]
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
    result = []
    for b in range(edges.size - 1):
        inside = index == b
        if inside.any():
            result.append(
                RateBin(
                    float(edges[b]),
                    float(edges[b + 1]),
                    int(inside.sum()),
                    int(defective[inside].sum()),
                )
            )
    return result


@dataclass
class _Scope:
    batch: str | None
    parts: int
    defective: int
    centres: FloatArray  # (k, 2)
    owners: npt.NDArray[np.int64]  # part index of each centre, ascending


def _clusters(
    parts: Sequence[Part],
    *,
    radius: float,
    min_parts: int,
    max_clusters: int,
    alpha: float,
    notes: list[str],
) -> list[PositionCluster]:
    centres, owners, dropped = _box_centres(parts)
    if dropped:
        notes.append(f"{dropped} defect boxes outside the image or not finite; ignored")
    unboxed = sum(1 for p in parts if p.defective and not p.boxes)
    if unboxed:
        notes.append(f"{unboxed} defective parts have no defect boxes; no position for them")

    scopes = []
    named = sorted({p.batch for p in parts if p.batch is not None})
    for batch in named:
        members = np.array([p.batch == batch for p in parts], dtype=bool)
        scopes.append(_scope(batch, parts, members, centres, owners))
    if len(named) != 1 or any(p.batch is None for p in parts):
        scopes.append(_scope(None, parts, np.ones(len(parts), dtype=bool), centres, owners))

    region = MIN_REGION
    if centres.shape[0]:
        width, height = centres.max(axis=0) - centres.min(axis=0)
        region = max(region, float(width * height))
    share = min(1.0, math.pi * radius * radius / region)
    found: list[tuple[_Scope, tuple[float, float], float, int, float]] = []
    for scope in scopes:
        found.extend(_scan(scope, radius, share, min_parts, max_clusters, alpha))
    q_values = benjamini_hochberg([f[4] for f in found])
    clusters = [
        PositionCluster(
            batch=scope.batch,
            centre=centre,
            radius=spread,
            parts=count,
            scope_parts=scope.parts,
            scope_defective=scope.defective,
            p_value=p,
            q_value=q,
        )
        for (scope, centre, spread, count, p), q in zip(found, q_values, strict=True)
        if count >= min_parts and q <= alpha
    ]
    clusters.sort(key=lambda c: (c.q_value, -c.parts))
    return clusters


def _box_centres(
    parts: Sequence[Part],
) -> tuple[FloatArray, npt.NDArray[np.int64], int]:
    points: list[tuple[float, float]] = []
    owners: list[int] = []
    dropped = 0
    for i, part in enumerate(parts):
        if not part.defective:
            continue
        for x, y, w, h in part.boxes:
            cx, cy = x + w / 2.0, y + h / 2.0
            if math.isfinite(cx) and math.isfinite(cy) and 0 <= cx <= 1 and 0 <= cy <= 1:
                points.append((cx, cy))
                owners.append(i)
            else:
                dropped += 1
    return (
        np.asarray(points, dtype=np.float64).reshape(-1, 2),
        np.asarray(owners, dtype=np.int64),
        dropped,
    )


def _scope(
    batch: str | None,
    parts: Sequence[Part],
    members: BoolArray,
    centres: FloatArray,
    owners: npt.NDArray[np.int64],
) -> _Scope:
    keep = members[owners] if owners.size else np.zeros(0, dtype=bool)
    return _Scope(
        batch=batch,
        parts=int(members.sum()),
        defective=sum(1 for p, m in zip(parts, members, strict=True) if m and p.defective),
        centres=centres[keep],
        owners=owners[keep],
    )


def _scan(
    scope: _Scope, radius: float, share: float, min_parts: int, max_clusters: int, alpha: float
) -> Iterator[tuple[_Scope, tuple[float, float], float, int, float]]:
    """Best discs of the scope, each with its union-bound p-value (``share``: a disc's chance of
    holding a given defect); stops at the first disc that is too small or not significant on its
    own, after yielding it (it was a test)."""
    centres, owners = scope.centres, scope.owners
    for _ in range(max_clusters):
        if owners.size == 0:
            return
        ids, starts, boxes_per_part = np.unique(owners, return_index=True, return_counts=True)
        best_count, best_seed, best_inside = 0, 0, np.zeros(0, dtype=bool)
        for lo in range(0, centres.shape[0], _SEED_CHUNK):
            seeds = centres[lo : lo + _SEED_CHUNK]
            d2 = ((seeds[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
            inside = d2 <= radius * radius
            per_part = np.logical_or.reduceat(inside, starts, axis=1).sum(axis=1)
            j = int(np.argmax(per_part))
            if per_part[j] > best_count:
                best_count, best_seed, best_inside = int(per_part[j]), lo + j, inside[j]
        seed_owner = owners[best_seed]
        hit = 1.0 - (1.0 - share) ** boxes_per_part[ids != seed_owner]
        tail = _poisson_binomial_tail(hit, best_count - 1)
        p = min(1.0, centres.shape[0] * tail)
        centre, spread = _disc_summary(centres, owners, best_inside, centres[best_seed])
        yield scope, centre, spread, best_count, p
        if best_count < min_parts or p > alpha:
            return
        centres, owners = centres[~best_inside], owners[~best_inside]


def _disc_summary(
    centres: FloatArray, owners: npt.NDArray[np.int64], inside: BoolArray, seed: FloatArray
) -> tuple[tuple[float, float], float]:
    """Mean of each member part's centre nearest the seed, and the radius that holds them all."""
    nearest: dict[int, FloatArray] = {}
    for point, owner in zip(centres[inside], owners[inside], strict=True):
        key = int(owner)
        if key not in nearest or np.sum((point - seed) ** 2) < np.sum((nearest[key] - seed) ** 2):
            nearest[key] = point
    points = np.array(list(nearest.values()))
    middle = points.mean(axis=0)
    spread = float(np.sqrt(((points - middle) ** 2).sum(axis=1)).max())
    return (float(middle[0]), float(middle[1])), spread


def _poisson_binomial_tail(p: FloatArray, k: int) -> float:
    """P(at least ``k`` successes) of independent trials with success chances ``p``; the mass
    that reaches ``k`` is carried in an absorbing state, so tiny tails keep their precision."""
    if k <= 0:
        return 1.0
    below = np.zeros(k, dtype=np.float64)
    below[0] = 1.0
    reached = 0.0
    for chance in p:
        reached += below[-1] * chance
        below[1:] = below[1:] * (1.0 - chance) + below[:-1] * chance
        below[0] *= 1.0 - chance
    return float(reached)


def _batch_rates(parts: Sequence[Part], notes: list[str]) -> list[BatchRate]:
    counts: dict[str, list[int]] = {}
    loose = 0
    for part in parts:
        if part.batch is None:
            loose += 1
            continue
        tally = counts.setdefault(part.batch, [0, 0])
        tally[0] += 1
        tally[1] += int(part.defective)
    if loose:
        notes.append(f"{loose} parts have no batch")
    return [BatchRate(batch, n, bad) for batch, (n, bad) in sorted(counts.items())]


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _p(value: float) -> float:
    return float(f"{value:.3g}")


def _value(value: float) -> float:
    return float(f"{value:.6g}")


def _candidate_json(c: ParameterCandidate) -> dict[str, object]:
    return {
        "metric": c.metric,
        "parts": c.parts,
        "defective": c.defective,
        "parts_without_value": c.parts_without_value,
        "auroc": round(c.auroc, 4),
        "strength": round(c.strength, 4),
        "direction": c.direction,
        "p_value": _p(c.p_value),
        "q_value": _p(c.q_value),
        "significant": c.significant,
        "test": c.test,
        "split": {
            "threshold": _value(c.split.threshold),
            "risk_side": c.split.risk_side,
            "rate_above": _share(c.split.rate_above),
            "rate_below": _share(c.split.rate_below),
            "parts_above": c.split.parts_above,
            "parts_below": c.split.parts_below,
        },
        "bins": [
            {
                "low": _value(b.low),
                "high": _value(b.high),
                "parts": b.parts,
                "defective": b.defective,
                "rate": _share(b.rate),
            }
            for b in c.bins
        ],
        "explanation": c.explanation,
    }


def _cluster_json(c: PositionCluster) -> dict[str, object]:
    return {
        "batch": c.batch,
        "centre": [round(c.centre[0], 3), round(c.centre[1], 3)],
        "radius": round(c.radius, 3),
        "parts": c.parts,
        "scope_parts": c.scope_parts,
        "scope_defective": c.scope_defective,
        "share_of_defective": _share(c.share_of_defective),
        "share_of_parts": _share(c.share_of_parts),
        "p_value": _p(c.p_value),
        "q_value": _p(c.q_value),
        "explanation": c.explanation,
    }
