"""Gantt charts of a shop plan: JSON for the UI, PNG or SVG for people.

One row per machine: the plan's tasks (setup shaded just before each), the time the machine is
off shift or down, and each job's due date. The picture is drawn on a bare matplotlib `Figure`
and saved by format, so no pyplot state is touched and no display backend is needed.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any, Literal
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from solvers.scheduling.shop import Machine, Problem, ShopPlan, Task, Window, merge

AXIS_CHARACTERS = 130
"""About how many 7-point characters fit across the chart's time axis: a label is drawn in its
bar only when it fits there."""
TICK_STEPS = (15, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 10080)
"""Minutes between time-axis ticks, the first giving at most a dozen ticks."""


@dataclass(frozen=True)
class Clock:
    """What minute 0 of a plan is, and where its people read clocks: the axis shows their
    local time rather than minutes."""

    start: dt.datetime
    zone: ZoneInfo

    def at(self, minutes: float) -> dt.datetime:
        return (self.start + dt.timedelta(minutes=minutes)).astimezone(self.zone)

    def label(self, minutes: float, *, with_date: bool) -> str:
        return self.at(minutes).strftime("%m-%d %H:%M" if with_date else "%H:%M")


def _tick_step(end: int) -> int:
    return next((step for step in TICK_STEPS if end / step <= 12), TICK_STEPS[-1])


def _bar_text(task: Task, label: str, end: int) -> str | None:
    """The words that fit in the task's bar: its label, else job and operation, else none."""
    room = (task.end - task.start) / end * AXIS_CHARACTERS
    for text in (label, f"{task.job}.{task.operation}"):
        if len(text) <= room:
            return text
    return None


def _with_titles(svg: bytes, titles: dict[str, str]) -> bytes:
    """Each bar's group gets a <title>: browsers show it as a tooltip, screen readers read it."""
    text = svg.decode()
    for gid, title in titles.items():
        opening = re.search(rf'<g id="{re.escape(gid)}"[^>]*>', text)
        if opening is not None:
            cut = opening.end()
            text = f"{text[:cut]}<title>{escape(title)}</title>{text[cut:]}"
    return text.encode()


def _view_end(problem: Problem, plan: ShopPlan) -> int:
    """Where the chart ends: the plan's last task, the last due date or release, at least 1."""
    candidates = [plan.makespan or 0, 1]
    candidates += [job.due for job in problem.jobs if job.due is not None]
    candidates += [job.release for job in problem.jobs]
    return max(candidates)


def _clip(windows: list[Window], end: int) -> list[Window]:
    return [(max(a, 0), min(b, end)) for a, b in windows if a < end and b > 0 and a < b]


def _off_shift(shifts: tuple[Window, ...], end: int) -> list[Window]:
    if not shifts:
        return []
    gaps: list[Window] = []
    previous = 0
    for a, b in merge(shifts):
        if a > previous:
            gaps.append((previous, a))
        previous = max(previous, b)
    gaps.append((previous, end))
    return _clip(gaps, end)


def _unavailable(machine: Machine, end: int) -> list[tuple[int, int, str]]:
    windows = [(a, b, "off-shift") for a, b in _off_shift(machine.shifts, end)]
    windows += [(a, b, "downtime") for a, b in _clip(merge(machine.downtime), end)]
    return sorted(windows)


def gantt_json(problem: Problem, plan: ShopPlan) -> dict[str, object]:
    """The chart as data: machines with their tasks and unavailable time, and each job's end
    against its due date. A task is `late` when its job ends after the due date."""
    end = _view_end(problem, plan)
    jobs = {job.id: job for job in problem.jobs}
    job_ends = plan.job_ends()
    late = {job_id for job_id, minutes in plan.lateness.items() if minutes > 0}
    machines = []
    for machine in problem.machines:
        unavailable = [
            {"start": a, "end": b, "kind": kind} for a, b, kind in _unavailable(machine, end)
        ]
        machines.append(
            {
                "id": machine.id,
                "name": machine.name or machine.id,
                "tasks": [
                    {
                        "job": task.job,
                        "operation": task.operation,
                        "start": task.start,
                        "end": task.end,
                        "setup": task.setup,
                        "family": jobs[task.job].family if task.job in jobs else "",
                        "late": task.job in late,
                    }
                    for task in sorted(plan.tasks, key=lambda t: t.start)
                    if task.machine == machine.id
                ],
                "unavailable": unavailable,
            }
        )
    return {
        "status": plan.status,
        "makespan": plan.makespan,
        "view_end": end,
        "machines": machines,
        "jobs": [
            {
                "id": job.id,
                "release": job.release,
                "due": job.due,
                "end": job_ends.get(job.id),
                "lateness": plan.lateness.get(job.id),
            }
            for job in problem.jobs
        ],
    }


def render(
    problem: Problem,
    plan: ShopPlan,
    format: Literal["png", "svg"] = "png",
    *,
    title: str = "",
    clock: Clock | None = None,
    labels: dict[str, str] | None = None,
) -> bytes:
    """The chart as an image: bars coloured per job, setups lighter and dotted, off-shift time
    hatched grey, downtime hatched red, due dates dashed in the job's colour. With a `clock`
    the axis reads local time; each bar carries its job's label (`labels`, default the job id)
    where it fits, and in SVG a tooltip with the label, the machine and the times."""
    if format not in ("png", "svg"):
        raise ValueError(f"format must be png or svg, not {format!r}")
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    end = _view_end(problem, plan)
    palette = colormaps["tab20"]
    colours = {job.id: palette(index % 20) for index, job in enumerate(problem.jobs)}
    late = {job_id for job_id, minutes in plan.lateness.items() if minutes > 0}
    rows = len(problem.machines)
    names = labels or {}
    titles: dict[str, str] = {}
    figure = Figure(figsize=(11, 1.4 + 0.55 * max(rows, 1)), layout="constrained")
    axes = figure.add_subplot()
    for row, machine in enumerate(problem.machines):
        y = rows - 1 - row
        for start, stop, kind in _unavailable(machine, end):
            downtime = kind == "downtime"
            axes.broken_barh(
                [(start, stop - start)],
                (y - 0.45, 0.9),
                facecolors="mistyrose" if downtime else "whitesmoke",
                edgecolors="firebrick" if downtime else "grey",
                hatch="xx" if downtime else "//",
                linewidth=0.4,
                zorder=1,
            )
        for task in plan.tasks:
            if task.machine != machine.id:
                continue
            colour = colours.get(task.job, "grey")
            if task.setup:
                axes.broken_barh(
                    [(task.start - task.setup, task.setup)],
                    (y - 0.3, 0.6),
                    facecolors=colour,
                    alpha=0.35,
                    hatch="..",
                    edgecolors="black",
                    linewidth=0.3,
                    zorder=2,
                )
            bar = axes.broken_barh(
                [(task.start, task.end - task.start)],
                (y - 0.35, 0.7),
                facecolors=colour,
                edgecolors="red" if task.job in late else "black",
                linewidth=1.4 if task.job in late else 0.5,
                zorder=3,
            )
            label = names.get(task.job, task.job)
            gid = f"task-{len(titles)}"
            bar.set_gid(gid)
            titles[gid] = _tooltip(task, label, machine.name or machine.id, clock)
            text = _bar_text(task, label, end)
            if text is not None:
                axes.text(
                    (task.start + task.end) / 2,
                    y,
                    text,
                    ha="center",
                    va="center",
                    fontsize=7,
                    zorder=4,
                    clip_on=True,
                )
    for job in problem.jobs:
        if job.due is not None:
            axes.axvline(job.due, color=colours[job.id], linestyle="--", linewidth=1.0, zorder=5)
            axes.plot([job.due], [rows - 0.5], marker="v", color=colours[job.id], clip_on=False)
    axes.set_yticks(range(rows), [m.name or m.id for m in reversed(problem.machines)])
    axes.set_xlim(0, end * 1.02)
    axes.set_ylim(-0.6, rows - 0.4)
    if clock is None:
        axes.set_xlabel("minutes from plan start")
    else:
        step = _tick_step(end)
        axes.xaxis.set_major_locator(MultipleLocator(step))
        several_days = clock.at(0).date() != clock.at(end).date()

        def clock_label(minutes: float, _position: Any) -> str:
            return clock.label(minutes, with_date=several_days or minutes == 0)

        axes.xaxis.set_major_formatter(FuncFormatter(clock_label))
        axes.set_xlabel(f"local time ({clock.zone.key})")
    axes.grid(axis="x", linewidth=0.3, alpha=0.5)
    if title:
        axes.set_title(title)
    handles: list[Patch | Line2D] = [
        Patch(facecolor=colours[job.id], edgecolor="black", label=names.get(job.id, job.id))
        for job in problem.jobs[:20]
    ]
    handles += [
        Patch(facecolor="white", edgecolor="black", hatch="..", label="setup"),
        Patch(facecolor="whitesmoke", edgecolor="grey", hatch="//", label="off shift"),
        Patch(facecolor="mistyrose", edgecolor="firebrick", hatch="xx", label="downtime"),
        Line2D([0], [0], color="black", linestyle="--", label="due date"),
        Patch(facecolor="white", edgecolor="red", linewidth=1.4, label="late job"),
    ]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    buffer = io.BytesIO()
    metadata = {"Date": None} if format == "svg" else {}
    figure.savefig(buffer, format=format, dpi=110, metadata=metadata)
    if format == "svg":
        return _with_titles(buffer.getvalue(), titles)
    return buffer.getvalue()


def _tooltip(task: Task, label: str, machine: str, clock: Clock | None) -> str:
    if clock is None:
        when = f"minute {task.start} to {task.end}"
    else:
        when = (
            f"{clock.label(task.start, with_date=True)} to {clock.label(task.end, with_date=True)}"
        )
    setup = f", after {task.setup} min setup" if task.setup else ""
    return f"{label} (operation {task.operation}) on {machine}: {when}{setup}"
