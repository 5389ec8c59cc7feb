"""`yunfab demo`: hub, two nodes, their brokers and simulated machines start; the hub lists both
nodes online, telemetry reaches both nodes, a cloud-factory order is planned, a stop leaves
nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest

from yunfab.processes import yunfab_argv

pytestmark = pytest.mark.slow

DAEMONS = 10
NODES = "{ regionalNodes { edges { node { name region industry status lastHeartbeat } } } }"


def start_demo(data_dir: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    demo = subprocess.Popen(
        yunfab_argv("demo", "--data-dir", str(data_dir), "--port", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    urls: dict[str, str] = {}
    assert demo.stdout is not None
    deadline = time.monotonic() + 240
    for line in demo.stdout:
        name, _, url = line.strip().partition(": ")
        if name == "hub" or name.startswith("node "):
            urls[name] = url
        if line.strip().startswith("order SO-"):
            urls["cloud order"] = line.strip()
        if line.strip().startswith("data exchange:"):
            urls["data exchange"] = line.strip()
        if line.strip().startswith("vision:"):
            urls["vision"] = line.strip()
        if line.strip().startswith("federated:"):
            urls["federated"] = line.strip()
        if line.startswith("Ctrl-C") or time.monotonic() > deadline:
            break
    return demo, urls


def accepted_readings(node_url: str) -> float:
    for line in httpx.get(f"{node_url}/metrics").text.splitlines():
        if line.startswith('yunfab_ingest_readings_total{outcome="accepted"}'):
            return float(line.split()[-1])
    return 0.0


def test_demo_lists_two_online_nodes_and_stops_cleanly(tmp_path: Path) -> None:
    demo, urls = start_demo(tmp_path / "demo")
    children: list[psutil.Process] = []
    try:
        assert set(urls) == {
            "hub", "node zj-textile", "node gd-injection-moulding", "cloud order",
            "data exchange", "vision", "federated",
        }, demo.stderr  # fmt: skip
        # The hub, two nodes, each node's Mosquitto and simulated machines, Flower's SuperLink
        # and each node's SuperNode (which start helpers of their own).
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
        record = tmp_path / "demo" / "nodes" / "gd-injection-moulding" / "cloud-order.json"
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
        assert (tmp_path / "demo" / "hub" / "hub.db").exists()
        assert (tmp_path / "demo" / "nodes" / "zj-textile" / "node.db").exists()
    finally:
        demo.send_signal(signal.SIGTERM)
        code = demo.wait(60)
    assert code == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []


def test_children_die_with_a_killed_demo(tmp_path: Path) -> None:
    demo, urls = start_demo(tmp_path / "demo")
    try:
        assert "hub" in urls
        assert len(psutil.Process(demo.pid).children()) == DAEMONS
        children = psutil.Process(demo.pid).children(recursive=True)
    finally:
        demo.kill()
        demo.wait(30)
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []
