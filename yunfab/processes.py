"""Start Yunfab services as real processes and always stop them.

Used by `yunfab demo` and by the test suite. Children are stopped in reverse start order with
SIGTERM (so nodes can tell the hub they are leaving), then SIGKILL after a grace period. On Linux
each child also gets SIGTERM from the kernel if its parent dies, so even a supervisor killed with
SIGKILL leaves no process behind.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

STOP_GRACE_S = 15.0
_PR_SET_PDEATHSIG = 1


class ProcessFailed(RuntimeError):
    """A child exited or never became ready; the message carries the tail of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def yunfab_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "yunfab_cli", *args]


def create_node_client(
    hub_data_dir: Path,
    name: str,
    region: str,
    *,
    database_url: str | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A node's own OAuth2 client, made at the hub's console (the hub's database must exist).

    Returns the console's JSON: `client_id`, `client_secret` (shown only this once), ...
    """
    created = subprocess.run(
        yunfab_argv(
            "hub",
            "client",
            "create",
            "--org",
            f"{name} operator",
            "--create-org",
            "node_operator",
            "--name",
            f"node {name}",
            "--kind",
            "node",
            "--node",
            name,
            "--region",
            region,
            "--scope",
            "nodes:register",
            "--data-dir",
            str(hub_data_dir),
            *(["--database-url", database_url] if database_url else []),
        ),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if created.returncode != 0:
        raise ProcessFailed(f"cannot create the client of node {name}: {created.stderr.strip()}")
    client: dict[str, Any] = json.loads(created.stdout)
    return client


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ProcessSpec:
    name: str
    argv: list[str]
    log_path: Path
    ready_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class ManagedProcess:
    spec: ProcessSpec
    popen: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.spec.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout_s: float = 60.0, check: Callable[[], bool] | None = None) -> None:
        """Wait until the ready URL answers 200 (and `check` holds, when given)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise ProcessFailed(
                    f"{self.spec.name} exited with code {self.popen.returncode}:\n{self.log_tail()}"
                )
            if self.spec.ready_url is None or _answers(self.spec.ready_url):
                if check is None or check():
                    return
            time.sleep(0.1)
        raise ProcessFailed(
            f"{self.spec.name} not ready after {timeout_s:.0f}s:\n{self.log_tail()}"
        )

    def stop(self, grace_s: float = STOP_GRACE_S) -> int:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


class Supervisor:
    def __init__(self) -> None:
        self.processes: list[ManagedProcess] = []

    def start(self, spec: ProcessSpec) -> ManagedProcess:
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **spec.env, "PYTHONUNBUFFERED": "1"}
        with spec.log_path.open("ab") as log:
            popen = subprocess.Popen(
                spec.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        process = ManagedProcess(spec=spec, popen=popen)
        self.processes.append(process)
        return process

    def first_exited(self) -> ManagedProcess | None:
        return next((process for process in self.processes if not process.alive()), None)

    def stop_all(self, grace_s: float = STOP_GRACE_S) -> dict[str, int]:
        codes = {}
        for process in reversed(self.processes):
            codes[process.spec.name] = process.stop(grace_s)
        return codes

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()
