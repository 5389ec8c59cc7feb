"""`yunfab vision ...`: train a SKU's inspection model from image folders and measure it.

Each command prints one JSON object on stdout; bad input (a missing or empty folder, an image
OpenCV cannot read, a file that is not a model) is one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from yunfab.console import fail
from yunfab.errors import YunfabError

vision_app = typer.Typer(
    help="Per-SKU visual inspection: train on good images, evaluate on labelled ones.",
    no_args_is_help=True,
)

MODELS = Path("var") / "vision"
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

Sku = Annotated[str, typer.Option("--sku", help="The product's name, e.g. bracket-a12.")]
Threads = Annotated[int, typer.Option(min=1, max=64, help="CPU threads for the model.")]


def _model_path(sku: str) -> Path:
    if not _SKU.fullmatch(sku):
        fail(f"SKU {sku!r} must be 1-64 letters, digits, '.', '_' or '-', starting alphanumeric")
    return MODELS / f"{sku}.pt"


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _echo(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(_rounded(payload)))


@vision_app.command("train")
def train_command(
    sku: Sku,
    good: Annotated[
        Path,
        typer.Option(help="Folder of good images (or a dataset folder holding good/)."),
    ],
    defects: Annotated[
        Path | None,
        typer.Option(
            help="Folder with one subfolder of images per defect class (masks/<class>/ "
            "optional): used to calibrate the threshold and, with at least 2 images of every "
            "class (4 in all), to train a supervised head that names the defect class; a "
            "good/ subfolder there is ignored."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Model file to write (default var/vision/<sku>.pt).")
    ] = None,
    holdout: Annotated[
        float, typer.Option(min=0.05, max=0.9, help="Share of good images kept to calibrate.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(min=0, help="Seed for the split and the coreset.")] = 0,
    threads: Threads = 2,
) -> None:
    """Train an anomaly model on good images, calibrate its threshold, add a supervised head
    when there are enough labelled defects, and save it. The output's `supervised` holds the
    head's out-of-fold accuracy, per-class recall and combined image AUROC, or why it was
    skipped."""
    from regional_node.vision.datasets import GOOD, load_folder, load_images
    from regional_node.vision.features import set_threads
    from regional_node.vision.training import train

    path = out or _model_path(sku)
    set_threads(threads)
    try:
        folder = good / GOOD if (good / GOOD).is_dir() else good
        good_images = [image for _, image in load_images(folder)]
        flawed = []
        if defects is not None:
            flawed = [
                item for item in load_folder(defects, require_good=False) if item.label != GOOD
            ]
            if not flawed:
                fail(f"no defect images in {defects}: expected one subfolder per defect class")
        model = train(sku, good_images, flawed, holdout=holdout, seed=seed)
        model.save(path)
    except YunfabError as exc:
        fail(exc.detail)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    metrics = dict(model.metrics)
    _echo(
        {
            "sku": model.sku,
            "model": str(path),
            "version": model.version,
            "created_at": model.created_at,
            "threshold": metrics.pop("image_threshold"),
            "pixel_threshold": metrics.pop("pixel_threshold"),
            "image_auroc": metrics.pop("image_auroc", None),
            **metrics,
            "params": model.params,
        }
    )


@vision_app.command("eval")
def eval_command(
    data: Annotated[
        Path,
        typer.Option(help="Folder with good/ and one subfolder per defect class (masks optional)."),
    ],
    sku: Annotated[str | None, typer.Option("--sku", help="Evaluate var/vision/<sku>.pt.")] = None,
    model: Annotated[Path | None, typer.Option(help="Evaluate this model file instead.")] = None,
    threads: Threads = 2,
) -> None:
    """Score labelled images with a trained model: AUROC, pixel AUROC, threshold, timings; with a
    supervised head, the combined model's AUROC, the anomaly score's beside it, and how often
    the defect class is right."""
    from regional_node.vision.datasets import load_folder
    from regional_node.vision.features import set_threads
    from regional_node.vision.training import TrainedModel, evaluate

    if (sku is None) == (model is None):
        fail("give exactly one of --sku and --model")
    path = model if model is not None else _model_path(str(sku))
    set_threads(threads)
    try:
        trained = TrainedModel.load(path)
        items = load_folder(data)
        result = evaluate(trained, items)
    except YunfabError as exc:
        fail(exc.detail)
    _echo({"sku": trained.sku, "model": str(path), "version": trained.version, **result})
