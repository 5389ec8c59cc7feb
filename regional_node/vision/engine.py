"""The node's vision work off the event loop: models trained and run in worker threads, loaded
models kept in a small cache, and image files kept under the node's data directory.

Training takes every core it is given and runs one at a time; inspections run side by side up
to `inference_slots`. torch and the backbone are imported on first use, so console commands that
never inspect anything start fast.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from regional_node.vision.errors import ImageRejected, VisionUnavailable
from vision_ml.datasets import DatasetError, Image, decode_reduced
from vision_ml.headers import declared_size
from vision_ml.progress import Progress
from yunfab.blobs import BlobNotFound, BlobStore
from yunfab.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from vision_ml.training import Example, TrainedModel

T = TypeVar("T")
HEATMAP_SIDE = 256
"""Heatmaps come back at most this many pixels on their long side: enough to see where."""
INSPECT_PIXELS = 8_000_000
"""Larger inspection images are reduced to about this many pixels as they are decoded: the model
sees far fewer (`features.INPUT_AREA`), and the kept image stays large enough to judge by eye."""
TRAINING_PIXELS = 4 * 256 * 256
"""Training images are reduced to about this many pixels as they are decoded: the most a new
model works an image at (`features.TILED_AREA`, two tiles of the backbone's input), so a long or
large shot trained on the node keeps the resolution `yunfab vision train` gives it, and thousands
of images still fit in memory at once."""
ACCEPTED_FORMATS = "PNG, JPEG, BMP, WebP or TIFF"
"""The formats an upload may be in: those whose header `headers.declared_size` reads."""


def _ml(module: str) -> Any:
    """A vision module that needs torch and the backbone (the `ml` extra)."""
    try:
        return importlib.import_module(f"vision_ml.{module}")
    except ImportError as exc:
        raise VisionUnavailable(
            f"inspection models need the ml extra on this node (pip install 'yunfab[ml]'): {exc}"
        ) from exc


class VisionEngine:
    def __init__(
        self,
        directory: Path,
        *,
        max_image_bytes: int = 20 * 1024 * 1024,
        max_pixels: int = 50_000_000,
        inspect_pixels: int = INSPECT_PIXELS,
        max_training_pixels: int = 1_000_000_000,
        inference_slots: int = 2,
        cached_models: int = 8,
        threads: int | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        self.directory = directory
        self.blobs = blobs
        """The shared store (S3) every replica reads models and images from; None: the
        directory itself is the store (one replica). With a store, the directory is this
        process's working copy: files are written there, then published."""
        self.max_image_bytes = max_image_bytes
        self.max_pixels = max_pixels
        self.inspect_pixels = inspect_pixels
        self.max_training_pixels = max_training_pixels
        self.threads = threads or min(4, os.cpu_count() or 1)
        self._training = asyncio.Semaphore(1)
        self._inference = asyncio.Semaphore(inference_slots)
        self._models: OrderedDict[uuid.UUID, TrainedModel] = OrderedDict()
        self._cached = cached_models
        self._lock = threading.Lock()

    def decode(
        self, data: bytes, name: str, *, reduce_to: int | None = None
    ) -> tuple[Image, tuple[int, int]]:
        """An uploaded image and the (width, height) the file holds, refused with a reason when
        too large or not an image, reduced while it is decoded to about `reduce_to` pixels
        (default: `inspect_pixels`)."""
        self.declared_size(data, name)
        try:
            image, size = decode_reduced(
                data, name=name, reduce_to=reduce_to or self.inspect_pixels
            )
        except DatasetError as exc:
            raise ImageRejected(str(exc)) from exc
        self._check_pixels(size, name)  # as decoded, should the header have said otherwise
        return image, size

    def declared_size(self, data: bytes, name: str) -> tuple[int, int]:
        """The size the file's header declares, refused before anything is decoded when the
        file or that size is too large, or when the file is not in a format whose header is
        read here (`headers.declared_size`)."""
        if not data:
            raise ImageRejected(f"{name}: empty")
        if len(data) > self.max_image_bytes:
            raise ImageRejected(
                f"{name}: {len(data)} bytes, more than the {self.max_image_bytes} allowed"
            )
        size = declared_size(data)
        if size is None:
            # Only a header read here says how large an image is before it is decoded: a small
            # Radiance HDR, PNM or JPEG 2000 file may decode to gigabytes of float pixels.
            raise ImageRejected(
                f"{name}: not a {ACCEPTED_FORMATS} image whose header gives its size (other "
                "formats are refused: their size is known only once decoded)"
            )
        self._check_pixels(size, name)
        return size

    def _check_pixels(self, size: tuple[int, int], name: str) -> None:
        if size[0] * size[1] > self.max_pixels:
            raise ImageRejected(
                f"{name}: {size[0]}x{size[1]} pixels, too many (at most {self.max_pixels:,} "
                "pixels an image)"
            )

    async def run(self, job: Callable[[], T], *, training: bool = False) -> T:
        slots = self._training if training else self._inference
        async with slots:
            return await asyncio.to_thread(self._with_threads, job)

    def _with_threads(self, job: Callable[[], T]) -> T:
        _ml("features").set_threads(self.threads)
        return job()

    async def train(
        self,
        sku: str,
        good: Sequence[Image],
        defects: Sequence[Example],
        *,
        holdout: float,
        seed: int,
        progress: Progress | None = None,
    ) -> TrainedModel:
        job = functools.partial(
            _ml("training").train,
            sku,
            good,
            defects,
            holdout=holdout,
            seed=seed,
            progress=progress,
        )
        return await self.run(job, training=True)

    def path(self, relative: str) -> Path:
        path = (self.directory / relative).resolve()
        if not path.is_relative_to(self.directory.resolve()):
            raise InvalidInput("a vision file outside the node's vision directory")
        return path

    @staticmethod
    def blob_key(relative: str) -> str:
        return f"vision/{relative}"

    def publish(self, relative: str) -> None:
        """The finished file at `relative` into the shared store (blocking; nothing to do
        without one). Call it before a row points at the file."""
        if self.blobs is not None:
            self.blobs.put_file(self.blob_key(relative), self.path(relative))

    def local(self, relative: str) -> Path:
        """The file at `relative` on this machine, fetched from the shared store when another
        replica or worker wrote it (blocking)."""
        path = self.path(relative)
        if self.blobs is not None and not path.is_file():
            try:
                self.blobs.download(self.blob_key(relative), path)
            except BlobNotFound:
                raise NotFound(f"the vision file {relative} is in no store") from None
        return path

    def discard(self, relative: str) -> None:
        """Remove the file here and from the shared store (blocking)."""
        self.path(relative).unlink(missing_ok=True)
        if self.blobs is not None:
            self.blobs.delete(self.blob_key(relative))

    def save_model(self, model: TrainedModel, relative: str) -> None:
        path = self.path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        model.save(partial)
        partial.replace(path)
        self.publish(relative)

    def model(self, model_id: uuid.UUID, relative: str) -> TrainedModel:
        """A stored model, loaded once and kept while it is among the recently used."""
        with self._lock:
            cached = self._models.get(model_id)
            if cached is not None:
                self._models.move_to_end(model_id)
                return cached
        loaded: TrainedModel = _ml("training").TrainedModel.load(self.local(relative))
        with self._lock:
            self._models[model_id] = loaded
            while len(self._models) > self._cached:
                self._models.popitem(last=False)
        return loaded

    def save_image(self, image: Image, relative: str) -> None:
        path = self.path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise RuntimeError("OpenCV could not encode the image")
        partial = path.with_suffix(".partial")
        partial.write_bytes(encoded.tobytes())
        partial.replace(path)
        self.publish(relative)

    def read_file(self, relative: str) -> bytes:
        """A kept file's bytes (blocking: from the shared store when not here)."""
        return self.local(relative).read_bytes()


def heatmap_png(heatmap: npt.NDArray[np.floating[Any]], threshold: float | None) -> bytes:
    """The anomaly map as a small colour PNG: blue is ordinary, red at and above twice the
    threshold (or the map's own peak when the model has none)."""
    top = 2 * threshold if threshold else float(heatmap.max()) or 1.0
    scaled = np.clip(heatmap / top * 255, 0, 255).astype(np.uint8)
    height, width = scaled.shape
    factor = HEATMAP_SIDE / max(height, width)
    if factor < 1:
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        scaled = cv2.resize(scaled, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".png", cv2.applyColorMap(scaled, cv2.COLORMAP_JET))
    if not ok:
        raise RuntimeError("OpenCV could not encode the heatmap")
    return bytes(encoded.tobytes())
