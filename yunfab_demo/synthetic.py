"""Seeded synthetic part images with annotated defects, for tests, the demo and benchmarks.

Factories rarely have labelled defect photos on day one, and tests must not depend on files
nobody may ship. This module stands in for a fixed inspection camera over a production line:
one `Sku` fixes what a product looks like (material, colour, texture scale and direction, the
camera's lighting and noise), and every image of it differs only as real shots do (the part sits
a few pixels off and slightly turned, the light flickers by up to 5 %, the sensor is noisy), plus
whatever differs physically from part to part: brushed-metal streaks and fabric thread jitter
are new on every part, while a moulded plastic surface repeats its mould's orange peel.

Defects are painted onto any BGR image, so `add_defect` also turns real photographs of good
parts into labelled defect images. A defect's mask is its outline as an annotator would draw
it plus every pixel it changed at all, so pixels outside the mask are exactly the good image's
and a detector's pixel scores can be judged against it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

SURFACES = ("metal", "plastic", "fabric")
DEFECTS = ("scratch", "dent", "pit", "crack", "stain")
GOOD = "good"
MIN_SIZE = 32
"""Smallest image side `part_image` and `add_defect` accept: below it a defect is a few pixels."""

Image = npt.NDArray[np.uint8]
"""HxWx3 uint8 in OpenCV's BGR order."""
Mask = npt.NDArray[np.uint8]
"""HxW uint8, 255 on the defect and 0 elsewhere."""
_Float = npt.NDArray[np.float32]
_Bool = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Sample:
    """One image with its ground truth; `mask` is None exactly for good parts."""

    image: Image
    mask: Mask | None
    label: str
    surface: str

    def __post_init__(self) -> None:
        if self.label != GOOD and self.label not in DEFECTS:
            raise ValueError(f"unknown label {self.label!r}: expected 'good' or one of {DEFECTS}")
        if (self.mask is None) != (self.label == GOOD):
            raise ValueError("a sample has a mask exactly when it is defective")
        if self.mask is not None and self.mask.shape != self.image.shape[:2]:
            raise ValueError(f"mask {self.mask.shape} does not match image {self.image.shape}")


@dataclass(frozen=True)
class Sku:
    """A product on the line: `seed` fixes its look, so the same Sku always looks the same."""

    name: str
    surface: str
    seed: int

    def __post_init__(self) -> None:
        _check_surface(self.surface)
        if self.seed < 0:
            raise ValueError(f"Sku seed must be >= 0, got {self.seed}")


# --- What a SKU and its camera look like --------------------------------------------------------


@dataclass(frozen=True)
class _Camera:
    light_angle: float
    """Radians; the image brightens towards this direction (where the lamp is)."""
    gradient: float
    """Relative brightness change from the centre to the edge along `light_angle`."""
    vignette: float
    """Relative darkening at the corners."""
    noise: float
    """Read-noise sigma in grey levels; shot noise comes on top."""


@dataclass(frozen=True)
class _Look:
    surface: str
    camera: _Camera
    angle: float
    """Degrees the texture is turned on the line (brushing direction, weave alignment)."""
    colour: tuple[float, float, float]
    """Base BGR colour (for fabric: the warp threads)."""
    colour2: tuple[float, float, float]
    """Fabric weft colour; unused otherwise."""
    texture: float
    """Texture amplitude in grey levels."""
    feature: float
    """Texture feature size in pixels at a 256-pixel image (streak length, peel size, period)."""
    aspect: float
    """Fabric weft period over warp period; metal coarse-streak share."""
    weave: tuple[int, int]
    """Fabric (repeat, threads over): (2, 1) plain, (3, 2) and (4, 2) twills."""
    gloss: tuple[float, float, float, float, float]
    """Plastic highlight: centre x, y and radii as image fractions, peak strength."""


def _check_surface(surface: str) -> None:
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}: expected one of {SURFACES}")


def _hsv_to_bgr(h: float, s: float, v: float) -> tuple[float, float, float]:
    pixel = np.array([[[h * 180.0, s * 255.0, v]]], dtype=np.float32)
    pixel[..., 0] = np.clip(pixel[..., 0], 0, 179)
    bgr = cv2.cvtColor(np.clip(pixel, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return float(bgr[0]), float(bgr[1]), float(bgr[2])


@functools.lru_cache(maxsize=64)
def _look(surface: str, sku_seed: int) -> _Look:
    rng = np.random.default_rng([sku_seed, SURFACES.index(surface), 0x51C0])
    camera = _Camera(
        light_angle=float(rng.uniform(0, 2 * math.pi)),
        gradient=float(rng.uniform(0.04, 0.12)),
        vignette=float(rng.uniform(0.04, 0.14)),
        noise=float(rng.uniform(1.0, 2.2)),
    )
    colour2 = (0.0, 0.0, 0.0)
    weave = (2, 1)
    gloss = (0.0, 0.0, 0.0, 0.0, 0.0)
    aspect = 1.0
    if surface == "metal":
        kind = rng.choice(["steel", "aluminium", "brass", "copper"], p=[0.45, 0.35, 0.12, 0.08])
        grey = float(rng.uniform(115, 175))
        tint = {"steel": (1.04, 1.0, 0.97), "aluminium": (1.0, 1.0, 1.0)}
        if kind in tint:
            colour = (grey * tint[kind][0], grey * tint[kind][1], grey * tint[kind][2])
        else:
            hue = 0.11 if kind == "brass" else 0.05
            colour = _hsv_to_bgr(hue, float(rng.uniform(0.35, 0.55)), grey + 20)
        angle = float(rng.uniform(0, 180))
        texture = float(rng.uniform(5, 9))
        feature = float(rng.uniform(30, 70))
        aspect = float(rng.uniform(0.15, 0.35))
    elif surface == "plastic":
        if rng.random() < 0.4:
            v = float(rng.choice([45, 90, 150, 215]) + rng.uniform(-10, 10))
            colour = (v, v, v)
        else:
            colour = _hsv_to_bgr(
                float(rng.random()), float(rng.uniform(0.35, 0.85)), float(rng.uniform(90, 215))
            )
        angle = float(rng.uniform(0, 180))
        texture = float(rng.uniform(0.8, 1.6))
        feature = float(rng.uniform(2.5, 4.0))
        gloss = (
            float(rng.uniform(0.25, 0.75)),
            float(rng.uniform(0.25, 0.75)),
            float(rng.uniform(0.18, 0.35)),
            float(rng.uniform(0.10, 0.25)),
            float(rng.uniform(0.12, 0.3)),
        )
    else:
        hue = float(rng.random())
        colour = _hsv_to_bgr(hue, float(rng.uniform(0.2, 0.7)), float(rng.uniform(90, 205)))
        if rng.random() < 0.25:  # denim-like: dyed warp, undyed weft
            colour2 = _hsv_to_bgr(hue, 0.08, 215)
        else:
            f = float(rng.uniform(0.85, 1.12))
            colour2 = (colour[0] * f, colour[1] * f, colour[2] * f)
        angle = float(rng.uniform(-4, 4))
        texture = float(rng.uniform(0.04, 0.08))
        feature = float(rng.uniform(6, 11))
        aspect = float(rng.uniform(0.85, 1.2))
        repeats = [(2, 1), (3, 2), (4, 2)]
        weave = repeats[int(rng.integers(len(repeats)))]
    return _Look(surface, camera, angle, colour, colour2, texture, feature, aspect, weave, gloss)


# --- Good parts -----------------------------------------------------------------------------------


def _noise(rng: np.random.Generator, shape: tuple[int, ...]) -> _Float:
    return rng.standard_normal(shape, dtype=np.float32)


def _blur(a: npt.NDArray[np.floating], sigma_x: float, sigma_y: float = 0) -> _Float:
    """Gaussian blur by sigmas in pixels (sigma_y 0: same as sigma_x), as float32."""
    blurred = cv2.GaussianBlur(a, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y)
    return np.asarray(blurred, dtype=np.float32)


def _normalised(a: npt.NDArray[np.floating]) -> _Float:
    a = a - a.mean()
    return (a / max(float(a.std()), 1e-6)).astype(np.float32)


def _coarse_grid(shape: tuple[int, int], sigma: float) -> tuple[tuple[int, int], float]:
    """A grid a third of `sigma` apart: blurring there and enlarging costs little at any size."""
    step = max(1.0, sigma / 3)
    return (max(4, math.ceil(shape[0] / step) + 1), max(4, math.ceil(shape[1] / step) + 1)), step


def _enlarged(field: _Float, shape: tuple[int, int]) -> _Float:
    if field.shape == shape:
        return field
    resized = cv2.resize(field, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return np.asarray(resized, dtype=np.float32)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> _Float:
    """Unit-variance noise blurred by `sigma` pixels."""
    grid, step = _coarse_grid(shape, sigma)
    field = _blur(_noise(rng, grid), sigma / step) if step > 1 else _blur(_noise(rng, shape), sigma)
    return _normalised(_enlarged(field, shape))


def _streaks(rng: np.random.Generator, d: int, along: float, across: float) -> _Float:
    """Unit-variance noise stretched along x; drawn coarse in x and upsampled, for speed."""
    factor = max(1, int(along / 4))
    cols = max(8, math.ceil(d / factor))
    noise = _blur(_noise(rng, (d, cols)), along / factor, across)
    stretched = cv2.resize(noise, (d, d), interpolation=cv2.INTER_LINEAR)
    return _normalised(np.asarray(stretched, dtype=np.float32))


def _metal(look: _Look, rng: np.random.Generator, d: int, s: float) -> tuple[_Float, _Float]:
    fine = _streaks(rng, d, look.feature * s, 0.5)
    coarse = _streaks(rng, d, look.feature * 3 * s, 2.0 * max(s, 0.5))
    mottle = _smooth_noise(rng, (d, d), 25 * s + 1)
    grooves = np.zeros((d, d), dtype=np.float32)
    for _ in range(int(rng.integers(20, 50))):
        y = int(rng.integers(d))
        x0 = int(rng.integers(d))
        length = int(rng.uniform(0.2, 1.2) * d)
        cv2.line(grooves, (x0, y), (x0 + length, y), float(rng.choice([-1.0, 1.0])))
    grooves = _blur(grooves, 2.0, 0.6) * 2.2
    relief = (1 - look.aspect) * fine + look.aspect * coarse + grooves + 0.4 * mottle
    relief = relief.astype(np.float32)
    grey = sum(look.colour) / 3
    canvas = np.empty((d, d, 3), dtype=np.float32)
    for c in range(3):
        canvas[..., c] = look.colour[c] + look.texture * relief * (look.colour[c] / grey)
    return canvas, relief


@functools.lru_cache(maxsize=16)
def _mould(sku_seed: int, d: int, s: float, feature: float) -> _Float:
    """The orange peel a mould leaves: band-pass noise, identical on every part from it."""
    rng = np.random.default_rng([sku_seed, d, 0x9EE1])
    sigma = feature * max(s, 0.5)
    grid, step = _coarse_grid((d, d), sigma)
    noise = _noise(rng, grid)
    peel = _blur(noise, sigma / step) - _blur(noise, sigma * 2.5 / step)
    out = _normalised(_enlarged(peel, (d, d)))
    out.flags.writeable = False
    return out


def _plastic(look: _Look, sku_seed: int, d: int, s: float) -> tuple[_Float, _Float]:
    peel = _mould(sku_seed, d, s, look.feature)
    canvas = np.empty((d, d, 3), dtype=np.float32)
    for c in range(3):
        canvas[..., c] = look.colour[c] + look.texture * peel
    return canvas, peel


def _fabric(look: _Look, rng: np.random.Generator, d: int, s: float) -> tuple[_Float, _Float]:
    p_warp = max(3.0, look.feature * s)
    p_weft = max(3.0, look.feature * look.aspect * s)
    y, x = np.mgrid[0:d, 0:d].astype(np.float32)

    def jitter(period: float) -> _Float:
        return _smooth_noise(rng, (d, d), period * 2.5) * (0.12 * period)

    # Each part is cut from the roll somewhere else: a new phase and new thread wander.
    u = x + rng.uniform(0, p_warp) + jitter(p_warp)
    v = y + rng.uniform(0, p_weft) + jitter(p_weft)
    i = np.floor(u / p_warp)
    j = np.floor(v / p_weft)
    fu = u / p_warp - i
    fv = v / p_weft - j
    repeat, over = look.weave
    warp_up = ((i.astype(np.int64) + j.astype(np.int64)) % repeat) < over

    # Yarn: rounded across the thread, dipping where it goes under the crossing thread.
    across_warp = np.sin(np.pi * fu) ** 0.6
    across_weft = np.sin(np.pi * fv) ** 0.6
    shade = np.where(
        warp_up,
        (0.5 + 0.5 * across_warp) * (0.82 + 0.18 * np.sin(np.pi * fv)),
        (0.5 + 0.5 * across_weft) * (0.82 + 0.18 * np.sin(np.pi * fu)),
    )
    # Every thread is spun a little differently, and fibres run along it.
    n_threads = d // 3 + 4
    thread_warp = 1 + 0.05 * rng.standard_normal(n_threads)
    thread_weft = 1 + 0.05 * rng.standard_normal(n_threads)
    fibre_warp = _blur(_noise(rng, (d, d)), 0.5, 3)
    fibre_weft = _blur(_noise(rng, (d, d)), 3, 0.5)
    fibre = np.where(warp_up, _normalised(fibre_warp), _normalised(fibre_weft))
    thread = np.where(
        warp_up,
        thread_warp[i.astype(np.int64) % n_threads],
        thread_weft[j.astype(np.int64) % n_threads],
    )
    level = (shade * thread * (1 + look.texture * fibre)).astype(np.float32)
    canvas = np.empty((d, d, 3), dtype=np.float32)
    for c in range(3):
        canvas[..., c] = np.where(warp_up, look.colour[c], look.colour2[c]) * level
    return canvas, _normalised(level)


@functools.lru_cache(maxsize=16)
def _lighting(camera: _Camera, size: int) -> _Float:
    """The fixed lamp and lens: a brightness ramp towards the lamp and darker corners."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    half = size / 2
    xn, yn = (x - half) / half, (y - half) / half
    ramp = camera.gradient * (xn * math.cos(camera.light_angle) + yn * math.sin(camera.light_angle))
    field = np.asarray(1 + ramp - camera.vignette * (xn**2 + yn**2) / 2, dtype=np.float32)
    field.flags.writeable = False
    return field


def part_image(
    surface: str, *, size: int = 256, rng: np.random.Generator, sku_seed: int = 0
) -> Image:
    """A good part of SKU `(surface, sku_seed)` as the line camera shoots it; `rng` varies the shot.

    The SKU fixes material, colour, texture and lighting; `rng` moves the part by a few pixels
    and a degree, flickers the lamp by up to 5 %, draws the sensor noise and, for metal and
    fabric, the part's own streaks or thread wander.
    """
    _check_surface(surface)
    if size < MIN_SIZE:
        raise ValueError(f"size must be at least {MIN_SIZE} pixels, got {size}")
    if sku_seed < 0:
        raise ValueError(f"sku_seed must be >= 0, got {sku_seed}")
    look = _look(surface, sku_seed)
    s = size / 256
    d = math.ceil(size * 1.45) + 8  # room to turn by any angle and shift
    if surface == "metal":
        canvas, relief = _metal(look, rng, d, s)
    elif surface == "plastic":
        canvas, relief = _plastic(look, sku_seed, d, s)
    else:
        canvas, relief = _fabric(look, rng, d, s)

    angle = look.angle + float(rng.uniform(-1.0, 1.0))
    shift = rng.uniform(-3.0, 3.0, size=2) * max(s, 0.5)
    matrix = np.asarray(cv2.getRotationMatrix2D((d / 2, d / 2), angle, 1.0), dtype=np.float64)
    matrix[:, 2] += size / 2 + shift - d / 2
    warped = cv2.warpAffine(canvas, matrix, (size, size), flags=cv2.INTER_LINEAR)
    gain = 1 + float(rng.uniform(-0.05, 0.05))
    image = np.asarray(warped, dtype=np.float32) * (_lighting(look.camera, size) * gain)[..., None]
    if surface == "plastic":
        # The lamp's reflection: fixed on the image, rippled by the peel under it.
        peel = np.asarray(cv2.warpAffine(relief, matrix, (size, size)), dtype=np.float32)
        gx, gy, rx, ry, peak = look.gloss
        y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
        spot = peak * np.exp(-(((x - gx) / rx) ** 2 + ((y - gy) / ry) ** 2) / 2)
        spot = spot * np.clip(1 + 0.12 * peel, 0, None)
        image = np.asarray(image + spot[..., None] * (255 - image), dtype=np.float32)
    image = _blur(image, 0.6)  # the lens is not perfectly sharp
    sigma = np.sqrt(look.camera.noise**2 + 0.01 * np.clip(image, 0, 255))
    image += _noise(rng, image.shape) * sigma
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


# --- Defects --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Patch:
    """A window of the image a defect is painted in: the float pixels and their coordinates."""

    y0: int
    x0: int
    pixels: _Float
    y: _Float
    x: _Float


def _patch(image: Image, cx: float, cy: float, radius: float) -> _Patch:
    h, w = image.shape[:2]
    y0, y1 = max(0, int(cy - radius)), min(h, int(math.ceil(cy + radius)) + 1)
    x0, x1 = max(0, int(cx - radius)), min(w, int(math.ceil(cx + radius)) + 1)
    y, x = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    return _Patch(y0, x0, image[y0:y1, x0:x1].astype(np.float32), y, x)


def _centre(rng: np.random.Generator, image: Image, margin: float) -> tuple[float, float]:
    """A point at least `margin` from the border where the image allows it, else the middle."""
    h, w = image.shape[:2]
    mx, my = min(margin, w / 2), min(margin, h / 2)
    return float(rng.uniform(mx, w - mx)), float(rng.uniform(my, h - my))


def _luma(pixels: _Float) -> _Float:
    luma = 0.114 * pixels[..., 0] + 0.587 * pixels[..., 1] + 0.299 * pixels[..., 2]
    return np.asarray(luma, dtype=np.float32)


def _light_direction(image: Image, rng: np.random.Generator) -> tuple[float, float]:
    """Which way the image brightens (where the lamp is), from a plane fitted to its luma."""
    small = cv2.resize(image, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    luma = _luma(small).ravel()
    y, x = np.mgrid[-1:1:32j, -1:1:32j]
    basis = np.stack([np.ones(32 * 32), x.ravel(), y.ravel()], axis=1)
    coef = np.linalg.lstsq(basis, luma, rcond=None)[0]
    angle = float(rng.uniform(0, 2 * math.pi))  # drawn always, so the stream does not branch
    if math.hypot(coef[1], coef[2]) < 1.0:
        return math.cos(angle), math.sin(angle)
    norm = math.hypot(coef[1], coef[2])
    return float(coef[1] / norm), float(coef[2] / norm)


def _draw_alpha(shape: tuple[int, int], lines: list[tuple[_Float, float, int]]) -> _Float:
    """Anti-aliased polylines `(points (n, 2) in patch pixels, opacity, thickness)` as 0..1."""
    canvas = np.zeros(shape, dtype=np.uint8)
    for points, opacity, thickness in lines:
        pts = np.rint(points * 16).astype(np.int32).reshape(-1, 1, 2)
        colour = max(1, round(255 * opacity))
        cv2.polylines(canvas, [pts], False, colour, thickness, cv2.LINE_AA, shift=4)
    return (canvas.astype(np.float32) / 255).astype(np.float32)


def _outline(alpha: _Float, threshold: float) -> _Bool:
    """Pixels where the defect shows, grown by one pixel as an annotator's brush would."""
    region = (alpha > threshold).astype(np.uint8)
    grown = cv2.dilate(region, np.ones((3, 3), np.uint8))
    return np.asarray(grown, dtype=bool)


def _contrast_sign(pixels: _Float, alpha: _Float, rng: np.random.Generator) -> float:
    """Bright or dark, whichever has room: a bright mark on white would clip away."""
    weights = alpha + 1e-6
    level = float((_luma(pixels) * weights).sum() / weights.sum())
    draw = float(rng.choice([-1.0, 1.0]))
    if level > 165:
        return -1.0
    if level < 90:
        return 1.0
    return draw


def _scratch(image: Image, rng: np.random.Generator, s: float) -> tuple[_Patch, _Bool]:
    m = min(image.shape[:2])
    length = float(rng.uniform(0.2, 0.45)) * m
    theta = float(rng.uniform(0, math.pi))
    bend = float(rng.uniform(-0.25, 0.25)) * length
    cx, cy = _centre(rng, image, length / 2 + abs(bend) + 4)
    patch = _patch(image, cx, cy, length / 2 + abs(bend) + 4)
    direction = np.array([math.cos(theta), math.sin(theta)])
    normal = np.array([-direction[1], direction[0]])
    centre = np.array([cx - patch.x0, cy - patch.y0])
    n = max(16, int(length / 2))
    t = np.linspace(0.0, 1.0, n)[:, None]
    start, end = centre - direction * length / 2, centre + direction * length / 2
    control = centre + normal * 2 * bend  # a quadratic Bezier bulges half its control offset
    curve = (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end
    wobble = (
        rng.uniform(0.3, 1.0)
        * max(s, 0.5)
        * np.sin(rng.uniform(6, 14) * t + rng.uniform(0, 2 * math.pi))
    )
    curve = (curve + wobble * normal).astype(np.float32)
    thickness = max(1, round(s * float(rng.uniform(0.8, 1.6))))
    # A tool mark bites in and lifts off: it fades at both ends and varies along the way.
    fade = np.sin(np.pi * t[:, 0]) ** 0.5 * rng.uniform(0.75, 1.0, n)
    segments = [(curve[k : k + 2], float(max(fade[k], 0.08)), thickness) for k in range(n - 1)]
    alpha = _blur(_draw_alpha(patch.pixels.shape[:2], segments), 0.6)
    sign = _contrast_sign(patch.pixels, alpha, rng)
    amplitude = float(rng.uniform(45, 75))
    patch.pixels[...] += (sign * amplitude * alpha)[..., None]
    return patch, _outline(alpha, 0.02)


def _dent(image: Image, rng: np.random.Generator, s: float) -> tuple[_Patch, _Bool]:
    a = float(rng.uniform(10, 24)) * max(s, 0.4)
    b = a * float(rng.uniform(0.55, 1.0))
    phi = float(rng.uniform(0, math.pi))
    cx, cy = _centre(rng, image, a + 2)
    patch = _patch(image, cx, cy, a + 2)
    lx, ly = _light_direction(image, rng)
    du, dv = patch.x - cx, patch.y - cy
    u = du * math.cos(phi) + dv * math.sin(phi)
    v = -du * math.sin(phi) + dv * math.cos(phi)
    q = (u / a) ** 2 + (v / b) ** 2
    depth = np.where(q < 1, (1 - np.minimum(q, 1)) ** 3, 0).astype(np.float32)
    dy, dx = np.gradient(depth)
    # Lambertian: the wall facing away from the lamp darkens, the one facing it brightens.
    facing = dx * lx + dy * ly
    strength = float(rng.uniform(0.12, 0.22))
    shade = strength * facing / max(float(np.abs(facing).max()), 1e-6) - 0.04 * depth
    # The dent also bends the texture: reflections slide towards its floor.
    pull = float(rng.uniform(0.8, 1.6)) * max(s, 0.5) / max(float(np.abs(dx).max()), 1e-6)
    map_x = (patch.x - patch.x0 + pull * dx).astype(np.float32)
    map_y = (patch.y - patch.y0 + pull * dy).astype(np.float32)
    bent = cv2.remap(patch.pixels, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    patch.pixels[...] = np.asarray(bent, dtype=np.float32) * (1 + shade)[..., None]
    return patch, np.asarray(q < 1, dtype=bool)


def _pit(image: Image, rng: np.random.Generator, s: float) -> tuple[_Patch, _Bool]:
    count = int(rng.integers(3, 13))
    spread = float(rng.uniform(4, 12)) * max(s, 0.4)
    radii = rng.uniform(0.8, 2.4, count) * max(s, 0.6)
    radii = np.maximum(radii, 1.0)
    offsets = np.clip(rng.normal(0, spread, (count, 2)), -2.5 * spread, 2.5 * spread)
    reach = 2.5 * spread + float(radii.max()) + 3
    cx, cy = _centre(rng, image, reach)
    patch = _patch(image, cx, cy, reach)
    darkness = np.zeros(patch.pixels.shape[:2], dtype=np.float32)
    for (ox, oy), r, deep in zip(offsets, radii, rng.uniform(0.35, 0.6, count), strict=True):
        dist = np.hypot(patch.x - (cx + ox), patch.y - (cy + oy))
        darkness = np.maximum(darkness, deep * np.clip(r + 0.5 - dist, 0, 1))
    darkness = _blur(darkness, 0.5)
    patch.pixels[...] *= (1 - darkness)[..., None]
    return patch, _outline(darkness, 0.01)


def _crack(image: Image, rng: np.random.Generator, s: float) -> tuple[_Patch, _Bool]:
    h, w = image.shape[:2]
    length = float(rng.uniform(0.15, 0.35)) * min(h, w)
    step = max(2.0, 3.0 * s)
    cx, cy = _centre(rng, image, length / 2 + 4)
    branches: list[tuple[_Float, float, int]] = []

    def grow(x: float, y: float, heading: float, steps: int, depth: int) -> None:
        points = [(x, y)]
        course = heading
        for k in range(steps):
            course += float(rng.normal(0, 0.22)) + 0.08 * (heading - course)
            x, y = x + step * math.cos(course), y + step * math.sin(course)
            if not (2 <= x < w - 2 and 2 <= y < h - 2):
                break
            points.append((x, y))
            if depth < 2 and rng.random() < 0.06:
                turn = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.0))
                grow(x, y, course + turn, int((steps - k) * rng.uniform(0.2, 0.5)), depth + 1)
        if len(points) > 1:
            thickness = max(1, round(s * (1.0 if depth == 0 else 0.7)))
            opacity = 1.0 if depth == 0 else 0.8
            branches.append((np.array(points, dtype=np.float32), opacity, thickness))

    heading = float(rng.uniform(0, 2 * math.pi))
    half = max(1, int(length / 2 / step))
    grow(cx, cy, heading, half, 0)
    grow(cx, cy, heading + math.pi, half, 0)
    every = np.concatenate([points for points, _, _ in branches])
    lo, hi = every.min(axis=0), every.max(axis=0)
    radius = float(max(hi - lo)) / 2 + 6 * max(s, 1)
    patch = _patch(image, float(lo[0] + hi[0]) / 2, float(lo[1] + hi[1]) / 2, radius)
    offset = np.array([patch.x0, patch.y0], dtype=np.float32)
    local = [(points - offset, opacity, t) for points, opacity, t in branches]
    line = _blur(_draw_alpha(patch.pixels.shape[:2], local), 0.5)
    halo = _blur(line, 1.5 * max(s, 1))
    deep = float(rng.uniform(0.4, 0.65))
    darkness = np.clip(deep * line + 0.25 * deep * halo, 0, 0.9)
    patch.pixels[...] *= (1 - darkness)[..., None]
    return patch, _outline(darkness, 0.01)


def _stain(image: Image, rng: np.random.Generator, s: float) -> tuple[_Patch, _Bool]:
    radius = max(5.0, float(rng.uniform(0.07, 0.16)) * min(image.shape[:2]))
    cx, cy = _centre(rng, image, radius * 0.8)
    patch = _patch(image, cx, cy, radius * 1.6)
    shape = (patch.pixels.shape[0], patch.pixels.shape[1])
    wander = _smooth_noise(rng, shape, radius / 4)
    field = 1 - np.hypot(patch.x - cx, patch.y - cy) / radius
    field += 0.3 * np.clip(wander, -1.5, 1.5)
    alpha = np.clip((field - 0.22) / 0.16, 0, 1).astype(np.float32)
    alpha = alpha * alpha * (3 - 2 * alpha)  # smoothstep: a soaked edge, not a cut one
    alpha = _blur(alpha, max(1.0, 0.06 * radius))
    mottle = _smooth_noise(rng, shape, 2 * max(s, 1))
    kind = str(rng.choice(["rust", "oil", "water"]))
    if kind == "water":  # dried water leaves its minerals at the rim
        alpha = alpha * (0.45 + 0.55 * np.exp(-(((field - 0.3) / 0.12) ** 2)))
    alpha = alpha * (0.85 + 0.15 * np.clip(mottle, -1, 1))
    alpha = (alpha / max(float(alpha.max()), 1e-6)).astype(np.float32)
    weights = alpha + 1e-6
    base = (patch.pixels * weights[..., None]).sum(axis=(0, 1)) / weights.sum()
    if kind == "rust":
        target = np.array([35.0, 75.0, 140.0])
    elif kind == "oil":
        target = base * 0.6 + np.array([4.0, 2.0, -4.0])
    else:
        target = base * 0.8
    delta = target - base
    if float(np.linalg.norm(delta)) < 8:
        delta = -0.3 * base - 8
    # Low contrast, but never lost in the texture: the strongest channel moves 13-20 levels.
    opacity = float(rng.uniform(13, 20)) / max(float(np.abs(delta).max()), 1e-6)
    patch.pixels[...] += alpha[..., None] * (min(opacity, 0.8) * delta).astype(np.float32)
    return patch, np.asarray(alpha > 0.06, dtype=bool)


_PAINTERS: dict[str, Callable[[Image, np.random.Generator, float], tuple[_Patch, _Bool]]] = {
    "scratch": _scratch,
    "dent": _dent,
    "pit": _pit,
    "crack": _crack,
    "stain": _stain,
}


def add_defect(image: Image, defect: str, *, rng: np.random.Generator) -> tuple[Image, Mask]:
    """Paint one `defect` onto a copy of a BGR image (synthetic or a real photo of a good part).

    Sizes scale with the image's shorter side, so a 4000-pixel photo gets a defect as large
    relative to the part as a 256-pixel one; only the defect's window is touched.
    """
    if defect not in DEFECTS:
        raise ValueError(f"unknown defect {defect!r}: expected one of {DEFECTS}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 BGR image, got {image.dtype} {image.shape}")
    if min(image.shape[:2]) < MIN_SIZE:
        raise ValueError(f"image sides must be at least {MIN_SIZE} pixels, got {image.shape[:2]}")
    patch, region = _PAINTERS[defect](image, rng, min(image.shape[:2]) / 256)
    h, w = patch.pixels.shape[:2]
    window = (slice(patch.y0, patch.y0 + h), slice(patch.x0, patch.x0 + w))
    painted = np.clip(np.rint(patch.pixels), 0, 255).astype(np.uint8)
    # The painter's outline, plus any faint fringe it changed: no altered pixel goes unmarked.
    region = region | (painted != image[window]).any(axis=2)
    out = image.copy()
    out[window] = painted
    mask = np.zeros(image.shape[:2], dtype=np.uint8)
    mask[window][region] = 255
    return out, mask


# --- Data sets ------------------------------------------------------------------------------------


def generate(
    sku: Sku,
    *,
    good: int,
    defective: int = 0,
    defects: Sequence[str] = DEFECTS,
    size: int = 256,
    seed: int = 0,
) -> list[Sample]:
    """`good` good parts, then `defective` ones taking `defects` in turn; same inputs, same pixels.

    Every sample draws from its own stream, so asking for more samples keeps the first ones.
    """
    if good < 0 or defective < 0:
        raise ValueError(f"counts must be >= 0, got good={good}, defective={defective}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if defective and not defects:
        raise ValueError("defective samples need at least one defect kind")
    for defect in defects:
        if defect not in DEFECTS:
            raise ValueError(f"unknown defect {defect!r}: expected one of {DEFECTS}")
    samples = []
    for i in range(good):
        rng = np.random.default_rng([sku.seed, seed, 0, i])
        image = part_image(sku.surface, size=size, rng=rng, sku_seed=sku.seed)
        samples.append(Sample(image, None, GOOD, sku.surface))
    for i in range(defective):
        defect = defects[i % len(defects)]
        rng = np.random.default_rng([sku.seed, seed, 1, i])
        image = part_image(sku.surface, size=size, rng=rng, sku_seed=sku.seed)
        image, mask = add_defect(image, defect, rng=rng)
        samples.append(Sample(image, mask, defect, sku.surface))
    return samples


def _write_png(path: Path, image: npt.NDArray[np.uint8]) -> None:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"could not encode {path.name} as PNG")
    encoded.tofile(path)  # unlike cv2.imwrite, fine with any characters in the path


def write_dataset(samples: Sequence[Sample], folder: Path) -> None:
    """Write `folder/<label>/NNNN.png` and `folder/masks/<label>/NNNN.png`, as `load_folder` reads.

    Numbers run over all samples, so a mask's name is its image's in every class.
    """
    width = max(4, len(str(len(samples))))
    for index, sample in enumerate(samples):
        stem = f"{index:0{width}d}"
        (folder / sample.label).mkdir(parents=True, exist_ok=True)
        _write_png(folder / sample.label / f"{stem}.png", sample.image)
        if sample.mask is not None:
            (folder / "masks" / sample.label).mkdir(parents=True, exist_ok=True)
            _write_png(folder / "masks" / sample.label / f"{stem}.png", sample.mask)
