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
import time
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
    "federated" (their lines) and "people" (the people table, to its end)."""
    printed: list[str] = field(default_factory=list)
    code: int | None = None

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


def start_demo_run(data_dir: Path) -> DemoRun:
    """Starts `yunfab demo --port 0` and reads what it prints until "Ctrl-C stops everything"."""
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
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    for line in process.stdout:
        run.printed.append(line)
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
                ("federated", "federated:"),
            ):
                if line.strip().startswith(start):
                    run.urls[key] = line.strip()
        if line.startswith("Ctrl-C") or time.monotonic() > deadline:
            break
    # What it prints later (its stop) is read on, so it never blocks on a full pipe.
    threading.Thread(target=lambda: run.printed.extend(process.stdout or ()), daemon=True).start()
    return run
