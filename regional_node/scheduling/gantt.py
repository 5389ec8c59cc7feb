"""Gantt charts of a shop plan: JSON for the UI, PNG or SVG for people.

One row per machine: the plan's tasks (setup shaded just before each), the time the machine is
off shift or down, and each job's due date. The picture is drawn on a bare matplotlib `Figure`
and saved by format, so no pyplot state is touched and no display backend is needed.
"""

from __future__ import annotations

import io
from typing import Literal

from regional_node.scheduling.shop import Machine, Problem, ShopPlan, Window, merge


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
) -> bytes:
    """The chart as an image: bars coloured per job, setups lighter and dotted, off-shift time
    hatched grey, downtime hatched red, due dates dashed in the job's colour."""
    if format not in ("png", "svg"):
        raise ValueError(f"format must be png or svg, not {format!r}")
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    end = _view_end(problem, plan)
    palette = colormaps["tab20"]
    colours = {job.id: palette(index % 20) for index, job in enumerate(problem.jobs)}
    late = {job_id for job_id, minutes in plan.lateness.items() if minutes > 0}
    rows = len(problem.machines)
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
            axes.broken_barh(
                [(task.start, task.end - task.start)],
                (y - 0.35, 0.7),
                facecolors=colour,
                edgecolors="red" if task.job in late else "black",
                linewidth=1.4 if task.job in late else 0.5,
                zorder=3,
            )
            if task.end - task.start >= end / 40:
                axes.text(
                    (task.start + task.end) / 2,
                    y,
                    f"{task.job}.{task.operation}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    zorder=4,
                )
    for job in problem.jobs:
        if job.due is not None:
            axes.axvline(job.due, color=colours[job.id], linestyle="--", linewidth=1.0, zorder=5)
            axes.plot([job.due], [rows - 0.5], marker="v", color=colours[job.id], clip_on=False)
    axes.set_yticks(range(rows), [m.name or m.id for m in reversed(problem.machines)])
    axes.set_xlim(0, end * 1.02)
    axes.set_ylim(-0.6, rows - 0.4)
    axes.set_xlabel("minutes from plan start")
    axes.grid(axis="x", linewidth=0.3, alpha=0.5)
    if title:
        axes.set_title(title)
    handles: list[Patch | Line2D] = [
        Patch(facecolor=colours[job.id], edgecolor="black", label=job.id)
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
    return buffer.getvalue()
