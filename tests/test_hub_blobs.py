"""The hub's files in S3 (issue #22): two hub replicas on one PostgreSQL database and one
SeaweedFS bucket, each with a data directory of its own, serve the same market artifacts,
federated models and run outputs; the embedded default (files under the data directory) is
covered by the market's and federated runs' own tests."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from hub.federated import service as federated
from hub.federated.market_listing import KEY
from hub.federated.models import FederatedRun
from hub.settings import HubSettings
from hub.state import hub_state
from tests.conftest import HubFactory
from tests.seaweed import SeaweedS3, seaweed_s3
from tests.test_market_hub import ARTIFACT, Node, Publisher, reviewer_headers
from yunfab import market
from yunfab.blobs import S3BlobStore
from yunfab.db import session_scope

__all__ = ["seaweed_s3"]  # the fixture, used by name

BUCKET = "yunfab-hub-tests"


@pytest.fixture
def backend() -> str:
    return "postgresql"  # replicas share one server database


def s3_settings(server: SeaweedS3, prefix: str) -> dict[str, Any]:
    return {
        "blob_store": "s3",
        "s3_bucket": BUCKET,
        "s3_prefix": prefix,
        "s3_endpoint_url": server.endpoint_url,
        "s3_access_key_id": server.access_key_id,
        "s3_secret_access_key": server.secret_access_key,
    }


def test_an_s3_store_needs_its_bucket_and_a_key_its_secret(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="s3_bucket"):
        HubSettings(data_dir=tmp_path, blob_store="s3")
    with pytest.raises(ValidationError, match="s3_secret_access_key"):
        HubSettings(data_dir=tmp_path, blob_store="s3", s3_bucket="b", s3_access_key_id="k")
    assert HubSettings(data_dir=tmp_path).blob_location() is None
    location = HubSettings(data_dir=tmp_path, blob_store="s3", s3_bucket="b").blob_location()
    assert location is not None
    assert (location.bucket, location.prefix) == ("b", "hub")


@pytest.mark.slow
async def test_replicas_share_artifacts_models_and_run_outputs_through_s3(
    hub_factory: HubFactory, seaweed_s3: SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"hub-{uuid.uuid4().hex[:12]}"
    s3 = s3_settings(seaweed_s3, prefix)
    store = S3BlobStore(seaweed_s3.location(BUCKET, prefix=prefix))
    async with (
        hub_factory(data_dir=tmp_path / "a", **s3) as a,
        hub_factory(data_dir=tmp_path / "b", **s3) as b,
    ):
        # A publisher uploads a release through replica A ...
        reviewer = await reviewer_headers(a)
        publisher = await Publisher(a, "Feilong Apps").join(reviewer)
        release = await publisher.release(pricing={"model": "free"})
        digest = release["artifact_sha256"]
        assert store.get_bytes(f"market/sha256/{digest[:2]}/{digest}") == ARTIFACT
        node = await Node(a, "zj-seats").join()
        installed = (await node.install(release=release["id"]))["requestInstallation"]
        assert installed["status"] == "APPROVED"
        # ... and the node downloads it through replica B, whose disk never had it.
        fetched = await b.client.get(f"/api/v1/market/artifacts/{digest}", headers=node.headers)
        assert fetched.status_code == 200, fetched.text
        assert fetched.content == ARTIFACT
        assert not [p for p in (tmp_path / "b").rglob("*") if p.is_file() and digest in p.name]

        # A federated run's ServerApp (SuperLink in a pod of its own) puts its outputs into
        # the bucket; a runner on replica B records the model from there.
        async with session_scope(hub_state(a.app).db.sessionmaker) as session:
            run = FederatedRun(
                label="fedavg x2", strategy="fedavg", rounds=2, min_nodes=1,
                config={"strategy": "fedavg", "rounds": 2, "min_nodes": 1}, started_by="test",
            )  # fmt: skip
            session.add(run)
            await session.flush()
            run_id = run.id
        runner = hub_state(b.app).federated_runner
        config = federated.request_of(run).run_config(tmp_path / "superlink" / "out", run_id)
        config.update(runner.out_store(run_id))
        weights = [np.arange(6, dtype=np.float32).reshape(2, 3)]
        write_run_outputs(config, weights, seaweed_s3, monkeypatch)
        assert not (tmp_path / "b" / "federated").exists()
        summary = await runner.output(run_id, "summary.json")
        data = await runner.output(run_id, "global.npz")
        assert summary is not None
        assert data is not None
        async with session_scope(hub_state(b.app).db.sessionmaker) as session:
            model = await federated.record_finished(
                session, run_id, summary=json.loads(summary), weights=data, blobs=runner.blobs,
            )  # fmt: skip
            model_file, model_digest = model.file, model.digest
        assert store.get_bytes(f"models/{model_file}") == data
        assert market.sha256_hex(data) == model_digest
        # Its market release's artifact and the hub's signing key are in the bucket too.
        assert store.get_bytes(f"market/sha256/{model_digest[:2]}/{model_digest}") == data
        assert market.load_private_key(store.get_bytes(KEY)) is not None
        assert not list((tmp_path / "b").rglob("*.npz"))
        assert not list((tmp_path / "b").rglob("*.pem"))


RUN_SUMMARY = {
    "rounds": 2, "statistics_rounds": 1, "nodes": [{"node_id": "11", "name": "zj"}],
    "per_round": [
        {"round": 1, "train": {"seconds": 1.0, "nodes": {
            "11": {"name": "zj", "train_loss": 0.69, "train_examples": 30}}}},
        {"round": 2, "train": {"seconds": 1.0, "nodes": {
            "11": {"name": "zj", "train_loss": 0.41, "train_examples": 30}}}},
    ],
    "final": {"eval_auroc": 0.9},
}  # fmt: skip
"""The summary of a run whose one node took part in both rounds."""


def write_run_outputs(
    config: dict[str, Any],
    weights: list[np.ndarray],
    server: SeaweedS3,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the ServerApp does at a run's end, with the SuperLink pod's S3 credentials."""
    from federated_learning.server_app import RunSettings, write_outputs

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_access_key)
    settings = RunSettings.from_run_config(config, run_id=7)
    assert settings.out_store is not None
    write_outputs(settings.out_dir, weights, RUN_SUMMARY, settings)
    saved = np.load(io.BytesIO((settings.out_dir / "global.npz").read_bytes()))
    assert np.array_equal(saved["arr_0"], weights[0])
