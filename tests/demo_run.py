"""`yunfab demo` as a person starts it, for the tests that need the whole thing running: the
lines it prints parsed into the URLs and summaries they name.

Starting the demo (hub, two nodes, brokers, simulated machines, Flower, the cloud order and the
vision station) takes over a minute on two cores, so the suite starts one and shares it
(`demo_run` in conftest.py): the console's browser tests use it, then tests/test_demo.py checks
what it printed and stops it. The test of a killed demo starts its own.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from yunfab.processes import yunfab_argv

START_TIMEOUT_S = 300
STOP_TIMEOUT_S = 60


@dataclass
class DemoRun:
    process: subprocess.Popen[str]
    data_dir: Path
    urls: dict[str, str] = field(default_factory=dict)
    """"hub", "node <name>", and the summaries "cloud order", "data exchange", "vision",
    "c2m", "federated" (their lines) and "people" (the people table, to its end)."""
    printed: list[str] = field(default_factory=list)
    code: int | None = None
    started: threading.Event = field(default_factory=threading.Event)
    """Set once it printed "Ctrl-C stops everything" (or ended)."""

    def wait_started(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until the demo is up, or has ended, or the time is up (the caller's checks of `urls`
        then say what is missing)."""
        self.started.wait(timeout_s)

    @property
    def stderr_log(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-stderr.log"

    def output(self, last: int = 60) -> str:
        errors = self.stderr_log.read_text(errors="replace") if self.stderr_log.exists() else ""
        return "".join(self.printed[-last:]) + "\n--- stderr ---\n" + errors[-8000:]

    def stop(self) -> int:
        """SIGTERM, as Ctrl-C would; the exit code (killed after a minute without exiting)."""
        if self.code is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.code = self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.code = self.process.wait(10)
        return self.code


def begin_demo_run(data_dir: Path) -> DemoRun:
    """Starts `yunfab demo --port 0` and returns at once; a thread reads what it prints (the
    URLs and summaries until "Ctrl-C stops everything", then the rest, so it never blocks on a
    full pipe). `wait_started` waits for that line."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    stderr = (data_dir.parent / f"{data_dir.name}-stderr.log").open("w")
    process = subprocess.Popen(
        yunfab_argv("demo", "--data-dir", str(data_dir), "--port", "0"),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    stderr.close()
    run = DemoRun(process=process, data_dir=data_dir)
    threading.Thread(target=_read, args=(run,), daemon=True).start()
    return run


def _read(run: DemoRun) -> None:
    assert run.process.stdout is not None
    for line in run.process.stdout:
        run.printed.append(line)
        if run.started.is_set():
            continue
        if line.startswith("people") or "people" in run.urls:
            # The people table, to its end (its rows name roles, not services).
            run.urls["people"] = run.urls.get("people", "") + line
        else:
            name, _, url = line.strip().partition(": ")
            if name == "hub" or name.startswith("node "):
                run.urls[name] = url
            for key, start in (
                ("cloud order", "order SO-"),
                ("data exchange", "data exchange:"),
                ("vision", "vision:"),
                ("c2m", "c2m:"),
                ("federated", "federated:"),
            ):
                if line.strip().startswith(start):
                    run.urls[key] = line.strip()
        if line.startswith("Ctrl-C"):
            run.started.set()
    run.started.set()  # it ended before saying so: the waiter sees what it printed


def start_demo_run(data_dir: Path) -> DemoRun:
    """Starts `yunfab demo --port 0` and waits until it says "Ctrl-C stops everything"."""
    run = begin_demo_run(data_dir)
    run.wait_started()
    return run
