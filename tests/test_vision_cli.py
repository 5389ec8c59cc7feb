"""`yunfab demo-data vision`, `vision train|eval|inspect|push` as people use them: sample data
to start from, models kept under the node's data folder, every image's verdict, heatmaps, a model
trained on a PC registered at a node, and progress that never reaches a pipe."""

from __future__ import annotations

import asyncio
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from regional_node.state import node_state
from regional_node.vision import service as vision_service
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import operator_headers
from tests.support import served
from tests.test_vision_api import NODE_URL, factory_staff
from yunfab import progress
from yunfab.processes import free_port
from yunfab_cli.main import app

MODELS = "query($f: UUID!) { visionModels(factoryId: $f) { sku number kind digest } }"


def _invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@dataclass(frozen=True)
class Trained:
    samples: Path
    data_dir: Path
    workdir: Path
    """The empty folder `vision train` ran in."""
    summary: dict[str, Any]
    stderr: str


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Sample data from `demo-data vision`, and a model `vision train` made from it, run in an
    empty working folder with the node's data folder set."""
    root = tmp_path_factory.mktemp("vision-cli")
    samples, data_dir, workdir = root / "samples", root / "node-data", root / "work"
    code, out, err = _invoke(
        *("demo-data", "vision", "--sku", "bracket", "--out", str(samples)),
        *("--good", "8", "--defective", "2", "--size", "128"),
    )
    assert code == 0, err
    assert json.loads(out)["test"] == str(samples / "test")
    assert len(list((samples / "train" / "good").glob("*.png"))) == 8
    assert len(list((samples / "test" / "good").glob("*.png"))) == 2
    folders = sorted(p.name for p in (samples / "test").iterdir())
    assert folders == ["dent", "good", "masks", "scratch"]

    workdir.mkdir()
    before = Path.cwd()
    os.chdir(workdir)
    try:
        code, out, err = _invoke(
            *("vision", "train", "--sku", "bracket", "--good", str(samples / "train")),
            env={"YUNFAB_NODE_DATA_DIR": str(data_dir)},
        )
    finally:
        os.chdir(before)
    assert code == 0, err
    return Trained(samples, data_dir, workdir, json.loads(out), err)


def test_train_keeps_the_model_under_the_data_folder_and_warns_of_thin_calibration(
    trained: Trained,
) -> None:
    model = Path(trained.summary["model"])
    assert model.is_file()
    assert model.parent == trained.data_dir.resolve() / "vision-models" / "bracket"
    assert list(trained.workdir.iterdir()) == []  # nothing in the working folder
    # The warning is one line on stderr, and there is no progress (stderr is no terminal).
    assert trained.stderr.splitlines() == [trained.stderr.strip()]
    assert trained.stderr.startswith(
        "yunfab: warning: only 2 held-out good images set the threshold"
    )


def test_eval_lists_every_image_with_its_verdict(
    trained: Trained,
) -> None:
    samples, data_dir = trained.samples, trained.data_dir
    code, out, err = _invoke(
        *("vision", "eval", "--sku", "bracket", "--data", str(samples / "test")),
        *("--data-dir", str(data_dir)),
    )
    assert code == 0, err
    assert err == ""  # no progress into a pipe
    report = json.loads(out)
    assert report["image_auroc"] is not None
    rows = report["per_image"]
    assert len(rows) == report["images"] == 4
    assert {row["label"] for row in rows} == {"good", "dent", "scratch"}
    for row in rows:
        assert set(row) == {"path", "label", "score", "verdict", "defect_class", "outcome"}
        assert Path(row["path"]).is_file()
        expected = "ok"
        if row["label"] == "good" and row["verdict"] == "defective":
            expected = "false_alarm"
        elif row["label"] != "good" and row["verdict"] == "good":
            expected = "miss"
        assert row["outcome"] == expected


def test_inspect_gives_verdicts_heatmaps_and_an_exit_code_only_when_asked(
    trained: Trained, tmp_path: Path
) -> None:
    samples, data_dir, summary = trained.samples, trained.data_dir, trained.summary
    good = sorted((samples / "test" / "good").glob("*.png"))[0]
    image = cv2.imread(str(good))
    assert image is not None
    flawed = image.copy()
    cv2.line(flawed, (30, 30), (90, 70), (15, 15, 15), 5)  # a gouge no good part has
    gouged = tmp_path / "gouged.png"
    cv2.imwrite(str(gouged), flawed)
    heatmaps = tmp_path / "heat"
    args = ["vision", "inspect", str(good), str(gouged), "--sku", "bracket"]
    args += ["--data-dir", str(data_dir), "--heatmap-dir", str(heatmaps)]

    code, out, err = _invoke(*args)
    assert code == 0, err
    rows = json.loads(out)["images"]
    assert [row["verdict"] for row in rows] == ["good", "defective"]
    assert all(row["threshold"] == summary["threshold"] for row in rows)
    assert rows[1]["score"] > rows[0]["score"]
    overlay = cv2.imread(rows[1]["heatmap"])
    assert overlay is not None
    assert overlay.shape == image.shape

    code, _, _ = _invoke(*args, "--fail-on-defect")
    assert code == 1
    code, _, _ = _invoke(*args[:3], "--sku", "bracket", "--data-dir", str(data_dir))
    assert code == 0  # a good part alone passes either way


def test_progress_is_drawn_only_at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, drawn in ((io.StringIO(), False), (Terminal(), True)):
        monkeypatch.setattr("sys.stderr", stream)
        assert list(progress.track(range(3), "counting")) == [0, 1, 2]
        progress.stage("a stage")
        assert bool(stream.getvalue()) is drawn


async def test_push_registers_a_local_model_at_a_node(
    trained: Trained,
    hub_factory: HubFactory,
    node_factory: NodeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data_dir, summary = trained.data_dir, trained.summary
    model = Path(str(summary["model"]))
    content = model.read_bytes()
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        other, _ = await factory_staff(hub, node, operator, "Cixi Castings")
        path = f"/api/v1/factories/{factory['slug']}/vision-models"

        async def push(headers: dict[str, str] | None, data: bytes = content, sku: str = "bracket"):
            files = {"model": ("bracket.pt", data, "application/octet-stream")}
            return await node.client.post(path, data={"sku": sku}, files=files, headers=headers)

        async def registered() -> list[dict[str, object]]:
            found = await node.graphql(MODELS, {"f": factory["id"]}, headers=staff)
            return list(found["visionModels"])

        def stored() -> list[Path]:
            return sorted((node_state(node.app).runtime.vision.directory).rglob("*"))

        # Refused before anything is read or stored: no token, another factory's people, a
        # body over the cap, a file that is not a model (a pickle that would run code), a model
        # for another SKU.
        assert (await push(None)).status_code == 401
        denied = await push(other)
        assert denied.status_code == 404
        assert denied.json()["error"] == "factory_not_found"
        with monkeypatch.context() as patched:
            patched.setattr(vision_service, "MAX_MODEL_BYTES", 1024)
            assert (await push(staff)).status_code == 413
        buffer = io.BytesIO()
        torch.save({"format": "x", "payload": np.random.default_rng(0)}, buffer)
        malicious = await push(staff, buffer.getvalue())
        assert malicious.status_code == 422
        assert malicious.json()["error"] == "invalid_vision_model"
        wrong = await push(staff, sku="cover")
        assert wrong.status_code == 422
        assert "bracket" in wrong.json()["detail"]
        assert await registered() == []
        assert [p for p in stored() if p.is_file()] == []

        # The command line, against the node served over HTTP, with the staff's token.
        token = staff["authorization"].removeprefix("Bearer ")
        async with served(node.app, free_port(), lifespan="off") as url:
            code, out, err = await asyncio.to_thread(
                _invoke,
                *("vision", "push", "--sku", "bracket", "--factory", factory["slug"]),
                *("--node", url, "--data-dir", str(data_dir)),
                env={"YUNFAB_TOKEN": token},
            )
        assert code == 0, err
        pushed = json.loads(out)
        assert (pushed["sku"], pushed["number"]) == ("bracket", 1)
        assert pushed["digest"] == summary["version"]  # recomputed, the same weights
        assert pushed["lineage"]["source"] == "pushed"
        assert pushed["metrics"]["image_threshold"] == pytest.approx(summary["threshold"], 1e-3)
        assert await registered() == [
            {"sku": "bracket", "number": 1, "kind": "anomaly", "digest": summary["version"]}
        ]
        # By the factory's id too, as the next version.
        again = await node.client.post(
            f"/api/v1/factories/{factory['id']}/vision-models",
            data={"sku": "bracket"},
            files={"model": ("bracket.pt", content, "application/octet-stream")},
            headers=staff,
        )
        assert again.status_code == 201, again.text
        assert again.json()["number"] == 2
