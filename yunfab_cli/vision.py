"""`yunfab vision ...`: train a SKU's inspection model from image folders, measure it, inspect
single images with it, and push it to a node's registry.

Models are kept under the node's data folder (`--data-dir`, YUNFAB_NODE_DATA_DIR, default ./var),
in `<data-dir>/vision-models/<sku>/<UTC time>-<version>.pt`; `--sku` picks a SKU's newest. They
are not in the node's own `vision/` folder, whose first level is the factories' slugs.

Results go to stdout (JSON, or a table at a terminal where `--format` allows), progress and
warnings to stderr; bad input (a missing or empty folder, an image OpenCV cannot read, a file
that is not a model) is one line on stderr and exit code 2. A defective part is a result, not an
error: `inspect` exits 0 unless `--fail-on-defect` is given.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from yunfab import progress
from yunfab.console import fail, settings_or_exit
from yunfab.errors import YunfabError
from yunfab.output import Format, FormatOption, chosen

if TYPE_CHECKING:
    import numpy as np

    from vision_ml.anomaly import Inspection
    from vision_ml.datasets import LabelledImage
    from vision_ml.training import TrainedModel

vision_app = typer.Typer(
    help="Per-SKU visual inspection: train on good images, evaluate, inspect, push to a node.",
    no_args_is_help=True,
)

MODELS_FOLDER = "vision-models"
MIN_CALIBRATION_GOOD = 20
"""Good images below which a threshold is a guess: a good-only threshold is the held-out
images' highest score (or mean + 3 sigma), and with a handful of them the next good part beats
it often; an F1 threshold weighs every good image's score against the defects'."""
PUSH_SCOPES = "factories:write node:operate"
"""What a client-credentials token for a push asks for: factory staff hold the first, the node's
operator the second."""
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

Sku = Annotated[str, typer.Option("--sku", help="The product's name, e.g. bracket-a12.")]
Threads = Annotated[int, typer.Option(min=1, max=64, help="CPU threads for the model.")]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The node's data folder (YUNFAB_NODE_DATA_DIR, default ./var); models are kept "
        "in its vision-models/<sku>/.",
    ),
]


def _check_sku(sku: str) -> str:
    if not _SKU.fullmatch(sku):
        fail(f"SKU {sku!r} must be 1-64 letters, digits, '.', '_' or '-', starting alphanumeric")
    return sku


def models_dir(data_dir: Path | None) -> Path:
    """The folder of locally trained models, under the node's configured data folder."""
    from regional_node.settings import NodeStorageSettings

    settings = settings_or_exit(NodeStorageSettings, data_dir=data_dir)
    return settings.data_dir.resolve() / MODELS_FOLDER


def _new_model_path(data_dir: Path | None, sku: str, version: str) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return models_dir(data_dir) / _check_sku(sku) / f"{stamp}-{version}.pt"


def _newest_model(data_dir: Path | None, sku: str) -> Path:
    folder = models_dir(data_dir) / _check_sku(sku)
    found = sorted(folder.glob("*.pt")) if folder.is_dir() else []
    if not found:
        fail(
            f"no model for {sku} in {folder}: train one with `yunfab vision train` or give --model"
        )
    return found[-1]


def _chosen_model(sku: str | None, model: Path | None, data_dir: Path | None) -> Path:
    if (sku is None) == (model is None):
        fail("give exactly one of --sku and --model")
    return model if model is not None else _newest_model(data_dir, str(sku))


def _load(path: Path) -> TrainedModel:
    from vision_ml.training import TrainedModel

    try:
        return TrainedModel.load(path)
    except YunfabError as exc:
        fail(exc.detail)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _echo(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(_rounded(payload), ensure_ascii=False))


def _warn(message: str) -> None:
    typer.echo(f"yunfab: warning: {message}", err=True)


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
        Path | None,
        typer.Option(help="Model file to write (default <data-dir>/vision-models/<sku>/...)."),
    ] = None,
    holdout: Annotated[
        float, typer.Option(min=0.05, max=0.9, help="Share of good images kept to calibrate.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(min=0, help="Seed for the split and the coreset.")] = 0,
    threads: Threads = 2,
    data_dir: DataDir = None,
) -> None:
    """Train an anomaly model on good images, calibrate its threshold, add a supervised head
    when there are enough labelled defects, and save it; prints where (`model`). The output's
    `supervised` holds the head's out-of-fold accuracy, per-class recall and combined image
    AUROC, or why it was skipped."""
    from vision_ml.datasets import GOOD, load_folder, load_images
    from vision_ml.features import set_threads
    from vision_ml.training import train

    _check_sku(sku)
    set_threads(threads)
    try:
        folder = good / GOOD if (good / GOOD).is_dir() else good
        progress.stage(f"loading good images from {folder}")
        good_images = [image for _, image in load_images(folder)]
        flawed = []
        if defects is not None:
            progress.stage(f"loading defect images from {defects}")
            flawed = [
                item for item in load_folder(defects, require_good=False) if item.label != GOOD
            ]
            if not flawed:
                fail(f"no defect images in {defects}: expected one subfolder per defect class")
        with progress.spinner(
            f"training on {len(good_images)} good and {len(flawed)} defect images"
        ):
            model = train(sku, good_images, flawed, holdout=holdout, seed=seed)
        path = out or _new_model_path(data_dir, sku, model.version)
        progress.stage(f"saving {path}")
        model.save(path)
    except YunfabError as exc:
        fail(exc.detail)
    except OSError as exc:
        fail(f"cannot write {exc.filename or 'the model'}: {exc.strerror or exc}")
    _warn_thin_calibration(model)
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


def _warn_thin_calibration(model: TrainedModel) -> None:
    """One line on stderr when too few good images set the threshold (the model still works)."""
    if model.metrics.get("calibration") == "good-only":
        count, which = int(model.params.get("heldout_images", 0)), "held-out good images"
    else:
        count, which = int(model.params.get("good_images", 0)), "good images"
    if count < MIN_CALIBRATION_GOOD:
        _warn(
            f"only {count} {which} set the threshold ({MIN_CALIBRATION_GOOD} or more give a "
            "steadier one): add good images or raise --holdout"
        )


def _outcome(label: str, verdict: str | None) -> str | None:
    """`miss` (a defect called good), `false_alarm` (a good part called defective) or `ok`."""
    from vision_ml.datasets import GOOD

    if verdict is None:
        return None
    defective = label != GOOD
    if defective and verdict == "good":
        return "miss"
    if not defective and verdict == "defective":
        return "false_alarm"
    return "ok"


def _score(inspection: Inspection) -> float:
    """The score the verdict is taken on: the combined one when a supervised head decides."""
    if inspection.combined_score is not None:
        return float(inspection.combined_score)
    return float(inspection.score)


def _image_rows(items: Sequence[LabelledImage], inspections: Sequence[Inspection]) -> list[Any]:
    return [
        {
            "path": str(item.path),
            "label": item.label,
            "score": _score(inspection),
            "verdict": inspection.verdict,
            "defect_class": inspection.defect_class,
            "outcome": _outcome(item.label, inspection.verdict),
        }
        for item, inspection in zip(items, inspections, strict=True)
    ]


@vision_app.command("eval")
def eval_command(
    data: Annotated[
        Path,
        typer.Option(help="Folder with good/ and one subfolder per defect class (masks optional)."),
    ],
    sku: Annotated[
        str | None, typer.Option("--sku", help="Evaluate the SKU's newest local model.")
    ] = None,
    model: Annotated[Path | None, typer.Option(help="Evaluate this model file instead.")] = None,
    per_image: Annotated[
        bool,
        typer.Option(
            "--per-image", help="List every image in the table too (JSON always has them)."
        ),
    ] = False,
    output: FormatOption = None,
    threads: Threads = 2,
    data_dir: DataDir = None,
) -> None:
    """Score labelled images with a trained model: AUROC, pixel AUROC, threshold, timings; with a
    supervised head, the combined model's AUROC, the anomaly score's beside it, and how often
    the defect class is right. Every image's score and verdict, and whether it was a miss or a
    false alarm, are under `per_image`."""
    from vision_ml.datasets import load_folder
    from vision_ml.features import set_threads
    from vision_ml.training import evaluate

    path = _chosen_model(sku, model, data_dir)
    set_threads(threads)
    trained = _load(path)
    try:
        progress.stage(f"loading labelled images from {data}")
        items = load_folder(data)
        inspections = [trained.inspect(item.image) for item in progress.track(items, "inspecting")]
        result = evaluate(trained, items, inspections)
    except YunfabError as exc:
        fail(exc.detail)
    report = {
        "sku": trained.sku,
        "model": str(path),
        "version": trained.version,
        **result,
        "per_image": _image_rows(items, inspections),
    }
    if chosen(output) is Format.JSON:
        _echo(report)
    else:
        _print_eval(_rounded(report), per_image=per_image)


def _print_eval(report: dict[str, Any], *, per_image: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    summary = Table(title=f"{report['sku']} ({report['version']})", show_header=False)
    for key in ("images", "counts", "threshold", "image_auroc", "pixel_auroc", "precision",
                "recall", "f1", "per_class_auroc"):  # fmt: skip
        if key in report:
            summary.add_row(key, json.dumps(report[key]))
    console.print(summary)
    rows = report["per_image"]
    misses = sum(row["outcome"] == "miss" for row in rows)
    alarms = sum(row["outcome"] == "false_alarm" for row in rows)
    console.print(f"{misses} missed defects, {alarms} false alarms", highlight=False)
    if per_image:
        table = Table("path", "label", "score", "verdict", "outcome")
        for row in rows:
            table.add_row(
                row["path"], row["label"], f"{row['score']:.4f}", str(row["verdict"]),
                str(row["outcome"]),
            )  # fmt: skip
        console.print(table)


@vision_app.command("inspect")
def inspect_command(
    images: Annotated[list[Path], typer.Argument(help="Image files of parts.")],
    sku: Annotated[
        str | None, typer.Option("--sku", help="Use the SKU's newest local model.")
    ] = None,
    model: Annotated[Path | None, typer.Option(help="Use this model file instead.")] = None,
    heatmap_dir: Annotated[
        Path | None,
        typer.Option(help="Write <image name>.heatmap.png per image: the anomaly map over it."),
    ] = None,
    fail_on_defect: Annotated[
        bool, typer.Option("--fail-on-defect", help="Exit 1 when any part is defective.")
    ] = False,
    output: FormatOption = None,
    threads: Threads = 2,
    data_dir: DataDir = None,
) -> None:
    """Inspect part images with a SKU's model: verdict, score and threshold per image. Exits 0
    whatever the verdicts (a defect is a result), 1 with --fail-on-defect when any part is
    defective, 2 for an unreadable image or model."""
    from vision_ml.datasets import read_image
    from vision_ml.features import set_threads

    path = _chosen_model(sku, model, data_dir)
    set_threads(threads)
    trained = _load(path)
    rows: list[dict[str, Any]] = []
    try:
        if heatmap_dir is not None:
            heatmap_dir.mkdir(parents=True, exist_ok=True)
        for image_path in progress.track(images, "inspecting"):
            picture = read_image(image_path)
            inspection = trained.inspect(picture)
            row: dict[str, Any] = {
                "path": str(image_path),
                "verdict": inspection.verdict or "uncalibrated",
                "score": _score(inspection),
                "threshold": 1.0 if inspection.combined_score is not None else
                trained.image_threshold,
                "defect_class": inspection.defect_class,
                "boxes": [box._asdict() for box in inspection.boxes],
            }  # fmt: skip
            if heatmap_dir is not None:
                target = heatmap_dir / f"{image_path.name}.heatmap.png"
                _write_overlay(target, picture, inspection.heatmap, trained.image_threshold)
                row["heatmap"] = str(target)
            rows.append(row)
    except YunfabError as exc:
        fail(exc.detail)
    except OSError as exc:
        fail(f"cannot write {exc.filename or 'a heatmap'}: {exc.strerror or exc}")
    if chosen(output) is Format.JSON:
        _echo({"sku": trained.sku, "model": str(path), "version": trained.version, "images": rows})
    else:
        _print_inspections(_rounded(rows))
    if fail_on_defect and any(row["verdict"] == "defective" for row in rows):
        raise typer.Exit(1)


def _print_inspections(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("path", "verdict", "score", "threshold", "defect class")
    for row in rows:
        table.add_row(
            row["path"], row["verdict"], f"{row['score']:.4f}", str(row["threshold"]),
            row["defect_class"] or "",
        )  # fmt: skip
    Console().print(table)


def _write_overlay(
    path: Path, image: np.ndarray, heatmap: np.ndarray, threshold: float | None
) -> None:
    """The anomaly map in colour (blue ordinary, red at twice the threshold) blended over the
    part, at the image's size, so a person sees where the model looked."""
    import cv2
    import numpy as np

    top = 2 * threshold if threshold else float(heatmap.max()) or 1.0
    scaled = np.clip(heatmap / top * 255, 0, 255).astype(np.uint8)
    if scaled.shape != image.shape[:2]:
        scaled = np.asarray(cv2.resize(scaled, (image.shape[1], image.shape[0])), np.uint8)
    colour = cv2.applyColorMap(scaled, cv2.COLORMAP_JET)
    blended = cv2.addWeighted(image, 0.55, colour, 0.45, 0)
    ok, encoded = cv2.imencode(".png", blended)
    if not ok:
        raise OSError(f"could not encode {path.name}")
    encoded.tofile(path)


@vision_app.command("push")
def push_command(
    sku: Sku,
    factory: Annotated[str, typer.Option(help="The factory's slug (or id) on the node.")],
    node: Annotated[
        str | None,
        typer.Option(help="The node's URL, or its name at the hub (default YUNFAB_NODE_URL)."),
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="The model file (default: the SKU's newest local one).")
    ] = None,
    hub: Annotated[
        str | None, typer.Option(help="The hub that issues tokens (default YUNFAB_HUB_URL).")
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="A bearer token for the node (default YUNFAB_TOKEN).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Register a locally trained model as the SKU's next version in a node's registry, as
    factory staff (factories:write) or the node's operator; the token comes as for every
    command (--token / YUNFAB_TOKEN, YUNFAB_CLIENT_ID/SECRET, or `yunfab login`). Prints the
    registered model; activate it on a station as any other."""
    import urllib.parse

    import httpx

    from yunfab.console import error_exit_code
    from yunfab_cli.api_client import node_target
    from yunfab_cli.credentials import bearer_for

    path = model if model is not None else _newest_model(data_dir, _check_sku(sku))
    try:
        content = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    target = node_target(node, hub=hub, token=token)
    bearer = bearer_for(target, token=token, scope=PUSH_SCOPES)
    url = f"{target.url}/api/v1/factories/{urllib.parse.quote(factory, safe='')}/vision-models"
    progress.stage(f"sending {path.name} ({len(content):,} bytes) to {url}")
    with progress.spinner("registering"):
        response = httpx.post(
            url,
            data={"sku": sku},
            files={"model": (path.name, content, "application/octet-stream")},
            headers={"authorization": f"Bearer {bearer}"},
            timeout=120.0,
        )
    if response.status_code != 201:
        try:
            body = response.json()
            code, detail = str(body.get("error", "error")), str(body.get("detail", ""))
        except ValueError:
            code, detail = f"http_{response.status_code}", response.text[:200]
        fail(f"the node refused the model: {code}: {detail}", code=error_exit_code(code))
    _echo(response.json())
