"""What the hub's federated pages read beyond runs and models (issue #18): a run's rounds as
they arrive (`federatedRunProgress`, fed by the ServerApp's progress.json), one model with the
market release it became (`globalModel`). Without Flower: the run's steps are recorded the way
the runner records them."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import websockets

from federated_learning.server_app import RecordingGrid, RunSettings, Step, progress
from hub.federated import service
from hub.federated.events import RunChanged
from hub.state import hub_state
from tests.conftest import HubFactory
from tests.support import bearer, served, subscribed, token_for
from yunfab.blobs import FileBlobStore
from yunfab.db import session_scope
from yunfab.processes import free_port
from yunfab.subject import SYSTEM

PROGRESS = """
subscription {
  federatedRunProgress(id: "RUN") {
    id status flowerRunId
    summary {
      perRound { round steps { kind nodes { name metrics { name value } } } }
      final { name }
    }
    model { version marketRelease { listingSlug version } }
  }
}
"""
MODEL = """
query($id: UUID!) {
  globalModel(id: $id) {
    name version
    lineage { runId rounds nodes { name } }
    marketRelease { id listingSlug version status }
  }
}
"""
SUMMARY = {
    "run_id": "7", "strategy": "fedavg", "rounds": 2, "statistics_rounds": 1, "min_nodes": 2,
    "privacy": {"differential_privacy": {"enabled": False},
                "secure_aggregation": {"enabled": False}},
    "nodes": [{"node_id": "11", "name": "zj"}, {"node_id": "12", "name": "gd"}],
    "dropped_nodes": [],
    "per_round": [
        {"round": 1, "train": {"seconds": 1.5, "nodes": {
            "11": {"name": "zj", "train_loss": 0.69, "train_examples": 30},
            "12": {"name": "gd", "train_loss": 0.69, "train_examples": 20}}}},
        {"round": 2, "train": {"seconds": 1.4, "nodes": {
            "11": {"name": "zj", "train_loss": 0.5, "train_examples": 30},
            "12": {"name": "gd", "train_loss": 0.7, "train_examples": 20}}},
         "evaluate": {"seconds": 1.2, "nodes": {
            "11": {"name": "zj", "eval_auroc": 0.92, "eval_loss": 0.28, "eval_examples": 12},
            "12": {"name": "gd", "eval_auroc": 0.87, "eval_loss": 0.33, "eval_examples": 8}}}},
    ],
    "final": {"eval_auroc": 0.9, "eval_loss": 0.3},
}  # fmt: skip


def _settings(out_dir: Path) -> RunSettings:
    return RunSettings(
        strategy="fedavg", rounds=2, min_nodes=2, proximal_mu=0.0, local_epochs=1,
        learning_rate=0.1, round_timeout_s=60.0, dp_noise_multiplier=0.0, dp_clipping_norm=1.0,
        out_dir=out_dir, run_label="test",
    )  # fmt: skip


def _grid_after_round_one(settings: RunSettings) -> RecordingGrid:
    """The ServerApp's record after round 1's train step on two nodes."""
    grid = RecordingGrid(None, settings)  # type: ignore[arg-type]  # only its records are read
    grid.names = {11: "zj", 12: "gd"}
    grid.sampled_nodes = 2
    grid.steps[1] = {
        "train": Step(
            seconds=1.5,
            nodes={
                "11": {"name": "zj", "train_loss": 0.5, "train_examples": 30},
                "12": {"name": "gd", "train_loss": 0.7, "train_examples": 20},
            },
        )
    }
    return grid


async def _next(ws: websockets.ClientConnection) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["type"] == "next", message
    return message["payload"]


async def test_a_runs_rounds_arrive_on_the_subscription_until_it_ends_with_its_model(
    hub_factory: HubFactory, tmp_path: Path
) -> None:
    async with hub_factory(flower_superlink="127.0.0.1:9") as hub:
        runner = hub_state(hub.app).federated_runner
        sessionmaker = hub_state(hub.app).db.sessionmaker
        async with session_scope(sessionmaker) as session:
            row = await service.create_run(
                session, SYSTEM, authorizer=hub_state(hub.app).authorizer, available=True,
                request=service.RunRequest(rounds=2, local_epochs=1),
            )  # fmt: skip
        run_id = row.id
        token = await token_for(
            hub, org="Hub Ops", org_kind="hub_operator", scopes=["federated:run"]
        )
        buyer = await token_for(hub, org="Buyer", org_kind="consumer", scopes=["orders:write"])
        async with served(hub.app, free_port(), lifespan="off") as url:
            async with subscribed(
                url, f'subscription {{ federatedRunProgress(id: "{run_id}") {{ status }} }}', buyer
            ) as refused:
                answer = await _next(refused)
                assert answer["data"] is None
                assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            async with subscribed(url, PROGRESS.replace("RUN", str(run_id)), token) as ws:
                first = (await _next(ws))["data"]["federatedRunProgress"]
                assert (first["status"], first["summary"], first["model"]) == (
                    "STARTING", None, None,
                )  # fmt: skip

                async with session_scope(sessionmaker) as session:
                    await service.record_started(session, run_id, "7")
                runner.events.publish(RunChanged(run_id))
                started = (await _next(ws))["data"]["federatedRunProgress"]
                assert (started["status"], started["flowerRunId"]) == ("RUNNING", "7")

                # The ServerApp rewrites progress.json after each step; the runner stores it.
                out_dir = tmp_path / "out"
                settings = _settings(out_dir)
                out_dir.mkdir()
                document = progress(settings, 7, _grid_after_round_one(settings))
                (out_dir / "progress.json").write_text(json.dumps(document))
                seen = await runner.record_progress(run_id, out_dir / "progress.json", None)
                assert seen is not None
                # The same file again is no news.
                assert await runner.record_progress(run_id, out_dir / "progress.json", seen) == seen
                live = (await _next(ws))["data"]["federatedRunProgress"]
                assert live["status"] == "RUNNING"
                (round_one,) = live["summary"]["perRound"]
                assert round_one["round"] == 1
                (train,) = round_one["steps"]
                assert train["kind"] == "train"
                assert {n["name"]: n["metrics"] for n in train["nodes"]} == {
                    "zj": [{"name": "train_loss", "value": 0.5},
                           {"name": "train_examples", "value": 30.0}],
                    "gd": [{"name": "train_loss", "value": 0.7},
                           {"name": "train_examples", "value": 20.0}],
                }  # fmt: skip
                assert live["summary"]["final"] == []

                async with session_scope(sessionmaker) as session:
                    model = await service.record_finished(
                        session, run_id, summary=SUMMARY, weights=b"weights",
                        blobs=FileBlobStore(tmp_path / "data"),
                    )  # fmt: skip
                runner.events.publish(RunChanged(run_id))
                finished = (await _next(ws))["data"]["federatedRunProgress"]
                assert finished["status"] == "FINISHED"
                assert finished["model"] == {
                    "version": 1,
                    "marketRelease": {
                        "listingSlug": "federated-defect-detector",
                        "version": "1.0.0",
                    },
                }
                # A progress file read late changes nothing once the run has ended.
                assert not await _recorded(hub, run_id, document)
                done = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert done == {"id": "1", "type": "complete"}

        operator = bearer(token)
        found = (await hub.graphql(MODEL, {"id": str(model.id)}, headers=operator))["globalModel"]
        assert (found["name"], found["version"]) == ("defect-detector", 1)
        assert found["lineage"] == {
            "runId": str(run_id), "rounds": 2, "nodes": [{"name": "zj"}, {"name": "gd"}],
        }  # fmt: skip
        release = found["marketRelease"]
        assert (release["listingSlug"], release["version"], release["status"]) == (
            "federated-defect-detector", "1.0.0", "published",
        )  # fmt: skip
        missing = await hub.graphql(
            MODEL, {"id": str(uuid.uuid4())}, headers=operator, expect_errors=True
        )
        assert missing["errors"][0]["extensions"]["code"] == "MODEL_NOT_FOUND"
        refused_model = await hub.graphql(
            MODEL, {"id": str(model.id)}, headers=bearer(buyer), expect_errors=True
        )
        assert refused_model["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _recorded(hub: Any, run_id: uuid.UUID, document: dict[str, Any]) -> bool:
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        return await service.record_progress(session, run_id, document)


async def test_a_run_driven_elsewhere_is_followed_by_reading_it_again(
    hub_factory: HubFactory, monkeypatch: Any
) -> None:
    """A run another process drives (the CLI) announces nothing to this hub: the
    subscription reads the run again every few seconds and sends what changed."""
    monkeypatch.setattr("hub.federated.graphql.PROGRESS_POLL_S", 0.2)
    async with hub_factory(flower_superlink="127.0.0.1:9") as hub:
        sessionmaker = hub_state(hub.app).db.sessionmaker
        async with session_scope(sessionmaker) as session:
            row = await service.create_run(
                session, SYSTEM, authorizer=hub_state(hub.app).authorizer, available=True,
                request=service.RunRequest(rounds=2),
            )  # fmt: skip
        token = await token_for(
            hub, org="Hub Ops", org_kind="hub_operator", scopes=["federated:run"]
        )
        query = f'subscription {{ federatedRunProgress(id: "{row.id}") {{ status error }} }}'
        async with (
            served(hub.app, free_port(), lifespan="off") as url,
            subscribed(url, query, token) as ws,
        ):
            assert (await _next(ws))["data"]["federatedRunProgress"]["status"] == "STARTING"
            started = time.monotonic()
            async with session_scope(sessionmaker) as session:
                await service.record_failed(session, row.id, "the SuperLink went away")
            failed = (await _next(ws))["data"]["federatedRunProgress"]
            assert failed == {"status": "FAILED", "error": "the SuperLink went away"}
            assert time.monotonic() - started < 5
            done = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert done["type"] == "complete"
