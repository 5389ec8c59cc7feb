"""Tabu search for job shops on the critical path, compiled with numba.

A schedule is a sequence of operations per machine; its start times are the longest paths in
the disjunctive graph (job order plus machine order). The search works on flat numpy arrays in
compiled code (`nogil`, so it runs in a thread beside CP-SAT):

- moves: on each block of the critical path (operations that follow each other directly on
  one machine), an inner operation (or the last, or the first) moved to the front or the back
  of its block (N6), never at the start of the first block or the end of the last, where no
  move can shorten the path; the first or last operation moved deeper into the block (N7) is
  there too, up to `_REACH` places (1 by default: at a fixed number of iterations the deeper
  moves found no better schedules on DMU shops, and each iteration took three times as long);
  in a flexible shop also a critical operation moved to another machine it may run on, around
  where its start falls there;
- each move is ranked by an estimate of the new makespan from heads and tails (Taillard's for
  a swap, the same recurrence over the re-ordered stretch of a block for longer moves, the
  longest path through the inserted operation for a machine change);
- the best move that is not tabu is taken, a tabu one when its estimate beats the best known
  (aspiration); a move is tabu while it would restore the order of a pair of operations (or the
  machine of an operation) that a recent move changed, for a random tenure;
- after the move, heads and tails are recomputed over the graph (a topological sort, linear in
  the operations); a move that closed a cycle (possible with operations of no duration, or a
  machine change) is undone and made tabu;
- when nothing improves for long, the search restarts from one of the best distinct schedules
  found so far (the elite), shaken by a few random moves.

The first call compiles the code (a few seconds, cached on disk after that: `cache=True`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from numba import njit

from solvers.scheduling.instances import Instance, Operation

Array = np.ndarray

# Scalar state in one int64 array (indices).
_ITERATION, _CURRENT, _BEST, _SINCE_BEST, _RUN_BEST, _ELITE_COUNT, _TENURE_LOW, _TENURE_HIGH = (
    range(8)
)
_PATIENCE, _SEED, _MOVES_TAKEN, _RESTARTS, _REACH = range(8, 13)
_STATE = 13
ELITE = 8


@njit(cache=True, nogil=True)
def _evaluate(
    job_prev: Array,
    job_next: Array,
    dur: Array,
    seq: Array,
    seq_len: Array,
    mprev: Array,
    mnext: Array,
    head: Array,
    tail: Array,
    order: Array,
    indeg: Array,
) -> int:
    """Heads, tails and machine neighbours from the sequences; the makespan, or -1 where the
    sequences hold a cycle."""
    n = job_prev.shape[0]
    for i in range(n):
        mprev[i] = -1
        mnext[i] = -1
    for m in range(seq.shape[0]):
        for k in range(seq_len[m] - 1):
            a = seq[m, k]
            b = seq[m, k + 1]
            mnext[a] = b
            mprev[b] = a
    count = 0
    for i in range(n):
        head[i] = 0
        d = 0
        if job_prev[i] >= 0:
            d += 1
        if mprev[i] >= 0:
            d += 1
        indeg[i] = d
        if d == 0:
            order[count] = i
            count += 1
    p = 0
    while p < count:
        i = order[p]
        p += 1
        end = head[i] + dur[i]
        k = job_next[i]
        if k >= 0:
            if end > head[k]:
                head[k] = end
            indeg[k] -= 1
            if indeg[k] == 0:
                order[count] = k
                count += 1
        k = mnext[i]
        if k >= 0:
            if end > head[k]:
                head[k] = end
            indeg[k] -= 1
            if indeg[k] == 0:
                order[count] = k
                count += 1
    if count < n:
        return -1
    makespan = 0
    for index in range(n - 1, -1, -1):
        i = order[index]
        t = 0
        k = job_next[i]
        if k >= 0:
            t = tail[k] + dur[k]
        k = mnext[i]
        if k >= 0 and tail[k] + dur[k] > t:
            t = tail[k] + dur[k]
        tail[i] = t
        if head[i] + dur[i] + t > makespan:
            makespan = head[i] + dur[i] + t
    return makespan


@njit(cache=True, nogil=True)
def _critical_path(
    job_prev: Array, dur: Array, mprev: Array, head: Array, tail: Array, makespan: int, path: Array
) -> int:
    """One critical path into `path` (first to last); its length. Among the operations that end
    at the makespan one is picked at random; going back, the machine predecessor is preferred
    where both are tight (longer blocks, more moves)."""
    n = job_prev.shape[0]
    count = 0
    for i in range(n):
        if tail[i] == 0 and head[i] + dur[i] == makespan:
            count += 1
    pick = np.random.randint(0, count)
    current = -1
    for i in range(n):
        if tail[i] == 0 and head[i] + dur[i] == makespan:
            if pick == 0:
                current = i
                break
            pick -= 1
    length = 0
    path[length] = current
    length += 1
    while head[current] > 0:
        k = mprev[current]
        if k >= 0 and head[k] + dur[k] == head[current]:
            current = k
        else:
            k = job_prev[current]
            if k < 0 or head[k] + dur[k] != head[current]:
                break
            current = k
        path[length] = current
        length += 1
    for i in range(length // 2):
        a = path[i]
        path[i] = path[length - 1 - i]
        path[length - 1 - i] = a
    return length


@njit(cache=True, nogil=True)
def _estimate(
    m: int,
    p: int,
    q: int,
    seq: Array,
    seq_len: Array,
    job_prev: Array,
    job_next: Array,
    dur: Array,
    head: Array,
    tail: Array,
    buf: Array,
    rbuf: Array,
) -> int:
    """Estimated makespan after moving the operation at position p of machine m to position q:
    heads recomputed forward and tails backward over the re-ordered stretch; -1 where the move
    puts an operation before its own job predecessor."""
    lo = min(p, q)
    hi = max(p, q)
    k = 0
    if q > p:
        for i in range(p + 1, q + 1):
            buf[k] = seq[m, i]
            k += 1
        buf[k] = seq[m, p]
        k += 1
    else:
        buf[k] = seq[m, p]
        k += 1
        for i in range(q, p):
            buf[k] = seq[m, i]
            k += 1
    moved = seq[m, p]
    # The moved operation and one of its own job in the stretch: refuse a reversed pair.
    if q > p:
        for i in range(k - 1):
            o = buf[i]
            if job_prev[moved] == o or job_next[o] == moved:
                continue
            if job_next[moved] == o or job_prev[o] == moved:
                return -1
    else:
        for i in range(1, k):
            o = buf[i]
            if job_prev[moved] == o or job_next[o] == moved:
                return -1
    end = 0
    if lo > 0:
        a = seq[m, lo - 1]
        end = head[a] + dur[a]
    for i in range(k):
        o = buf[i]
        r = end
        jp = job_prev[o]
        if jp >= 0 and head[jp] + dur[jp] > r:
            r = head[jp] + dur[jp]
        rbuf[i] = r
        end = r + dur[o]
    after = 0
    if hi + 1 < seq_len[m]:
        b = seq[m, hi + 1]
        after = tail[b] + dur[b]
    value = 0
    for i in range(k - 1, -1, -1):
        o = buf[i]
        t = after
        jn = job_next[o]
        if jn >= 0 and tail[jn] + dur[jn] > t:
            t = tail[jn] + dur[jn]
        if rbuf[i] + dur[o] + t > value:
            value = rbuf[i] + dur[o] + t
        after = t + dur[o]
    return value


@njit(cache=True, nogil=True)
def _shift(seq: Array, pos: Array, m: int, p: int, q: int) -> None:
    """Move the operation at position p of machine m to position q."""
    x = seq[m, p]
    if q > p:
        for i in range(p, q):
            seq[m, i] = seq[m, i + 1]
            pos[seq[m, i]] = i
    else:
        for i in range(p, q, -1):
            seq[m, i] = seq[m, i - 1]
            pos[seq[m, i]] = i
    seq[m, q] = x
    pos[x] = q


@njit(cache=True, nogil=True)
def _transfer(
    seq: Array,
    seq_len: Array,
    pos: Array,
    mach: Array,
    dur: Array,
    dur_on: Array,
    x: int,
    m: int,
    q: int,
) -> None:
    """Take operation x off its machine and insert it at position q of machine m."""
    old = mach[x]
    p = pos[x]
    for i in range(p, seq_len[old] - 1):
        seq[old, i] = seq[old, i + 1]
        pos[seq[old, i]] = i
    seq_len[old] -= 1
    for i in range(seq_len[m], q, -1):
        seq[m, i] = seq[m, i - 1]
        pos[seq[m, i]] = i
    seq[m, q] = x
    pos[x] = q
    seq_len[m] += 1
    mach[x] = m
    dur[x] = dur_on[x, m]


@njit(cache=True, nogil=True)
def _key(a: int, b: int, n: int, size: int) -> int:
    return (a * n + b) % size


@njit(cache=True, nogil=True)
def _pair_tabu(m: int, p: int, q: int, seq: Array, tabu: Array, n: int, iteration: int) -> bool:
    """Whether moving the operation at position p of machine m to q restores a tabu order."""
    size = tabu.shape[0]
    u = seq[m, p]
    if q > p:
        for i in range(p + 1, q + 1):
            if tabu[_key(seq[m, i], u, n, size)] > iteration:
                return True
    else:
        for i in range(q, p):
            if tabu[_key(u, seq[m, i], n, size)] > iteration:
                return True
    return False


@njit(cache=True, nogil=True)
def _mark_pairs(m: int, p: int, q: int, seq: Array, tabu: Array, n: int, until: int) -> None:
    """Before moving p to q on machine m: the pairs whose order the move reverses stay tabu
    (their old order may not come back) until `until`."""
    size = tabu.shape[0]
    u = seq[m, p]
    if q > p:
        for i in range(p + 1, q + 1):
            tabu[_key(u, seq[m, i], n, size)] = until
    else:
        for i in range(q, p):
            tabu[_key(seq[m, i], u, n, size)] = until


@njit(cache=True, nogil=True)
def _insertion(seq: Array, seq_len: Array, head: Array, m: int, start: int) -> int:
    """The first position on machine m whose operation starts at or after `start`."""
    lo = 0
    hi = seq_len[m]
    while lo < hi:
        mid = (lo + hi) // 2
        if head[seq[m, mid]] < start:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _save(
    seq: Array, seq_len: Array, mach: Array, to_seq: Array, to_len: Array, to_mach: Array
) -> None:
    for m in range(seq.shape[0]):
        to_len[m] = seq_len[m]
        for k in range(seq_len[m]):
            to_seq[m, k] = seq[m, k]
    for i in range(mach.shape[0]):
        to_mach[i] = mach[i]


@njit(cache=True, nogil=True)
def _load(
    from_seq: Array,
    from_len: Array,
    from_mach: Array,
    seq: Array,
    seq_len: Array,
    pos: Array,
    mach: Array,
    dur: Array,
    dur_on: Array,
) -> None:
    for m in range(seq.shape[0]):
        seq_len[m] = from_len[m]
        for k in range(from_len[m]):
            seq[m, k] = from_seq[m, k]
            pos[seq[m, k]] = k
    for i in range(mach.shape[0]):
        mach[i] = from_mach[i]
        dur[i] = dur_on[i, mach[i]]


@njit(cache=True, nogil=True)
def _elite_offer(
    state: Array,
    value: int,
    seq: Array,
    seq_len: Array,
    mach: Array,
    elite_value: Array,
    elite_seq: Array,
    elite_len: Array,
    elite_mach: Array,
) -> None:
    """Keep the schedule among the elite if its makespan is new there and beats the worst."""
    count = state[_ELITE_COUNT]
    worst = -1
    for e in range(count):
        if elite_value[e] == value:
            return
        if worst < 0 or elite_value[e] > elite_value[worst]:
            worst = e
    if count < elite_value.shape[0]:
        slot = count
        state[_ELITE_COUNT] = count + 1
    elif value < elite_value[worst]:
        slot = worst
    else:
        return
    elite_value[slot] = value
    _save(seq, seq_len, mach, elite_seq[slot], elite_len[slot], elite_mach[slot])


@njit(cache=True, nogil=True)
def _run(
    steps: int,
    state: Array,
    job_prev: Array,
    job_next: Array,
    dur_on: Array,
    alt_ptr: Array,
    alt_m: Array,
    mach: Array,
    dur: Array,
    seq: Array,
    seq_len: Array,
    pos: Array,
    mprev: Array,
    mnext: Array,
    head: Array,
    tail: Array,
    order: Array,
    indeg: Array,
    tabu: Array,
    tabu_mach: Array,
    best_seq: Array,
    best_len: Array,
    best_mach: Array,
    elite_value: Array,
    elite_seq: Array,
    elite_len: Array,
    elite_mach: Array,
    run_seq: Array,
    run_len: Array,
    run_mach: Array,
    path: Array,
    moves: Array,
    values: Array,
    buf: Array,
    rbuf: Array,
) -> None:
    """`steps` iterations of the search; every bit of its state lives in the arrays."""
    n = job_prev.shape[0]
    capacity = moves.shape[0]
    reach = state[_REACH]
    for _ in range(steps):
        state[_ITERATION] += 1
        iteration = state[_ITERATION]
        makespan = state[_CURRENT]
        best = state[_BEST]
        length = _critical_path(job_prev, dur, mprev, head, tail, makespan, path)
        count = 0
        # Blocks of the path: runs on one machine, each directly after the other there.
        start = 0
        block = 0
        while start < length:
            stop = start
            while stop + 1 < length and mprev[path[stop + 1]] == path[stop]:
                stop += 1
            size = stop - start + 1
            if size >= 2:
                m = mach[path[start]]
                a = pos[path[start]]
                b = pos[path[stop]]
                first_ok = block > 0
                last_ok = stop < length - 1
                for i in range(a, b + 1):
                    for t in range(4):
                        # 0: inner (or last) to the front; 1: inner (or first) to the back;
                        # 2: the first into the block; 3: the last into the block.
                        if t == 0:
                            if not first_ok or i == a:
                                continue
                            p, q = i, a
                        elif t == 1:
                            if not last_ok or i == b:
                                continue
                            p, q = i, b
                        elif t == 2:
                            if not first_ok or i <= a + 1 or i == b or i - a > reach:
                                continue
                            p, q = a, i
                        else:
                            if not last_ok or i >= b - 1 or i == a or b - i > reach:
                                continue
                            p, q = b, i
                        if count >= capacity:
                            continue
                        value = _estimate(
                            m, p, q, seq, seq_len, job_prev, job_next, dur, head, tail, buf, rbuf
                        )
                        if value < 0:
                            continue
                        if value >= best and _pair_tabu(m, p, q, seq, tabu, n, iteration):
                            continue
                        moves[count, 0] = 0
                        moves[count, 1] = m
                        moves[count, 2] = p
                        moves[count, 3] = q
                        values[count] = value
                        count += 1
            start = stop + 1
            block += 1
        # Machine changes of critical operations (flexible shops).
        for index in range(length):
            x = path[index]
            if alt_ptr[x + 1] - alt_ptr[x] < 2:
                continue
            jp = job_prev[x]
            release = head[jp] + dur[jp] if jp >= 0 else 0
            jn = job_next[x]
            after = tail[jn] + dur[jn] if jn >= 0 else 0
            for k in range(alt_ptr[x], alt_ptr[x + 1]):
                m = alt_m[k]
                if m == mach[x]:
                    continue
                d = dur_on[x, m]
                centre = _insertion(seq, seq_len, head, m, head[x])
                for q in range(max(centre - 1, 0), min(centre + 1, seq_len[m]) + 1):
                    r = release
                    if q > 0:
                        o = seq[m, q - 1]
                        if head[o] + dur[o] > r:
                            r = head[o] + dur[o]
                    t = after
                    if q < seq_len[m]:
                        o = seq[m, q]
                        if tail[o] + dur[o] > t:
                            t = tail[o] + dur[o]
                    value = r + d + t
                    if value >= best and tabu_mach[x, m] > iteration:
                        continue
                    if count >= capacity:
                        continue
                    moves[count, 0] = 1
                    moves[count, 1] = m
                    moves[count, 2] = x
                    moves[count, 3] = q
                    values[count] = value
                    count += 1
        if count == 0:
            # Every move tabu (or none at all): let the tabu lapse a little.
            state[_ITERATION] += 1 + state[_TENURE_LOW] // 2
            state[_SINCE_BEST] += 1
        else:
            chosen = 0
            ties = 1
            for c in range(1, count):
                if values[c] < values[chosen]:
                    chosen = c
                    ties = 1
                elif values[c] == values[chosen]:
                    ties += 1
                    if np.random.randint(0, ties) == 0:
                        chosen = c
            kind = moves[chosen, 0]
            m = moves[chosen, 1]
            tenure = np.random.randint(state[_TENURE_LOW], state[_TENURE_HIGH] + 1)
            if kind == 0:
                p = moves[chosen, 2]
                q = moves[chosen, 3]
                _mark_pairs(m, p, q, seq, tabu, n, iteration + tenure)
                _shift(seq, pos, m, p, q)
            else:
                x = moves[chosen, 2]
                q = moves[chosen, 3]
                old = mach[x]
                p = pos[x]
                tabu_mach[x, old] = iteration + tenure
                _transfer(seq, seq_len, pos, mach, dur, dur_on, x, m, q)
            value = _evaluate(
                job_prev, job_next, dur, seq, seq_len, mprev, mnext, head, tail, order, indeg
            )
            if value < 0:
                # A cycle: undo, and keep the move away for a while.
                if kind == 0:
                    _shift(seq, pos, m, q, p)
                else:
                    _transfer(seq, seq_len, pos, mach, dur, dur_on, x, old, p)
                    tabu_mach[x, m] = iteration + state[_TENURE_HIGH]
                value = _evaluate(
                    job_prev, job_next, dur, seq, seq_len, mprev, mnext, head, tail, order, indeg
                )
            state[_CURRENT] = value
            state[_MOVES_TAKEN] += 1
            if value < state[_RUN_BEST]:
                state[_RUN_BEST] = value
                _save(seq, seq_len, mach, run_seq, run_len, run_mach)
            if value < best:
                state[_BEST] = value
                state[_SINCE_BEST] = 0
                _save(seq, seq_len, mach, best_seq, best_len, best_mach)
            else:
                state[_SINCE_BEST] += 1
        if state[_SINCE_BEST] > state[_PATIENCE]:
            _restart(
                state,
                job_prev,
                job_next,
                dur_on,
                mach,
                dur,
                seq,
                seq_len,
                pos,
                mprev,
                mnext,
                head,
                tail,
                order,
                indeg,
                elite_value,
                elite_seq,
                elite_len,
                elite_mach,
                run_seq,
                run_len,
                run_mach,
                path,
                buf,
                rbuf,
            )


@njit(cache=True, nogil=True)
def _restart(
    state: Array,
    job_prev: Array,
    job_next: Array,
    dur_on: Array,
    mach: Array,
    dur: Array,
    seq: Array,
    seq_len: Array,
    pos: Array,
    mprev: Array,
    mnext: Array,
    head: Array,
    tail: Array,
    order: Array,
    indeg: Array,
    elite_value: Array,
    elite_seq: Array,
    elite_len: Array,
    elite_mach: Array,
    run_seq: Array,
    run_len: Array,
    run_mach: Array,
    path: Array,
    buf: Array,
    rbuf: Array,
) -> None:
    """From a random elite schedule (the best of this run joins the elite first), shaken by a
    few random moves on critical blocks; every tabu lapses."""
    _elite_offer(
        state,
        state[_RUN_BEST],
        run_seq,
        run_len,
        run_mach,
        elite_value,
        elite_seq,
        elite_len,
        elite_mach,
    )
    e = np.random.randint(0, state[_ELITE_COUNT])
    _load(elite_seq[e], elite_len[e], elite_mach[e], seq, seq_len, pos, mach, dur, dur_on)
    value = _evaluate(job_prev, job_next, dur, seq, seq_len, mprev, mnext, head, tail, order, indeg)
    for _ in range(2 + np.random.randint(0, 4)):
        length = _critical_path(job_prev, dur, mprev, head, tail, value, path)
        i = np.random.randint(0, length)
        x = path[i]
        m = mach[x]
        p = pos[x]
        if seq_len[m] < 2:
            continue
        q = p + 1 if p + 1 < seq_len[m] and np.random.randint(0, 2) == 0 else p - 1
        if q < 0:
            q = p + 1
        if _estimate(m, p, q, seq, seq_len, job_prev, job_next, dur, head, tail, buf, rbuf) < 0:
            continue
        _shift(seq, pos, m, p, q)
        value = _evaluate(
            job_prev, job_next, dur, seq, seq_len, mprev, mnext, head, tail, order, indeg
        )
        if value < 0:
            _shift(seq, pos, m, q, p)
            value = _evaluate(
                job_prev, job_next, dur, seq, seq_len, mprev, mnext, head, tail, order, indeg
            )
    state[_CURRENT] = value
    state[_RUN_BEST] = value
    _save(seq, seq_len, mach, run_seq, run_len, run_mach)
    state[_SINCE_BEST] = 0
    state[_RESTARTS] += 1
    # Jumping the counter past every tenure clears the tabu lists.
    state[_ITERATION] += state[_TENURE_HIGH] + 1


@njit(cache=True, nogil=True)
def _seed(seed: int) -> None:
    np.random.seed(seed)


class Search:
    """A tabu search's state, run in slices (`run`) so that a caller can watch the clock and
    trade schedules with another solver between them (`adopt`)."""

    def __init__(
        self,
        instance: Instance,
        sequences: list[list[tuple[int, int]]],
        *,
        seed: int = 0,
    ) -> None:
        self.instance = instance
        self.keys: list[tuple[int, int]] = []
        job_prev, job_next = [], []
        for j, job in enumerate(instance.jobs):
            first = len(self.keys)
            for o in range(len(job)):
                self.keys.append((j, o))
                job_prev.append(first + o - 1 if o > 0 else -1)
                job_next.append(first + o + 1 if o + 1 < len(job) else -1)
        self.index = {key: i for i, key in enumerate(self.keys)}
        n, machines = len(self.keys), max(instance.machines, 1)
        self.n = n
        i64 = np.int64
        self.job_prev = np.array(job_prev, dtype=i64)
        self.job_next = np.array(job_next, dtype=i64)
        self.dur_on = np.full((n, machines), -1, dtype=i64)
        alt_ptr, alt_m = [0], []
        for i, (j, o) in enumerate(self.keys):
            for machine, duration in instance.jobs[j][o].alternatives:
                self.dur_on[i, machine] = duration
                alt_m.append(machine)
            alt_ptr.append(len(alt_m))
        self.alt_ptr = np.array(alt_ptr, dtype=i64)
        self.alt_m = np.array(alt_m, dtype=i64)
        self.mach = np.zeros(n, dtype=i64)
        self.dur = np.zeros(n, dtype=i64)
        self.seq = np.zeros((machines, n), dtype=i64)
        self.seq_len = np.zeros(machines, dtype=i64)
        self.pos = np.zeros(n, dtype=i64)
        self.mprev = np.zeros(n, dtype=i64)
        self.mnext = np.zeros(n, dtype=i64)
        self.head = np.zeros(n, dtype=i64)
        self.tail = np.zeros(n, dtype=i64)
        self.order = np.zeros(n, dtype=i64)
        self.indeg = np.zeros(n, dtype=i64)
        self.tabu = np.zeros(max(min(n * n, 1 << 22), 1), dtype=i64)
        self.tabu_mach = np.zeros((n, machines), dtype=i64)
        self.best_seq = np.zeros_like(self.seq)
        self.best_len = np.zeros_like(self.seq_len)
        self.best_mach = np.zeros_like(self.mach)
        self.elite_value = np.zeros(ELITE, dtype=i64)
        self.elite_seq = np.zeros((ELITE, machines, n), dtype=i64)
        self.elite_len = np.zeros((ELITE, machines), dtype=i64)
        self.elite_mach = np.zeros((ELITE, n), dtype=i64)
        self.run_seq = np.zeros_like(self.seq)
        self.run_len = np.zeros_like(self.seq_len)
        self.run_mach = np.zeros_like(self.mach)
        self.path = np.zeros(n, dtype=i64)
        self.moves = np.zeros((8 * n + 64, 4), dtype=i64)
        self.values = np.zeros(8 * n + 64, dtype=i64)
        self.buf = np.zeros(n + 1, dtype=i64)
        self.rbuf = np.zeros(n + 1, dtype=i64)
        self.state = np.zeros(_STATE, dtype=i64)
        jobs = max(len(instance.jobs), 1)
        low = 10 + jobs // machines
        self.state[_TENURE_LOW] = low
        self.state[_TENURE_HIGH] = low + max(2, low * 2 // 5)
        self.state[_PATIENCE] = 10_000 + 20 * n
        self.state[_REACH] = 1
        self.state[_SEED] = seed
        self.state[_BEST] = np.iinfo(np.int64).max
        _seed(seed)
        self.adopt(sequences)

    def adopt(self, sequences: list[list[tuple[int, int]]]) -> None:
        """Go on from these sequences (they join the elite, and become the best where they
        beat it). Raises ValueError where they hold a cycle."""
        self.seq_len[:] = 0
        for machine, sequence in enumerate(sequences):
            for position, key in enumerate(sequence):
                i = self.index[key]
                self.seq[machine, position] = i
                self.pos[i] = position
                self.mach[i] = machine
                self.dur[i] = self.dur_on[i, machine]
            self.seq_len[machine] = len(sequence)
        value = _evaluate(
            self.job_prev,
            self.job_next,
            self.dur,
            self.seq,
            self.seq_len,
            self.mprev,
            self.mnext,
            self.head,
            self.tail,
            self.order,
            self.indeg,
        )
        if value < 0:
            raise ValueError("the sequences hold a cycle")
        state = self.state
        state[_CURRENT] = value
        state[_RUN_BEST] = value
        state[_SINCE_BEST] = 0
        _save(self.seq, self.seq_len, self.mach, self.run_seq, self.run_len, self.run_mach)
        if value < state[_BEST]:
            state[_BEST] = value
            _save(self.seq, self.seq_len, self.mach, self.best_seq, self.best_len, self.best_mach)
        _elite_offer(
            state,
            value,
            self.seq,
            self.seq_len,
            self.mach,
            self.elite_value,
            self.elite_seq,
            self.elite_len,
            self.elite_mach,
        )
        state[_ITERATION] += state[_TENURE_HIGH] + 1

    @property
    def best(self) -> int:
        return int(self.state[_BEST])

    @property
    def iterations(self) -> int:
        return int(self.state[_MOVES_TAKEN])

    def best_sequences(self) -> list[list[tuple[int, int]]]:
        keys = self.keys
        return [
            [keys[int(i)] for i in self.best_seq[m, : self.best_len[m]]]
            for m in range(self.seq.shape[0])
        ][: self.instance.machines]

    def run(self, steps: int) -> None:
        """`steps` iterations (the interpreter released meanwhile)."""
        if self.n == 0 or steps <= 0:
            return
        _run(
            steps,
            self.state,
            self.job_prev,
            self.job_next,
            self.dur_on,
            self.alt_ptr,
            self.alt_m,
            self.mach,
            self.dur,
            self.seq,
            self.seq_len,
            self.pos,
            self.mprev,
            self.mnext,
            self.head,
            self.tail,
            self.order,
            self.indeg,
            self.tabu,
            self.tabu_mach,
            self.best_seq,
            self.best_len,
            self.best_mach,
            self.elite_value,
            self.elite_seq,
            self.elite_len,
            self.elite_mach,
            self.run_seq,
            self.run_len,
            self.run_mach,
            self.path,
            self.moves,
            self.values,
            self.buf,
            self.rbuf,
        )

    def slice_steps(self) -> int:
        """Iterations per slice: about 10-40 ms on shops of any size (a count, not a time, so
        that a run stopped after so many slices is reproducible)."""
        return max(32, 400_000 // max(self.n, 1))


def search(
    instance: Instance,
    sequences: list[list[tuple[int, int]]],
    *,
    deadline: float,
    seed: int = 0,
    stop: Callable[[], bool] = lambda: False,
    iterations: int | None = None,
) -> tuple[int, list[list[tuple[int, int]]]]:
    """Improve the machine sequences ((job, operation) per machine; in a flexible shop also
    which machine runs an operation) until `deadline` (a `time.perf_counter()` value), `stop()`
    (asked between slices) or `iterations`; returns the best makespan and its sequences. With
    a seed and `iterations` (or a `stop` that counts its calls) the result is reproducible."""
    state = Search(instance, sequences, seed=seed)
    if instance.operations == 0:
        return 0, [list(s) for s in sequences]
    steps = state.slice_steps()
    left = math.inf if iterations is None else iterations
    while left > 0:
        if time.perf_counter() >= deadline or stop():
            break
        chunk = int(min(steps, left))
        state.run(chunk)
        left -= chunk
    return state.best, state.best_sequences()


def starts(
    instance: Instance, sequences: list[list[tuple[int, int]]]
) -> dict[tuple[int, int], int]:
    """Earliest start of every operation under the given machine sequences."""
    state = Search(instance, sequences)
    return {key: int(state.head[i]) for i, key in enumerate(state.keys)}


def warm_up() -> float:
    """Compile the search (or load it from numba's cache) on a tiny shop; the seconds taken."""
    started = time.perf_counter()
    shop = Instance(
        "warm-up",
        2,
        (
            (Operation(((0, 3),)), Operation(((1, 2), (0, 4)))),
            (Operation(((1, 2),)), Operation(((0, 3),))),
        ),
    )
    search(shop, [[(0, 0), (1, 1)], [(1, 0), (0, 1)]], deadline=math.inf, iterations=50)
    return time.perf_counter() - started
