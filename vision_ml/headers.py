"""The size an image file declares in its header, read without decoding a pixel.

A small compressed file can declare a huge image (a decompression bomb: a 50 KB PNG of zeros
decodes to 150 MB), so uploads are sized and refused, or reduced, from these few bytes first.
PNG, JPEG, BMP, WebP and TIFF are read; other formats answer None, and uploads in them are
refused undecoded (`engine.VisionEngine.declared_size`): a 600 KB Radiance HDR decodes to 9 Mpx of
float32, and OpenCV's own pixel limit (set in `vision_ml`) is only a second line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Header = bytes | memoryview
"""A file's bytes, or a view of them (no copy of a large upload just to read its header)."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_FRAMES = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
_JPEG_UNSIZED = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn carry no length


def declared_size(data: Header) -> tuple[int, int] | None:
    """(width, height) from the file's header, or None when the format is not one read here or
    the header is cut short. Only the first bytes are looked at (a JPEG's up to its frame)."""
    for reader in _READERS:
        size = reader(data)
        if size is not None:
            return size
    return None


def _png(data: Header) -> tuple[int, int] | None:
    if data[:8] != PNG_SIGNATURE or len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _jpeg(data: Header) -> tuple[int, int] | None:
    if data[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker in _JPEG_UNSIZED:
            at += 2
            continue
        if marker in _JPEG_FRAMES:
            height = int.from_bytes(data[at + 5 : at + 7], "big")
            width = int.from_bytes(data[at + 7 : at + 9], "big")
            return width, height
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return None


def _bmp(data: Header) -> tuple[int, int] | None:
    if data[:2] != b"BM" or len(data) < 26:
        return None
    if int.from_bytes(data[14:18], "little") == 12:  # OS/2 core header: 16-bit sizes
        return int.from_bytes(data[18:20], "little"), int.from_bytes(data[20:22], "little")
    width = int.from_bytes(data[18:22], "little", signed=True)
    height = int.from_bytes(data[22:26], "little", signed=True)  # negative: rows top-down
    return abs(width), abs(height)


def _webp(data: Header) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8 ":
        return (
            int.from_bytes(data[26:28], "little") & 0x3FFF,
            int.from_bytes(data[28:30], "little") & 0x3FFF,
        )
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return (
            int.from_bytes(data[24:27], "little") + 1,
            int.from_bytes(data[27:30], "little") + 1,
        )
    return None


def _tiff(data: Header) -> tuple[int, int] | None:
    """The first image's size (the one OpenCV decodes); BigTIFF is not read."""
    order: Literal["little", "big"]
    if data[:4] == b"II*\x00":
        order = "little"
    elif data[:4] == b"MM\x00*":
        order = "big"
    else:
        return None
    start = int.from_bytes(data[4:8], order)
    count = int.from_bytes(data[start : start + 2], order)
    found: dict[int, int] = {}
    for index in range(count):
        at = start + 2 + 12 * index
        entry = data[at : at + 12]
        if len(entry) < 12:
            return None
        tag = int.from_bytes(entry[0:2], order)
        kind = int.from_bytes(entry[2:4], order)
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT or LONG
            found[tag] = int.from_bytes(entry[8:10] if kind == 3 else entry[8:12], order)
    if 256 in found and 257 in found:
        return found[256], found[257]
    return None


_READERS: tuple[Callable[[Header], tuple[int, int] | None], ...] = (_png, _jpeg, _bmp, _webp, _tiff)
