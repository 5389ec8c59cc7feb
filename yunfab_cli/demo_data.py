"""`yunfab demo-data ...`: sample data to try the commands with before a factory has its own.

`demo-data vision` writes seeded synthetic part images (`yunfab_demo.synthetic`) laid
out as `yunfab vision train` and `vision eval` read them:

    OUT/train/good/            the good parts to train on
    OUT/test/good/             good parts the model has not seen
    OUT/test/<defect>/         defective parts, one folder per defect kind
    OUT/test/masks/<defect>/   where each defect is, for the pixel AUROC
"""

from __future__ import annotations

import enum
import json
import zlib
from pathlib import Path
from typing import Annotated

import typer

from yunfab import progress
from yunfab.console import fail

demo_data_app = typer.Typer(
    help="Sample data to try the commands with (synthetic, seeded).", no_args_is_help=True
)


class Surface(enum.StrEnum):
    METAL = "metal"
    PLASTIC = "plastic"
    FABRIC = "fabric"


def unseen_good_count(good: int) -> int:
    """Good parts in the test set: a quarter of the training ones, at least two."""
    return max(2, good // 4)


@demo_data_app.command("vision")
def vision_command(
    sku: Annotated[str, typer.Option("--sku", help="The product's name; it fixes its look.")],
    out: Annotated[Path, typer.Option(help="Folder to write train/ and test/ into.")],
    good: Annotated[int, typer.Option(min=3, max=5000, help="Good parts to train on.")] = 40,
    defective: Annotated[
        int, typer.Option(min=0, max=5000, help="Defective parts in the test set.")
    ] = 10,
    surface: Annotated[Surface, typer.Option(help="What the part is made of.")] = Surface.METAL,
    size: Annotated[int, typer.Option(min=32, max=2048, help="Image side in pixels.")] = 256,
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same images.")] = 0,
) -> None:
    """Write synthetic images of a SKU's parts: good ones to train on, and a labelled test set
    of good and defective ones (scratches, dents, pits, cracks, stains) with their masks.
    Then: `yunfab vision train --sku SKU --good OUT/train` and
    `yunfab vision eval --sku SKU --data OUT/test`."""
    from yunfab_demo.synthetic import Sku, generate, write_dataset

    if out.exists() and any(out.iterdir()):
        fail(f"{out} is not empty: choose a new folder")
    product = Sku(sku, surface.value, seed=zlib.crc32(sku.encode()) % 1_000_000)
    tests = unseen_good_count(good)
    try:
        with progress.spinner(f"drawing {good + tests + defective} images of {sku}"):
            training = generate(product, good=good, size=size, seed=seed)
            testing = generate(product, good=tests, defective=defective, size=size, seed=seed + 1)
        progress.stage(f"writing {out}")
        write_dataset(training, out / "train")
        write_dataset(testing, out / "test")
    except OSError as exc:
        fail(f"cannot write {exc.filename or out}: {exc.strerror or exc}")
    typer.echo(
        json.dumps(
            {
                "sku": sku,
                "surface": surface.value,
                "train": str(out / "train"),
                "test": str(out / "test"),
                "good": good,
                "test_good": tests,
                "defective": defective,
            }
        )
    )
