"""The blob store behind one interface, one suite against each implementation: the embedded
directory and S3 on a real SeaweedFS server. Then two node replicas with their own disks on one
database and one bucket: a model trained through one inspects parts through the other, and an
image kept by the other is served by the first (issue #22)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import operator_headers
from tests.seaweed import SeaweedS3, seaweed_s3
from tests.test_vision_api import BRACKET, INSPECT, SIZE, b64, decoded, factory_staff
from tests.test_vision_api import station_running as trained_station
from yunfab.blobs import BlobError, BlobNotFound, BlobStore, FileBlobStore, S3BlobStore
from yunfab_demo.synthetic import generate

__all__ = ["seaweed_s3"]  # the fixture, used by name

NODE_URL = "http://zj-textile.test"
# One bucket for all (a SeaweedFS bucket is a collection with volumes of its own); each test
# writes under a prefix of its own.
BUCKET = "yunfab-tests"


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "filesystem":
        yield FileBlobStore(tmp_path / "blobs")
        return
    server: SeaweedS3 = request.getfixturevalue("seaweed_s3")
    s3 = S3BlobStore(server.location(BUCKET, prefix=f"t-{uuid.uuid4().hex[:12]}"))
    s3.ensure_bucket()
    yield s3


def test_bytes_round_trip_and_overwrite(store: BlobStore) -> None:
    assert not store.exists("vision/a/b.jpg")
    store.put_bytes("vision/a/b.jpg", b"first")
    assert store.exists("vision/a/b.jpg")
    assert store.get_bytes("vision/a/b.jpg") == b"first"
    store.put_bytes("vision/a/b.jpg", b"second, longer")
    assert store.get_bytes("vision/a/b.jpg") == b"second, longer"


def test_a_missing_object_is_not_found_and_leaves_no_file(store: BlobStore, tmp_path: Path) -> None:
    with pytest.raises(BlobNotFound) as raised:
        store.get_bytes("vision/none.pt")
    assert "vision/none.pt" in str(raised.value)
    target = tmp_path / "here" / "none.pt"
    with pytest.raises(BlobNotFound):
        store.download("vision/none.pt", target)
    assert not target.exists()
    assert not (target.parent.exists() and any(target.parent.iterdir()))


def test_a_large_file_streams_up_and_down_intact(store: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "model.pt"
    with source.open("wb") as out:  # 20 MiB: several multipart parts on S3
        for _ in range(20):
            out.write(os.urandom(1024 * 1024))
    store.put_file("vision/f/models/bracket-v1.pt", source)
    target = tmp_path / "copy" / "bracket-v1.pt"
    store.download("vision/f/models/bracket-v1.pt", target)
    assert (
        hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    )
    assert not list(target.parent.glob(".*partial"))


def test_chunks_stream_an_object_and_a_missing_one_fails_at_once(store: BlobStore) -> None:
    """What the hub streams an artifact to a node with: `BlobNotFound` before any byte, so an
    HTTP response can still be a 404."""
    data = os.urandom(3 * 1024 * 1024 + 5)
    store.put_bytes("market/sha256/ab/artifact", data)
    chunks = list(store.chunks("market/sha256/ab/artifact", size=1024 * 1024))
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) <= 1024 * 1024
    with pytest.raises(BlobNotFound):
        store.chunks("market/sha256/ab/none")


def test_delete_removes_and_is_idempotent(store: BlobStore) -> None:
    store.put_bytes("k/x", b"1")
    store.delete("k/x")
    assert not store.exists("k/x")
    store.delete("k/x")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/./b", "a/../b", "", "a b"])
def test_keys_outside_the_store_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="not a valid object key"):
        store.put_bytes(key, b"x")


def test_an_unfinished_multipart_upload_is_never_visible(seaweed_s3: SeaweedS3) -> None:
    s3 = S3BlobStore(seaweed_s3.location(BUCKET, prefix=f"t-{uuid.uuid4().hex[:12]}"))
    s3.ensure_bucket()
    client = s3._client
    bucket = s3.location.bucket
    key = f"{s3.prefix}/vision/half.pt"
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)
    client.upload_part(
        Bucket=bucket,
        Key=key,
        UploadId=upload["UploadId"],
        PartNumber=1,
        Body=os.urandom(5 * 1024 * 1024),
    )
    # The writer dies here: nothing is under the key.
    assert not s3.exists("vision/half.pt")
    with pytest.raises(BlobNotFound):
        s3.get_bytes("vision/half.pt")


def test_wrong_s3_credentials_are_an_error_not_a_silent_miss(seaweed_s3: SeaweedS3) -> None:
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    good = S3BlobStore(seaweed_s3.location(BUCKET, prefix=prefix))
    good.ensure_bucket()
    good.put_bytes("x", b"1")
    bad = S3BlobStore(dataclasses.replace(good.location, secret_access_key="not-the-secret"))
    with pytest.raises(BlobError) as raised:
        bad.get_bytes("x")
    assert not isinstance(raised.value, BlobNotFound)


@pytest.mark.slow
async def test_replicas_share_models_and_kept_images_through_s3(
    hub_factory: HubFactory, node_factory: NodeFactory, seaweed_s3: SeaweedS3, tmp_path: Path
) -> None:
    prefix = f"node-{uuid.uuid4().hex[:12]}"
    s3 = {
        "blob_store": "s3",
        "s3_bucket": BUCKET,
        "s3_prefix": prefix,
        "s3_endpoint_url": seaweed_s3.endpoint_url,
        "s3_access_key_id": seaweed_s3.access_key_id,
        "s3_secret_access_key": seaweed_s3.secret_access_key,
    }
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, data_dir=tmp_path / "replica-a", **s3) as replica_a,
        node_factory(hub=hub, data_dir=tmp_path / "replica-b", **s3) as replica_b,
    ):
        operator = await operator_headers(hub, NODE_URL)
        staff, factory = await factory_staff(hub, replica_a, operator, "Ningbo Brackets")
        brackets = [s.image for s in generate(BRACKET, good=8, size=SIZE, seed=0)]
        station, model = await trained_station(
            replica_a, staff, factory["id"], "cell-1", brackets[:7]
        )
        # Replica B never trained it and has its own empty disk: it reads the model from S3.
        assert not list((tmp_path / "replica-b").rglob("*.pt"))
        inspected = (
            await replica_b.graphql(
                INSPECT, {"s": station["id"], "image": b64(brackets[7])}, headers=staff
            )
        )["inspectPart"]
        assert inspected["record"]["verdict"]
        assert inspected["record"]["imageKept"] is True
        # The image B kept is served by A, which never saw it.
        response = await replica_a.client.get(
            f"/api/v1/quality-records/{inspected['record']['id']}/image", headers=staff
        )
        assert response.status_code == 200, response.text
        assert decoded(response.content).shape[:2] == (SIZE, SIZE)
        store = S3BlobStore(seaweed_s3.location(BUCKET, prefix=prefix))
        assert store.exists(f"vision/{model_file(tmp_path / 'replica-a')}")


def model_file(data_dir: Path) -> str:
    """The model's key: its path under the replica's vision directory."""
    (path,) = (data_dir / "vision").rglob("*.pt")
    return path.relative_to(data_dir / "vision").as_posix()
