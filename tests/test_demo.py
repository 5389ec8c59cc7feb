"""`yunfab demo`: hub, two nodes, their brokers and simulated machines start; the hub lists both
nodes online, telemetry reaches both nodes, a cloud-factory order is planned, a stop leaves
nothing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.demo_run import START_TIMEOUT_S, DemoRun, begin_demo_run
from yunfab.processes import yunfab_argv

pytestmark = pytest.mark.slow

DAEMONS = 11
# Started before the demo sets up its scenarios: all but Flower's SuperLink and two SuperNodes.
BEFORE_SCENARIOS = DAEMONS - 3
CLOUD_NODE = "gd-injection-moulding"
NODES = "{ regionalNodes { edges { node { name region industry status lastHeartbeat } } } }"


class _SignInForm(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form" and not self.action:
            self.action = values.get("action", "")
        if tag == "input" and values.get("type") == "hidden":
            self.fields[values["name"]] = values.get("value", "")


def login(hub_url: str, email: str, password: str, config_dir: Path) -> dict[str, str]:
    """`yunfab login --no-browser` as the README says, the printed page signed in by httpx in
    place of a browser; returns the environment the person's later commands run with."""
    env = {**os.environ, "YUNFAB_CONFIG_DIR": str(config_dir)}
    command = subprocess.Popen(
        yunfab_argv("login", "--hub", hub_url, "--no-browser", "--timeout", "60"),
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert command.stderr is not None
    url = ""
    for line in command.stderr:
        if line.strip().startswith("http"):
            url = line.strip()
            break
    with httpx.Client(timeout=30) as browser:
        page = browser.get(url)
        form = _SignInForm()
        form.feed(page.text)
        answer = {**form.fields, "email": email, "password": password, "decision": "allow"}
        signed_in = browser.post(httpx.URL(url).join(form.action or url), data=answer)
        assert signed_in.status_code in (302, 303), signed_in.text
        browser.get(signed_in.headers["location"])  # the command's loopback callback
    assert command.wait(60) == 0, command.stderr.read()
    return env


def yunfab_json(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        yunfab_argv(*args, "-o", "json"), capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def accepted_readings(node_url: str) -> float:
    for line in httpx.get(f"{node_url}/metrics").text.splitlines():
        if line.startswith('yunfab_ingest_readings_total{outcome="accepted"}'):
            return float(line.split()[-1])
    return 0.0


def test_demo_lists_two_online_nodes_and_stops_cleanly(demo_run: DemoRun, tmp_path: Path) -> None:
    # The suite's shared demo (the console's browser tests may have used it first).
    demo, urls, data_dir = demo_run.process, demo_run.urls, demo_run.data_dir
    children: list[psutil.Process] = []
    try:
        assert set(urls) == {
            "hub", "node zj-textile", "node gd-injection-moulding", "cloud order",
            "data exchange", "vision", "c2m", "federated", "people",
        }, demo_run.output()  # fmt: skip
        # The hub, two nodes, each node's Mosquitto, the textile node's simulated machines, the
        # moulding node's simulated OPC UA machines and the edge gateway reading them, Flower's
        # SuperLink and each node's SuperNode (which start helpers of their own).
        assert len(psutil.Process(demo.pid).children()) == DAEMONS
        children = psutil.Process(demo.pid).children(recursive=True)

        nodes = httpx.post(f"{urls['hub']}/graphql", json={"query": NODES}).json()["data"][
            "regionalNodes"
        ]
        listed = {edge["node"]["name"]: edge["node"] for edge in nodes["edges"]}
        assert listed["zj-textile"]["region"] == "CN-ZJ"
        assert listed["zj-textile"]["industry"] == "textile"
        assert listed["gd-injection-moulding"]["region"] == "CN-GD"
        assert {node["status"] for node in listed.values()} == {"ONLINE"}

        graphiql = httpx.get(f"{urls['hub']}/graphql", headers={"accept": "text/html"})
        assert graphiql.status_code == 200
        for name in ("zj-textile", "gd-injection-moulding"):
            node_url = urls[f"node {name}"]
            assert httpx.get(f"{node_url}/readyz").status_code == 200
            # Simulated machines publish (plain JSON on one node, Sparkplug B on the other) and
            # the node accepts their readings.
            deadline = time.monotonic() + 60
            while accepted_readings(node_url) == 0 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert accepted_readings(node_url) > 0, name
        # Seed 002's order, planned over the moulding node's network of small factories.
        record = data_dir / "nodes" / "gd-injection-moulding" / "cloud-order.json"
        cloud = json.loads(record.read_text())
        assert cloud["status"] in ("optimal", "feasible")
        assert cloud["factories"] == 62
        assert cloud["makers"] >= 2 * 14  # every process spread over several makers
        assert cloud["order"] in urls["cloud order"]
        # The node's capacity, shared through the hub under an automatic agreement: free
        # capacity this week in the calendars' unit, each figure over at least three factories.
        shared = json.loads(record.with_name("data-exchange.json").read_text())
        assert shared["state"] == "FINALIZED"
        assert shared["min_contributors"] >= 3
        assert sum(free or 0 for free, _, _ in shared["free"].values()) > 0
        assert {unit for _, unit, _ in shared["free"].values()} == {"units"}
        assert shared["contract"] in urls["data exchange"]
        # A station learnt a mudguard from good photos and inspected a batch on the node.
        vision = json.loads(record.with_name("vision.json").read_text())
        assert vision["good_images"] == 30
        assert vision["caught"] + vision["missed"] == 8
        assert vision["caught"] >= 6
        assert vision["false_alarms"] <= 2
        # C2M: a brand's two years of sales forecast (the forecast before scored on the weeks
        # that came in since), planned, re-planned, and the next weeks' lots that can still be
        # made in time accepted as orders allocated over the node's factories.
        demand = json.loads(record.with_name("c2m.json").read_text())
        assert demand["sales_weeks"] == 104
        assert demand["scored_weeks"] == 4
        assert demand["mase"] is not None
        assert demand["forecast_s"] < 30
        assert demand["proposals"] > 0
        assert demand["lots"] >= 1
        assert demand["allocated"] == demand["lots"], demand["problems"]
        assert len(demand["orders"]) == demand["lots"]
        assert urls["c2m"].startswith("c2m:")
        # Shared workers: the textile node's weaving factory borrows a knitwear maker's idle
        # sewing operators for its peak season; contacts only for proposals both sides accepted.
        workers = json.loads((data_dir / "nodes" / "zj-textile" / "workforce.json").read_text())
        assert workers["covered"] == workers["demanded"] == 196
        assert workers["accepted"] + workers["declined"] == workers["proposals"]
        assert workers["contacts_released"] == workers["accepted"]
        assert any(line.startswith("  workers: ") for line in demo_run.printed)
        # The demo's people, one per role, with their passwords kept for their owner only; the
        # buyer signs in on the command line and follows the order by the number printed.
        people_file = data_dir / "demo-users.json"
        assert stat.S_IMODE(people_file.stat().st_mode) == 0o600
        people = {user["role"]: user for user in json.loads(people_file.read_text())["users"]}
        assert "people (each signs in" in urls["people"]
        buyer = people["buyer"]
        assert buyer["password"] in urls["people"]  # printed once, on the first run
        env = login(urls["hub"], buyer["email"], buyer["password"], tmp_path / "buyer")
        order = yunfab_json(env, "order", "show", cloud["order"], "--node", CLOUD_NODE)
        assert order["number"] == cloud["order"]
        assert (data_dir / "hub" / "hub.db").exists()
        assert (data_dir / "nodes" / "zj-textile" / "node.db").exists()
    finally:
        code = demo_run.stop()
    assert code == 0, demo_run.output()
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []


def test_children_die_with_a_killed_demo(tmp_path: Path) -> None:
    """Killed (SIGKILL: no handler runs) once its services run, while it is still setting up
    the scenarios: not one process is left behind."""
    run = begin_demo_run(tmp_path / "demo")
    demo = run.process
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while len(psutil.Process(demo.pid).children()) < BEFORE_SCENARIOS:
            assert demo.poll() is None, run.output()
            assert time.monotonic() < deadline, run.output()
            time.sleep(0.2)
        children = psutil.Process(demo.pid).children(recursive=True)
    finally:
        demo.kill()
        demo.wait(30)
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []
