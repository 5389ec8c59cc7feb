"""An anomaly model learnt from good images only: memory banks of their patch features.

A patch of a new image is as anomalous as its distance to the nearest good patch (PatchCore). A
bank is a greedy k-centre coreset of all training patches, so it covers every kind of good patch
while staying small enough for a 20 ms nearest-neighbour search on two cores. Texture and colour
have a bank each, their distances put on one scale by scoring every training image against the
others (leave one image out); new models on colour images then put the blurred colour map on
the texture map's scale by the spread of those images' hottest cells, so colour counts where it
stands out from the good images' colour variation (`AnomalyParams.standardised`). The image score
is the hottest pixel of the blurred anomaly map, and defects are located by thresholding that map.

The outer ring of grid cells is not scored (`AnomalyParams.border`): there the backbone's zero
padding shapes the features, and on the generator's fabric good images lit up at their corners
more than defective ones did in the middle. A defect lying entirely within 1/32 of the image's
side from its edge is missed; frame parts with a margin.

`AnomalyModel.analyse` also returns a fixed-length descriptor of the image for a supervised head
(see `training`): the features of its hottest cells relative to the image's mean patch, the
extremes of its colour channel, and statistics of both channels' distance maps. It comes from the
same backbone pass as the score, so a head costs next to nothing at inference.

Model files are `torch.save`d dicts of plain tensors plus JSON metadata, read back with
`weights_only=True`: loading a model never runs code from the file. Files with a supervised head
are format 2, so that a node too old to apply the head refuses them instead of ignoring it; all
other files stay format 1.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from vision_ml import features
from yunfab.errors import InvalidInput

FILE_FORMAT = "yunfab-vision-model"
FILE_VERSION = 2  # the newest format read; see `write_model_file`
_QUERY_CHUNK = 4096
_HOT_CELLS = 4  # cells whose features describe a defect: a small defect covers a few
_MAP_STATS = 7
DESCRIPTOR_DIM = features.FEATURE_DIM + 6 + _MAP_STATS
_MAX_BOXES = 10
# Texture bank of a model fitted on grey images (texture alone): about 4 ms more a tile on two
# cores than the 1,000 of colour images' (docs/vision.md, fourth round).
GREY_CORESET_MAX = 2000


_LEGACY_PARAMS: dict[str, Any] = {
    "max_area": None,
    "level": None,
    "standardised": False,
    "colour_margin": 2.0,
}


class ModelFileError(InvalidInput):
    """A file that is not a vision model we wrote, or one written by a newer version."""

    code = "invalid_vision_model"


@dataclass(frozen=True)
class AnomalyParams:
    """What a model was fitted with; stored in the model file so inference repeats it."""

    area: int = features.INPUT_AREA
    # With `max_area`, an image larger than `area` is worked at its own resolution up to
    # `max_area` pixels; without it (files written before), every image is resized to `area`.
    # Fitting lowers it to the smallest training image's pixels, so that no image is worked at
    # more pixels than every good image was: crops of varying size keep one grid each (a larger
    # one would otherwise have more cells to find its hottest in; 0.955 -> 0.926 on crops), and
    # a node that reduces training uploads as it decodes them keeps the scale it trained at.
    max_area: int | None = features.TILED_AREA
    # Each image's mean brightness brought to this share of white before the backbone (None: as
    # shot, the default): a darker or brighter shot of a good part then looks like the training
    # images to the texture channels. Off: on real sets it cost up to 0.04 image AUROC
    # (docs/vision.md, "Real photographs").
    level: float | None = None
    coreset_ratio: float = 0.1
    coreset_min: int = 500  # small training sets keep (up to) this many patches
    # Bounds inference time whatever the number of images. On the generator's SKUs 1000 did as
    # well as 2000 and 4000 (fabric a little better), 500 worse.
    coreset_max: int = 1000
    colour_bank: int = 500  # three numbers per patch need few examples
    colour_weight: float = 0.25  # measured: higher starts flagging good metal mottling
    # The two channels' blurred maps put on one scale by the spread of the good images' hottest
    # cell (leave one image out) before the larger is taken, instead of the larger of the raw
    # maps: colour then counts as far as it stands out from good colour variation, however much
    # that varies, and only `colour_margin` spreads beyond it (synthetic fabric stains 0.73 ->
    # 0.91, dents 0.89 -> 0.89; docs/vision.md). Fitting turns it off when every training image
    # is grey, and sets `colour_weight` to 0 there: colour is brightness alone, and
    # standardising it cost ELPV's cells 0.03, keeping it raw 0.016. Files written before take
    # the larger of the raw maps.
    standardised: bool = True
    colour_margin: float = 2.0
    # Gaussian blur of the anomaly map, in backbone input pixels. At 256x256 input, 1 instead of
    # 4 gained 0.08 image AUROC on DAGM and 0.04 on the spindle pits (4 smeared small defects
    # into their surround); at today's input 2 and 4 score alike, and 2 keeps boxes tight.
    sigma: float = 2.0
    border: int = 1  # outer grid cells whose scores are replaced by their inner neighbours'
    backbone: str = "efficientnet-lite0/blocks2+4+colour"

    def input_size(self, height: int, width: int) -> tuple[int, int]:
        """What the backbone sees of a `height` x `width` image."""
        return features.input_size(height, width, self.area, self.max_area)

    def patch_features(self, images: Sequence[np.ndarray]) -> list[torch.Tensor]:
        return features.patch_features(
            images, area=self.area, max_area=self.max_area, level=self.level
        )


class Box(NamedTuple):
    """A hot region of the anomaly map in original image pixels, with its peak score."""

    x: int
    y: int
    w: int
    h: int
    peak: float


@dataclass(frozen=True)
class Inspection:
    """The result for one image. `verdict` is None until the model's threshold is calibrated."""

    score: float
    verdict: str | None
    heatmap: np.ndarray = field(repr=False)  # float32, the image's height x width
    boxes: list[Box]
    elapsed_ms: float
    # Set by a supervised head (see `training`): the most likely defect class when the verdict is
    # defective, every class's probability, and the score that decides the verdict, in units of
    # the thresholds (defective at 1 and above).
    defect_class: str | None = None
    class_probabilities: dict[str, float] | None = None
    combined_score: float | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-ready, without the heatmap."""
        return {
            "score": self.score,
            "verdict": self.verdict,
            "defect_class": self.defect_class,
            "class_probabilities": self.class_probabilities,
            "combined_score": self.combined_score,
            "boxes": [box._asdict() for box in self.boxes],
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


def coreset(patches: torch.Tensor, size: int, *, seed: int = 0) -> torch.Tensor:
    """Indices of `size` rows chosen greedily, each the farthest from those already chosen."""
    count = patches.shape[0]
    if size >= count:
        return torch.arange(count)
    generator = torch.Generator().manual_seed(seed)
    norms = (patches * patches).sum(dim=1)
    chosen = torch.empty(size, dtype=torch.long)
    chosen[0] = int(torch.randint(count, (1,), generator=generator).item())
    nearest = torch.full((count,), math.inf)
    for step in range(1, size + 1):
        last = chosen[step - 1]
        distance = norms + norms[last] - 2.0 * (patches @ patches[last])
        torch.minimum(nearest, distance, out=nearest)
        if step < size:
            chosen[step] = torch.argmax(nearest)
    return chosen


class _Bank:
    """Nearest-neighbour distances to a fixed set of patch features."""

    def __init__(self, memory: torch.Tensor) -> None:
        self.transposed = memory.T.contiguous()
        self.norms = (memory * memory).sum(dim=1)[None, :]

    def nearest(self, patches: torch.Tensor) -> torch.Tensor:
        """|p - m|^2 = |p|^2 + |m|^2 - 2 p.m, minimised over m before |p|^2 is added: one
        matrix product per chunk and nothing else over the (patches x bank) matrix. An image's
        ~2,100 cells go in one chunk (8 MB against a 1,000-patch bank): on two cores that took
        2 ms against 3-5 ms in chunks of 256."""
        out = []
        for start in range(0, patches.shape[0], _QUERY_CHUNK):
            chunk = patches[start : start + _QUERY_CHUNK]
            closest = torch.addmm(self.norms, chunk, self.transposed, alpha=-2.0).amin(dim=1)
            out.append(closest.add_((chunk * chunk).sum(dim=1)).clamp_min_(0.0).sqrt_())
        return torch.cat(out)


def _without_border(grid: torch.Tensor, border: int) -> torch.Tensor:
    """Replace the outer `border` cells by their nearest inner cell: there the backbone's zero
    padding, not the part, decides the features, and good images light up."""
    height, width = grid.shape[-2:]
    if border <= 0 or height <= 2 * border or width <= 2 * border:
        return grid
    inner = grid[..., border : height - border, border : width - border]
    return F.pad(inner, (border, border, border, border), mode="replicate")


def _channel_bank(
    patches: torch.Tensor, owners: torch.Tensor, cap: int, params: AnomalyParams, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    size = round(patches.shape[0] * params.coreset_ratio)
    size = min(patches.shape[0], cap, max(size, params.coreset_min))
    chosen = coreset(patches, size, seed=seed)
    return patches[chosen].clone(), owners[chosen]


def _scale(
    grids: Sequence[torch.Tensor], memory: torch.Tensor, owners: torch.Tensor, border: int
) -> float:
    """The typical hottest cell of a good image, each image scored against the bank without its
    own patches (leave one image out): it makes both channels' distances comparable."""
    images = len(grids)
    chosen = (
        sorted({round(i * (images - 1) / 15) for i in range(16)}) if images > 16 else range(images)
    )
    hottest = []
    for index in chosen:
        others = owners != index
        if not others.any():
            continue
        grid = grids[index]
        distances = _Bank(memory[others]).nearest(grid.reshape(-1, grid.shape[-1]))
        cells = _without_border(distances.reshape(1, 1, grid.shape[0], grid.shape[1]), border)
        hottest.append(float(cells.max()))
    return max(statistics.fmean(hottest), 1e-6) if hottest else 1.0


def _grey(image: np.ndarray) -> bool:
    """A single-channel image, or one whose colour channels are equal."""
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    first = image[..., 0]
    return bool(np.array_equal(first, image[..., 1]) and np.array_equal(first, image[..., 2]))


def _spreads(
    model: AnomalyModel,
    grids: Sequence[torch.Tensor],
    shapes: Sequence[tuple[int, int]],
    banks: Sequence[torch.Tensor],
    owners: Sequence[torch.Tensor],
) -> tuple[float, float, float, float]:
    """Mean and standard deviation of the hottest blurred cell of good images, per channel, each
    image scored against the banks without its own patches (the images `_scale` takes)."""
    images = len(grids)
    chosen = (
        sorted({round(i * (images - 1) / 15) for i in range(16)}) if images > 16 else range(images)
    )
    hottest: tuple[list[float], list[float]] = ([], [])
    with torch.inference_mode():
        for index in chosen:
            texture_others, colour_others = owners[0] != index, owners[1] != index
            if not texture_others.any() or not colour_others.any():
                continue
            left_out = (_Bank(banks[0][texture_others]), _Bank(banks[1][colour_others]))
            maps = model._channel_maps(grids[index], left_out)
            for values, cells in zip(hottest, maps, strict=True):
                values.append(float(model._input_map(cells, shapes[index]).max()))
    if len(hottest[0]) < 2:
        return (1.0, 1.0, 1.0, 1.0)
    texture, colour = hottest
    return (
        statistics.fmean(texture),
        max(statistics.stdev(texture), 1e-6),
        statistics.fmean(colour),
        max(statistics.stdev(colour), 1e-6),
    )


def _boxes(heatmap: np.ndarray, threshold: float, scale: tuple[float, float]) -> list[Box]:
    hot = (heatmap >= threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hot, connectivity=8)
    sx, sy = scale
    found = []
    for label in range(1, count):
        x, y, w, h, _area = (int(v) for v in stats[label])
        region = heatmap[y : y + h, x : x + w][labels[y : y + h, x : x + w] == label]
        found.append(
            Box(
                x=int(x * sx),
                y=int(y * sy),
                w=max(1, round(w * sx)),
                h=max(1, round(h * sy)),
                peak=float(region.max()),
            )
        )
    found.sort(key=lambda box: -box.peak)
    return found[:_MAX_BOXES]


@dataclass
class AnomalyModel:
    """Two memory banks: texture (backbone blocks 2 and 4) and colour. A cell's anomaly is the
    larger of its two nearest-neighbour distances, each divided by its channel's scale, so a
    score of about 1 is what the hottest cell of a typical good image reaches; colour then counts
    `colour_weight` as much, since its good hottest cells vary more from image to image."""

    texture: torch.Tensor  # (bank size, 64) float32
    colour: torch.Tensor  # (bank size, 3) float32
    scales: tuple[float, float]  # texture, colour
    params: AnomalyParams = field(default_factory=AnomalyParams)
    # With `params.standardised`: the good images' hottest blurred cell per channel, its mean and
    # standard deviation (texture mean, texture spread, colour mean, colour spread).
    spreads: tuple[float, float, float, float] | None = None
    image_threshold: float | None = None
    pixel_threshold: float | None = None  # boxes; falls back to the image threshold
    _banks: tuple[_Bank, _Bank] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def fit(
        cls,
        images: Sequence[np.ndarray],
        *,
        params: AnomalyParams | None = None,
        seed: int = 0,
    ) -> AnomalyModel:
        """Learn the memory banks from good images (tens are enough, two at the least)."""
        return cls.fit_with_descriptors(images, params=params, seed=seed, describe=False)[0]

    @classmethod
    def fit_with_descriptors(
        cls,
        images: Sequence[np.ndarray],
        *,
        params: AnomalyParams | None = None,
        seed: int = 0,
        describe: bool = True,
    ) -> tuple[AnomalyModel, list[tuple[float, torch.Tensor]]]:
        """`fit`, plus each training image's score and descriptor as if the model had never
        seen it (its own patches left out of the banks): good examples for a supervised head
        that look no more familiar than the good images it will meet."""
        params = params or AnomalyParams()
        if len(images) < 2:
            raise InvalidInput("an anomaly model needs at least two good images")
        if params.max_area is not None:
            smallest = min(image.shape[0] * image.shape[1] for image in images)
            params = replace(params, max_area=min(params.max_area, max(smallest, params.area)))
        if all(_grey(image) for image in images):
            # Colour is brightness alone on grey images, and the texture channels see that
            # already: its map only added the good images' brightness noise (ELPV 0.792 ->
            # 0.807 without it; docs/vision.md, fourth round).
            params = replace(params, standardised=False, colour_weight=0.0)
            if params.coreset_max == AnomalyParams.coreset_max:  # not the caller's own choice
                # The search skipped for colour pays for a larger texture bank: ELPV 0.807 ->
                # 0.838, grey crops 0.772 -> 0.802 with 2,000 patches (3,000: 0.836, 0.805).
                params = replace(params, coreset_max=GREY_CORESET_MAX)
        grids = params.patch_features(images)
        owners = torch.cat(
            [
                torch.full((g.shape[0] * g.shape[1],), i, dtype=torch.long)
                for i, g in enumerate(grids)
            ]
        )
        banks, bank_owners, scales = [], [], []
        for channel, cap in (
            (features.TEXTURE, params.coreset_max),
            (features.COLOUR, params.colour_bank),
        ):
            parts = [g[..., channel] for g in grids]
            patches = torch.cat([p.reshape(-1, p.shape[-1]) for p in parts])
            memory, memory_owners = _channel_bank(patches, owners, cap, params, seed)
            banks.append(memory)
            bank_owners.append(memory_owners)
            scales.append(_scale(parts, memory, memory_owners, params.border))
        model = cls(banks[0], banks[1], (scales[0], scales[1]), params)
        if params.standardised:
            shapes = [params.input_size(*image.shape[:2]) for image in images]
            model.spreads = _spreads(model, grids, shapes, banks, bank_owners)
        descriptors = []
        if describe:
            with torch.inference_mode():
                for index, grid in enumerate(grids):
                    left_out = (
                        _Bank(banks[0][bank_owners[0] != index]),
                        _Bank(banks[1][bank_owners[1] != index]),
                    )
                    texture, colour = model._channel_maps(grid, left_out)
                    height, width = images[index].shape[:2]
                    shape = params.input_size(height, width)
                    heat = model._heat(texture, colour, shape)
                    descriptor = model._descriptor(grid, texture, colour)
                    descriptors.append((float(heat.max()), descriptor))
        return model, descriptors

    def with_thresholds(self, image: float | None, pixel: float | None) -> AnomalyModel:
        return replace(self, image_threshold=image, pixel_threshold=pixel)

    @property
    def bank_size(self) -> int:
        return int(self.texture.shape[0])

    def _channel_maps(
        self, grid: torch.Tensor, banks: tuple[_Bank, _Bank] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Texture and weighted colour distances per cell, (1, 1, grid_h, grid_w) each."""
        if banks is None:
            if self._banks is None:
                self._banks = (_Bank(self.texture), _Bank(self.colour))
            banks = self._banks
        maps = []
        weights = (1.0, self.params.colour_weight)
        for bank, channel, scale, weight in zip(
            banks, (features.TEXTURE, features.COLOUR), self.scales, weights, strict=True
        ):
            if weight == 0.0:  # grey training images: texture alone
                maps.append(grid.new_zeros((1, 1, grid.shape[0], grid.shape[1])))
                continue
            patches = grid[..., channel].reshape(-1, channel.stop - channel.start)
            distances = bank.nearest(patches) * (weight / scale)
            cells = distances.reshape(1, 1, grid.shape[0], grid.shape[1])
            maps.append(_without_border(cells, self.params.border))
        return maps[0], maps[1]

    def _descriptor(
        self, grid: torch.Tensor, texture: torch.Tensor, colour: torch.Tensor
    ) -> torch.Tensor:
        """(DESCRIPTOR_DIM,): what the hottest cells look like against the image's mean patch,
        the colour channel's extremes (stains and dents move it, mostly in brightness), and
        log statistics of both distance maps (how far, how widely)."""
        height, width = grid.shape[:2]
        border = self.params.border
        if height <= 2 * border or width <= 2 * border:
            border = 0
        inner = (slice(border, height - border), slice(border, width - border))
        patches = grid[inner].reshape(-1, grid.shape[-1])
        tex, col = texture[0, 0][inner].reshape(-1), colour[0, 0][inner].reshape(-1)
        cells = torch.maximum(tex, col)
        count = min(_HOT_CELLS, cells.numel())
        hottest = cells.topk(count).indices
        local = patches[hottest].mean(dim=0) - patches.mean(dim=0)
        tint = patches[:, features.COLOUR]
        extremes = torch.cat([tint.amax(dim=0), tint.amin(dim=0)])
        stats = []
        for values in (tex, col):
            top = values.topk(count).values
            stats += [top[0], top.mean(), values.mean()]
        stats.append((cells >= 1.0).float().mean())
        return torch.cat([local, extremes, torch.log1p(torch.stack(stats))]).float()

    def _input_map(self, cells: torch.Tensor, input_shape: tuple[int, int]) -> np.ndarray:
        """The blurred anomaly map at the backbone's input size."""
        fine = F.interpolate(cells, size=input_shape, mode="bilinear", align_corners=False)
        heat = np.ascontiguousarray(fine[0, 0].numpy(), dtype=np.float32)
        return cv2.GaussianBlur(heat, (0, 0), self.params.sigma)

    def _heat(
        self, texture: torch.Tensor, colour: torch.Tensor, input_shape: tuple[int, int]
    ) -> np.ndarray:
        """The anomaly map at the backbone's input size, in the texture channel's units."""
        if self.spreads is None:
            return self._input_map(torch.maximum(texture, colour), input_shape)
        texture_mean, texture_spread, colour_mean, colour_spread = self.spreads
        colour_map = self._input_map(colour, input_shape)
        colour_map -= colour_mean
        colour_map *= texture_spread / colour_spread
        colour_map += texture_mean - self.params.colour_margin * texture_spread
        heat: np.ndarray = np.maximum(self._input_map(texture, input_shape), colour_map)
        return heat

    def score(self, image: np.ndarray) -> Inspection:
        return self.analyse(image)[0]

    def analyse(self, image: np.ndarray) -> tuple[Inspection, torch.Tensor]:
        """The inspection and the image's descriptor for a supervised head, from one pass."""
        started = time.perf_counter()
        height, width = image.shape[:2]
        grid = self.params.patch_features([image])[0]
        input_shape = self.params.input_size(height, width)
        with torch.inference_mode():
            texture, colour = self._channel_maps(grid)
            descriptor = self._descriptor(grid, texture, colour)
            heat = self._heat(texture, colour, input_shape)
        score = float(heat.max())
        verdict = None
        if self.image_threshold is not None:
            verdict = "defective" if score >= self.image_threshold else "good"
        box_threshold = self.image_threshold
        if self.pixel_threshold is not None:
            box_threshold = self.pixel_threshold
        scale = (width / input_shape[1], height / input_shape[0])
        boxes = [] if box_threshold is None else _boxes(heat, box_threshold, scale)
        if (height, width) != input_shape:
            heat = cv2.resize(heat, (width, height), interpolation=cv2.INTER_LINEAR)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        return Inspection(score, verdict, heat, boxes, elapsed_ms), descriptor

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Tensors and JSON metadata, for a model file that may hold more than this model."""
        metadata = {
            "params": asdict(self.params),
            "scales": list(self.scales),
            "spreads": None if self.spreads is None else list(self.spreads),
            "image_threshold": self.image_threshold,
            "pixel_threshold": self.pixel_threshold,
        }
        tensors = {"texture": self.texture.contiguous(), "colour": self.colour.contiguous()}
        return tensors, metadata

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> AnomalyModel:
        try:
            texture, colour = tensors["texture"].float(), tensors["colour"].float()
            texture_scale, colour_scale = (float(s) for s in metadata["scales"])
            spreads = metadata.get("spreads")
            if spreads is not None:
                mean_t, spread_t, mean_c, spread_c = (float(s) for s in spreads)
                spreads = (mean_t, spread_t, mean_c, spread_c)
            model = cls(
                texture=texture,
                colour=colour,
                scales=(texture_scale, colour_scale),
                # Files written before these parameters existed were fitted without them.
                params=AnomalyParams(**{**_LEGACY_PARAMS, **metadata["params"]}),
                image_threshold=metadata.get("image_threshold"),
                pixel_threshold=metadata.get("pixel_threshold"),
                spreads=spreads,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelFileError(f"incomplete anomaly model: {exc}") from exc
        for bank, channel in ((texture, features.TEXTURE), (colour, features.COLOUR)):
            if (
                bank.ndim != 2
                or bank.shape[0] == 0
                or bank.shape[1] != channel.stop - channel.start
            ):
                raise ModelFileError(f"memory bank of shape {tuple(bank.shape)} does not fit")
        params = model.params
        if (model.spreads is None) != (not params.standardised) or (
            model.spreads is not None
            and not (
                all(math.isfinite(s) for s in model.spreads)
                and model.spreads[1] > 0.0
                and model.spreads[3] > 0.0
            )
        ):
            raise ModelFileError(f"channel spreads {model.spreads} do not fit the parameters")
        if not 0.0 <= params.colour_margin <= 10.0:
            raise ModelFileError(f"colour margin {params.colour_margin} is out of bounds")
        if params.max_area is not None and not 0 < params.max_area <= features.MAX_INPUT_AREA:
            raise ModelFileError(f"working area of {params.max_area} pixels is out of bounds")
        if params.level is not None and not 0.0 < params.level <= 1.0:
            raise ModelFileError(f"brightness level {params.level} is out of bounds")
        return model

    def save(self, path: Path) -> None:
        tensors, metadata = self.state()
        write_model_file(path, "anomaly", tensors, {"anomaly": metadata})

    @classmethod
    def load(cls, path: Path) -> AnomalyModel:
        """Read a model file; an inspection model's file holds an anomaly model too."""
        tensors, metadata = read_model_file(path)
        if "anomaly" not in metadata:
            raise ModelFileError(f"{path} holds no anomaly model")
        return cls.from_state(tensors, metadata["anomaly"])


def fit(
    images: Sequence[np.ndarray], *, params: AnomalyParams | None = None, seed: int = 0
) -> AnomalyModel:
    return AnomalyModel.fit(images, params=params, seed=seed)


def write_model_file(
    path: Path,
    kind: str,
    tensors: dict[str, torch.Tensor],
    metadata: dict[str, Any],
    *,
    version: int = 1,
) -> None:
    """Write atomically (a reader never sees half a model). `version` is the oldest format that
    holds everything written, so older nodes keep reading what they can apply in full."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FILE_FORMAT,
        "version": version,
        "kind": kind,
        "metadata": json.dumps(metadata, sort_keys=True),
        "tensors": tensors,
    }
    partial = path.with_name(f".{path.name}.partial")
    torch.save(payload, partial)
    os.replace(partial, path)


def read_model_file(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelFileError(f"no model file at {path}") from exc
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, IsADirectoryError) as exc:
        raise ModelFileError(f"{path} is not a vision model file") from exc
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise ModelFileError(f"{path} is not a vision model file")
    version = payload.get("version")
    if not isinstance(version, int) or version > FILE_VERSION:
        raise ModelFileError(f"{path} was written by a newer version (format {version})")
    tensors = payload.get("tensors")
    try:
        metadata = json.loads(payload.get("metadata", ""))
    except (TypeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path} has unreadable metadata") from exc
    if not isinstance(tensors, dict) or not isinstance(metadata, dict):
        raise ModelFileError(f"{path} is not a vision model file")
    if not all(isinstance(value, torch.Tensor) for value in tensors.values()):
        raise ModelFileError(f"{path} holds something other than tensors")
    return tensors, metadata
