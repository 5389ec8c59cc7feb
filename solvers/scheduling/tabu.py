"""Tabu search for job shops on the critical path (pure Python, no solver).

A schedule is a sequence of operations per machine; its start times are the longest paths in
the disjunctive graph (job order plus machine order). A move swaps two adjacent operations of a
critical block (the N5 neighbourhood: the first two or last two of a block, never both ends of
the first and last blocks), which can never create a cycle with positive durations; in a
flexible shop a move may also take a critical operation to another machine it can run on,
placed where its start falls there (a move that would close a cycle is refused). Moves are
ranked by the usual estimate of the new makespan from heads and tails, the best one not tabu is
taken (a tabu one when it would beat the best known), and the reverse move stays tabu for a
while. When nothing improves for long, the search goes back to the best schedule found and
shakes it with a few random swaps. It serves `jobshop.solve` as a fast source of good schedules,
beside CP-SAT, on shops too large for the solver alone in seconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from solvers.scheduling.instances import Instance


class _Graph:
    """Operations numbered job by job; arrays of job neighbours, machines and durations (on
    the machine each one's sequence puts it, for a flexible shop)."""

    def __init__(self, instance: Instance, sequences: list[list[tuple[int, int]]]) -> None:
        chosen = {key: machine for machine, sequence in enumerate(sequences) for key in sequence}
        self.machine: list[int] = []
        self.duration: list[int] = []
        self.job_prev: list[int] = []
        self.job_next: list[int] = []
        self.key: list[tuple[int, int]] = []
        self.alternatives: list[dict[int, int]] = []
        for j, job in enumerate(instance.jobs):
            first = len(self.machine)
            for o, op in enumerate(job):
                machine = chosen[(j, o)]
                duration = dict(op.alternatives)[machine]
                self.machine.append(machine)
                self.duration.append(duration)
                self.job_prev.append(first + o - 1 if o > 0 else -1)
                self.job_next.append(first + o + 1 if o + 1 < len(job) else -1)
                self.key.append((j, o))
                self.alternatives.append(dict(op.alternatives))
        self.size = len(self.machine)
        self.machines = instance.machines


def _heads_tails(
    graph: _Graph, sequences: list[list[int]]
) -> tuple[list[int], list[int], list[int], list[int], list[int]] | None:
    """Heads (earliest starts), tails (longest path after the end), machine neighbours and a
    topological order; None when the sequences hold a cycle."""
    n = graph.size
    machine_prev = [-1] * n
    machine_next = [-1] * n
    for sequence in sequences:
        for a, b in zip(sequence, sequence[1:], strict=False):
            machine_next[a] = b
            machine_prev[b] = a
    job_prev, job_next, duration = graph.job_prev, graph.job_next, graph.duration
    indegree = [(job_prev[i] >= 0) + (machine_prev[i] >= 0) for i in range(n)]
    order = [i for i in range(n) if indegree[i] == 0]
    head = [0] * n
    position = 0
    while position < len(order):
        i = order[position]
        position += 1
        end = head[i] + duration[i]
        for k in (job_next[i], machine_next[i]):
            if k >= 0:
                if end > head[k]:
                    head[k] = end
                indegree[k] -= 1
                if indegree[k] == 0:
                    order.append(k)
    if len(order) < n:
        return None
    tail = [0] * n
    for i in reversed(order):
        best = 0
        k = job_next[i]
        if k >= 0:
            best = tail[k] + duration[k]
        k = machine_next[i]
        if k >= 0 and tail[k] + duration[k] > best:
            best = tail[k] + duration[k]
        tail[i] = best
    return head, tail, machine_prev, machine_next, order


def _critical_blocks(graph: _Graph, schedule: _Schedule, makespan: int) -> list[list[int]]:
    """The blocks of one critical path, first to last: runs of operations that follow each
    other directly on one machine (two operations of a job in a row on the same machine are
    two blocks: swapping them would break the job's order)."""
    duration, job_prev = graph.duration, graph.job_prev
    head, tail, machine_prev = schedule.head, schedule.tail, schedule.machine_prev
    current = next(i for i in schedule.lasts if head[i] + duration[i] == makespan and tail[i] == 0)
    path = [current]
    while head[current] > 0:
        k = machine_prev[current]
        if k >= 0 and head[k] + duration[k] == head[current]:
            current = k
        else:
            k = job_prev[current]
            if k < 0 or head[k] + duration[k] != head[current]:
                break  # idle before it: the path starts here
            current = k
        path.append(current)
    path.reverse()
    blocks: list[list[int]] = []
    for i in path:
        if blocks and machine_prev[i] == blocks[-1][-1]:
            blocks[-1].append(i)
        else:
            blocks.append([i])
    return blocks


class _Schedule:
    """Machine sequences with heads, tails and a topological order kept up to date: a swap
    re-orders only the stretch of the order between the two operations and recomputes heads
    after it and tails before it."""

    def __init__(self, graph: _Graph, sequences: list[list[int]]) -> None:
        """Raises ValueError where the sequences hold a cycle."""
        self.graph = graph
        self.sequences = sequences
        self.where = [0] * graph.size
        for machine, sequence in enumerate(sequences):
            for position, i in enumerate(sequence):
                self.where[i] = position
                graph.machine[i] = machine
                graph.duration[i] = graph.alternatives[i][machine]
        state = _heads_tails(graph, sequences)
        if state is None:
            raise ValueError("the sequences hold a cycle")
        self.head, self.tail, self.machine_prev, self.machine_next, self.order = state
        self.position = [0] * graph.size
        for position, i in enumerate(self.order):
            self.position[i] = position
        self.lasts = [i for i in range(graph.size) if graph.job_next[i] < 0]

    def makespan(self) -> int:
        head, duration = self.head, self.graph.duration
        return max(head[i] + duration[i] for i in self.lasts)

    def swap(self, u: int, v: int) -> bool:
        """Put v before u (u directly before v on their machine, not one job's two in a row);
        False, and nothing changed, where that would close a cycle."""
        graph = self.graph
        duration, job_prev, job_next = graph.duration, graph.job_prev, graph.job_next
        machine_prev, machine_next = self.machine_prev, self.machine_next
        sequence = self.sequences[graph.machine[u]]
        pu = self.where[u]
        sequence[pu], sequence[pu + 1] = v, u
        self.where[u], self.where[v] = pu + 1, pu
        a, b = machine_prev[u], machine_next[v]
        if a >= 0:
            machine_next[a] = v
        if b >= 0:
            machine_prev[b] = u
        machine_prev[v], machine_next[v] = a, u
        machine_prev[u], machine_next[u] = v, b
        # Re-order the stretch from u to v: what does not follow from u first, then the rest.
        order, position = self.order, self.position
        first, last = position[u], position[v]
        stretch = order[first : last + 1]
        after = {u}
        before = []
        behind = [u]
        for i in stretch[1:]:
            if job_prev[i] in after or machine_prev[i] in after:
                after.add(i)
                behind.append(i)
            else:
                before.append(i)
        if v in after:
            # Another path led from u to v (operations of no duration): the swap would close a
            # cycle, so it is undone.
            sequence[pu], sequence[pu + 1] = u, v
            self.where[u], self.where[v] = pu, pu + 1
            if a >= 0:
                machine_next[a] = u
            if b >= 0:
                machine_prev[b] = v
            machine_prev[u], machine_next[u] = a, v
            machine_prev[v], machine_next[v] = u, b
            return False
        order[first : last + 1] = before + behind
        for offset, i in enumerate(order[first : last + 1]):
            position[i] = first + offset
        head, tail = self.head, self.tail
        for i in order[first:]:
            k = job_prev[i]
            value = head[k] + duration[k] if k >= 0 else 0
            k = machine_prev[i]
            if k >= 0 and head[k] + duration[k] > value:
                value = head[k] + duration[k]
            head[i] = value
        for index in range(last, -1, -1):
            i = order[index]
            k = job_next[i]
            value = tail[k] + duration[k] if k >= 0 else 0
            k = machine_next[i]
            if k >= 0 and tail[k] + duration[k] > value:
                value = tail[k] + duration[k]
            tail[i] = value
        return True


def _moves(graph: _Graph, schedule: _Schedule, makespan: int) -> list[tuple[int, int]]:
    """N5: per critical block, swap its first two and its last two (not at the path's ends)."""
    blocks = _critical_blocks(graph, schedule, makespan)
    moves: list[tuple[int, int]] = []
    last = len(blocks) - 1
    for b, block in enumerate(blocks):
        if len(block) < 2:
            continue
        if b > 0:
            moves.append((block[0], block[1]))
        if b < last and (len(block) > 2 or b == 0):
            moves.append((block[-2], block[-1]))
        elif b == last and b == 0:
            moves.append((block[-2], block[-1]))
    # Two operations of one job in a row on a machine keep their order.
    job_next = graph.job_next
    return [(u, v) for u, v in moves if job_next[u] != v]


def _reassign(
    graph: _Graph,
    schedule: _Schedule,
    makespan: int,
    best: int,
    iteration: int,
    tabu: dict[tuple[int, int], int],
) -> tuple[int, int, int, int] | None:
    """The most promising move of a critical operation to another machine it may run on, put
    where its start falls among that machine's operations: (estimated makespan, operation,
    machine, position), or None."""
    duration, job_prev, job_next = graph.duration, graph.job_prev, graph.job_next
    head, tail = schedule.head, schedule.tail
    found: tuple[int, int, int, int] | None = None
    for block in _critical_blocks(graph, schedule, makespan):
        for x in block:
            alternatives = graph.alternatives[x]
            if len(alternatives) < 2:
                continue
            k = job_prev[x]
            release = head[k] + duration[k] if k >= 0 else 0
            k = job_next[x]
            after = tail[k] + duration[k] if k >= 0 else 0
            for machine, length in alternatives.items():
                if machine == graph.machine[x]:
                    continue
                sequence = schedule.sequences[machine]
                position = 0
                while position < len(sequence) and head[sequence[position]] < head[x]:
                    position += 1
                r, q = release, after
                if position > 0:
                    a = sequence[position - 1]
                    r = max(r, head[a] + duration[a])
                if position < len(sequence):
                    b = sequence[position]
                    q = max(q, tail[b] + duration[b])
                value = r + length + q
                if tabu.get((x, machine), 0) > iteration and value >= best:
                    continue
                if found is None or value < found[0]:
                    found = (value, x, machine, position)
    return found


def search(
    instance: Instance,
    sequences: list[list[tuple[int, int]]],
    *,
    deadline: float,
    seed: int = 0,
    stop: Callable[[], bool] = lambda: False,
) -> tuple[int, list[list[tuple[int, int]]]]:
    """Improve the machine sequences ((job, operation) per machine; in a flexible shop also
    which machine runs a critical operation) until `deadline` (a `time.perf_counter()` value)
    or `stop()`; returns the best makespan and its sequences."""
    graph = _Graph(instance, sequences)
    index = {key: i for i, key in enumerate(graph.key)}
    schedule = _Schedule(graph, [[index[key] for key in sequence] for sequence in sequences])
    rng = random.Random(seed)
    duration, job_prev, job_next = graph.duration, graph.job_prev, graph.job_next
    makespan = schedule.makespan()
    best, best_sequences = makespan, [list(s) for s in schedule.sequences]
    tabu: dict[tuple[int, int], int] = {}
    tabu_machine: dict[tuple[int, int], int] = {}
    flexible = any(len(alternatives) > 1 for alternatives in graph.alternatives)
    tenure_low, tenure_high = 8 + graph.size // 100, 14 + graph.size // 50
    iteration = since_best = 0
    patience = 2000 + graph.size
    while True:
        iteration += 1
        if iteration % 16 == 0 and (time.perf_counter() >= deadline or stop()):
            break
        moves = _moves(graph, schedule, makespan)
        if not moves and not flexible:
            break  # no block to change: the makespan is the critical path's
        head, tail = schedule.head, schedule.tail
        machine_prev, machine_next = schedule.machine_prev, schedule.machine_next
        chosen: tuple[int, int] | None = None
        chosen_value = 0
        for u, v in moves:
            # u directly before v on their machine; estimate the makespan with v before u.
            k = job_prev[v]
            rv = head[k] + duration[k] if k >= 0 else 0
            k = machine_prev[u]
            if k >= 0 and head[k] + duration[k] > rv:
                rv = head[k] + duration[k]
            k = job_prev[u]
            ru = head[k] + duration[k] if k >= 0 else 0
            if rv + duration[v] > ru:
                ru = rv + duration[v]
            k = job_next[u]
            qu = tail[k] + duration[k] if k >= 0 else 0
            k = machine_next[v]
            if k >= 0 and tail[k] + duration[k] > qu:
                qu = tail[k] + duration[k]
            k = job_next[v]
            qv = tail[k] + duration[k] if k >= 0 else 0
            if qu + duration[u] > qv:
                qv = qu + duration[u]
            value = max(rv + duration[v] + qv, ru + duration[u] + qu)
            if tabu.get((u, v), 0) > iteration and value >= best:
                continue
            if (
                chosen is None
                or value < chosen_value
                or (value == chosen_value and rng.random() < 0.5)
            ):
                chosen, chosen_value = (u, v), value
        if flexible:
            moved = _reassign(graph, schedule, makespan, best, iteration, tabu_machine)
            if moved is not None and (chosen is None or moved[0] < chosen_value):
                _, x, machine, position = moved
                changed = [list(s) for s in schedule.sequences]
                was = graph.machine[x]
                changed[was].remove(x)
                changed[machine].insert(position, x)
                try:
                    schedule = _Schedule(graph, changed)
                except ValueError:
                    _Schedule(graph, schedule.sequences)  # the graph back as it was
                    tabu_machine[(x, machine)] = iteration + tenure_high
                    continue
                tabu_machine[(x, was)] = iteration + rng.randint(tenure_low, tenure_high)
                makespan = schedule.makespan()
                if makespan < best:
                    best, best_sequences = makespan, [list(s) for s in schedule.sequences]
                    since_best = 0
                else:
                    since_best += 1
                continue
        if chosen is None:
            if not moves:
                break
            chosen = moves[rng.randrange(len(moves))]
        u, v = chosen
        if not schedule.swap(u, v):
            tabu[(u, v)] = iteration + tenure_high
            continue
        tabu[(v, u)] = iteration + rng.randint(tenure_low, tenure_high)
        makespan = schedule.makespan()
        if makespan < best:
            best, best_sequences, since_best = makespan, [list(s) for s in schedule.sequences], 0
        else:
            since_best += 1
        if since_best > patience:
            # Back to the best, shaken by a few random swaps on critical blocks.
            schedule = _Schedule(graph, [list(s) for s in best_sequences])
            tabu.clear()
            tabu_machine.clear()
            since_best = 0
            for _ in range(3):
                moves = _moves(graph, schedule, schedule.makespan())
                if not moves:
                    break
                schedule.swap(*moves[rng.randrange(len(moves))])
            makespan = schedule.makespan()
    return best, [[graph.key[i] for i in sequence] for sequence in best_sequences]


def starts(
    instance: Instance, sequences: list[list[tuple[int, int]]]
) -> dict[tuple[int, int], int]:
    """Earliest start of every operation under the given machine sequences."""
    graph = _Graph(instance, sequences)
    index = {key: i for i, key in enumerate(graph.key)}
    state = _heads_tails(graph, [[index[key] for key in s] for s in sequences])
    assert state is not None, "the sequences hold a cycle"
    return {graph.key[i]: state[0][i] for i in range(graph.size)}
