"""Object storage for what a service keeps beside its database: inspection models and images
today. The embedded default is a directory; scaled out, an S3-compatible store (SeaweedFS,
MinIO, Ceph RGW, AWS S3) that every replica and worker reads.

Both keep one promise: nothing half-written is ever visible under a key. The directory writes a
temporary file and renames it over the key; S3 shows an object only once its upload (single or
multipart) completes. Uploads stream from a file in parts, so a large model never sits in memory
whole. The interface is synchronous: its callers (model training and loading) run in worker
threads, off the event loop.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

CHUNK_BYTES = 1024 * 1024
_KEY = re.compile(r"[A-Za-z0-9._\-]+(/[A-Za-z0-9._\-]+)*")
MAX_KEY_LENGTH = 512


class BlobError(Exception):
    """The store could not do what was asked (unreachable, refused, misconfigured)."""


class BlobNotFound(BlobError, KeyError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"no object {self.key!r}"


def checked_key(key: str) -> str:
    """A key is a relative path of plain segments: no `..`, no leading slash, no odd bytes."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise ValueError(f"not a valid object key: {key!r}")
    if any(part in {".", ".."} for part in key.split("/")):
        raise ValueError(f"not a valid object key: {key!r}")
    return key


class BlobStore(Protocol):
    name: str

    def put_file(self, key: str, source: Path) -> None:
        """Store the file's bytes under `key` (streamed), visible only once complete."""

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def get_bytes(self, key: str) -> bytes:
        """The object's bytes; `BlobNotFound` when there is none."""

    def download(self, key: str, target: Path) -> None:
        """The object written to `target` (streamed; `target` appears only once complete)."""

    def chunks(self, key: str, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The object's bytes as they are read, to stream it on (an HTTP response): opened at
        the call, so `BlobNotFound` is raised there, not at the first chunk."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; no error when there is none."""

    def local_path(self, key: str) -> Path | None:
        """Where the object already lies on this machine's disk, if the store is a directory."""


class FileBlobStore:
    """Objects as files under one directory (the embedded default)."""

    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / checked_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"not a valid object key: {key!r}")
        return path

    def _write(self, key: str, write: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
            os.replace(partial, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise

    def put_file(self, key: str, source: Path) -> None:
        if source.resolve() == self._path(key):
            return  # already in place
        with source.open("rb") as src:
            self._write(key, lambda out: shutil.copyfileobj(src, out, 1024 * 1024))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda out: out.write(data))

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def download(self, key: str, target: Path) -> None:
        source = self._path(key)
        if not source.is_file():
            raise BlobNotFound(key)
        if source == target.resolve():
            return
        _atomic_copy(source, target)

    def chunks(self, key: str, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        try:
            handle = self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(key) from None
        return _read_chunks(handle, size)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


def _read_chunks(handle: Any, size: int) -> Iterator[bytes]:
    try:
        while chunk := handle.read(size):
            yield chunk
    finally:
        handle.close()


def _atomic_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1024 * 1024)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


@dataclass(frozen=True)
class S3Location:
    bucket: str
    endpoint_url: str | None = None
    """None: AWS itself; else the S3 API of SeaweedFS, MinIO, Ceph RGW..."""
    prefix: str = ""
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    """None for both: the SDK's own chain (environment, instance role)."""


class S3BlobStore:
    """Objects in an S3 bucket (path-style addressing, so any S3-compatible server works)."""

    name = "s3"
    PART_BYTES = 8 * 1024 * 1024

    def __init__(self, location: S3Location) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.location = location
        self.prefix = location.prefix.strip("/")
        if self.prefix:
            checked_key(self.prefix)
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=location.endpoint_url,
            region_name=location.region,
            aws_access_key_id=location.access_key_id,
            aws_secret_access_key=location.secret_access_key,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 4, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )
        self._transfer = TransferConfig(
            multipart_threshold=self.PART_BYTES,
            multipart_chunksize=self.PART_BYTES,
            max_concurrency=2,
        )

    def _key(self, key: str) -> str:
        key = checked_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, key: str | None, call: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if key is not None and code in {"NoSuchKey", "404", "NotFound"}:
                raise BlobNotFound(key) from None
            raise BlobError(f"S3 {what} failed: {code or exc}") from exc
        except BotoCoreError as exc:
            raise BlobError(f"S3 {what} failed: {exc}") from exc

    def ensure_bucket(self) -> None:
        """Create the bucket when it is missing (a store the deployment made is left as is)."""
        from botocore.exceptions import ClientError

        try:
            self._client.head_bucket(Bucket=self.location.bucket)
            return
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code not in {"404", "NoSuchBucket", "NotFound"}:
                raise BlobError(f"S3 bucket {self.location.bucket!r}: {code or exc}") from exc
        self._call(
            "create bucket", None, lambda: self._client.create_bucket(Bucket=self.location.bucket)
        )

    def put_file(self, key: str, source: Path) -> None:
        full = self._key(key)
        self._call(
            "upload",
            None,
            lambda: self._client.upload_file(
                str(source), self.location.bucket, full, Config=self._transfer
            ),
        )

    def put_bytes(self, key: str, data: bytes) -> None:
        full = self._key(key)
        self._call(
            "upload",
            None,
            lambda: self._client.put_object(Bucket=self.location.bucket, Key=full, Body=data),
        )

    def get_bytes(self, key: str) -> bytes:
        full = self._key(key)
        body = self._call(
            "read", key, lambda: self._client.get_object(Bucket=self.location.bucket, Key=full)
        )["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    def download(self, key: str, target: Path) -> None:
        full = self._key(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=target.parent
        )
        os.close(fd)
        try:
            self._call(
                "download",
                key,
                lambda: self._client.download_file(
                    self.location.bucket, full, partial, Config=self._transfer
                ),
            )
            os.replace(partial, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise

    def chunks(self, key: str, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        full = self._key(key)
        body = self._call(
            "read", key, lambda: self._client.get_object(Bucket=self.location.bucket, Key=full)
        )["Body"]
        return _read_chunks(body, size)

    def exists(self, key: str) -> bool:
        full = self._key(key)
        try:
            self._call(
                "stat", key, lambda: self._client.head_object(Bucket=self.location.bucket, Key=full)
            )
        except BlobNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        full = self._key(key)
        self._call(
            "delete",
            None,
            lambda: self._client.delete_object(Bucket=self.location.bucket, Key=full),
        )

    def local_path(self, key: str) -> Path | None:
        return None
