"""Labelled image folders as factories keep them, read into 8-bit BGR arrays of any size.

The layout is MVTec AD's, simplified: `DIR/good/` holds good parts, every other folder a defect
class, and `DIR/masks/<class>/` optional masks named like their image (`<stem>.<ext>`, or
MVTec's `<stem>_mask.<ext>`). Photos come from phones, industrial cameras and scanners, so
reading accepts every format OpenCV decodes and normalises depth, channels and orientation here,
once, instead of in every model.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from vision_ml.headers import declared_size
from yunfab.errors import InvalidInput

GOOD = "good"
MASKS = "masks"
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})

Image = npt.NDArray[np.uint8]
"""HxWx3 uint8 in OpenCV's BGR order."""
Mask = npt.NDArray[np.uint8]
"""HxW uint8, 255 on the defect and 0 elsewhere."""


class DatasetError(InvalidInput, ValueError):
    """A folder or file that cannot be used as training or test data; the message names it."""

    code = "invalid_dataset"


@dataclass(frozen=True, eq=False)
class LabelledImage:
    path: Path
    label: str
    image: Image
    mask: Mask | None
    """The defect's pixels when the dataset has a mask for this image."""


def _natural_key(path: Path) -> list[str | int]:
    """`img2` before `img10`, as people number their files; split always alternates str, int."""
    parts = re.split(r"(\d+)", path.name.lower())
    return [int(part) if i % 2 else part for i, part in enumerate(parts)]


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")  # also macOS `._name` resource forks


def _image_files(folder: Path) -> list[Path]:
    files = [
        p
        for p in folder.iterdir()
        if _visible(p) and p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    ]
    return sorted(files, key=_natural_key)


def _file_bytes(path: Path) -> npt.NDArray[np.uint8]:
    try:
        data = np.fromfile(path, dtype=np.uint8)  # unlike cv2.imread, any characters in the path
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return data


def _decode(data: npt.NDArray[np.uint8], name: object, flags: int) -> npt.NDArray[np.generic]:
    if data.size == 0:
        raise DatasetError(f"cannot read {name}: the file is empty")
    try:
        decoded = cv2.imdecode(data, flags)
    except cv2.error as exc:
        raise DatasetError(f"cannot read {name}: OpenCV failed to decode it ({exc})") from exc
    if decoded is None or decoded.size == 0:
        raise DatasetError(f"cannot read {name}: not an image format OpenCV can decode")
    return np.asarray(decoded)


def _png_has_alpha(head: bytes) -> bool:
    """PNG colour types 4 and 6 carry alpha; byte 25 of every PNG is the IHDR colour type."""
    return len(head) >= 26 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[25] in (4, 6)


def _to_8bit(pixels: npt.NDArray[np.generic]) -> npt.NDArray[np.float32] | Image:
    """Scale 16-bit and float pixels to 0..255 by their range, never stretched to the content.

    Stretching each image to its own min/max would make two photos of the same part differ.
    """
    if pixels.dtype == np.uint8:
        return np.asarray(pixels, dtype=np.uint8)
    if pixels.dtype == np.uint16:
        return (pixels.astype(np.float32) / 257).astype(np.float32)
    if pixels.dtype == np.int8:
        return (pixels.astype(np.float32) + 128).astype(np.float32)
    if pixels.dtype == np.int16:
        return ((pixels.astype(np.float32) + 32768) / 257).astype(np.float32)
    # Float (and 32-bit integer) images are 0..1 by convention, but some tools write 0..255 or
    # 0..65535 floats: take the smallest of those ranges that holds the image.
    floats = np.nan_to_num(pixels.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(floats.max())
    scale = 255.0 if peak <= 1 else 1.0 if peak <= 255 else 1 / 257
    return np.asarray(np.clip(floats * scale, 0, 255), dtype=np.float32)


def _as_uint8(pixels: npt.NDArray[np.generic]) -> Image:
    if pixels.dtype == np.uint8:
        return np.asarray(pixels, dtype=np.uint8)
    return np.clip(np.rint(pixels.astype(np.float32)), 0, 255).astype(np.uint8)


def read_image(path: Path) -> Image:
    """Any image OpenCV decodes, as HxWx3 uint8 BGR at its own size (see `decode_image`)."""
    return decode_image(_file_bytes(path), name=path)


def decode_image(data: bytes | npt.NDArray[np.uint8], *, name: object = "the image") -> Image:
    """An image file's bytes (an upload, a file) as HxWx3 uint8 BGR at its own size.

    Grey becomes three equal channels, 16-bit and float depth are scaled to 8 bits, EXIF
    orientation is applied, and a PNG's transparency is flattened onto black (what lies under
    transparent pixels is arbitrary, and a detector should not learn it). Errors name `name`.
    """
    return decode_reduced(data, name=name)[0]


_REDUCED = {
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}


def decode_reduced(
    data: bytes | npt.NDArray[np.uint8], *, name: object = "the image", reduce_to: int | None = None
) -> tuple[Image, tuple[int, int]]:
    """As `decode_image`, reduced (aspect kept) to about `reduce_to` pixels when it holds more,
    with the (width, height) the file itself holds, upright.

    The reduction happens while decoding: a JPEG is decoded at 1/2, 1/4 or 1/8 of its size by
    the decoder itself, so its full size is never in memory; other formats are decoded whole
    and reduced at once, before their depth or transparency is converted (in float32, a large
    image would take four times its pixels again).
    """
    buffer = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data
    declared = declared_size(buffer.data)
    if _png_has_alpha(buffer[:26].tobytes()):
        pixels = _decode(buffer, name, cv2.IMREAD_UNCHANGED)
        size = (pixels.shape[1], pixels.shape[0])
        pixels = _reduced(pixels, reduce_to)
        if pixels.ndim == 3 and pixels.shape[2] == 4:
            colour = _to_8bit(pixels[..., :3]).astype(np.float32)
            alpha = _to_8bit(pixels[..., 3]).astype(np.float32)[..., None] / 255
            return _as_uint8(colour * alpha), size  # OpenCV reads grey + alpha as BGRA too
    else:
        # ANYCOLOR keeps grey one channel until the image is reduced (a third of the memory)
        # and, unlike IMREAD_UNCHANGED, applies EXIF rotation; ANYDEPTH keeps 16 bits so they
        # are scaled, not truncated.
        flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH
        factor = _decoder_reduction(buffer, declared, reduce_to)
        pixels = _decode(buffer, name, flags | _REDUCED[factor] if factor > 1 else flags)
        size = _upright_size(pixels.shape[:2], declared, factor)
        pixels = _reduced(pixels, reduce_to)
    image = _as_uint8(_to_8bit(pixels))
    if image.ndim == 2:
        image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    elif image.shape[2] == 4:
        image = image[..., :3]
    return np.ascontiguousarray(image), size


def _decoder_reduction(
    buffer: npt.NDArray[np.uint8], declared: tuple[int, int] | None, reduce_to: int | None
) -> int:
    """1, 2, 4 or 8: the largest JPEG scale that still leaves at least `reduce_to` pixels (only
    libjpeg scales while decoding; OpenCV decodes other formats whole and resizes them after)."""
    if reduce_to is None or declared is None or buffer[:2].tobytes() != b"\xff\xd8":
        return 1
    pixels = declared[0] * declared[1]
    return next((factor for factor in (8, 4, 2) if pixels >= reduce_to * factor * factor), 1)


def _upright_size(
    shape: tuple[int, ...], declared: tuple[int, int] | None, factor: int
) -> tuple[int, int]:
    """The file's own (width, height), turned as its EXIF orientation turned the pixels."""
    height, width = shape[0], shape[1]
    if factor == 1 or declared is None:
        return width, height
    across, down = declared
    if abs(across / factor - width) <= 1 and abs(down / factor - height) <= 1:
        return across, down
    return down, across


def _reduced(pixels: npt.NDArray[Any], reduce_to: int | None) -> npt.NDArray[Any]:
    height, width = pixels.shape[:2]
    if reduce_to is None or height * width <= reduce_to:
        return pixels
    scale = (reduce_to / (height * width)) ** 0.5
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA))


def read_mask(path: Path) -> Mask:
    """A mask image as 0/255: above half its brightest value counts, so 0/1 and 0/255 masks,
    coloured annotations, anti-aliased edges and JPEG ringing all read as meant."""
    pixels = _decode(_file_bytes(path), path, cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH)
    values = pixels.astype(np.float32)
    if values.ndim == 3:  # any colour marks the defect; a fourth (alpha) channel does not
        values = values[..., :3].max(axis=2)
    peak = float(values.max())
    if peak <= 0:
        return np.zeros(values.shape[:2], dtype=np.uint8)
    return np.where(values > peak / 2, 255, 0).astype(np.uint8)


def _mask_index(masks: Path) -> dict[str, Path]:
    """Image stem -> mask in `masks/<class>/`: `<stem>.<any>`, else MVTec's `<stem>_mask.<any>`."""
    if not masks.is_dir():
        return {}
    index: dict[str, Path] = {}
    mvtec: dict[str, Path] = {}
    for path in _image_files(masks):
        index.setdefault(path.stem, path)
        if path.stem.endswith("_mask"):
            mvtec.setdefault(path.stem.removesuffix("_mask"), path)
    return {**mvtec, **index}


def _existing_folder(folder: Path) -> None:
    if not folder.exists():
        raise DatasetError(f"dataset folder {folder} does not exist")
    if not folder.is_dir():
        raise DatasetError(f"dataset path {folder} is not a folder")


def load_folder(
    folder: Path, *, require_good: bool = True, limit_per_class: int | None = None
) -> list[LabelledImage]:
    """Every image under `folder/<class>/`, `good` first, then classes by name; files in
    natural order. `limit_per_class` keeps the first N of each class."""
    _existing_folder(folder)
    if limit_per_class is not None and limit_per_class < 1:
        raise ValueError(f"limit_per_class must be at least 1, got {limit_per_class}")
    classes = sorted(
        (p for p in folder.iterdir() if p.is_dir() and _visible(p) and p.name != MASKS),
        key=lambda p: (p.name != GOOD, p.name),
    )
    found = {c.name: _image_files(c)[:limit_per_class] for c in classes}
    if require_good and not found.get(GOOD):
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise DatasetError(
            f"no good images in {folder / GOOD} (expected {GOOD}/ with {suffixes} files)"
        )
    if not any(found.values()):
        raise DatasetError(
            f"no images in {folder}: expected class folders such as {GOOD}/ holding images"
        )
    items = []
    for label, files in found.items():
        masks = {} if label == GOOD else _mask_index(folder / MASKS / label)
        for path in files:
            image = read_image(path)
            mask = None
            mask_path = masks.get(path.stem)
            if mask_path is not None:
                mask = read_mask(mask_path)
                if mask.shape != image.shape[:2]:
                    raise DatasetError(
                        f"mask {mask_path} is {mask.shape[1]}x{mask.shape[0]} but its image "
                        f"{path} is {image.shape[1]}x{image.shape[0]}"
                    )
            items.append(LabelledImage(path, label, image, mask))
    return items


def load_images(folder: Path) -> list[tuple[Path, Image]]:
    """The images directly in `folder` (not its subfolders), in natural order."""
    _existing_folder(folder)
    files = _image_files(folder)
    if not files:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise DatasetError(f"no images in {folder} (looked for {suffixes} files)")
    return [(path, read_image(path)) for path in files]


class _Labelled(Protocol):
    @property
    def label(self) -> str: ...


T = TypeVar("T", bound=_Labelled)


def split(items: Sequence[T], *, holdout: float, seed: int) -> tuple[list[T], list[T]]:
    """(kept, held out): about `holdout` of every label held out, each label with at least one
    item on each side when it has two; both lists keep the input order."""
    if not 0 <= holdout < 1:
        raise ValueError(f"holdout must be in [0, 1), got {holdout}")
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        by_label[item.label].append(index)
    rng = np.random.default_rng(seed)
    held: set[int] = set()
    for label in sorted(by_label):
        indices = by_label[label]
        count = round(len(indices) * holdout)
        if holdout > 0 and len(indices) >= 2:
            count = min(max(count, 1), len(indices) - 1)
        chosen = rng.permutation(len(indices))[:count]
        held.update(indices[i] for i in chosen)
    kept = [item for i, item in enumerate(items) if i not in held]
    return kept, [item for i, item in enumerate(items) if i in held]
