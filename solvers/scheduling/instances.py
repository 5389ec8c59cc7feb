"""Shop instances: jobs of ordered operations, each runnable on one or more machines.

A classic job shop is the special case with one machine per operation. The two text formats
read here are the standard ones of the public benchmarks (../shared/benchmarks/README.md):

- job shop (Fisher & Thompson, Lawrence): `n m`, then per job m pairs `machine duration`,
  machines numbered from 0;
- flexible job shop (Brandimarte): `n m [avg flexibility]`, then per job the number of operations
  and per operation `k` followed by k pairs `machine duration`, machines numbered from 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class InstanceError(ValueError):
    """The file is not a well-formed instance; the message says where and why."""


@dataclass(frozen=True)
class Operation:
    alternatives: tuple[tuple[int, int], ...]
    """(machine, duration) pairs, machines numbered from 0; a machine listed twice keeps its
    shorter duration."""

    def __post_init__(self) -> None:
        shortest: dict[int, int] = {}
        for machine, duration in self.alternatives:
            shortest[machine] = min(duration, shortest.get(machine, duration))
        object.__setattr__(self, "alternatives", tuple(shortest.items()))


@dataclass(frozen=True)
class Instance:
    name: str
    machines: int
    jobs: tuple[tuple[Operation, ...], ...]

    @property
    def operations(self) -> int:
        return sum(len(job) for job in self.jobs)

    @property
    def flexible(self) -> bool:
        return any(len(op.alternatives) > 1 for job in self.jobs for op in job)

    def trivial_lower_bound(self) -> int:
        """The longest job (shortest choices) and the least-loaded view of the busiest machine."""
        longest_job = max(
            (sum(min(d for _, d in op.alternatives) for op in job) for job in self.jobs),
            default=0,
        )
        total_min_work = sum(min(d for _, d in op.alternatives) for job in self.jobs for op in job)
        average_load = -(-total_min_work // max(self.machines, 1))
        fixed_load = [0] * self.machines
        for job in self.jobs:
            for op in job:
                if len(op.alternatives) == 1:
                    machine, duration = op.alternatives[0]
                    fixed_load[machine] += duration
        return max(longest_job, average_load, max(fixed_load, default=0))


def _numbers(text: str, name: str) -> list[int]:
    try:
        return [int(token) for token in text.split()]
    except ValueError as exc:
        raise InstanceError(f"{name}: every entry must be a whole number ({exc})") from exc


def parse_jobshop(text: str, name: str = "instance") -> Instance:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines:
        raise InstanceError(f"{name}: empty file")
    header = _numbers(lines[0], name)
    if len(header) < 2 or header[0] < 1 or header[1] < 1:
        raise InstanceError(f"{name}: the first line must be `jobs machines`")
    jobs_count, machines = header[0], header[1]
    if len(lines) - 1 < jobs_count:
        raise InstanceError(f"{name}: {jobs_count} jobs announced, {len(lines) - 1} given")
    jobs = []
    for index, line in enumerate(lines[1 : 1 + jobs_count]):
        values = _numbers(line, name)
        if len(values) % 2 or not values:
            raise InstanceError(f"{name}: job {index}: pairs of `machine duration` expected")
        operations = []
        for machine, duration in zip(values[0::2], values[1::2], strict=True):
            _check(name, index, machine, duration, machines)
            operations.append(Operation(((machine, duration),)))
        jobs.append(tuple(operations))
    return Instance(name=name, machines=machines, jobs=tuple(jobs))


def parse_fjsp(text: str, name: str = "instance") -> Instance:
    lines = [line for line in text.splitlines() if line.strip()]
    header = lines[0].split() if lines else []
    # The third header entry, the average flexibility, may be a decimal: only n and m matter.
    head = _numbers(" ".join(header[:2]), name)
    if len(head) < 2 or head[0] < 1 or head[1] < 1:
        raise InstanceError(f"{name}: the first line must be `jobs machines [flexibility]`")
    jobs_count, machines = head[0], head[1]
    values = _numbers("\n".join(lines[1:]), name)
    position = 0
    jobs = []
    try:
        for job in range(jobs_count):
            count = values[position]
            position += 1
            operations = []
            for _ in range(count):
                k = values[position]
                position += 1
                if k < 1:
                    raise InstanceError(f"{name}: job {job}: an operation with no machine")
                alternatives = []
                for _ in range(k):
                    machine, duration = values[position] - 1, values[position + 1]
                    position += 2
                    _check(name, job, machine, duration, machines)
                    alternatives.append((machine, duration))
                operations.append(Operation(tuple(alternatives)))
            jobs.append(tuple(operations))
    except IndexError as exc:
        raise InstanceError(f"{name}: the file ends in the middle of a job") from exc
    return Instance(name=name, machines=machines, jobs=tuple(jobs))


def _check(name: str, job: int, machine: int, duration: int, machines: int) -> None:
    if not 0 <= machine < machines:
        raise InstanceError(f"{name}: job {job}: machine {machine} outside 0..{machines - 1}")
    if duration < 0:
        raise InstanceError(f"{name}: job {job}: negative duration {duration}")


def load(path: Path, *, flexible: bool) -> Instance:
    text = path.read_text()
    return (parse_fjsp if flexible else parse_jobshop)(text, path.stem)
