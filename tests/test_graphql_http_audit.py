"""graphql-http's own audit of the GraphQL over HTTP specification, against the hub and a node
served on real ports: every one of its checks (the MUSTs and the SHOULDs) passes.

The audit is the reference implementation's (npm `graphql-http`, pinned in
tests/graphql_http/package-lock.json); `npm ci` installs it once (CI does so before the tests).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HubFactory, NodeFactory
from tests.support import served, skip_or_fail
from yunfab.processes import free_port

AUDIT_DIR = Path(__file__).parent / "graphql_http"
AUDITS = 61
"""How many audits graphql-http 1.23.1 runs."""

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def audit_tool() -> str:
    """`node`, with the pinned graphql-http installed beside the audit script."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        skip_or_fail("node and npm are needed for the graphql-http audit")
        raise AssertionError("unreachable")
    if not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=AUDIT_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if installed.returncode != 0:
            skip_or_fail(f"npm ci in {AUDIT_DIR} failed: {installed.stderr[-500:]}")
    return node


async def audit(node: str, url: str) -> list[dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        node, str(AUDIT_DIR / "audit.mjs"), url, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    results: list[dict[str, Any]] = json.loads(out)
    return results


def failing(results: list[dict[str, Any]]) -> list[str]:
    return [
        f"{r['id']} {r['status']}: {r['name']} ({r['reason']})"
        for r in results
        if r["status"] != "ok"
    ]


async def test_hub_and_node_pass_every_graphql_over_http_audit(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    node_tool = audit_tool()
    # The audit sends well over the anonymous burst from one address in a moment.
    async with hub_factory(graphql_anonymous_rate=0) as hub:
        async with node_factory(hub, graphql_anonymous_rate=0) as node:
            for service in (hub, node):
                async with served(service.app, free_port(), lifespan="off") as url:
                    results = await audit(node_tool, f"{url}/graphql")
                assert failing(results) == [], url
                assert len(results) == AUDITS
