"""Factory vision on a node: the model registry (train, list, activate one per station, roll
back), inspections that become quality records, camera counts that report work-order progress,
and root causes of defects from the same machine's telemetry.

Who may do what is decided by `policies/node.rego` (`node.vision.*`): the factory's own people
and the node operator. Images and frames (`node.vision.image.read`) go to nobody else, and no
image is ever part of what the node sends to the hub (`hub_link.outbound`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import re
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.devices.repository import DeviceRepository
from regional_node.factories.errors import FactoryNotFound
from regional_node.factories.models import Factory
from regional_node.factories.repository import FactoryRepository
from regional_node.factories.service import (
    check_at_factory,
    factory_for,
    factory_resource,
    get_factory,
)
from regional_node.orders import service as orders
from regional_node.orders.models import WorkOrder, WorkOrderStatus
from regional_node.orders.repository import WorkOrderRepository
from regional_node.runtime import NodeRuntime
from regional_node.telemetry.repository import TelemetryRepository
from regional_node.vision.engine import TRAINING_PIXELS, heatmap_png
from regional_node.vision.errors import (
    NoActiveModel,
    NothingToRollBack,
    NoWorkOrder,
    QualityRecordNotFound,
    StationNotFound,
    TrainingTooLarge,
    VisionModelDisabled,
    VisionModelNotFound,
)
from regional_node.vision.events import InspectionEvent
from regional_node.vision.models import InspectionModel, QualityRecord, Station
from regional_node.vision.repository import VisionRepository
from vision_ml import counting, privacy, rootcause
from vision_ml.datasets import GOOD, Image
from vision_ml.progress import Progress, TrainingStage
from yunfab.db import after_commit, utcnow
from yunfab.errors import Conflict, InvalidInput, NotFound
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject

if TYPE_CHECKING:
    from vision_ml.training import TrainedModel

SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
CLASS = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_TRAINING_IMAGES = 2000
MAX_CLIP_BYTES = 200 * 1024 * 1024
MAX_MODEL_BYTES = 32 * 1024 * 1024
"""The largest model file a push may send: a model of the default coreset is well under 1 MB;
this leaves room for larger banks and supervised heads."""
MAX_MODEL_METADATA = 64 * 1024
"""The JSON a pushed model may carry (metrics, parameters): it becomes the registry row."""
ROOT_CAUSE_PARTS = 50_000


# The registry


@dataclass(frozen=True)
class TrainingData:
    """Images a model is trained on, as decoded from an upload, with a digest of the uploaded
    bytes (the model's lineage names its data without keeping it)."""

    good: Sequence[Image]
    defects: Sequence[tuple[str, Image]] = ()
    digest: str = ""
    sources: dict[str, int] = field(default_factory=dict)


def data_digest(named_bytes: Sequence[tuple[str, bytes]]) -> str:
    """One digest over labelled uploads, in a canonical order."""
    digest = hashlib.sha256()
    for label, data in sorted((label, hashlib.sha256(b).hexdigest()) for label, b in named_bytes):
        digest.update(f"{label}:{data}\n".encode())
    return digest.hexdigest()


def training_data(
    runtime: NodeRuntime,
    raw: Sequence[tuple[str, bytes]],
    names: Sequence[str],
    progress: Progress | None = None,
) -> TrainingData:
    """Labelled uploads decoded for training, one at a time, each reduced as it is decoded to
    about `TRAINING_PIXELS` (the model sees fewer still).

    A job whose images hold more than the node's `max_training_pixels` in all is refused from
    the files' headers, before any of them is decoded (as is a file in a format whose header is
    not read). Blocking: run it off the event loop, in the vision engine's training slot."""
    vision = runtime.vision
    sizes = [vision.declared_size(data, name) for (_, data), name in zip(raw, names, strict=True)]
    _check_training_pixels(
        sum(width * height for width, height in sizes), vision.max_training_pixels
    )
    good: list[Image] = []
    defects: list[tuple[str, Image]] = []
    for index, ((label, data), name) in enumerate(zip(raw, names, strict=True)):
        image, _ = vision.decode(data, name, reduce_to=TRAINING_PIXELS)
        if progress is not None:
            progress(TrainingStage.DECODING, index + 1, len(raw))
        if label == GOOD:
            good.append(image)
        else:
            defects.append((label, image))
    return TrainingData(good=good, defects=defects, digest=data_digest(raw))


def _check_training_pixels(total: int, limit: int) -> None:
    if total > limit:
        raise TrainingTooLarge(
            f"the training images hold {total:,} pixels, more than the {limit:,} one training "
            f"may decode: send fewer or smaller images (each is reduced to about "
            f"{TRAINING_PIXELS:,} pixels for training anyway)"
        )


async def authorize_training(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    images: int,
) -> None:  # fmt: skip
    """Checked before an upload is decoded: who may train here, and how many images."""
    await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.vision.model.train"
    )
    if images > MAX_TRAINING_IMAGES:
        raise InvalidInput(f"at most {MAX_TRAINING_IMAGES} images train one model")


async def authorize_station(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, station_id: uuid.UUID,
    action: str,
) -> None:  # fmt: skip
    """Checked before an upload to a station (an image, a clip) is read: may the subject do
    `action` (`node.vision.inspect`, `node.vision.count`) at the station's factory."""
    _, factory = await _station(session, station_id)
    await check_at_factory(runtime, subject, action, factory, _no_station(station_id))


async def train_model(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    sku: str, data: TrainingData, holdout: float = 0.2, seed: int = 0,
    progress: Progress | None = None,
) -> InspectionModel:  # fmt: skip
    """Train the SKU's next model version on the node and store it (inactive until activated).
    `progress` hears of each step, up to storing (the caller tells when it is done)."""
    from vision_ml.training import Example

    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.vision.model.train"
    )
    if not SKU.fullmatch(sku):
        raise InvalidInput("sku: 1-64 letters, digits, '.', '_' or '-', starting alphanumeric")
    if len(data.good) + len(data.defects) > MAX_TRAINING_IMAGES:
        raise InvalidInput(f"at most {MAX_TRAINING_IMAGES} images train one model")
    for label, _ in data.defects:
        if label == GOOD or not CLASS.fullmatch(label):
            raise InvalidInput(f"defect class {label!r}: lowercase letters, digits, '_' or '-'")
    examples = [Example(label, image) for label, image in data.defects]
    # Training takes seconds to minutes: no transaction (and no pooled connection) waits on it.
    await session.commit()
    trained = await runtime.vision.train(
        sku, data.good, examples, holdout=holdout, seed=seed, progress=progress
    )
    if progress is not None:
        progress(TrainingStage.STORING, 0, 1)
    number = await VisionRepository(session).last_model_number(factory.id, sku) + 1
    relative = f"{factory.slug}/models/{sku}-v{number}-{trained.version}.pt"
    # The file first: a row never points at weights that are not there (a file whose row was
    # rolled back is only unused bytes).
    await asyncio.to_thread(runtime.vision.save_model, trained, relative)
    classes: dict[str, int] = {}
    for label, _ in data.defects:
        classes[label] = classes.get(label, 0) + 1
    row = InspectionModel(
        factory_id=factory.id,
        sku=sku,
        number=number,
        digest=trained.version,
        kind="anomaly+supervised" if trained.head is not None else "anomaly",
        file=relative,
        metrics=trained.metrics,
        params=trained.params,
        lineage={
            "source": "trained",
            "node": runtime.node_name,
            "data": {
                "digest": data.digest,
                "good_images": len(data.good),
                "defect_images": classes,
                **data.sources,
            },
            "parameters": {"holdout": holdout, "seed": seed},
        },
        created_by=subject.label,
    )
    session.add(row)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.vision.model.train",
        resource=f"vision-model:{factory.slug}/{sku}@{number}",
        outcome="ok",
        detail={"digest": trained.version, "good": len(data.good), "defects": classes},
    )
    return row


async def get_model(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, model_id: uuid.UUID
) -> InspectionModel:
    model = await VisionRepository(session).model(model_id)
    if model is None:
        raise VisionModelNotFound(f"no vision model {model_id} on this node")
    factory = await get_factory(session, model.factory_id)
    await check_at_factory(
        runtime,
        subject,
        "node.vision.model.read",
        factory,
        VisionModelNotFound(f"no vision model {model_id} on this node"),
    )
    return model


async def list_models(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    sku: str | None = None,
) -> Sequence[InspectionModel]:  # fmt: skip
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.vision.model.read"
    )
    return await VisionRepository(session).models(factory.id, sku)


# Models pushed from elsewhere (`yunfab vision push`)


async def factory_by_reference(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, reference: str, action: str
) -> Factory:
    """The factory named by its id or its slug, once the policy allows `action` on it; who may
    not even read it is told FACTORY_NOT_FOUND, as for one that is not on the node."""
    factory: Factory | None
    try:
        factory = await FactoryRepository(session).get(uuid.UUID(reference))
    except ValueError:
        found = SLUG.fullmatch(reference) is not None
        factory = await FactoryRepository(session).get_by_slug(reference) if found else None
    await runtime.authorizer.check_found(
        subject,
        action,
        None if factory is None else factory_resource(factory),
        read="node.factory.read",
        missing=FactoryNotFound(f"no factory {reference[:80]!r} on this node"),
    )
    assert factory is not None
    return factory


def _checked_push(trained: TrainedModel, sku: str) -> None:
    """What a pushed file must hold beyond being a model the loader accepts: the SKU it claims
    to be for, a calibrated threshold, and metadata small enough for the registry's row."""
    from vision_ml.features import INPUT_AREA

    if trained.sku != sku:
        raise InvalidInput(f"the file holds a model for SKU {trained.sku!r}, not {sku!r}")
    if trained.image_threshold is None:
        raise InvalidInput("the model has no image threshold: train it with calibration")
    params = trained.anomaly.params
    if not 16 * 16 <= params.area <= 4 * INPUT_AREA or not 0 < params.sigma <= 64:
        raise InvalidInput("the model's input size or blur is outside what this node runs")
    if not 0 <= params.border <= 8:
        raise InvalidInput("the model's border is outside what this node runs")
    size = len(json.dumps([trained.metrics, trained.params], default=str))
    if size > MAX_MODEL_METADATA:
        raise InvalidInput(f"the model's metrics and parameters exceed {MAX_MODEL_METADATA} bytes")


def _load_pushed(runtime: NodeRuntime, data: bytes, sku: str, partial: str) -> TrainedModel:
    """The pushed file written under the vision directory and loaded with the tensors-only
    loader (never unpickled as arbitrary objects), checked, and tried on one blank image so a
    model that cannot run is refused now rather than at a station. Blocking: run it off the
    event loop. The file stays at `partial` for the caller to move or remove."""
    import numpy as np

    from vision_ml.training import TrainedModel

    path = runtime.vision.path(partial)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    trained = TrainedModel.load(path)
    _checked_push(trained, sku)
    try:
        trained.inspect(np.full((64, 64, 3), 128, np.uint8))
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        raise InvalidInput(f"the model does not run on this node: {exc}") from exc
    return trained


async def register_pushed_model(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    sku: str, data: bytes, filename: str = "model.pt",
) -> InspectionModel:  # fmt: skip
    """Register a model trained elsewhere as the SKU's next version at the factory (inactive
    until a station activates it). Its digest is recomputed from the weights; its metrics and
    parameters are what the file says, and the lineage says so (`source: pushed`)."""
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.vision.model.train"
    )
    if not SKU.fullmatch(sku):
        raise InvalidInput("sku: 1-64 letters, digits, '.', '_' or '-', starting alphanumeric")
    if not data or len(data) > MAX_MODEL_BYTES:
        raise InvalidInput(f"a model file holds 1 to {MAX_MODEL_BYTES} bytes")
    partial = f"{factory.slug}/models/.push-{uuid.uuid4().hex}.partial"
    await session.commit()  # loading and trying the model takes a while: no transaction waits

    def load() -> TrainedModel:
        try:
            return _load_pushed(runtime, data, sku, partial)
        except BaseException:
            runtime.vision.path(partial).unlink(missing_ok=True)
            raise

    trained = await runtime.vision.run(load, training=True)
    digest = trained.digest()
    number = await VisionRepository(session).last_model_number(factory.id, sku) + 1
    relative = f"{factory.slug}/models/{sku}-v{number}-{digest}.pt"
    # The file first: a row never points at weights that are not there.
    await asyncio.to_thread(runtime.vision.path(partial).replace, runtime.vision.path(relative))
    await asyncio.to_thread(runtime.vision.publish, relative)
    row = InspectionModel(
        factory_id=factory.id,
        sku=sku,
        number=number,
        digest=digest,
        kind="anomaly+supervised" if trained.head is not None else "anomaly",
        file=relative,
        metrics=trained.metrics,
        params=trained.params,
        lineage={
            "source": "pushed",
            "node": runtime.node_name,
            "file": {
                "name": filename[:200],
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            },
            "claimed": {"version": trained.version, "created_at": trained.created_at},
        },
        created_by=subject.label,
    )
    session.add(row)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.vision.model.push",
        resource=f"vision-model:{factory.slug}/{sku}@{number}",
        outcome="ok",
        detail={"digest": digest, "bytes": len(data)},
    )
    return row


# Stations


@dataclass(frozen=True)
class StationInput:
    slug: str
    name: str
    device_id: uuid.UUID | None = None
    keep_images: bool = True
    privacy: dict[str, Any] | None = None
    counting: dict[str, Any] | None = None
    work_order_id: uuid.UUID | None = None


def privacy_policy(config: dict[str, Any] | None) -> privacy.PrivacyPolicy:
    """A station's stored privacy settings as a policy; bad settings are refused on input."""
    config = config or {}
    if not isinstance(config, dict):
        raise InvalidInput('privacy: an object such as {"mode": "mask", "zones": []}')
    try:
        return privacy.PrivacyPolicy(
            mode=privacy.PrivacyMode(config.get("mode", "mask")),
            zones=tuple(
                tuple((int(x), int(y)) for x, y in zone) for zone in config.get("zones", [])
            ),
            style=privacy.MaskStyle(config.get("style", "fill")),
        )
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"privacy: {exc}") from exc


def counter(config: dict[str, Any]) -> counting.ItemCounter:
    """A station's counting line or zone (frame pixels) as a fresh counter."""
    if not isinstance(config, dict):
        raise InvalidInput('counting: an object with a "line" or a "zone"')
    try:
        line = config.get("line")
        zone = config.get("zone")
        return counting.ItemCounter(
            line=counting.CountLine(
                tuple(line["a"]), tuple(line["b"]), line.get("direction", "both")
            )
            if line
            else None,
            zone=counting.CountZone(tuple(tuple(p) for p in zone)) if zone else None,
            min_area=int(config.get("min_area", 150)),
            max_area=config.get("max_area"),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"counting: {exc}") from exc


async def _check_links(
    session: AsyncSession, factory: Factory, device_id: uuid.UUID | None,
    work_order_id: uuid.UUID | None,
) -> None:  # fmt: skip
    if device_id is not None:
        device = await DeviceRepository(session).get(device_id)
        if device is None or device.factory_id != factory.id:
            raise InvalidInput(f"device {device_id} is not a machine of {factory.slug}")
    if work_order_id is not None:
        work = await WorkOrderRepository(session).get(work_order_id)
        if work is None or work.factory_id != factory.id:
            raise InvalidInput(f"work order {work_order_id} is not {factory.slug}'s")


async def create_station(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    input: StationInput,
) -> Station:  # fmt: skip
    factory = await factory_for(
        session,
        subject,
        runtime=runtime,
        factory_id=factory_id,
        action="node.vision.station.manage",
    )
    if not SLUG.fullmatch(input.slug):
        raise InvalidInput("slug: lowercase letters, digits and hyphens, at most 63 characters")
    if not 1 <= len(input.name.strip()) <= 200:
        raise InvalidInput("name: 1 to 200 characters")
    if await VisionRepository(session).station_slug_taken(factory.id, input.slug):
        raise Conflict(f"{factory.slug} already has a station {input.slug!r}")
    privacy_policy(input.privacy)
    if input.counting is not None:
        counter(input.counting)
    await _check_links(session, factory, input.device_id, input.work_order_id)
    station = Station(
        factory_id=factory.id,
        slug=input.slug,
        name=input.name.strip(),
        device_id=input.device_id,
        keep_images=input.keep_images,
        privacy=input.privacy or {},
        counting=input.counting,
        work_order_id=input.work_order_id,
    )
    session.add(station)
    await session.flush()
    await _audit(session, subject, "node.vision.station.create", factory, station, {})
    return station


async def configure_station(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, station_id: uuid.UUID,
    work_order_id: uuid.UUID | None, counting_config: dict[str, Any] | None,
) -> Station:  # fmt: skip
    """Point the station's camera counts at a work order (or none), with a line or zone."""
    station, factory = await _station(session, station_id)
    await check_at_factory(
        runtime, subject, "node.vision.station.manage", factory, _no_station(station_id)
    )
    if counting_config is not None:
        counter(counting_config)
        station.counting = counting_config
    await _check_links(session, factory, None, work_order_id)
    station.work_order_id = work_order_id
    station.updated_at = utcnow()
    await _audit(
        session, subject, "node.vision.station.configure", factory, station,
        {"work_order": str(work_order_id) if work_order_id else None},
    )  # fmt: skip
    return station


def _no_station(station_id: uuid.UUID) -> StationNotFound:
    return StationNotFound(f"no station {station_id} on this node")


async def _station(
    session: AsyncSession, station_id: uuid.UUID, *, lock: bool = False
) -> tuple[Station, Factory]:
    station = await VisionRepository(session).station(station_id, lock=lock)
    if station is None:
        raise _no_station(station_id)
    return station, await get_factory(session, station.factory_id)


async def get_station(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, station_id: uuid.UUID
) -> Station:
    station, factory = await _station(session, station_id)
    await check_at_factory(
        runtime, subject, "node.vision.station.read", factory, _no_station(station_id)
    )
    return station


async def list_stations(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID
) -> Sequence[Station]:
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.vision.station.read"
    )
    return await VisionRepository(session).stations(factory.id)


async def activate_model(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, station_id: uuid.UUID,
    model_id: uuid.UUID,
) -> Station:  # fmt: skip
    """Switch the station to `model_id` in one step (another version, or another SKU's model
    when the line changes parts); the model it ran before is kept for a rollback."""
    station, factory = await _station(session, station_id)
    await check_at_factory(
        runtime, subject, "node.vision.station.manage", factory, _no_station(station_id)
    )
    model = await _runnable_model(session, factory, model_id)
    if station.model_id == model.id:
        return station
    # A file that does not load is refused now, not at the first part (and is then cached).
    # Loading waits for an inference slot (behind parts being inspected) and reads the weights:
    # no transaction, and no lock on the station, waits on it.
    await session.commit()
    await runtime.vision.run(functools.partial(runtime.vision.model, model.id, model.file))
    station, factory = await _station(session, station_id, lock=True)
    model = await _runnable_model(session, factory, model_id, fresh=True)
    if station.model_id == model.id:
        return station
    station.previous_model_id, station.model_id = station.model_id, model.id
    station.updated_at = utcnow()
    await _audit(
        session, subject, "node.vision.model.activate", factory, station,
        {"model": f"{model.sku}@{model.number}", "previous": str(station.previous_model_id)},
    )  # fmt: skip
    return station


async def _runnable_model(
    session: AsyncSession, factory: Factory, model_id: uuid.UUID, *, fresh: bool = False
) -> InspectionModel:
    """The factory's model `model_id`, refused when it is not there or may not run any more;
    `fresh` reads it again (it may have been disabled since it was first read)."""
    model = await VisionRepository(session).model(model_id, refresh=fresh)
    if model is None or model.factory_id != factory.id:
        raise VisionModelNotFound(f"no vision model {model_id} of {factory.slug}")
    if model.disabled_reason is not None:
        raise VisionModelDisabled(
            f"{model.sku}@{model.number} may not run any more: {model.disabled_reason}"
        )
    return model


async def rollback_station(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, station_id: uuid.UUID
) -> Station:
    """Back to the model the station ran before its last switch (again: forward once more)."""
    station, factory = await _station(session, station_id, lock=True)
    await check_at_factory(
        runtime, subject, "node.vision.station.manage", factory, _no_station(station_id)
    )
    if station.previous_model_id is None:
        raise NothingToRollBack(f"station {station.slug} has run no other model")
    previous = await VisionRepository(session).model(station.previous_model_id)
    if previous is not None and previous.disabled_reason is not None:
        raise VisionModelDisabled(
            f"the model {station.slug} ran before may not run any more: {previous.disabled_reason}"
        )
    station.model_id, station.previous_model_id = station.previous_model_id, station.model_id
    station.updated_at = utcnow()
    await _audit(
        session, subject, "node.vision.model.rollback", factory, station,
        {"model": str(station.model_id)},
    )  # fmt: skip
    return station


async def _audit(
    session: AsyncSession, subject: Subject, action: str, factory: Factory, station: Station,
    detail: dict[str, Any],
) -> None:  # fmt: skip
    await append_entry(
        session,
        actor=subject,
        action=action,
        resource=f"station:{factory.slug}/{station.slug}",
        outcome="ok",
        detail=detail,
    )


# Inspection


@dataclass(frozen=True)
class InspectionResult:
    record: QualityRecord
    heatmap_png: bytes
    image_threshold: float | None
    total_ms: float
    people_masked: int = 0


async def inspect(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, station_id: uuid.UUID,
    image: bytes, batch: str | None = None, part: str | None = None,
) -> InspectionResult:  # fmt: skip
    """Inspect one part's image with the station's active model and record the result."""
    started = dt.datetime.now(dt.UTC)
    station, factory = await _station(session, station_id)
    await check_at_factory(
        runtime, subject, "node.vision.inspect", factory, _no_station(station_id)
    )
    if station.model_id is None:
        raise NoActiveModel(f"station {station.slug} has no active model: activate one first")
    for name, value in (("batch", batch), ("part", part)):
        if value is not None and not 1 <= len(value) <= 64:
            raise InvalidInput(f"{name}: 1 to 64 characters")
    model_row = await VisionRepository(session).model(station.model_id)
    assert model_row is not None
    policy = privacy_policy(station.privacy)
    keep = station.keep_images and policy.mode is not privacy.PrivacyMode.COUNTS_ONLY
    record_id = uuid.uuid4()
    image_file = f"{factory.slug}/images/{utcnow():%Y-%m-%d}/{record_id}.jpg" if keep else None

    def work() -> tuple[Any, Image, tuple[int, int], bytes, int]:
        # Off the event loop: decoding a large photo takes as long as inspecting it. A photo
        # of more than the node's `inspect_pixels` is reduced as it is decoded, and inspected,
        # masked and kept at that size. The kept image is masked first and written before the
        # record: a record never names a missing file (a file whose record was rolled back is
        # only unused bytes).
        picture, size = runtime.vision.decode(image, "image")
        trained = runtime.vision.model(model_row.id, model_row.file)
        result = trained.inspect(picture)
        heat = heatmap_png(result.heatmap, trained.image_threshold)
        people = 0
        if image_file is not None:
            masked = privacy.mask_frame(picture, _zones_scaled(policy, picture, size))
            assert masked.frame is not None
            runtime.vision.save_image(masked.frame, image_file)
            people = masked.people
        return result, picture, size, heat, people

    await session.commit()  # nothing written yet: no transaction waits on the model
    result, picture, (width, height), heat, people = await runtime.vision.run(work)
    # Boxes in the pixels of the image as sent, whatever size it was inspected at.
    across, down = width / picture.shape[1], height / picture.shape[0]
    record = QualityRecord(
        id=record_id,
        station_id=station.id,
        factory_id=factory.id,
        model_id=model_row.id,
        device_id=station.device_id,
        sku=model_row.sku,
        batch=batch,
        part=part,
        score=float(result.score),
        verdict=result.verdict or "uncalibrated",
        defect_class=result.defect_class,
        boxes=[
            {
                **box._asdict(),
                "x": round(box.x * across),
                "y": round(box.y * down),
                "w": round(box.w * across),
                "h": round(box.h * down),
                "fx": box.x / picture.shape[1],
                "fy": box.y / picture.shape[0],
                "fw": box.w / picture.shape[1],
                "fh": box.h / picture.shape[0],
            }
            for box in result.boxes
        ],
        width=width,
        height=height,
        elapsed_ms=float(result.elapsed_ms),
        image_file=image_file,
        actor=subject.label,
    )
    session.add(record)
    await session.flush()
    total_ms = (dt.datetime.now(dt.UTC) - started).total_seconds() * 1000
    threshold = model_row.metrics.get("image_threshold")
    event = InspectionEvent(record.id, station.id, factory.id, heat, threshold, total_ms, people)
    after_commit(session, lambda: runtime.inspection_events.publish(event))
    return InspectionResult(record, heat, threshold, total_ms, people)


async def check_inspection_follower(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, station_id: uuid.UUID
) -> None:
    """May the subject follow a station's inspections (its factory's quality records):
    STATION_NOT_FOUND for who may not, as for a station not on the node."""
    _, factory = await _station(session, station_id)
    await check_at_factory(
        runtime, subject, "node.vision.quality.read", factory, _no_station(station_id)
    )


@dataclass(frozen=True)
class InspectedPart:
    record: QualityRecord
    event: InspectionEvent
    image_visible: bool
    """Whether the subscriber may open the kept image and see the heatmap (node.vision.image.read:
    the factory's people and the node, never hub staff)."""


async def inspected_part(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, event: InspectionEvent
) -> InspectedPart | None:
    """An inspection event as its subscriber may see it (decided afresh); None when its record
    is gone."""
    record = await VisionRepository(session).record(event.record_id)
    if record is None:
        return None
    factory = await get_factory(session, record.factory_id)
    visible = await runtime.authorizer.allows(
        subject, "node.vision.image.read", factory_resource(factory)
    )
    return InspectedPart(record=record, event=event, image_visible=visible)


def _zones_scaled(
    policy: privacy.PrivacyPolicy, picture: Image, size: tuple[int, int]
) -> privacy.PrivacyPolicy:
    """The station's zones (drawn on frames as the camera sends them) on a reduced picture."""
    across, down = picture.shape[1] / size[0], picture.shape[0] / size[1]
    if (across, down) == (1.0, 1.0):
        return policy
    zones = tuple(
        tuple((round(x * across), round(y * down)) for x, y in zone) for zone in policy.zones
    )
    return dataclasses.replace(policy, zones=zones)


async def quality_image(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, record_id: uuid.UUID
) -> bytes:
    """The kept (masked) image of an inspected part: for the factory and the node only."""
    record = await VisionRepository(session).record(record_id)
    if record is None:
        raise QualityRecordNotFound(f"no quality record {record_id} on this node")
    factory = await get_factory(session, record.factory_id)
    await check_at_factory(
        runtime,
        subject,
        "node.vision.image.read",
        factory,
        QualityRecordNotFound(f"no quality record {record_id} on this node"),
    )
    if record.image_file is None:
        raise NotFound("no image was kept for this part (counts-only or not kept)")
    return await asyncio.to_thread(runtime.vision.read_file, record.image_file)


async def quality_records(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    station_id: uuid.UUID | None = None, sku: str | None = None, batch: str | None = None,
    verdict: str | None = None, page: PageRequest,
) -> Page[QualityRecord]:  # fmt: skip
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.vision.quality.read"
    )
    conditions = [QualityRecord.factory_id == factory.id]
    for column, value in (
        (QualityRecord.station_id, station_id),
        (QualityRecord.sku, sku),
        (QualityRecord.batch, batch),
        (QualityRecord.verdict, verdict),
    ):
        if value is not None:
            conditions.append(column == value)
    return await VisionRepository(session).record_page(conditions, page)


# Progress from cameras


@dataclass(frozen=True)
class CameraCount:
    counted: int
    work_order: WorkOrder | None
    reported: bool
    """False when the window was reported before (a retry) or nothing was counted."""


async def report_camera_count(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, station_id: uuid.UUID,
    count: int, window_start: dt.datetime, window_end: dt.datetime,
) -> CameraCount:  # fmt: skip
    """Items the station's camera counted in a time window become units made on its work order.

    The window is the report's key: a counter that sends the same window again (a retry after
    a lost answer) moves the work order once."""
    station, factory = await _station(session, station_id)
    await check_at_factory(runtime, subject, "node.vision.count", factory, _no_station(station_id))
    if count < 0:
        raise InvalidInput("count: not negative")
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise InvalidInput("the window's times need a time zone")
    if window_end <= window_start:
        raise InvalidInput("the window ends after it starts")
    if station.work_order_id is None:
        raise NoWorkOrder(f"station {station.slug} counts for no work order: configure one")
    work = await WorkOrderRepository(session).get(station.work_order_id)
    assert work is not None
    if count == 0:
        return CameraCount(0, work, False)
    key = (
        f"camera:{station.id.hex[:16]}:{int(window_start.timestamp())}"
        f":{int(window_end.timestamp())}"
    )
    before = work.made
    work = await orders.report_progress(
        session,
        subject,
        runtime=runtime,
        work_order_id=work.id,
        report=orders.Report(
            kind=WorkOrderStatus.IN_PRODUCTION,
            day=window_end.astimezone(dt.UTC).date(),
            good=count,
            note=f"counted by camera at {station.slug}",
            key=key,
        ),
    )
    return CameraCount(count, work, work.made != before)


async def count_clip(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, station_id: uuid.UUID,
    video: bytes, started_at: dt.datetime,
) -> CameraCount:  # fmt: skip
    """Count the items in a recorded clip of the station's camera and report them. The clip is
    read from a temporary file and deleted: no frame is kept."""
    station, factory = await _station(session, station_id)
    await check_at_factory(runtime, subject, "node.vision.count", factory, _no_station(station_id))
    if station.counting is None:
        raise InvalidInput(f"station {station.slug} has no counting line or zone")
    if station.work_order_id is None:
        raise NoWorkOrder(f"station {station.slug} counts for no work order: configure one")
    if not video or len(video) > MAX_CLIP_BYTES:
        raise InvalidInput(f"a clip holds 1 to {MAX_CLIP_BYTES} bytes")
    if started_at.tzinfo is None:
        raise InvalidInput("started_at needs a time zone")
    config = station.counting

    def work() -> tuple[int, float]:
        with tempfile.TemporaryDirectory(prefix="yunfab-clip-") as folder:
            path = Path(folder) / "clip"
            path.write_bytes(video)
            items = counter(config)
            try:
                counting.count_video(path, items)
            except ValueError as exc:
                raise InvalidInput(f"video: {exc}") from exc
            return items.count, max(items.frame_index + 1, 1) / items.fps

    counted, seconds = await runtime.vision.run(work)
    return await report_camera_count(
        session, subject, runtime=runtime, station_id=station_id, count=counted,
        window_start=started_at, window_end=started_at + dt.timedelta(seconds=max(seconds, 1.0)),
    )  # fmt: skip


# Root cause


async def quality_causes(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, station_id: uuid.UUID,
    since: dt.datetime, until: dt.datetime, batch: str | None = None,
    lookback: dt.timedelta = dt.timedelta(minutes=2),
) -> rootcause.RootCauseReport:  # fmt: skip
    """Candidate causes of the station's defects in a time window: the machine's parameters that
    go with defective parts, and positions where defects gather across a batch."""
    station, factory = await _station(session, station_id)
    for action in ("node.vision.quality.read", "node.telemetry.read"):
        await check_at_factory(runtime, subject, action, factory, _no_station(station_id))
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidInput("since and until need a time zone")
    if until <= since:
        raise InvalidInput("until comes after since")
    records = await VisionRepository(session).calibrated_records(
        station.id, since, until, batch=batch, limit=ROOT_CAUSE_PARTS
    )
    device = await DeviceRepository(session).get(station.device_id) if station.device_id else None
    parts = [
        rootcause.Part(
            at=record.inspected_at,
            defective=record.verdict == "defective",
            batch=record.batch,
            defect_class=record.defect_class,
            boxes=[(b["fx"], b["fy"], b["fw"], b["fh"]) for b in record.boxes],
            device=device.key if device else None,
        )
        for record in records
    ]
    telemetry: dict[str, list[tuple[dt.datetime, float]]] = {}
    if device is not None:
        metrics = await DeviceRepository(session).series(device.id)
        readings = TelemetryRepository(session)
        start_ms = int((since - lookback).timestamp() * 1000)
        end_ms = int(until.timestamp() * 1000)
        for series_id, name in metrics:
            rows = await readings.readings_within(series_id, start_ms, end_ms)
            # The reading in force as the window opens (analyse drops it if too old).
            earlier = await readings.reading_before(series_id, start_ms)
            telemetry[name] = [
                (dt.datetime.fromtimestamp(ts / 1000, dt.UTC), value)
                for ts, value in [*earlier, *rows]
            ]
    return rootcause.analyse(parts, telemetry, lookback=lookback)
