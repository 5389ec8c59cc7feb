"""Progress bars and stage lines for the console's long jobs (training, evaluation, solving,
federated runs, publishing), on stderr and only when stderr is a terminal.

Results go to stdout and warnings to stderr whatever happens; progress is for a person watching,
so a pipe, a file or a CI log gets none of it and `yunfab ... | jq` stays clean. Every command
with a long job uses this module, so they look alike and all fall quiet the same way.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")


def shown(stream: TextIO | None = None) -> bool:
    """Whether progress is drawn: only for a person at a terminal."""
    target = stream if stream is not None else sys.stderr
    isatty = getattr(target, "isatty", None)
    return bool(isatty and isatty())


def _console() -> Console:
    return Console(file=sys.stderr, stderr=True)


def stage(message: str) -> None:
    """One line saying what the job does now (`loading 120 images`), at a terminal only."""
    if shown():
        _console().print(f"[dim]·[/dim] {message}", highlight=False)


def _progress(columns: Sequence[ProgressColumn | str]) -> Progress:
    return Progress(*columns, console=_console(), transient=True)


def track(
    items: Sequence[T] | Iterable[T], description: str, total: int | None = None
) -> Iterator[T]:
    """The items, with a bar counting them off while they are consumed."""
    if not shown():
        yield from items
        return
    count = total if total is not None else len(items) if isinstance(items, Sequence) else None
    columns: list[ProgressColumn | str] = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with _progress(columns) as bar:
        task = bar.add_task(description, total=count)
        for item in items:
            yield item
            bar.advance(task)


class Status:
    """A running stage whose text may change (`round 2 of 5`)."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task

    def update(self, description: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=description)


@contextmanager
def spinner(description: str) -> Iterator[Status]:
    """A spinner with the time spent, for a stage whose length is not known."""
    if not shown():
        yield Status(None, None)
        return
    columns: list[ProgressColumn | str] = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    ]
    with _progress(columns) as bar:
        yield Status(bar, bar.add_task(description, total=None))


@contextmanager
def timed(description: str, seconds: float) -> Iterator[None]:
    """A bar that fills over `seconds`, for a job bounded by a time limit (a solver): it may
    end sooner, when the job does."""
    if not shown():
        yield
        return
    columns: list[ProgressColumn | str] = [
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn(f"of {seconds:g} s"),
    ]
    done = threading.Event()
    with _progress(columns) as bar:
        task = bar.add_task(description, total=seconds)
        started = time.monotonic()
        ticker = threading.Thread(
            target=_tick,
            args=(done, lambda: bar.update(task, completed=time.monotonic() - started)),
            daemon=True,
        )
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()


def _tick(done: threading.Event, update: Callable[[], None]) -> None:
    while not done.wait(0.2):
        update()
