"""What may leave the node for the hub: never an image or a camera frame.

Images, frames and video stay on the node (seed 003: workers must not feel watched; factories do
not hand their parts' pictures to a platform). Every body the node sends the hub is checked here
before it is sent, whatever code built it, and one that carries picture data is refused:

- bytes of any kind (JSON has none; a body holding them was not meant for the wire);
- strings that are, or embed, an image file: a `data:image/...` or `data:video/...` URI, or
  base64 (standard or URL-safe) whose decoded start is a known image or video file signature;
- picture-shaped arrays: rows of values (or of channel tuples), at least 16 by 16 and more
  than `MAX_NUMERIC_CELLS` cells.

Metrics, counts, scores, boxes and model metadata pass: they are what the hub may see.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from regional_node.hub_link.errors import RawImageOutbound

MAX_NUMERIC_CELLS = 4096
"""A 64x64 picture; no summary the hub needs is that large a matrix."""
_MIN_SIDE = 16
_MIN_BASE64 = 64
_DATA_URI = re.compile(r"data:(image|video)/", re.IGNORECASE)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{64,}={0,2}")
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\x1aE\xdf\xa3", "Matroska/WebM video"),
    (b"P5\n", "PGM"),
    (b"P6\n", "PPM"),
)


def check(body: Any) -> None:
    """Raise `RawImageOutbound`, naming where, if `body` carries an image, frame or video."""
    _walk(body, "$")


def _walk(value: Any, where: str) -> None:
    if isinstance(value, bytes | bytearray | memoryview):
        raise RawImageOutbound(f"{where}: binary data may not be sent to the hub")
    if isinstance(value, str):
        kind = _picture_in(value)
        if kind is not None:
            raise RawImageOutbound(f"{where}: {kind} may not leave the node")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(key, f"{where} (a key)")
            _walk(item, f"{where}.{key}")
        return
    if isinstance(value, list | tuple):
        if _numeric_cells(value) > MAX_NUMERIC_CELLS:
            raise RawImageOutbound(f"{where}: a numeric matrix this large looks like pixels")
        for index, item in enumerate(value):
            _walk(item, f"{where}[{index}]")


def _numeric_cells(value: list[Any] | tuple[Any, ...]) -> int:
    """Cells of a picture-shaped array: at least `_MIN_SIDE` rows of at least `_MIN_SIDE`
    values each (numbers, or channel tuples); 0 for anything else, such as a long time series
    of (time, value) pairs."""
    if len(value) < _MIN_SIDE:
        return 0
    if not all(isinstance(row, list | tuple) and len(row) >= _MIN_SIDE for row in value):
        return 0
    return sum(len(row) for row in value)


def _picture_in(text: str) -> str | None:
    if _DATA_URI.search(text):
        return "an image or video data URI"
    if len(text) < _MIN_BASE64:
        return None
    for found in _BASE64_RUN.findall(text):
        # A picture's base64 may sit after other characters of the alphabet ("img/iVBOR..."):
        # try the alignments within the run's first sixteen characters.
        for run in (found[skip:] for skip in range(min(16, len(found) - 8))):
            kind = _signature(_decoded_head(run))
            if kind is not None:
                return kind
    return None


def _signature(head: bytes) -> str | None:
    if head:
        for signature, kind in _SIGNATURES:
            if head.startswith(signature):
                return f"{kind} image"
        if head[:2] == b"BM" and head[6:10] == b"\x00\x00\x00\x00":  # reserved, always zero
            return "BMP image"
        if head[4:8] == b"ftyp":
            return "MP4/MOV video"
        if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"AVI "):
            return "WebP image" if head[8:12] == b"WEBP" else "AVI video"
    return None


def _decoded_head(run: str) -> bytes:
    chunk = run[:64].rstrip("=")
    chunk += "=" * (-len(chunk) % 4)
    try:
        if "-" in chunk or "_" in chunk:
            return base64.urlsafe_b64decode(chunk)
        return base64.b64decode(chunk, validate=True)
    except (binascii.Error, ValueError):
        return b""
