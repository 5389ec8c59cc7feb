"""Vision data: the seeded part generator and the importer for real, messy image folders.

Real-world files are written here with OpenCV (and one PNG and one JPEG by hand, for what
OpenCV will not write: grey with alpha, and an EXIF rotation) so every format is exercised
without shipping binaries.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision_ml.datasets import (
    DatasetError,
    LabelledImage,
    load_folder,
    load_images,
    read_image,
    split,
)
from yunfab_demo.synthetic import (
    DEFECTS,
    SURFACES,
    Sku,
    add_defect,
    generate,
    part_image,
    write_dataset,
)


def _write(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(path.suffix, image)
    assert ok
    data.tofile(path)
    return path


def _png(pixels: np.ndarray, colour_type: int) -> bytes:
    """A minimal 8-bit PNG written by hand, for colour types OpenCV cannot write (grey+alpha)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data)
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    h, w = pixels.shape[:2]
    rows = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))
    header = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
    ) + chunk(b"IEND", b"")


# --- The generator -------------------------------------------------------------------------------


def test_generate_is_deterministic_per_sku_and_seed() -> None:
    sku = Sku("bracket", "metal", seed=7)
    first = generate(sku, good=2, defective=2, size=64, seed=3)
    again = generate(sku, good=2, defective=2, size=64, seed=3)
    other = generate(sku, good=2, defective=2, size=64, seed=4)
    for a, b in zip(first, again, strict=True):
        assert a.label == b.label
        assert np.array_equal(a.image, b.image)
        if a.mask is None:
            assert b.mask is None
        else:
            assert b.mask is not None
            assert np.array_equal(a.mask, b.mask)
    assert not np.array_equal(first[0].image, other[0].image)
    # Asking for more samples keeps the ones already handed out.
    more = generate(sku, good=3, defective=3, size=64, seed=3)
    assert np.array_equal(more[0].image, first[0].image)
    assert np.array_equal(more[3].image, first[2].image)


@pytest.mark.parametrize("surface", SURFACES)
def test_a_sku_looks_the_same_from_shot_to_shot(surface: str) -> None:
    """Like a fixed line camera: shots of one SKU differ slightly, another SKU differs clearly."""
    a, b = (s.image for s in generate(Sku("a", surface, seed=1), good=2, size=96))
    c = generate(Sku("c", surface, seed=2), good=1, size=96)[0].image
    same = np.abs(a.mean(axis=(0, 1)) - b.mean(axis=(0, 1))).max()
    different = np.abs(a.mean(axis=(0, 1)) - c.mean(axis=(0, 1))).max()
    assert not np.array_equal(a, b)
    assert same < 10
    assert different > same
    assert a.shape == (96, 96, 3)
    assert a.dtype == np.uint8


def test_masks_exist_exactly_for_defective_samples() -> None:
    samples = generate(Sku("cover", "plastic", seed=2), good=3, defective=7, size=64)
    assert [s.label for s in samples] == ["good"] * 3 + [*DEFECTS, *DEFECTS[:2]]
    for sample in samples:
        assert sample.surface == "plastic"
        if sample.label == "good":
            assert sample.mask is None
            continue
        assert sample.mask is not None
        assert sample.mask.shape == sample.image.shape[:2]
        assert sample.mask.dtype == np.uint8
        assert set(np.unique(sample.mask)) == {0, 255}
        # A defect is local: it never covers a quarter of the part.
        assert 0 < np.count_nonzero(sample.mask) < 0.25 * sample.mask.size


@pytest.mark.parametrize("defect", DEFECTS)
@pytest.mark.parametrize("surface", SURFACES)
def test_defects_change_the_image_inside_the_mask_only(surface: str, defect: str) -> None:
    """The mask is a fair ground truth: the defect shows inside it and nowhere else."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        image = part_image(surface, size=128, rng=rng, sku_seed=seed)
        out, mask = add_defect(image, defect, rng=rng)
        change = np.abs(out.astype(np.int16) - image.astype(np.int16)).max(axis=2)
        inside = mask > 0
        assert inside.any()
        assert change[inside].max() >= 10, "the defect must be visible"
        assert change[inside].mean() >= 2
        assert np.count_nonzero(change[inside] >= 2) >= 0.25 * np.count_nonzero(inside)
        assert not change[~inside].any(), "pixels outside the mask stay as they were"


def test_defects_go_onto_photos_of_any_size() -> None:
    rng = np.random.default_rng(0)
    part = part_image("fabric", size=256, rng=rng)
    photo = np.asarray(cv2.resize(part, (517, 333), interpolation=cv2.INTER_LINEAR), np.uint8)
    for defect in DEFECTS:
        out, mask = add_defect(photo, defect, rng=rng)
        assert out.shape == photo.shape
        assert mask.shape == (333, 517)
        assert np.count_nonzero(mask) > 0
    with pytest.raises(ValueError, match="unknown defect 'hole'"):
        add_defect(photo, "hole", rng=rng)
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        add_defect(photo[..., 0], "pit", rng=rng)


def test_generator_rejects_what_it_cannot_make() -> None:
    with pytest.raises(ValueError, match="unknown surface 'wood'"):
        Sku("x", "wood", seed=1)
    with pytest.raises(ValueError, match="unknown defect 'burr'"):
        generate(Sku("x", "metal", seed=1), good=0, defective=1, defects=["burr"])
    with pytest.raises(ValueError, match="at least 32"):
        part_image("metal", size=8, rng=np.random.default_rng(0))


# --- Writing and reading folders ------------------------------------------------------------------


def test_write_dataset_and_load_folder_round_trip(tmp_path: Path) -> None:
    samples = generate(Sku("hinge", "metal", seed=5), good=3, defective=5, size=64)
    write_dataset(samples, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["good", "masks", *DEFECTS])

    loaded = load_folder(tmp_path)
    assert [item.label for item in loaded] == ["good"] * 3 + sorted(DEFECTS)
    by_label = {item.label: item for item in loaded if item.label != "good"}
    for sample in samples:
        if sample.label == "good":
            assert any(np.array_equal(sample.image, item.image) for item in loaded[:3])
            continue
        item = by_label[sample.label]
        assert np.array_equal(item.image, sample.image)  # PNG is lossless
        assert item.mask is not None
        assert sample.mask is not None
        assert np.array_equal(item.mask, sample.mask)
    assert all(item.mask is None for item in loaded if item.label == "good")

    limited = load_folder(tmp_path, limit_per_class=1)
    assert [item.label for item in limited] == ["good", *sorted(DEFECTS)]


def test_real_world_files_all_load_as_8bit_bgr(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    # Smooth, as photos are, so the JPEG stays close to it.
    colour = cv2.resize(rng.integers(0, 256, (4, 6, 3), dtype=np.uint8), (60, 40))
    good = tmp_path / "good"
    _write(good / "photo.jpg", colour)
    deep = np.minimum(colour.astype(np.uint32) * 257 + 128, 65535).astype(np.uint16)
    _write(good / "deep.png", deep)  # +128: not merely 8-bit data shifted up
    _write(good / "grey.png", colour[..., 1])
    rgba = np.dstack([colour, np.full((40, 60), 255, np.uint8)])
    rgba[:10, :, 3] = 0  # a transparent band over arbitrary colours
    _write(good / "cutout.png", rgba)
    grey_alpha = np.dstack([colour[..., 2], np.full((40, 60), 255, np.uint8)])
    (good / "grey_alpha.png").write_bytes(_png(grey_alpha, colour_type=4))
    _write(good / "odd.bmp", cv2.resize(colour, (517, 333)))
    _write(good / "scan.tiff", colour)
    _write(good / "linear.tif", colour.astype(np.float32) / 255)  # float, 0..1
    _write(good / "web.webp", colour)
    _write(good / "零件 Ü-01.png", colour)
    _write(good / "SHOUTING.PNG", colour)
    (good / ".DS_Store").write_bytes(b"\x00\x01")
    _write(good / "._hidden.png", colour)
    (good / "notes.txt").write_text("not an image")

    images = dict(load_images(good))
    assert sorted(p.name for p in images) == sorted(
        [
            "photo.jpg",
            "deep.png",
            "grey.png",
            "cutout.png",
            "grey_alpha.png",
            "odd.bmp",
            "scan.tiff",
            "linear.tif",
            "web.webp",
            "零件 Ü-01.png",
            "SHOUTING.PNG",
        ]
    )
    for path, image in images.items():
        assert image.dtype == np.uint8, path.name
        assert image.ndim == 3
        assert image.shape[2] == 3, path.name
        assert image.flags.c_contiguous
    assert images[good / "odd.bmp"].shape == (333, 517, 3)
    assert np.array_equal(images[good / "deep.png"], colour)  # scaled by range, not truncated
    assert np.array_equal(images[good / "零件 Ü-01.png"], colour)
    assert np.array_equal(images[good / "linear.tif"], colour)
    grey = images[good / "grey.png"]
    assert np.array_equal(grey[..., 0], colour[..., 1])
    assert np.array_equal(grey[..., 0], grey[..., 2])
    cutout = images[good / "cutout.png"]
    assert not cutout[:10].any(), "transparent pixels flatten onto black"
    assert np.array_equal(cutout[10:], colour[10:])
    assert np.array_equal(images[good / "grey_alpha.png"][..., 1], colour[..., 2])
    assert np.abs(images[good / "photo.jpg"].astype(int) - colour).mean() < 6  # lossy, close
    assert len(load_folder(tmp_path)) == len(images)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    """Phones store portrait shots landscape with an EXIF rotation; read them upright."""
    image = np.zeros((20, 40, 3), np.uint8)
    image[:, :20] = 255
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    rotate_90 = struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)  # Orientation = 6
    tiff = b"MM\x00*\x00\x00\x00\x08" + struct.pack(">H", 1) + rotate_90 + struct.pack(">I", 0)
    app1 = b"\xff\xe1" + struct.pack(">H", len(tiff) + 8) + b"Exif\x00\x00" + tiff
    path = tmp_path / "portrait.jpg"
    path.write_bytes(jpeg[:2] + app1 + jpeg[2:])
    upright = read_image(path)
    assert upright.shape == (40, 20, 3)
    assert upright[:15].mean() > 200
    assert upright[25:].mean() < 50


def test_masks_are_matched_by_stem_or_mvtec_suffix(tmp_path: Path) -> None:
    image = np.full((30, 50, 3), 128, np.uint8)
    mask = np.zeros((30, 50), np.uint8)
    mask[5:10, 5:20] = 255
    _write(tmp_path / "good" / "000.png", image)
    _write(tmp_path / "crack" / "000.png", image)
    _write(tmp_path / "crack" / "001.png", image)
    _write(tmp_path / "crack" / "002.png", image)
    _write(tmp_path / "crack" / "003.png", image)
    _write(tmp_path / "masks" / "crack" / "000_mask.png", mask)  # MVTec's naming
    _write(tmp_path / "masks" / "crack" / "001.bmp", (mask > 0).astype(np.uint8))  # 0/1 labels
    red = np.zeros((30, 50, 3), np.uint8)
    red[mask > 0] = (0, 0, 200)
    _write(tmp_path / "masks" / "crack" / "003.png", red)  # drawn in colour
    loaded = {(item.label, item.path.name): item for item in load_folder(tmp_path)}
    for name in ("000.png", "001.png", "003.png"):
        found = loaded["crack", name].mask
        assert found is not None
        assert np.array_equal(found, mask), name
    assert loaded["crack", "002.png"].mask is None  # masks are optional
    assert loaded["good", "000.png"].mask is None


def test_files_are_listed_in_natural_order(tmp_path: Path) -> None:
    for name in ("img10.png", "img2.png", "img1.png"):
        _write(tmp_path / name, np.zeros((8, 8, 3), np.uint8))
    assert [p.name for p, _ in load_images(tmp_path)] == ["img1.png", "img2.png", "img10.png"]


# --- Clear errors ---------------------------------------------------------------------------------


def test_errors_name_the_folder_or_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist") as missing:
        load_folder(tmp_path / "nowhere")
    assert "nowhere" in str(missing.value)
    assert isinstance(missing.value, ValueError)
    assert missing.value.code == "invalid_dataset"

    _write(tmp_path / "scratch" / "a.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DatasetError, match=r"no good images in .*good"):
        load_folder(tmp_path)
    assert [i.label for i in load_folder(tmp_path, require_good=False)] == ["scratch"]

    _write(tmp_path / "good" / "fine.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "good" / "broken.jpg").write_bytes(b"this is not a jpeg")
    with pytest.raises(DatasetError, match=r"broken\.jpg.*not an image"):
        load_folder(tmp_path)
    (tmp_path / "good" / "broken.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"broken\.jpg.*empty"):
        load_folder(tmp_path)
    (tmp_path / "good" / "broken.jpg").unlink()

    _write(tmp_path / "masks" / "scratch" / "a.png", np.zeros((9, 8), np.uint8))
    with pytest.raises(DatasetError, match=r"mask .*a\.png is 8x9 but its image .*a\.png is 8x8"):
        load_folder(tmp_path)

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no pictures")
    with pytest.raises(DatasetError, match="no images in .*empty"):
        load_images(empty)
    with pytest.raises(DatasetError, match="no images in .*empty"):
        load_folder(empty, require_good=False)


# --- Splitting ------------------------------------------------------------------------------------


def test_split_is_deterministic_and_stratified() -> None:
    blank = np.zeros((1, 1, 3), np.uint8)
    items = [LabelledImage(Path(f"{i}.png"), "good", blank, None) for i in range(20)]
    items += [LabelledImage(Path(f"d{i}.png"), "dent", blank, None) for i in range(5)]
    items += [LabelledImage(Path("s.png"), "stain", blank, None)]
    kept, held = split(items, holdout=0.2, seed=1)
    assert split(items, holdout=0.2, seed=1) == (kept, held)
    assert split(items, holdout=0.2, seed=2) != (kept, held)
    assert sorted(map(id, kept + held)) == sorted(map(id, items))
    assert [i.label for i in held].count("good") == 4
    assert [i.label for i in held].count("dent") == 1
    assert [i.label for i in kept].count("stain") == 1  # one of a kind stays for training
    assert kept == [i for i in items if i in kept]  # input order is kept
    assert split(items, holdout=0.0, seed=1) == (items, [])
    with pytest.raises(ValueError, match="holdout"):
        split(items, holdout=1.0, seed=1)
