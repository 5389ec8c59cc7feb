"""A SuperLink with its state in memory (the scaled-out hub chart's) that restarts loses the runs
in flight: the hub starts such a run again at the new SuperLink and records its model, and
gives up after `runner.RESTARTS` losses. The SuperLink is stood in for by the `flwr` calls the
runner makes (a real restart is a pod's; `tests/test_federated_flower.py` runs real ones)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from federated_learning import deploy
from hub.federated import runner as runner_module
from hub.federated.models import FederatedRun, RunStatus
from hub.state import hub_state
from tests.conftest import HubFactory
from yunfab.db import session_scope

pytestmark = pytest.mark.usefixtures("backend")


SUMMARY = {
    "rounds": 2, "statistics_rounds": 1, "nodes": [{"node_id": "11", "name": "zj"}],
    "per_round": [
        {"round": number, "train": {"seconds": 1.0, "nodes": {
            "11": {"name": "zj", "train_loss": loss, "train_examples": 30}}}}
        for number, loss in ((1, 0.69), (2, 0.4))
    ],
    "final": {"accuracy": 0.9},
}  # fmt: skip
"""What the run's ServerApp writes: its one node took part in both rounds."""


class RestartingSuperLink:
    """Knows only the runs started since its last restart; `lose` restarts it."""

    def __init__(self, blobs_root: Path, *, losses: int) -> None:
        self.blobs_root = blobs_root
        self.losses = losses
        self.started: list[dict[str, Any]] = []
        self.known: set[int] = set()

    def start_run(self, app: Path, connection: str, config: dict[str, Any], home: Path) -> int:
        self.started.append(config)
        flower_id = len(self.started)
        self.known.add(flower_id)
        return flower_id

    def run_status(self, flower_id: int, connection: str, home: Path) -> str:
        if self.losses > 0:  # the SuperLink restarts while the run goes
            self.losses -= 1
            self.known.clear()
        if flower_id not in self.known:
            raise deploy.FlowerCommandFailed(
                "flwr reported a failure: {'success': False, 'error-message': "
                "'[code: 16] Run ID not found.'}"
            )
        out = Path(str(self.started[flower_id - 1]["out-dir"]))
        out.mkdir(parents=True, exist_ok=True)
        (out / "global.npz").write_bytes(b"weights of run %d" % flower_id)
        (out / "summary.json").write_text(json.dumps(SUMMARY))
        return "finished:completed"


async def start_lost_run(
    hub_factory: HubFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, losses: int
) -> tuple[FederatedRun, RestartingSuperLink]:
    link = RestartingSuperLink(tmp_path, losses=losses)
    monkeypatch.setattr(deploy, "start_run", link.start_run)
    monkeypatch.setattr(deploy, "run_status", link.run_status)
    monkeypatch.setattr(deploy, "write_cli_config", lambda *_: None)
    async with hub_factory(flower_superlink="127.0.0.1:9", federated_poll_interval_s=0.01) as hub:
        state = hub_state(hub.app)
        async with session_scope(state.db.sessionmaker) as session:
            row = FederatedRun(
                label="fedavg x2", strategy="fedavg", rounds=2, min_nodes=1,
                config={"strategy": "fedavg", "rounds": 2, "min_nodes": 1}, started_by="test",
            )  # fmt: skip
            session.add(row)
        run = await state.federated_runner.drive(row.id)
    return run, link


async def test_a_run_the_superlink_lost_is_started_again_and_finishes(
    hub_factory: HubFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run, link = await start_lost_run(hub_factory, monkeypatch, tmp_path, losses=1)
    assert run.status is RunStatus.FINISHED, run.error
    assert len(link.started) == 2
    assert run.flower_run_id == "2"
    assert run.model_id is not None


async def test_a_run_lost_too_often_fails_with_the_reason(
    hub_factory: HubFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    losses = runner_module.RESTARTS + 1
    run, link = await start_lost_run(hub_factory, monkeypatch, tmp_path, losses=losses)
    assert run.status is RunStatus.FAILED
    assert len(link.started) == losses
    assert run.error is not None
    assert "lost" in run.error
