"""The allocation model at province scale: built from arrays, with the factories priced in.

At 1,000 factories x 30 processes x 60 days a step has some 300 eligible factories and the model
600,000 (step, factory, day) cells. Built one MathOpt object at a time that takes minutes before
HiGHS starts, and most cells stay empty: an order takes the cheap factories it needs. So the
model here is written straight into MathOpt's `ModelProto` from numpy arrays, and only on a
restricted set of (step, factory) pairs (column generation): the cheapest factories first, then
every round the LP's duals (a step's output on a day, a factory's hours on a day) price each
pair left out, and the pairs whose cells would lower the cost come in. The bound is proven on the
whole model: the restricted LP's value plus, for every cell left out, its reduced cost times its
upper bound where negative (the Lagrangian bound of the LP with all cells), so a plan is reported
with its gap to the whole model and not to the pairs it was solved on.

The objective is `model._solve`'s: the binaries there (a factory takes part in a step) carry no
cost, so a MIP solution is always as good with each candidate taking part; here every candidate
takes part, resilience over the candidates is a constant (the candidate sets are chosen large
enough that losing any one factory leaves the daily need, when the step's factories can), and
what remains is a linear programme. The bound leaves resilience out (a relaxation), and the
concentration term's even share and mean cost are those of all eligible factories, the same in
the restricted model as in the whole one.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.math_opt import model_pb2, result_pb2
from ortools.math_opt.core.python import solver as core_solver
from ortools.math_opt.python import mathopt

from solvers.allocation.model import (
    Factory,
    Key,
    Plan,
    SolverFailed,
    TimeLimit,
    _Problem,
    daily_target,
    final_steps,
    finished_output,
)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

log = logging.getLogger(__name__)

INF = np.inf
ROUND_PAIRS = 24
"""Most (step, factory) pairs a step takes in per pricing round."""
SPLIT = 3
"""The first guess hands each factory's hours to this many steps at least (where it can do
them), so the first LP can still move hours between steps within a factory."""
TARGET_GAP = 0.01
"""Column generation stops when the restricted LP is this close to the whole model's bound (the MIP
engine's relative gap tolerance)."""


@dataclass
class _Solution:
    objective: float
    values: Floats
    duals: Floats


@dataclass
class _Built:
    proto: model_pb2.ModelProto
    constant: float
    """Objective terms that do not depend on the variables (in `proto`'s offset too)."""
    pair_step: Ints
    pair_factory: Ints
    col_pair: Ints
    col_day: Ints
    col_ub: Floats
    n_cols: int
    cum_row: Ints
    """(step, day from today) -> row of the step's cumulative-output definition."""
    cap_row: Ints
    """(factory, day from today) -> row of the factory's hours that day, -1 where none."""
    cum_var: Ints
    missing_var: dict[int, int]
    behind_var: dict[int, int]


class _Arrays:
    """The instance as arrays: steps in routing order by factories by days."""

    def __init__(self, problem: _Problem, options: Mapping[str, list[Factory]]) -> None:
        self.problem = problem
        ordered, order, weights = problem.ordered, problem.order, problem.weights
        self.step_index = {s.id: i for i, s in enumerate(ordered)}
        factories: dict[str, Factory] = {}
        for s in ordered:
            for f in options[s.id]:
                factories.setdefault(f.id, f)
        self.factories = list(factories.values())
        self.factory_index = {f.id: k for k, f in enumerate(self.factories)}
        n_steps, n_factories = len(ordered), len(self.factories)
        self.today = problem.today
        self.days = order.days
        self.span = order.days - problem.today
        self.hours = np.array(
            [f.hours[problem.today : order.days] for f in self.factories], dtype=np.float64
        ).reshape(n_factories, self.span)
        self.cost = np.array([f.cost_per_hour for f in self.factories], dtype=np.float64)
        self.hpu = np.array([s.hours_per_unit for s in ordered], dtype=np.float64)
        self.eligible = np.zeros((n_steps, n_factories), dtype=bool)
        for s in ordered:
            for f in options[s.id]:
                self.eligible[self.step_index[s.id], self.factory_index[f.id]] = True
        self.unit_cost = self.hpu[:, None] * self.cost[None, :] + problem.change_weight
        """Per unit made: its hours' cost, plus the price of change (a cell away from the
        previous plan; cells the previous plan had are priced apart, see `_build`)."""
        # Concentration as the whole model has it: an even share over the step's makers (every
        # eligible factory with hours) and their mean unit cost.
        has_cells = self.eligible & (self.hours.sum(axis=1) > 0)[None, :]
        makers = has_cells.sum(axis=1)
        self.even = np.array(
            [
                problem.needed[s.id] / min(int(makers[i]), 2 * max(weights.min_factories, 1))
                if makers[i] >= 2
                else INF
                for i, s in enumerate(ordered)
            ]
        )
        self.concentration_price = np.array(
            [
                weights.concentration * float(self.cost[has_cells[i]].mean()) * s.hours_per_unit
                if makers[i] >= 2 and weights.concentration > 0
                else 0.0
                for i, s in enumerate(ordered)
            ]
        )
        self.caps = np.array([problem.caps[s.id] for s in ordered])
        self.fixed_step_day = np.zeros((n_steps, order.days))
        self.fixed_pair: dict[tuple[int, int], float] = {}
        for (sid, fid, d), v in problem.fixed.items():
            i = self.step_index[sid]
            self.fixed_step_day[i, d] += v
            k = self.factory_index.get(fid)
            if k is not None:
                self.fixed_pair[(i, k)] = self.fixed_pair.get((i, k), 0.0) + v
        self.made_before = np.cumsum(self.fixed_step_day, axis=1)
        """Cumulative output of what was made (constants before today)."""
        # The daily need per step for resilience: the daily target through the yields after it.
        self.daily_need = np.array(
            [order.daily_target * problem.needed[s.id] / order.quantity for s in ordered]
        )
        self.resilience_capacity = self.hours.sum(axis=1)[None, :] / self.span / self.hpu[:, None]
        self.previous: dict[tuple[int, int, int], float] = {}
        self.previous_lost = 0.0
        """Units of the previous plan in cells that can have no variable now (the factory has
        no hours that day or is gone): moved in full, whatever the new plan does."""
        for (sid, fid, d), v in problem.previous.items():
            k = self.factory_index.get(fid)
            if d < self.today or v <= 1e-9:
                continue
            if k is not None and self.hours[k, d - self.today] > 0:
                self.previous[(self.step_index[sid], k, d - self.today)] = v
            else:
                self.previous_lost += v


def _initial_pairs(a: _Arrays, keep: Mapping[str, set[str]]) -> Bools:
    """A first guess at the pairs the LP needs: the factories each step keeps, then the
    factories by cost per hour, each one's hours (until the daily target reaches the quantity)
    handed to the eligible steps with the most hours still to cover, until every step has half
    as much again as what is left of it (within its share cap per factory); then per step the
    cheapest others until it has `candidates` and losing any one still leaves the daily need.
    Pricing adds what this misses."""
    problem = a.problem
    order, weights = problem.order, problem.weights
    chosen = np.zeros_like(a.eligible)
    for i, s in enumerate(problem.ordered):
        for fid in keep.get(s.id, set()):
            k = a.factory_index.get(fid)
            if k is not None and a.eligible[i, k]:
                chosen[i, k] = True
    due = next(
        (d for d in range(a.today, order.days) if daily_target(order, d) >= order.quantity),
        order.days - 1,
    )
    hours_left = a.hours[:, : max(due - a.today + 1, 1)].sum(axis=1)
    left = np.array(
        [
            max(0.0, problem.needed[s.id] - float(a.made_before[i, -1])) * 1.5 * s.hours_per_unit
            for i, s in enumerate(problem.ordered)
        ]
    )
    pair_hours = a.caps * a.hpu  # the most hours one factory may give a step
    for i, k in zip(*np.nonzero(chosen), strict=True):
        left[i] -= min(float(pair_hours[i]), float(hours_left[k]) / int(chosen[:, k].sum()))
    for k in np.argsort(a.cost, kind="stable"):
        if not (left > 0).any():
            break
        free = float(hours_left[k])
        while free > 1e-9:
            steps = np.nonzero(a.eligible[:, k] & (left > 0) & ~chosen[:, k])[0]
            if not len(steps):
                break
            i = int(steps[np.argmax(left[steps])])
            given = min(free, float(left[i]), float(pair_hours[i]), hours_left[k] / SPLIT)
            chosen[i, k] = True
            left[i] -= given
            free -= given
    size = max(weights.candidates, weights.min_factories + 1)
    for i in range(len(problem.ordered)):
        for k in np.argsort(a.unit_cost[i], kind="stable"):
            capacity = a.resilience_capacity[i, chosen[i]]
            resilient = capacity.sum() - (capacity.max() if capacity.size else 0.0)
            if int(chosen[i].sum()) >= size and resilient >= a.daily_need[i]:
                break
            if a.eligible[i, k]:
                chosen[i, k] = True
    return chosen


def _build(a: _Arrays, pairs: Bools) -> _Built:
    problem, order, weights = a.problem, a.problem.order, a.problem.weights
    ordered = problem.ordered
    n_steps, span, today = len(ordered), a.span, a.today
    pair_step, pair_factory = np.nonzero(pairs)
    pair_step = pair_step.astype(np.int64)
    pair_factory = pair_factory.astype(np.int64)
    n_pairs = len(pair_step)
    open_days = a.hours[pair_factory] > 0  # pairs x days
    col_pair, col_day = np.nonzero(open_days)
    col_pair = col_pair.astype(np.int64)
    col_day = col_day.astype(np.int64)
    col_step = pair_step[col_pair]
    col_factory = pair_factory[col_pair]
    col_ub = a.hours[col_factory, col_day] / a.hpu[col_step]
    col_cost = a.unit_cost[col_step, col_factory].copy()
    n_cols = len(col_pair)

    lower: list[Floats] = [np.zeros(n_cols)]
    upper: list[Floats] = [col_ub]
    objective: list[Floats] = [col_cost]
    next_var = n_cols

    def add_vars(count: int, cost: Floats | float, ub: float = INF) -> Ints:
        nonlocal next_var
        ids = np.arange(next_var, next_var + count, dtype=np.int64)
        next_var += count
        lower.append(np.zeros(count))
        upper.append(np.full(count, ub))
        objective.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (count,)).copy())
        return ids

    cum_var = add_vars(n_steps * span, 0.0).reshape(n_steps, span)
    finals = [a.step_index[s.id] for s in final_steps(ordered)]
    missing_ids = add_vars(len(finals), weights.shortfall)
    missing_var = dict(zip(finals, (int(v) for v in missing_ids), strict=True))
    targeted = [
        d
        for d in range(today, order.days)
        if daily_target(order, d) > 0
        and not (d == order.days - 1 and daily_target(order, d) >= order.quantity)
    ]
    behind_ids = add_vars(len(targeted), weights.shortfall)
    behind_var = dict(zip(targeted, (int(v) for v in behind_ids), strict=True))
    priced = a.concentration_price[pair_step] > 0
    excess_pairs = np.nonzero(priced)[0]
    excess_var = add_vars(len(excess_pairs), a.concentration_price[pair_step[excess_pairs]])
    constant = 0.0
    under_cols = np.zeros(0, dtype=np.int64)
    under_prev = np.zeros(0)
    if problem.change_weight > 0 and a.previous:
        key_to_col = {
            (int(s), int(f), int(d)): j
            for j, (s, f, d) in enumerate(zip(col_step, col_factory, col_day, strict=True))
        }
        cols, prev = [], []
        for key, value in a.previous.items():
            j = key_to_col.get(key)
            if j is None:
                constant += problem.change_weight * value
            else:
                cols.append(j)
                prev.append(value)
        under_cols = np.array(cols, dtype=np.int64)
        under_prev = np.array(prev)
        # |x - p| = x - p + 2 max(0, p - x): x already carries the weight in its cost.
        constant -= problem.change_weight * float(under_prev.sum())
    constant += problem.change_weight * a.previous_lost
    under_var = add_vars(len(under_cols), 2 * problem.change_weight)

    rows: list[Ints] = []
    cols_: list[Ints] = []
    coefs: list[Floats] = []
    row_lb: list[Floats] = []
    row_ub: list[Floats] = []
    next_row = 0

    def add_rows(lb: Floats, ub: Floats) -> Ints:
        nonlocal next_row
        ids = np.arange(next_row, next_row + len(lb), dtype=np.int64)
        next_row += len(lb)
        row_lb.append(np.asarray(lb, dtype=np.float64))
        row_ub.append(np.asarray(ub, dtype=np.float64))
        return ids

    def entries(r: Ints, c: Ints, v: Floats | float) -> None:
        rows.append(np.asarray(r, dtype=np.int64))
        cols_.append(np.asarray(c, dtype=np.int64))
        coefs.append(np.broadcast_to(np.asarray(v, dtype=np.float64), (len(r),)).copy())

    # Cumulative output: cum[s, d] - cum[s, d - 1] - sum x[s, ., d] = made before today, on today.
    rhs = a.fixed_step_day[:, today:].copy()
    if today > 0:
        rhs[:, 0] += a.made_before[:, today - 1]
    cum_row = add_rows(rhs.ravel(), rhs.ravel()).reshape(n_steps, span)
    entries(cum_row.ravel(), cum_var.ravel(), 1.0)
    entries(cum_row[:, 1:].ravel(), cum_var[:, :-1].ravel(), -1.0)
    entries(cum_row[col_step, col_day], np.arange(n_cols), -1.0)
    # Precedence: cum[s, d] <= yield(q) cum[q, d - lag] + lead.
    for s in ordered:
        i = a.step_index[s.id]
        for before in s.after:
            q = a.step_index[before]
            qy = ordered[q].yield_
            lead = problem.credit.get((s.id, before), 0.0)
            days = np.arange(today, order.days)
            source = days - s.lag_days
            bound = np.full(span, lead)
            past = (source >= 0) & (source < today)
            bound[past] += qy * a.made_before[q, source[past]]
            r = add_rows(np.full(span, -INF), bound)
            entries(r, cum_var[i], 1.0)
            live = source >= today
            entries(r[live], cum_var[q, source[live] - today], -qy)
    # The order's quantity by the last day.
    for i, var in missing_var.items():
        r = add_rows(np.array([problem.needed[ordered[i].id]]), np.array([INF]))
        entries(r, np.array([cum_var[i, -1]]), 1.0)
        entries(r, np.array([var]), 1.0)
    # Daily target on finished goods.
    for d, var in behind_var.items():
        target = daily_target(order, d)
        for i in finals:
            r = add_rows(np.array([target]), np.array([INF]))
            entries(r, np.array([cum_var[i, d - today]]), ordered[i].yield_)
            entries(r, np.array([var]), 1.0)
    # Shares: what a factory makes of a step, with what it made, stays within the cap.
    room = np.array(
        [
            max(0.0, a.caps[i] - a.fixed_pair.get((int(i), int(k)), 0.0))
            for i, k in zip(pair_step, pair_factory, strict=True)
        ]
    )
    share_row = add_rows(np.full(n_pairs, -INF), room)
    entries(share_row[col_pair], np.arange(n_cols), 1.0)
    # Hours: a factory's day is shared by the steps it takes on.
    used_cells = np.zeros((len(a.factories), span), dtype=bool)
    used_cells[col_factory, col_day] = True
    cap_k, cap_d = np.nonzero(used_cells)
    cap_ids = add_rows(np.full(len(cap_k), -INF), a.hours[cap_k, cap_d])
    cap_row = np.full((len(a.factories), span), -1, dtype=np.int64)
    cap_row[cap_k, cap_d] = cap_ids
    entries(cap_row[col_factory, col_day], np.arange(n_cols), a.hpu[col_step])
    # Concentration: excess >= sum x + made - even share.
    if len(excess_pairs):
        fixed = np.array(
            [a.fixed_pair.get((int(pair_step[p]), int(pair_factory[p])), 0.0) for p in excess_pairs]
        )
        r = add_rows(fixed - a.even[pair_step[excess_pairs]], np.full(len(excess_pairs), INF))
        entries(r, excess_var, 1.0)
        row_of_pair = np.full(n_pairs, -1, dtype=np.int64)
        row_of_pair[excess_pairs] = r
        mine = row_of_pair[col_pair] >= 0
        entries(row_of_pair[col_pair[mine]], np.nonzero(mine)[0], -1.0)
    # Change: under >= previous - x.
    if len(under_cols):
        r = add_rows(under_prev, np.full(len(under_cols), INF))
        entries(r, under_var, 1.0)
        entries(r, under_cols, 1.0)

    proto = model_pb2.ModelProto(name="allocation-columns")
    n_vars = next_var
    proto.variables.ids.extend(range(n_vars))
    proto.variables.lower_bounds.extend(np.concatenate(lower).tolist())
    proto.variables.upper_bounds.extend(np.concatenate(upper).tolist())
    proto.variables.integers.extend([False] * n_vars)
    c = np.concatenate(objective)
    nonzero = np.nonzero(c)[0]
    proto.objective.maximize = False
    proto.objective.offset = constant
    proto.objective.linear_coefficients.ids.extend(nonzero.tolist())
    proto.objective.linear_coefficients.values.extend(c[nonzero].tolist())
    proto.linear_constraints.ids.extend(range(next_row))
    proto.linear_constraints.lower_bounds.extend(np.concatenate(row_lb).tolist())
    proto.linear_constraints.upper_bounds.extend(np.concatenate(row_ub).tolist())
    r_all, c_all, v_all = np.concatenate(rows), np.concatenate(cols_), np.concatenate(coefs)
    perm = np.lexsort((c_all, r_all))
    matrix = proto.linear_constraint_matrix
    matrix.row_ids.extend(r_all[perm].tolist())
    matrix.column_ids.extend(c_all[perm].tolist())
    matrix.coefficients.extend(v_all[perm].tolist())
    return _Built(
        proto=proto,
        constant=constant,
        pair_step=pair_step,
        pair_factory=pair_factory,
        col_pair=col_pair,
        col_day=col_day,
        col_ub=col_ub,
        n_cols=n_cols,
        cum_row=cum_row,
        cap_row=cap_row,
        cum_var=cum_var,
        missing_var=missing_var,
        behind_var=behind_var,
    )


def _lp(built: _Built, time_limit_s: float) -> _Solution:
    params = mathopt.SolveParameters(
        time_limit=dt.timedelta(seconds=max(time_limit_s, 0.1)),
        lp_algorithm=mathopt.LPAlgorithm.BARRIER,
    )
    try:
        raw = core_solver.solve(
            built.proto,
            mathopt.SolverType.HIGHS.value,
            mathopt.StreamableSolverInitArguments().to_proto(),
            params.to_proto(),
            mathopt.ModelSolveParameters().to_proto(),
            None,
            mathopt.CallbackRegistration().to_proto(),
            None,
            None,
        )
    except Exception as error:  # the binding raises its own StatusNotOk
        raise SolverFailed(f"the solver failed on the LP: {error}", phase="LP") from None
    reason = raw.termination.reason
    solved = [x for x in raw.solutions if x.HasField("primal_solution")]
    if reason != result_pb2.TERMINATION_REASON_OPTIMAL or not solved:
        if raw.termination.limit == result_pb2.LIMIT_TIME:
            raise TimeLimit(
                f"no plan found within the time limit ({time_limit_s:.3g} s for the LP);"
                " allow more time",
                phase="LP",
                time_limit_s=time_limit_s,
            )
        raise SolverFailed(
            f"the solver stopped on the LP: {result_pb2.TerminationReasonProto.Name(reason)}"
            f" {raw.termination.detail}",
            phase="LP",
        )
    n_vars = len(built.proto.variables.ids)
    n_rows = len(built.proto.linear_constraints.ids)
    primal = solved[0].primal_solution
    values = np.zeros(n_vars)
    values[np.asarray(primal.variable_values.ids, dtype=np.int64)] = np.asarray(
        primal.variable_values.values
    )
    duals = np.zeros(n_rows)
    if solved[0].HasField("dual_solution"):
        dual = solved[0].dual_solution
        duals[np.asarray(dual.dual_values.ids, dtype=np.int64)] = np.asarray(
            dual.dual_values.values
        )
    return _Solution(objective=primal.objective_value, values=values, duals=duals)


def _price(a: _Arrays, built: _Built, solution: _Solution, pairs: Bools) -> tuple[float, Floats]:
    """(how far below the restricted LP the whole model's LP can be at most, that amount per
    (step, factory) pair left out). A cell's reduced cost is its cost less the duals of the
    rows it would enter: its step's output that day (coefficient -1) and its factory's hours that
    day (hours per unit); its share and concentration rows would be new, with no dual. A cell
    can gain at most its reduced cost times its upper bound. A factory-day with no row yet gets
    the dual that bounds it best: its hours can be spent once, so it gains at most its hours
    times the best reduced cost per hour among its steps (that step's pair gets the gain)."""
    y_cum = solution.duals[built.cum_row]  # steps x span
    has_row = built.cap_row >= 0
    cap = np.where(has_row, solution.duals[np.maximum(built.cap_row, 0)], 0.0)
    out = a.eligible & ~pairs  # steps x factories
    open_ = a.hours > 0  # factories x span
    per_hour = (
        a.unit_cost[:, :, None] + y_cum[:, None, :] - a.hpu[:, None, None] * cap[None, :, :]
    ) / a.hpu[:, None, None]
    per_hour = np.where(out[:, :, None] & open_[None, :, :], per_hour, INF)
    gain_cells = np.minimum(per_hour, 0.0) * a.hours[None, :, :]  # steps x factories x span
    rowless = ~has_row
    best = np.argmin(per_hour, axis=0)  # factories x span
    best_gain = np.minimum(np.min(per_hour, axis=0), 0.0) * a.hours
    best_gain = np.where(np.isfinite(best_gain), best_gain, 0.0)
    gain_cells[:, rowless] = 0.0
    k_idx, d_idx = np.nonzero(rowless)
    gain_cells[best[k_idx, d_idx], k_idx, d_idx] = best_gain[k_idx, d_idx]
    gain = gain_cells.sum(axis=2)
    return float(gain.sum()), gain


def optimise(
    problem: _Problem,
    options: dict[str, list[Factory]],
    keep: Mapping[str, set[str]],
    *,
    started: float,
    time_limit_s: float,
    start: Mapping[str, list[str]] | None = None,
) -> Plan:
    """The restricted LP, priced out until it is within `TARGET_GAP` of the whole model's bound
    or the time is spent; see the module's docstring. `keep`: factories each step keeps among
    its candidates; `start`: candidates to begin from (a re-plan begins from the previous plan's,
    so it mostly needs one LP)."""
    a = _Arrays(problem, options)
    if start:
        keep = {sid: set(keep.get(sid, set())) | set(start.get(sid, [])) for sid in a.step_index}
    pairs = _initial_pairs(a, keep)
    deadline = started + time_limit_s
    best: tuple[_Built, _Solution] | None = None
    bound = -INF
    while True:
        built = _build(a, pairs)
        remaining = deadline - time.perf_counter()
        if best is not None and remaining < 1.0:
            break
        cpu = time.process_time()
        try:
            solution = _lp(built, remaining if best is not None else max(remaining, 1.0))
        except TimeLimit:
            if best is None:
                raise
            break  # the last round's plan stands, with its bound
        best = (built, solution)
        missed, gain = _price(a, built, solution, pairs)
        bound = max(bound, solution.objective + missed)
        log.debug(
            "round: %d pairs, %d cells, LP %.6g (%.1f s CPU), bound %.6g, %.1f s spent",
            int(pairs.sum()), built.n_cols, solution.objective, time.process_time() - cpu,
            bound, time.perf_counter() - started,
        )  # fmt: skip
        if solution.objective - bound <= TARGET_GAP * max(abs(solution.objective), 1.0):
            break
        # Per step, the pairs that would lower the cost most.
        added = False
        for i in range(pairs.shape[0]):
            worst = np.argsort(gain[i], kind="stable")[:ROUND_PAIRS]
            worst = worst[gain[i, worst] < -1e-9 * max(abs(solution.objective), 1.0)]
            if len(worst):
                pairs[i, worst] = True
                added = True
        if not added:
            break
    built, solution = best
    return _plan(a, built, solution, bound, started)


def _plan(a: _Arrays, built: _Built, solution: _Solution, bound: float, started: float) -> Plan:
    problem, order = a.problem, a.problem.order
    ordered = problem.ordered
    values = solution.values
    x = values[: built.n_cols]
    used = np.nonzero(x > 1e-6)[0]
    step_ids = [s.id for s in ordered]
    factory_ids = [f.id for f in a.factories]
    units: dict[Key, float] = {k: v for k, v in problem.fixed.items() if v > 1e-6}
    for j in used:
        p = built.col_pair[j]
        key = (
            step_ids[built.pair_step[p]],
            factory_ids[built.pair_factory[p]],
            int(built.col_day[j]) + a.today,
        )
        units[key] = float(x[j])
    # Resilience over the candidates (each takes part): a constant of the restricted model.
    weights = problem.weights
    weak: list[str] = []
    resilience = 0.0
    candidates: dict[str, list[str]] = {}
    for i, sid in enumerate(step_ids):
        ks = built.pair_factory[built.pair_step == i]
        candidates[sid] = [factory_ids[k] for k in ks]
        capacity = a.resilience_capacity[i, ks]
        slack = np.maximum(0.0, a.daily_need[i] - (capacity.sum() - capacity))
        resilience += float(slack.sum())
        weak += [
            f"{sid} without {factory_ids[k]}" for k, v in zip(ks, slack, strict=True) if v > 1e-6
        ]
    objective = solution.objective + weights.resilience * resilience
    shortfall: dict[int, float] = {}
    if problem.today:
        finished = finished_output(ordered, order, problem.fixed)
        for d in range(min(problem.today, order.days)):
            target = daily_target(order, d)
            if target <= 0 or (d == order.days - 1 and target >= order.quantity):
                continue
            if target - finished[d] > 1e-6:
                shortfall[d] = target - finished[d]
    for d, var in built.behind_var.items():
        if values[var] > 1e-6:
            shortfall[d] = float(values[var])
    missing = {
        step_ids[i]: float(values[var])
        for i, var in built.missing_var.items()
        if values[var] > 1e-6
    }
    bound = min(bound, objective)
    gap = (objective - bound) / max(abs(objective), 1e-9)
    return Plan(
        status="optimal" if gap <= TARGET_GAP else "feasible",
        objective=objective,
        lp_bound=bound,
        gap=gap,
        solve_time_s=time.perf_counter() - started,
        units=units,
        shortfall=shortfall,
        missing=missing,
        weak_points=weak,
        candidates=candidates,
        today=problem.today,
    )
