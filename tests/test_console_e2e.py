"""The web console end to end: the suite's `yunfab demo` (tests/demo_run.py: the hub and two
nodes with demo data), then `node --test console/e2e/` drives Debian's chromium through them
(sign-in on the hub's real page, each area's main task, axe-core, screenshots under
$YUNFAB_ARTIFACTS_DIR/console/).

The console is built first when console/dist is missing or older than its sources, unless
YUNFAB_NODE_CONSOLE_DIR names a build to serve instead (the demo's nodes then serve that one;
set YUNFAB_HUB_CONSOLE_DIR to the same for the hub's pages). YUNFAB_E2E_ONLY=orders,hub-market
runs only e2e/orders.test.mjs and e2e/hub-market.test.mjs (the hub's pages are e2e/hub-*).
Without npm or chromium the test skips, unless YUNFAB_REQUIRE_SERVICES is set (CI), where it
fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.demo_run import START_TIMEOUT_S, DemoRun
from tests.support import skip_or_fail

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = ROOT / "console"
CHROMIUM = Path(os.environ.get("YUNFAB_CHROMIUM", "/usr/bin/chromium"))
E2E_NODE = "gd-injection-moulding"
"""The node of the demo's cloud order, its buyer and most of its factories."""
E2E_TIMEOUT_S = 900
"""Every area's e2e file, one after another against one demo (each about a minute)."""


def newest_source(root: Path) -> float:
    inputs = [root / "index.html", root / "package-lock.json", root / "vite.config.ts"]
    inputs += [path for path in (root / "src").rglob("*") if path.is_file()]
    return max(path.stat().st_mtime for path in inputs if path.exists())


def ensure_console_built() -> None:
    """`npm run build` (after `npm ci` when node_modules is missing) unless dist is current."""
    index = CONSOLE / "dist" / "index.html"
    if index.exists() and index.stat().st_mtime >= newest_source(CONSOLE):
        return
    steps = [["npm", "run", "build"]]
    if not (CONSOLE / "node_modules" / ".package-lock.json").exists():
        steps.insert(0, ["npm", "ci", "--no-audit", "--no-fund"])
    for step in steps:
        done = subprocess.run(
            step, cwd=CONSOLE, capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, f"{' '.join(step)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="session")
def console_build() -> str:
    """node, once the console is built (before the shared demo starts, so its nodes serve it)."""
    npm = shutil.which("npm")
    node = shutil.which("node")
    if npm is None or node is None or not CHROMIUM.exists():
        skip_or_fail(f"the console's end-to-end tests need node, npm and {CHROMIUM}")
    assert node is not None
    if not os.environ.get("YUNFAB_NODE_CONSOLE_DIR"):
        ensure_console_built()
    return node


@pytest.mark.timeout(START_TIMEOUT_S + E2E_TIMEOUT_S + 120)
def test_console_end_to_end(console_build: str, demo_run: DemoRun) -> None:
    node = console_build
    only = [
        name.strip() for name in os.environ.get("YUNFAB_E2E_ONLY", "").split(",") if name.strip()
    ]
    files = [f"e2e/{name}.test.mjs" for name in only] or ["e2e/"]
    artifacts = Path(os.environ.get("YUNFAB_ARTIFACTS_DIR", ROOT / "var" / "artifacts"))
    urls = demo_run.urls
    if "hub" not in urls or f"node {E2E_NODE}" not in urls:
        pytest.fail("the demo did not start:\n" + demo_run.output())
    node_url = urls[f"node {E2E_NODE}"]
    config = httpx.get(f"{node_url}/console/config.json", timeout=10).json()
    assert config["redirectUri"] == f"{node_url}/auth/callback"
    assert httpx.get(f"{node_url}/", timeout=10).status_code == 200
    hub_config = httpx.get(f"{urls['hub']}/console/config.json", timeout=10).json()
    assert hub_config["service"] == "hub"
    assert hub_config["redirectUri"] == f"{urls['hub']}/auth/callback"
    env = {
        **os.environ,
        "YUNFAB_E2E_HUB_URL": urls["hub"],
        "YUNFAB_E2E_NODE_URL": node_url,
        "YUNFAB_E2E_USERS": str(demo_run.data_dir / "demo-users.json"),
        "YUNFAB_ARTIFACTS_DIR": str(artifacts),
        "YUNFAB_CHROMIUM": str(CHROMIUM),
        "YUNFAB_E2E_PYTHON": sys.executable,
    }
    run = subprocess.run(
        [node, "--test", "--test-concurrency=1", *files],
        cwd=CONSOLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=E2E_TIMEOUT_S,
        check=False,
    )
    assert run.returncode == 0, f"node --test e2e/ failed:\n{run.stdout}\n{run.stderr}"
    if not only:
        assert (artifacts / "console" / "overview-overview.png").is_file()
