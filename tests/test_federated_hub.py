"""Federated runs at the hub, without Flower running: who may start one, what a run may ask
for, and a hub with no SuperLink saying so. (Runs through real Flower processes are in
`test_federated_flower.py`.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from federated_learning import model as head
from federated_learning.server_app import RecordingGrid, RunSettings, Step, summarise, write_outputs
from hub.federated import service
from hub.federated.errors import RunWithoutResults
from hub.federated.models import FederatedRun, RunStatus
from hub.state import hub_state
from tests.conftest import HubFactory
from tests.support import bearer, token_for
from yunfab.blobs import FileBlobStore
from yunfab.db import session_scope
from yunfab.processes import yunfab_argv
from yunfab.subject import SYSTEM

START = """
mutation($input: FederatedRunInput!) {
  startFederatedRun(input: $input) { id status strategy rounds }
}
"""
RUNS = "{ federatedRuns { totalCount edges { node { id } } } }"
MODELS = "{ globalModels { id } }"


async def test_runs_are_for_hub_operators_checked_and_need_a_superlink(
    hub_factory: HubFactory,
) -> None:
    async with hub_factory() as hub:
        operator = bearer(
            await token_for(hub, org="Hub Ops", org_kind="hub_operator", scopes=["federated:run"])
        )
        buyer = bearer(
            await token_for(hub, org="Buyer", org_kind="consumer", scopes=["orders:write"])
        )
        refused = await hub.graphql(
            START, {"input": {"rounds": 2}}, headers=buyer, expect_errors=True
        )
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        for query in (RUNS, MODELS):
            listing = await hub.graphql(query, headers=buyer, expect_errors=True)
            assert listing["errors"][0]["extensions"]["code"] == "FORBIDDEN"

        unavailable = await hub.graphql(
            START, {"input": {"rounds": 2}}, headers=operator, expect_errors=True
        )
        assert unavailable["errors"][0]["extensions"]["code"] == "FEDERATED_UNAVAILABLE"
        assert (await hub.graphql(RUNS, headers=operator))["federatedRuns"]["totalCount"] == 0
        assert (await hub.graphql(MODELS, headers=operator))["globalModels"] == []
        # Sibling fields that both read the database, resolved side by side on one session.
        both = await hub.graphql(
            "{ federatedRuns { totalCount } globalModels { id } }", headers=operator
        )
        assert both == {"federatedRuns": {"totalCount": 0}, "globalModels": []}

    async with hub_factory(flower_superlink="127.0.0.1:9") as hub:
        operator = bearer(
            await token_for(hub, org="Hub Ops", org_kind="hub_operator", scopes=["federated:run"])
        )
        for bad in (
            {"rounds": 1},
            {"strategy": "FEDAVG", "proximalMu": 0.5},
            {"learningRate": -1.0},
            {"dpNoiseMultiplier": 1e9},
            {"roundTimeoutS": 1.0},
            {"secureAggregation": True, "dpNoiseMultiplier": 0.5},
            {"secureAggregation": True, "minNodes": 1},
            {"secureAggregation": True, "secaggMaxWeight": 0.5},
        ):
            answer = await hub.graphql(START, {"input": bad}, headers=operator, expect_errors=True)
            assert answer["errors"][0]["extensions"]["code"] == "INVALID_INPUT", bad
        # Nothing was recorded for refused requests.
        assert (await hub.graphql(RUNS, headers=operator))["federatedRuns"]["totalCount"] == 0


def test_the_console_says_when_the_hub_has_no_superlink(tmp_path: Path) -> None:
    done = subprocess.run(
        yunfab_argv("hub", "fl", "run", "--rounds", "2", "--data-dir", str(tmp_path)),
        capture_output=True,
        text=True,
        env={**os.environ, "YUNFAB_HUB_ENV": "development"},
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "no Flower SuperLink is configured" in done.stderr


async def test_a_run_left_unsubmitted_by_a_stopped_hub_is_marked_failed_at_start(
    hub_factory: HubFactory,
) -> None:
    async with hub_factory(flower_superlink="127.0.0.1:9") as hub:
        async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
            row = await service.create_run(
                session, SYSTEM, authorizer=hub_state(hub.app).authorizer,
                request=service.RunRequest(rounds=2), available=True,
            )  # fmt: skip
            run_id = row.id
    async with hub_factory(flower_superlink="127.0.0.1:9") as hub:
        async with hub_state(hub.app).db.sessionmaker() as session:
            run = await session.get(FederatedRun, run_id)
            assert run is not None
            assert run.status is RunStatus.FAILED
            assert "before the run reached the SuperLink" in (run.error or "")


TYPED_RUN = """
query($id: UUID!) {
  federatedRun(id: $id) {
    status
    config { strategy rounds minNodes learningRate dpNoiseMultiplier secureAggregation label }
    summary {
      strategy rounds nodes { nodeId name }
      privacy { differentialPrivacy { enabled } secureAggregation { enabled } }
      perRound { round steps { kind seconds nodes { name metrics { name value } } } }
      final { name value }
    }
    model { version metrics { name value } lineage { runId strategy nodes { name } } }
  }
}
"""
FINISHED_RUNS = """
query($status: FederatedRunStatus) {
  federatedRuns(status: $status) { totalCount edges { node { id } } }
}
"""


async def test_a_run_reads_back_typed_and_runs_filter_by_status(
    hub_factory: HubFactory, tmp_path: Path
) -> None:
    summary = {
        "run_id": "7", "strategy": "fedavg", "rounds": 2, "min_nodes": 2,
        "privacy": {"differential_privacy": {"enabled": False},
                    "secure_aggregation": {"enabled": False}},
        "nodes": [{"node_id": "11", "name": "zj"}, {"node_id": "12", "name": "gd"}],
        "dropped_nodes": [],
        "per_round": [{"round": 1, "train": {"seconds": 0.5, "nodes": {
            "11": {"name": "zj", "train_loss": 0.4, "train_examples": 30}}}}],
        "final": {"eval_auroc": 0.9},
    }  # fmt: skip
    async with hub_factory(flower_superlink="127.0.0.1:9") as hub:
        authorizer = hub_state(hub.app).authorizer
        async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
            finished = await service.create_run(
                session, SYSTEM, authorizer=authorizer, available=True,
                request=service.RunRequest(rounds=2, label="typed"),
            )  # fmt: skip
            await service.create_run(
                session, SYSTEM, authorizer=authorizer, available=True,
                request=service.RunRequest(rounds=3),
            )  # fmt: skip
        async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
            await service.record_finished(
                session, finished.id, summary=summary, weights=b"weights",
                blobs=FileBlobStore(tmp_path),
            )  # fmt: skip
        operator = bearer(
            await token_for(hub, org="Hub Ops", org_kind="hub_operator", scopes=["federated:run"])
        )
        run = (await hub.graphql(TYPED_RUN, {"id": str(finished.id)}, headers=operator))[
            "federatedRun"
        ]
        assert run["config"] == {
            "strategy": "FEDAVG", "rounds": 2, "minNodes": 2, "learningRate": 0.1,
            "dpNoiseMultiplier": 0.0, "secureAggregation": False, "label": "typed",
        }  # fmt: skip
        typed = run["summary"]
        assert (typed["strategy"], typed["rounds"]) == ("fedavg", 2)
        assert typed["nodes"] == [{"nodeId": "11", "name": "zj"}, {"nodeId": "12", "name": "gd"}]
        assert typed["privacy"] == {
            "differentialPrivacy": {"enabled": False}, "secureAggregation": {"enabled": False},
        }  # fmt: skip
        (step,) = typed["perRound"][0]["steps"]
        assert (step["kind"], step["seconds"]) == ("train", 0.5)
        assert step["nodes"] == [
            {"name": "zj", "metrics": [{"name": "train_loss", "value": 0.4},
                                       {"name": "train_examples", "value": 30.0}]}
        ]  # fmt: skip
        assert typed["final"] == [{"name": "eval_auroc", "value": 0.9}]
        model = run["model"]
        assert model["metrics"] == [{"name": "eval_auroc", "value": 0.9}]
        assert model["lineage"] == {
            "runId": str(finished.id), "strategy": "fedavg",
            "nodes": [{"name": "zj"}, {"name": "gd"}],
        }  # fmt: skip
        for status, found in (("FINISHED", 1), ("STARTING", 1), ("FAILED", 0), (None, 2)):
            runs = (await hub.graphql(FINISHED_RUNS, {"status": status}, headers=operator))[
                "federatedRuns"
            ]
            assert (runs["totalCount"], len(runs["edges"])) == (found, found), status


ENDED_RUN = """
query($id: UUID!) {
  federatedRun(id: $id) {
    status error
    summary { perRound { round steps { kind nodes { name } errors { nodeId error } missing } } }
    model { version }
  }
}
"""


def _server_record(out_dir: Path, replies: dict[int, dict[str, Step]]) -> dict[str, Any]:
    """The summary the ServerApp writes at the end of a 2-round run (statistics round, one
    training round) over nodes 11 and 12 that replied as `replies` says."""
    settings = RunSettings(
        strategy="fedavg", rounds=2, min_nodes=2, proximal_mu=0.0, local_epochs=1,
        learning_rate=0.1, round_timeout_s=60.0, dp_noise_multiplier=0.0, dp_clipping_norm=1.0,
        out_dir=out_dir, run_label="test",
    )  # fmt: skip
    grid = RecordingGrid(None, settings)  # type: ignore[arg-type]  # only its records are read
    grid.names = {11: "zj", 12: "gd"}
    grid.steps = replies
    return summarise(settings, 7, grid, {}, {}, 2, 5.0)


def _trained(loss: float) -> Step:
    return Step(seconds=1.0, nodes={
        "11": {"name": "zj", "train_loss": loss, "train_examples": 30},
        "12": {"name": "gd", "train_loss": loss, "train_examples": 20},
    })  # fmt: skip


def _failed() -> Step:
    return Step(seconds=1.0, errors={"11": "InvalidInput", "12": "InvalidInput"})


async def test_a_run_whose_every_node_failed_ends_failed_and_registers_no_model(
    hub_factory: HubFactory, tmp_path: Path
) -> None:
    """Flower reports such a run completed, and its ServerApp writes a summary and the
    untrained weights as ever; the hub records it failed, saying how each round went, and
    registers nothing. A run in which the nodes trained ends with its model."""
    async with hub_factory(flower_superlink="127.0.0.1:9") as hub:
        state = hub_state(hub.app)
        runner = state.federated_runner
        outcomes = {
            "every node failed": {1: {"train": _failed(), "evaluate": _failed()},
                                  2: {"train": _failed(), "evaluate": _failed()}},
            "statistics only": {1: {"train": _trained(0.69)}, 2: {"train": _failed()}},
            "trained": {1: {"train": _trained(0.69)}, 2: {"train": _trained(0.4)}},
        }  # fmt: skip
        runs = {}
        for name, replies in outcomes.items():
            async with session_scope(state.db.sessionmaker) as session:
                row = await service.create_run(
                    session, SYSTEM, authorizer=state.authorizer, available=True,
                    request=service.RunRequest(rounds=2, label=name),
                )  # fmt: skip
                await service.record_started(session, row.id, "7")
            out_dir = runner.runs_dir / str(row.id)
            summary = _server_record(out_dir, replies)
            write_outputs(out_dir, head.initial_weights(), summary)
            await runner.record_end(row.id, "7", "finished:completed")
            runs[name] = (row.id, summary)

        operator = bearer(
            await token_for(hub, org="Hub Ops", org_kind="hub_operator", scopes=["federated:run"])
        )

        async def ended(name: str) -> dict[str, Any]:
            answer = await hub.graphql(ENDED_RUN, {"id": str(runs[name][0])}, headers=operator)
            run: dict[str, Any] = answer["federatedRun"]
            return run

        failed = await ended("every node failed")
        assert (failed["status"], failed["model"]) == ("FAILED", None)
        error = str(failed["error"])
        assert error.startswith("no_results: no node returned a training result"), error
        for step in ("round 1 train", "round 1 evaluate", "round 2 train", "round 2 evaluate"):
            assert f"{step}: node 11: InvalidInput, node 12: InvalidInput" in error, error
        for record in failed["summary"]["perRound"]:
            for step in record["steps"]:
                assert step["nodes"] == []
                assert step["errors"] == [
                    {"nodeId": "11", "error": "InvalidInput"},
                    {"nodeId": "12", "error": "InvalidInput"},
                ]

        statistics_only = await ended("statistics only")
        assert (statistics_only["status"], statistics_only["model"]) == ("FAILED", None)
        assert "round 1 train: 2 node(s) replied; round 2 train: node 11" in str(
            statistics_only["error"]
        )

        trained = await ended("trained")
        assert (trained["status"], trained["error"]) == ("FINISHED", None)
        assert trained["model"] == {"version": 1}
        assert len((await hub.graphql(MODELS, headers=operator))["globalModels"]) == 1
        failed_runs = await hub.graphql(FINISHED_RUNS, {"status": "FAILED"}, headers=operator)
        assert failed_runs["federatedRuns"]["totalCount"] == 2

        # Recording such a summary as finished is refused, whoever tries.
        with pytest.raises(RunWithoutResults, match="no_results"):
            async with session_scope(state.db.sessionmaker) as session:
                await service.record_finished(
                    session, runs["every node failed"][0], summary=runs["every node failed"][1],
                    weights=b"weights", blobs=FileBlobStore(tmp_path),
                )  # fmt: skip
        assert len((await hub.graphql(MODELS, headers=operator))["globalModels"]) == 1
