"""Federated learning through a real Flower SuperLink and SuperNodes on loopback (issue #7).

Each test starts its own SuperLink and SuperNodes from this environment and submits runs with the
`flwr` CLI, as an operator would. A Flower round costs seconds whatever the model (a process per
message, 3 s polling), so the tests use two server rounds: the model's statistics round and one
training round.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.app.message_type import MessageType
from flwr.app.metadata import Metadata
from flwr.common import Code, FitRes, Status, ndarray_to_bytes, ndarrays_to_parameters
from flwr.compat.common import recorddict_compat as compat

from federated_learning import deploy, model
from federated_learning.client_app import (
    ALLOWED_METRICS,
    LEGACY_EVALUATE_RECORDS,
    SECAGG_RECORD,
    SECAGG_STAGE_REPLIES,
    SECAGG_TRAIN_RECORDS,
    EgressRefused,
    check_reply,
    model_shapes,
)
from hub.state import hub_state
from tests.conftest import HubFactory
from tests.support import bearer, node_token, token_for
from yunfab.processes import ManagedProcess, free_port, yunfab_argv
from yunfab_demo.synthetic import Sku, generate, write_dataset

pytestmark = pytest.mark.slow

NODE_SKUS = {
    "east": (Sku("east-bracket", "metal", 11), Sku("east-cover", "plastic", 12)),
    "west": (Sku("west-panel", "metal", 21), Sku("west-sleeve", "fabric", 22)),
}


def _write_store(folder: Path, skus: tuple[Sku, ...]) -> Path:
    for sku in skus:
        write_dataset(generate(sku, good=8, defective=4, size=128, seed=1), folder / sku.name)
    return folder


def _image_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in store.rglob("*.png") if model.CACHE_DIR not in p.parts)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each node's image store, described once here so that ClientApps find the cache."""
    root = tmp_path_factory.mktemp("stores")
    made = {name: _write_store(root / name, skus) for name, skus in NODE_SKUS.items()}
    with ProcessPoolExecutor(len(made), mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(model.prepare, made.values()))
    return made


@dataclass
class Federation:
    """One SuperLink and its SuperNodes, with the CLI's config; stopped by the fixture."""

    root: Path
    daemons: deploy.FlowerDaemons
    connection: deploy.Connection
    superlink: ManagedProcess | None = None
    nodes: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def cli_home(self) -> Path:
        return self.root / "cli"

    def start_superlink(
        self, *, tls: deploy.ServerTls | None = None, supernode_auth: bool = False
    ) -> None:
        port = int(self.connection.address.rsplit(":", 1)[1])
        argv = deploy.superlink_argv(port=port, tls=tls, supernode_auth=supernode_auth)
        spec = deploy.daemon_spec(
            "superlink", argv, self.root / "home-superlink", self.root / "superlink.log"
        )
        self.superlink = self.daemons.start(spec)
        deploy.wait_for_log(self.superlink, deploy.READY_LINE)
        deploy.write_cli_config(self.cli_home, [self.connection])

    def start_node(
        self,
        name: str,
        node_config: dict[str, deploy.ConfigValue],
        *,
        auth_private_key: Path | None = None,
        max_retries: int | None = None,
        wait: bool = True,
    ) -> ManagedProcess:
        argv = deploy.supernode_argv(
            superlink=self.connection.address,
            port=free_port(),
            node_config={"node-name": name, **node_config},
            root_certificates=self.connection.root_certificates,
            auth_private_key=auth_private_key,
            max_retries=max_retries,
        )
        spec = deploy.daemon_spec(
            f"supernode-{name}", argv, self.root / f"home-{name}", self.root / f"{name}.log"
        )
        process = self.daemons.start(spec)
        self.nodes[name] = process
        if wait:
            deploy.wait_for_log(process, deploy.READY_LINE)
        return process

    def run(self, run_config: dict[str, deploy.ConfigValue]) -> int:
        return deploy.start_run(deploy.app_dir(), self.connection.name, run_config, self.cli_home)

    def wait(self, run_id: int, timeout_s: float = 150.0) -> str:
        return deploy.wait_for_run(run_id, self.connection.name, self.cli_home, timeout_s=timeout_s)

    def server_log(self, run_id: int) -> str:
        return deploy.run_log(run_id, self.connection.name, self.cli_home)


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Federation]:
    daemons = deploy.FlowerDaemons()
    connection = deploy.Connection("test", f"127.0.0.1:{free_port()}")
    try:
        yield Federation(tmp_path, daemons, connection)
    finally:
        daemons.stop_all(grace_s=5)


def _run_config(out_dir: Path, **overrides: deploy.ConfigValue) -> dict[str, deploy.ConfigValue]:
    return {
        "num-server-rounds": 2,
        "min-nodes": 2,
        "local-epochs": 10,
        "round-timeout-s": 60.0,
        "out-dir": str(out_dir),
        **overrides,
    }


def _summary(out_dir: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((out_dir / "summary.json").read_text())
    return summary


def _failure_context(federation: Federation, run_id: int) -> str:
    logs = [federation.server_log(run_id)]
    logs += [f"--- {name}\n{node.log_tail(40)}" for name, node in federation.nodes.items()]
    return "\n".join(logs)


START_RUN = """
mutation($input: FederatedRunInput!) { startFederatedRun(input: $input) { id status } }
"""
RUN = """
query($id: UUID!) {
  federatedRun(id: $id) {
    status error flowerRunId summaryJson
    summary { strategy rounds nodes { name } perRound { round steps { kind nodes { name } } } }
    model {
      name version digest kind metrics { name value }
      lineage {
        strategy rounds runId nodes { name }
        privacy { differentialPrivacy { enabled noiseMultiplier } }
      }
    }
  }
}
"""


# PostgreSQL only: a real run takes half a minute, and the registry's writes are tested on both
# databases by the hub's model tests (the demo runs one over SQLite too).
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.timeout(240)
async def test_a_run_from_the_hub_registers_a_model_and_only_model_updates_leave_the_nodes(
    federation: Federation, stores: dict[str, Path], hub_factory: HubFactory
) -> None:
    """A hub operator starts FedProx with DP over two nodes; the hub follows the run and puts
    its global model in the registry with lineage. Each reply leaving a node holds the model's
    arrays and allow-listed metrics only, a tiny fraction of its images."""
    federation.start_superlink()
    egress = {name: federation.root / f"egress-{name}.jsonl" for name in stores}
    for name, store in stores.items():
        federation.start_node(name, {"data-path": str(store), "egress-log": str(egress[name])})

    async with hub_factory(
        flower_superlink=federation.connection.address, federated_poll_interval_s=0.5
    ) as hub:
        operator = bearer(
            await token_for(hub, org="Hub Ops", org_kind="hub_operator", scopes=["federated:run"])
        )
        started = (
            await hub.graphql(
                START_RUN,
                {"input": {"strategy": "FEDPROX", "rounds": 2, "minNodes": 2, "localEpochs": 10,
                           "proximalMu": 0.05, "dpNoiseMultiplier": 0.1, "dpClippingNorm": 5.0,
                           "roundTimeoutS": 60.0}},
                headers=operator,
            )
        )["startFederatedRun"]  # fmt: skip
        deadline = time.monotonic() + 180
        while True:
            run = (await hub.graphql(RUN, {"id": started["id"]}, headers=operator))["federatedRun"]
            if run["status"] in ("FINISHED", "FAILED") or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        run_id = int(run["flowerRunId"])
        assert run["status"] == "FINISHED", (run["error"], _failure_context(federation, run_id))
        registered = run["model"]
        assert (registered["name"], registered["version"]) == ("defect-detector", 1)
        lineage = registered["lineage"]
        assert (lineage["strategy"], lineage["rounds"], lineage["runId"]) == (
            "fedprox",
            2,
            started["id"],
        )
        assert sorted(n["name"] for n in lineage["nodes"]) == sorted(stores)
        assert lineage["privacy"]["differentialPrivacy"] == {
            "enabled": True,
            "noiseMultiplier": 0.1,
        }
        assert {m["name"] for m in registered["metrics"]} == {"eval_auroc", "eval_loss"}
        assert (run["summary"]["strategy"], run["summary"]["rounds"]) == ("fedprox", 2)
        assert sorted(n["name"] for n in run["summary"]["nodes"]) == sorted(stores)
        for record in run["summary"]["perRound"]:
            by_kind = {step["kind"]: step for step in record["steps"]}
            assert sorted(n["name"] for n in by_kind["train"]["nodes"]) == sorted(stores)
        out_dir = Path(hub_state(hub.app).settings.data_dir) / "federated" / started["id"]
        models = Path(hub_state(hub.app).settings.data_dir) / "models"
        stored = next(models.glob("defect-detector/v1-*.npz"))
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == registered["digest"]
        assert run["summaryJson"] == _summary(out_dir)

    summary = _summary(out_dir)
    assert summary["run_id"] == str(run_id)
    assert (summary["strategy"], summary["rounds"], summary["min_nodes"]) == ("fedprox", 2, 2)
    assert summary["run_label"] == started["id"]
    dp = summary["privacy"]["differential_privacy"]
    assert dp["enabled"]
    assert (dp["noise_multiplier"], dp["clipping_norm"]) == (0.1, 5.0)
    assert summary["privacy"]["secure_aggregation"]["enabled"] is False
    assert sorted(n["name"] for n in summary["nodes"]) == sorted(stores)
    assert summary["dropped_nodes"] == []
    for record in summary["per_round"]:
        train, evaluate = record["train"], record["evaluate"]
        assert sorted(n["name"] for n in train["nodes"].values()) == sorted(stores)
        assert sorted(n["name"] for n in evaluate["nodes"].values()) == sorted(stores)
        for node in train["nodes"].values():
            assert set(node) == {"name", "train_loss", "train_examples"}
            assert node["train_examples"] > 0
        for node in evaluate["nodes"].values():
            assert set(node) == {"name", "eval_auroc", "eval_loss", "eval_examples"}
            assert 0.0 <= node["eval_auroc"] <= 1.0
        assert min(train["seconds"], evaluate["seconds"]) > 0
        assert set(evaluate["aggregated"]) == {"eval_auroc", "eval_loss"}
    assert set(summary["final"]) == {"eval_auroc", "eval_loss"}

    with np.load(out_dir / "global.npz") as stored:
        arrays = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    assert [a.shape for a in arrays] == model_shapes()
    assert arrays[-1][0] > 0.5  # the statistics round set the moments

    shapes = [list(shape) for shape in model_shapes()]
    for name, path in egress.items():
        replies = [json.loads(line) for line in path.read_text().splitlines()]
        kinds = sorted(r["message_type"] for r in replies)
        assert kinds == ["evaluate", "evaluate", "train", "train"], replies
        for reply in replies:
            assert not reply["has_error"]
            for key, record in reply["records"].items():
                if record["type"] == "ArrayRecord":
                    assert (reply["message_type"], key) == ("train", "arrays")
                    assert record["shapes"] == shapes
                elif record["type"] == "MetricRecord":
                    assert set(record["keys"]) <= ALLOWED_METRICS
                else:
                    assert (record["type"], key, record["keys"]) == (
                        "ConfigRecord",
                        "node",
                        ["name"],
                    )
        sent = sum(r["bytes"] for r in replies)
        assert 0 < sent * 100 < _image_bytes(stores[name]), (sent, _image_bytes(stores[name]))


@pytest.mark.timeout(300)
def test_secure_aggregation_averages_masked_updates_as_fedavg_would(
    federation: Federation, stores: dict[str, Path]
) -> None:
    """SecAgg+ over two nodes: the server unmasks only the sum, which is the example-weighted
    mean `model.fedavg` takes (up to SecAgg+'s quantization); no reply carries clear arrays."""
    federation.start_superlink()
    egress = {name: federation.root / f"egress-{name}.jsonl" for name in stores}
    for name, store in stores.items():
        federation.start_node(name, {"data-path": str(store), "egress-log": str(egress[name])})
    out_dir = federation.root / "out"

    run_id = federation.run(_run_config(out_dir, **{"secure-aggregation": True}))
    status = federation.wait(run_id, timeout_s=240)
    assert status == deploy.COMPLETED, _failure_context(federation, run_id)
    summary = _summary(out_dir)
    secagg = summary["privacy"]["secure_aggregation"]
    assert secagg["enabled"] is True
    assert (secagg["num_shares"], secagg["reconstruction_threshold"]) == (3, 2)
    assert summary["privacy"]["differential_privacy"]["enabled"] is False
    for record in summary["per_round"]:
        stages = {"secagg_setup", "secagg_share_keys", "train", "secagg_unmask", "evaluate"}
        assert set(record) == {"round", *stages}, record
        assert sorted(n["name"] for n in record["train"]["nodes"].values()) == sorted(stores)
        assert all(n["train_examples"] > 0 for n in record["train"]["nodes"].values())
    assert set(summary["final"]) == {"eval_auroc", "eval_loss"}

    with np.load(out_dir / "global.npz") as stored:
        arrays = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    assert [a.shape for a in arrays] == model_shapes()
    statistics = [
        model.local_train(model.initial_weights(), model.prepare(store))
        for store in stores.values()
    ]
    expected = model.fedavg([(w, int(m["train_examples"])) for w, m in statistics])
    for got, want in zip(arrays[:2] + arrays[4:], expected[:2] + expected[4:], strict=True):
        np.testing.assert_allclose(got, want, atol=1e-2)  # moments and flag

    for path in egress.values():
        replies = [json.loads(line) for line in path.read_text().splitlines()]
        assert sorted(r["message_type"] for r in replies) == ["evaluate"] * 2 + ["train"] * 8
        for reply in replies:
            assert not reply["has_error"], reply
            allowed = (
                SECAGG_TRAIN_RECORDS
                if reply["message_type"] == "train"
                else LEGACY_EVALUATE_RECORDS
            )
            for key, record in reply["records"].items():
                if key == SECAGG_RECORD:
                    assert frozenset(record["keys"]) in SECAGG_STAGE_REPLIES
                elif record["type"] == "ArrayRecord":
                    assert (key, record["shapes"]) == ("fitres.parameters", []), reply
                else:
                    assert set(record["keys"]) <= allowed[key], reply


@pytest.mark.timeout(240)
def test_a_node_killed_mid_run_does_not_fail_the_run(
    federation: Federation, stores: dict[str, Path]
) -> None:
    federation.start_superlink()
    east = federation.start_node("east", {"data-path": str(stores["east"])})
    west = federation.start_node("west", {"data-path": str(stores["west"])})
    out_dir = federation.root / "out"

    run_id = federation.run(_run_config(out_dir, strategy="fedavg", **{"round-timeout-s": 20.0}))
    deadline = time.monotonic() + 60
    while not deploy.log_has(west, "Start `flwr-clientapp` process"):
        assert time.monotonic() < deadline, west.log_tail()
        time.sleep(0.2)
    deploy.kill_group(west)  # the node and its ClientApp, in the first round

    status = federation.wait(run_id)
    assert status == deploy.COMPLETED, _failure_context(federation, run_id)
    assert east.alive()
    summary = _summary(out_dir)
    assert len(summary["dropped_nodes"]) == 1
    assert "east" not in {n["name"] for n in summary["dropped_nodes"]}
    last = summary["per_round"][-1]
    assert [n["name"] for n in last["train"]["nodes"].values()] == ["east"]
    assert [n["name"] for n in last["evaluate"]["nodes"].values()] == ["east"]
    with np.load(out_dir / "global.npz") as stored:
        assert [stored[f"arr_{i}"].shape for i in range(len(stored.files))] == model_shapes()


@pytest.mark.timeout(150)
async def test_tls_link_accepts_nodes_registered_at_the_hub_and_refuses_others(
    tmp_path: Path, stores: dict[str, Path], hub_factory: HubFactory
) -> None:
    """Production mode: TLS, and the SuperLink accepts only SuperNodes whose keys the hub's
    node registry holds (a node sends its key when it registers; the hub's console registers
    them at the SuperLink). A SuperNode with any other key is refused."""
    tls = deploy.generate_server_tls(tmp_path / "certs")
    connection = deploy.Connection("prod", f"127.0.0.1:{free_port()}", tls.ca_cert)
    registered, registered_pub = deploy.generate_node_key(tmp_path / "keys" / "east")
    rogue, _ = deploy.generate_node_key(tmp_path / "keys" / "rogue")
    daemons = deploy.FlowerDaemons()
    federation = Federation(tmp_path, daemons, connection)
    try:
        federation.start_superlink(tls=tls, supernode_auth=True)
        async with hub_factory(
            flower_superlink=connection.address, flower_root_certificates=tls.ca_cert
        ) as hub:
            node = bearer(await node_token(hub, "east", "CN-ZJ"))
            body = {"region": "CN-ZJ", "industry": "textile", "base_url": "http://east.test"}
            junk = await hub.client.put(
                "/api/v1/nodes/east", json={**body, "flower_public_key": "ssh-rsa AAAA"},
                headers=node,
            )  # fmt: skip
            assert junk.status_code == 422
            joined = await hub.client.put(
                "/api/v1/nodes/east",
                json={**body, "flower_public_key": registered_pub.read_text()},
                headers=node,
            )
            assert joined.status_code == 200, joined.text
            settings = hub_state(hub.app).settings
            done = subprocess.run(
                yunfab_argv(
                    "hub", "fl", "register-nodes", "--data-dir", str(settings.data_dir),
                    "--database-url", settings.db_url,
                ),
                capture_output=True, text=True, check=False,
                env={**os.environ, "YUNFAB_HUB_ENV": "development",
                     "YUNFAB_HUB_FLOWER_SUPERLINK": connection.address,
                     "YUNFAB_HUB_FLOWER_ROOT_CERTIFICATES": str(tls.ca_cert)},
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
            outcome = json.loads(done.stdout[done.stdout.find("{") :])["nodes"]
            assert [(o["node"], o["registered"]) for o in outcome] == [("east", True)]
            node_id = outcome[0]["flower_node_id"]
        federation.start_node(
            "east", {"data-path": str(stores["east"])}, auth_private_key=registered
        )
        intruder = federation.start_node(
            "rogue",
            {"data-path": str(stores["west"])},
            auth_private_key=rogue,
            max_retries=1,
            wait=False,
        )

        deadline = time.monotonic() + 60
        while not deploy.log_has(intruder, "Failed to activate SuperNode"):
            assert time.monotonic() < deadline, intruder.log_tail()
            await asyncio.sleep(0.2)
        assert federation.superlink is not None
        assert deploy.log_has(federation.superlink, "No SuperNode found with the given public key")

        listed = deploy.flwr_cli(
            ["supernode", "ls", connection.name, "--format", "json"], federation.cli_home
        ).stdout
        nodes = json.loads(listed[listed.find("{") :])["nodes"]
        assert len(nodes) == 1, nodes
        assert str(nodes[0]["node-id"]) == str(node_id)
        assert nodes[0]["status"] == "online", nodes
    finally:
        daemons.stop_all(grace_s=5)


def _reply(content: RecordDict, kind: str = MessageType.TRAIN) -> Message:
    metadata = Metadata(
        run_id=1,
        message_id="",
        src_node_id=2,
        dst_node_id=1,
        reply_to_message_id="m",
        group_id="",
        created_at=time.time(),
        ttl=60.0,
        message_type=kind,
    )
    # Flower builds replies this way internally; its public overloads need a run context.
    return Message(content=content, metadata=metadata)  # type: ignore[call-overload]


def test_egress_guard_refuses_anything_but_model_arrays_and_allowed_metrics() -> None:
    shapes = model_shapes()
    arrays = ArrayRecord([np.zeros(s) for s in shapes])
    metrics = MetricRecord({"train_loss": 0.1, "num-examples": 3})
    check_reply(_reply(RecordDict({"arrays": arrays, "metrics": metrics})), shapes)

    refused = [
        RecordDict({"arrays": ArrayRecord([np.zeros((5, 5))]), "metrics": metrics}),
        RecordDict({"arrays": arrays, "metrics": MetricRecord({"sku_count": 2.0})}),
        RecordDict({"arrays": arrays, "metrics": metrics, "node": ConfigRecord({"path": "/x"})}),
        RecordDict({"arrays": arrays, "images": ArrayRecord({"x": Array(np.zeros(3))})}),
        RecordDict({"metrics": metrics}),
        # Allowed keys carrying more than a number, or a node "name" carrying data.
        RecordDict({"arrays": arrays, "metrics": MetricRecord({"train_loss": [0.1] * 500})}),
        RecordDict(
            {"arrays": arrays, "metrics": metrics, "node": ConfigRecord({"name": b"\x89PNG"})}
        ),
        RecordDict(
            {"arrays": arrays, "metrics": metrics, "node": ConfigRecord({"name": "x" * 500})}
        ),
    ]
    for content in refused:
        with pytest.raises(EgressRefused):
            check_reply(_reply(content), shapes)
    with pytest.raises(EgressRefused):
        check_reply(_reply(RecordDict({"arrays": arrays}), MessageType.EVALUATE), shapes)

    # A SecAgg+ collect-stage reply: the masked vector, never the arrays in the clear.
    def collect(vector: list[np.ndarray], *, clear: bool = False) -> RecordDict:
        weights = ndarrays_to_parameters([np.zeros(s) for s in shapes])
        fitres = FitRes(Status(Code.OK, "Success"), weights, 3, {"train_loss": 0.1})
        content = compat.fitres_to_recorddict(fitres, keep_input=False)
        if not clear:
            content.array_records["fitres.parameters"].clear()  # as secaggplus_mod does
        masked = [ndarray_to_bytes(v.astype(np.int64)) for v in vector]
        content[SECAGG_RECORD] = ConfigRecord({"masked_params": masked})
        return content

    vector = [np.zeros((1,)), *(np.zeros(s) for s in shapes)]
    check_reply(_reply(collect(vector)), shapes)
    for content in (collect(vector, clear=True), collect(vector[1:])):
        with pytest.raises(EgressRefused):
            check_reply(_reply(content), shapes)
