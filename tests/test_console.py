"""The hub operator's console: bootstrap, clients, keys, and `audit verify` catching tampering."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from yunfab.processes import yunfab_argv

pytestmark = pytest.mark.slow


def console(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        yunfab_argv(*args),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        check=False,
    )


def test_console_bootstraps_creates_clients_rotates_keys_and_verifies_the_audit_chain(
    tmp_path: Path,
) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert console("db", "upgrade", "hub", *data).returncode == 0

    boot = console(
        "hub",
        "bootstrap",
        "--org",
        "Zhejiang Industry Cloud",
        "--email",
        "ops@zj.example",
        "--name",
        "Ops",
        "--password-stdin",
        *data,
        stdin="a long enough password\n",
    )
    assert boot.returncode == 0, boot.stderr
    assert json.loads(boot.stdout)["user"]["roles"] == ["admin", "auditor"]

    created = console(
        "hub",
        "client",
        "create",
        "--org",
        "Buyer Platform",
        "--create-org",
        "consumer",
        "--name",
        "orders",
        "--kind",
        "platform",
        "--scope",
        "nodes:read",
        *data,
    )
    assert created.returncode == 0, created.stderr
    client = json.loads(created.stdout)
    assert client["client_id"].startswith("yf_")
    assert len(client["client_secret"]) >= 32
    stored = (
        sqlite3.connect(tmp_path / "hub.db")
        .execute("SELECT secret_hash FROM api_clients WHERE client_id = ?", (client["client_id"],))
        .fetchone()[0]
    )
    assert client["client_secret"] not in stored
    assert stored.startswith("scrypt$")

    unknown = console(
        "hub",
        "client",
        "create",
        "--org",
        "Buyer Platform",
        "--name",
        "x",
        "--kind",
        "platform",
        "--scope",
        "everything",
        *data,
    )
    assert unknown.returncode == 1
    assert "unknown scopes: everything" in unknown.stderr

    assert console("hub", "keys", "rotate", *data).returncode == 0

    verified = console("hub", "audit", "verify", *data)
    assert verified.returncode == 0, verified.stdout
    report = json.loads(verified.stdout)
    assert report["ok"] is True
    assert report["checked"] >= 3

    with sqlite3.connect(tmp_path / "hub.db") as db:
        db.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
    tampered = console("hub", "audit", "verify", *data)
    assert tampered.returncode == 1
    assert json.loads(tampered.stdout) == {
        "ok": False,
        "checked": 1,
        "problem": "entry was altered",
        "seq": 2,
    }
