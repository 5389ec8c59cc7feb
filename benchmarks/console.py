"""The web console of a node and of the hub: what the first page downloads, how soon each page is
usable, and how soon a device's reading published over MQTT is drawn in its open chart.

    python -m benchmarks.console [--quick] [--dist DIR] [--hub-url URL --node-url URL --users FILE]

1. First-page JavaScript, gzip: the scripts `index.html` loads (its entry and module preloads,
   with every chunk they import statically) plus the first page's own chunk (the node's
   overview, `OverviewPage-*.js`, or the hub's, `HubOverviewPage-*.js`, and its static imports),
   against a 500 KB budget.
2. Time to interactive of each page of the menu, and of a device's page, as the node operator
   on the node and as the hub operator on the hub, in headless Chromium (Debian's, through
   playwright-core): from the start of a full load of the address until the page's heading is on
   screen and no query is still loading (no skeleton). Reference: the console's shell alone (the
   not-found page), same browser, same run.
3. MQTT publish -> drawn: a device is provisioned through the console, its page opened, and
   readings published to the demo's broker with their publish time as `ts`; the page marks
   (`performance.mark`) when a new last point is on screen. Goal: p95 <= 1 s.

Starts `yunfab demo --port 0` in a temporary folder serving the built console (2. and 3.), unless
the URLs of a running demo are given. `console/bench/console-pages.mjs` drives the browser.
Ends with one JSON line. `--quick` measures in well under a minute once the demo is up (the
demo's own start, a minute or two on a 2-core machine, comes before and is not a figure).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from yunfab.processes import yunfab_argv

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = ROOT / "console"
BENCH_SCRIPT = CONSOLE / "bench" / "console-pages.mjs"
NODE = "gd-injection-moulding"
FIRST_PAGE_CHUNK = "OverviewPage-"
HUB_FIRST_PAGE_CHUNK = "HubOverviewPage-"
JS_BUDGET_KB = 500.0
DRAW_GOAL_P95_MS = 1000.0
START_TIMEOUT_S = 600
STATIC_IMPORT = re.compile(
    r"""(?:^|[;}\s])(?:import|export)\s*(?:[\w*{}\s,$]*?\bfrom\s*)?["'](\./[^"']+\.js)["']"""
)


def gzip_kb(data: bytes) -> float:
    return len(gzip.compress(data, compresslevel=6)) / 1000


def static_closure(assets: Path, names: list[str]) -> list[str]:
    """The chunks `names` load before they run: themselves and their static imports, recursively."""
    seen: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or not (assets / name).is_file():
            continue
        seen.append(name)
        code = (assets / name).read_text(encoding="utf-8", errors="replace")
        todo.extend(Path(found).name for found in STATIC_IMPORT.findall(code))
    return seen


def first_page_js(dist: Path, chunk: str = FIRST_PAGE_CHUNK) -> dict[str, Any]:
    index = (dist / "index.html").read_text(encoding="utf-8")
    entry = re.findall(r'<script[^>]*type="module"[^>]*src="/assets/([^"]+\.js)"', index)
    preload = re.findall(r'<link[^>]*rel="modulepreload"[^>]*href="/assets/([^"]+\.js)"', index)
    assets = dist / "assets"
    shell = static_closure(assets, entry + preload)
    page = [p.name for p in sorted(assets.glob(f"{chunk}*.js"))]
    files = shell + [name for name in static_closure(assets, page) if name not in shell]
    sizes = {name: gzip_kb((assets / name).read_bytes()) for name in files}
    return {
        "files": len(files),
        "shell_gzip_kb": round(sum(sizes[name] for name in shell), 1),
        "total_gzip_kb": round(sum(sizes.values()), 1),
        "first_page_chunk": page[0] if page else None,
    }


def newest_source() -> float:
    inputs = [CONSOLE / "index.html", CONSOLE / "package-lock.json", CONSOLE / "vite.config.ts"]
    inputs += [path for path in (CONSOLE / "src").rglob("*") if path.is_file()]
    return max(path.stat().st_mtime for path in inputs if path.exists())


def ensure_dist(dist: Path) -> None:
    """Build the console into console/dist when it is missing or older than its sources (a
    `--dist` given is measured as it is)."""
    index = dist / "index.html"
    if index.is_file() and (dist != CONSOLE / "dist" or index.stat().st_mtime >= newest_source()):
        return
    npm = shutil.which("npm")
    assert npm, f"no console build at {dist} and no npm to build one"
    subprocess.run([npm, "run", "build"], cwd=CONSOLE, check=True, capture_output=True)


def stop(demo: subprocess.Popen[str]) -> None:
    demo.send_signal(signal.SIGTERM)
    try:
        demo.wait(60)
    except subprocess.TimeoutExpired:
        demo.kill()
        demo.wait(10)


def start_demo(data_dir: Path, dist: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    demo = subprocess.Popen(
        yunfab_argv("demo", "--data-dir", str(data_dir), "--port", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            "YUNFAB_NODE_CONSOLE_DIR": str(dist),
            "YUNFAB_HUB_CONSOLE_DIR": str(dist),
        },
    )
    urls: dict[str, str] = {}
    tail: list[str] = []
    assert demo.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    for line in demo.stdout:
        tail = [*tail[-40:], line]
        name, _, url = line.strip().partition(": ")
        if name == "hub" or name.startswith("node "):
            urls[name] = url
        if line.startswith("Ctrl-C") or time.monotonic() > deadline:
            break
    if "hub" not in urls or f"node {NODE}" not in urls:
        stop(demo)
        raise SystemExit("the demo did not start:\n" + "".join(tail))
    return demo, urls


def browser_figures(hub: str, node: str, users: Path, quick: bool) -> dict[str, Any]:
    node_bin = shutil.which("node")
    assert node_bin, "node (20.19 or later) is needed to drive the browser"
    visits, readings = ("1", "30") if quick else ("5", "200")
    args = ["--visits", visits, "--readings", readings]
    run = subprocess.run(
        [node_bin, str(BENCH_SCRIPT), *args],
        cwd=CONSOLE,
        env={
            **os.environ,
            "YUNFAB_E2E_HUB_URL": hub,
            "YUNFAB_E2E_NODE_URL": node,
            "YUNFAB_E2E_USERS": str(users),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        raise SystemExit(f"{BENCH_SCRIPT.name} failed:\n{run.stdout}\n{run.stderr}")
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer visits and readings")
    parser.add_argument("--dist", type=Path, default=None, help="the built console")
    parser.add_argument("--hub-url", help="a running demo's hub (else one is started)")
    parser.add_argument("--node-url", help=f"a running demo's {NODE} node")
    parser.add_argument("--users", type=Path, help="a running demo's demo-users.json")
    args = parser.parse_args()
    dist = args.dist or Path(os.environ.get("YUNFAB_NODE_CONSOLE_DIR") or CONSOLE / "dist")
    ensure_dist(dist)

    js = first_page_js(dist)
    hub_js = first_page_js(dist, HUB_FIRST_PAGE_CHUNK)
    for label, figures_js in (("node", js), ("hub ", hub_js)):
        within = "within" if figures_js["total_gzip_kb"] <= JS_BUDGET_KB else "OVER"
        print(
            f"first-page JavaScript, {label} {figures_js['total_gzip_kb']:7.1f} KB gzip "
            f"(shell {figures_js['shell_gzip_kb']:.1f} KB + {figures_js['first_page_chunk']}; "
            f"{figures_js['files']} files)   budget {JS_BUDGET_KB:.0f} KB: {within}"
        )

    demo = None
    scratch: Path | None = None
    try:
        if args.hub_url and args.node_url and args.users:
            hub, node, users = args.hub_url, args.node_url, args.users
        else:
            scratch = Path(tempfile.mkdtemp(prefix="yunfab-console-bench-"))
            started = time.monotonic()
            demo, urls = start_demo(scratch / "demo", dist)
            print(f"(demo started in {time.monotonic() - started:.0f} s; not a figure)")
            hub, node = urls["hub"], urls[f"node {NODE}"]
            users = scratch / "demo" / "demo-users.json"
        started = time.monotonic()
        figures = browser_figures(hub, node, users, args.quick)
        measured_s = time.monotonic() - started
    finally:
        if demo is not None:
            stop(demo)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    pages: dict[str, dict[str, float]] = figures["pages"]
    hub_pages: dict[str, dict[str, float]] = figures["hub_pages"]
    for where, measured in (("node", pages), ("hub", hub_pages)):
        shell = measured.get("shell (not found)", {}).get("p50_ms") or 0.0
        for path, page in measured.items():
            print(
                f"interactive {where:4s} {path:28s} p50 {page['p50_ms']:7.0f} ms  "
                f"p95 {page['p95_ms']:7.0f} ms   shell alone {shell:6.0f} ms "
                f"(+{page['p50_ms'] - shell:.0f} ms)"
            )
    draw = figures["mqtt_to_chart"]
    p95 = draw["p95_ms"]
    verdict = "met" if p95 is not None and p95 <= DRAW_GOAL_P95_MS else "MISSED"
    print(
        f"MQTT publish -> drawn   p50 {draw['p50_ms'] or 0:7.0f} ms  p95 {p95 or 0:7.0f} ms"
        f"   goal p95 <= {DRAW_GOAL_P95_MS:.0f} ms: {verdict} "
        f"({draw['drawn']} of {draw['published']} readings seen drawn)"
    )
    print(
        json.dumps(
            {
                "benchmark": "console",
                "quick": args.quick,
                "first_page_js_gzip_kb": js["total_gzip_kb"],
                "first_page_js_budget_kb": JS_BUDGET_KB,
                "shell_js_gzip_kb": js["shell_gzip_kb"],
                "hub_first_page_js_gzip_kb": hub_js["total_gzip_kb"],
                "interactive_ms": {
                    path: {"p50": round(page["p50_ms"]), "p95": round(page["p95_ms"])}
                    for path, page in pages.items()
                },
                "hub_interactive_ms": {
                    path: {"p50": round(page["p50_ms"]), "p95": round(page["p95_ms"])}
                    for path, page in hub_pages.items()
                },
                "interactive_reference": "shell (not found)",
                "mqtt_to_chart_ms": {
                    "p50": draw["p50_ms"] and round(draw["p50_ms"]),
                    "p95": p95 and round(p95),
                    "drawn": draw["drawn"],
                    "published": draw["published"],
                },
                "mqtt_to_chart_goal_p95_ms": DRAW_GOAL_P95_MS,
                "measured_s": round(measured_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
