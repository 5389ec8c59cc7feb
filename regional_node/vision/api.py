"""Factory vision over REST, for cameras and line PCs that send files rather than GraphQL:

- `POST /api/v1/vision/models`: multipart, `factory_id`, `sku`, image files under `good` and
  under `defects.<class>` (e.g. `defects.scratch`); optional `holdout`, `seed`;
- `POST /api/v1/factories/{id or slug}/vision-models`: multipart `sku` and `model`, a model
  file trained elsewhere (`yunfab vision push`), registered as the SKU's next version;
- `POST /api/v1/stations/{id}/inspections`: multipart `image`, optional `batch`, `part`;
- `POST /api/v1/stations/{id}/clips`: multipart `video` and `started_at` (ISO time with zone):
  the items counted in it move the station's work order;
- `GET /api/v1/quality-records/{id}/image`: the kept, masked image, to the factory and the
  node's operator only.

Answers are the same JSON the GraphQL API gives (camelCase fields). An upload is read only
once its sender is known and allowed: an anonymous one is refused unread (401), a station's from
the station in the path, a training set's from `factory_id`, which must come before the files, once;
each body is capped (`vision_max_upload_mb`, the image and clip limits) with 413.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData, UploadFile

from regional_node.graphql.context import current_subject
from regional_node.settings import NodeSettings
from regional_node.state import node_state
from regional_node.vision import service
from regional_node.vision.events import training_job
from regional_node.vision.models import InspectionModel, QualityRecord
from yunfab.bodies import FORM_OVERHEAD, MIB, BodyLimit, multipart_form
from yunfab.db import session_scope
from yunfab.errors import InvalidInput
from yunfab.service import BINARY, multipart_body
from yunfab.subject import Subject, SubjectKind
from yunfab.tokens import TokenMissing

router = APIRouter(tags=["vision"])
MAX_FILES = service.MAX_TRAINING_IMAGES
TRAIN_PATH = "/api/v1/vision/models"
INSPECT_PATH = "/api/v1/stations/{station_id}/inspections"
CLIP_PATH = "/api/v1/stations/{station_id}/clips"
PUSH_PATH = "/api/v1/factories/{factory}/vision-models"


def train_limit(settings: NodeSettings) -> BodyLimit:
    return BodyLimit(TRAIN_PATH, settings.vision_max_upload_mb * MIB, checked_by_route=True)


def inspect_limit(settings: NodeSettings) -> BodyLimit:
    return BodyLimit(
        INSPECT_PATH, settings.vision_max_image_mb * MIB + FORM_OVERHEAD, checked_by_route=True
    )


def clip_limit(settings: NodeSettings) -> BodyLimit:
    return BodyLimit(CLIP_PATH, service.MAX_CLIP_BYTES + FORM_OVERHEAD, checked_by_route=True)


def push_limit(settings: NodeSettings) -> BodyLimit:
    return BodyLimit(PUSH_PATH, service.MAX_MODEL_BYTES + FORM_OVERHEAD, checked_by_route=True)


def body_limits(settings: NodeSettings) -> list[BodyLimit]:
    """The uploads' caps; each route checks the caller from the headers before it reads."""
    return [
        train_limit(settings),
        inspect_limit(settings),
        clip_limit(settings),
        push_limit(settings),
    ]


def _settings(request: Request) -> NodeSettings:
    settings: NodeSettings = node_state(request.app).settings
    return settings


def _signed_in(subject: Subject) -> None:
    # Nobody's upload is read before we know who sends it.
    if subject.kind is SubjectKind.ANONYMOUS:
        raise TokenMissing("authentication required: send a Bearer access token")


async def _may_at_station(
    request: Request, subject: Subject, station_id: uuid.UUID, action: str
) -> None:
    _signed_in(subject)
    async with node_state(request.app).db.sessionmaker() as session:
        await service.authorize_station(
            session, subject, runtime=node_state(request.app).runtime, station_id=station_id,
            action=action,
        )  # fmt: skip


def _text(form: FormData, name: str, *, required: bool = True) -> str | None:
    value = form.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"{name}: required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: a form field, not a file")
    return value


async def _file(form: FormData, name: str, limit: int) -> bytes:
    value = form.get(name)
    if not isinstance(value, UploadFile):
        raise InvalidInput(f"{name}: attach a file")
    return await _read(value, limit)


async def _read(upload: UploadFile, limit: int) -> bytes:
    """An uploaded file, refused unread when it is larger than `limit` bytes."""
    if upload.size is not None and upload.size > limit:
        raise InvalidInput(f"{upload.filename or 'a file'}: more than the {limit} bytes allowed")
    return await upload.read()


def _factory_id(form: FormData) -> uuid.UUID:
    if len(form.getlist("factory_id")) > 1:
        raise InvalidInput("factory_id: send it once")
    return _uuid(_text(form, "factory_id"), "factory_id")


def _uuid(value: str | None, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value or "")
    except ValueError as exc:
        raise InvalidInput(f"{name}: not a UUID") from exc


@router.post(
    TRAIN_PATH,
    status_code=201,
    summary="Train a SKU's inspection model",
    openapi_extra=multipart_body(
        ["factory_id", "sku", "good"],
        factory_id={"type": "string", "format": "uuid", "description": "Before the files"},
        sku={"type": "string"},
        good={"type": "array", "items": BINARY, "description": "Images of good parts"},
        **{
            "defects.scratch": {
                "type": "array",
                "items": BINARY,
                "description": "Images of one defect class: a part `defects.<class>` per class",
            }
        },
        holdout={"type": "number", "default": 0.2},
        seed={"type": "integer", "default": 0},
        progress_key={
            "type": "string",
            "format": "uuid",
            "description": "Your name for the job: GraphQL visionTrainingProgress(key:) tells "
            "its steps",
        },
    ),
)
async def train_model(
    request: Request, subject: Annotated[Subject, Depends(current_subject)]
) -> dict[str, Any]:
    _signed_in(subject)
    runtime = node_state(request.app).runtime

    async def may_train(fields: FormData) -> None:
        # From the fields sent before the files (factory_id first): no image byte is kept for
        # a caller who may not train here. The form holds at most MAX_FILES files.
        factory_id = _factory_id(fields)
        async with node_state(request.app).db.sessionmaker() as session:
            await service.authorize_training(
                session, subject, runtime=runtime, factory_id=factory_id, images=0
            )

    async with multipart_form(
        request, train_limit(_settings(request)), max_files=MAX_FILES, max_fields=100,
        before_files=may_train,
    ) as form:  # fmt: skip
        # Once: a second factory_id after the files would train for a factory not authorized.
        factory_id = _factory_id(form)
        sku = _text(form, "sku") or ""
        try:
            holdout = float(_text(form, "holdout", required=False) or 0.2)
            seed = int(_text(form, "seed", required=False) or 0)
        except ValueError as exc:
            raise InvalidInput(f"holdout and seed are numbers: {exc}") from exc
        raw: list[tuple[str, bytes]] = []
        names: list[str] = []
        limit = runtime.vision.max_image_bytes
        for key, value in form.multi_items():
            if key != "good" and not key.startswith("defects."):
                continue
            if not isinstance(value, UploadFile):
                raise InvalidInput(f"{key}: attach image files")
            raw.append(("good" if key == "good" else key.removeprefix("defects."),
                        await _read(value, limit)))  # fmt: skip
            names.append(value.filename or key)
        named = _text(form, "progress_key", required=False)
        progress_key = _uuid(named, "progress_key") if named else None
    async with training_job(runtime.training_progress, progress_key, subject.label) as job:
        # Decoded in the training slot: concurrent uploads decode one at a time, as they train.
        data = await runtime.vision.run(
            functools.partial(service.training_data, runtime, raw, names, job.progress),
            training=True,
        )
        async with session_scope(node_state(request.app).db.sessionmaker) as session:
            row = await service.train_model(
                session, subject, runtime=runtime, factory_id=factory_id, sku=sku, data=data,
                holdout=holdout, seed=seed, progress=job.progress,
            )  # fmt: skip
        job.model_id = row.id
    return model_json(row)


@router.post(
    PUSH_PATH,
    status_code=201,
    summary="Register a model trained elsewhere",
    openapi_extra=multipart_body(["sku", "model"], sku={"type": "string"}, model=BINARY),
)
async def push_model(
    factory: str, request: Request, subject: Annotated[Subject, Depends(current_subject)]
) -> dict[str, Any]:
    """`yunfab vision push`: a model file trained off the node becomes the SKU's next version.
    The caller is authorized from the path and token before a byte of the body is read."""
    _signed_in(subject)
    runtime = node_state(request.app).runtime
    async with node_state(request.app).db.sessionmaker() as session:
        found = await service.factory_by_reference(
            session, subject, runtime=runtime, reference=factory,
            action="node.vision.model.train",
        )  # fmt: skip
        factory_id = found.id
    async with multipart_form(request, push_limit(_settings(request)), max_files=1) as form:
        sku = _text(form, "sku") or ""
        upload = form.get("model")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("model: attach the model file")
        data = await _read(upload, service.MAX_MODEL_BYTES)
        filename = upload.filename or "model.pt"
    async with session_scope(node_state(request.app).db.sessionmaker) as session:
        row = await service.register_pushed_model(
            session, subject, runtime=runtime, factory_id=factory_id, sku=sku, data=data,
            filename=filename,
        )  # fmt: skip
    return model_json(row)


@router.post(
    INSPECT_PATH,
    summary="Inspect one part's image",
    openapi_extra=multipart_body(
        ["image"], image=BINARY, batch={"type": "string"}, part={"type": "string"}
    ),
)
async def inspect(
    station_id: uuid.UUID, request: Request, subject: Annotated[Subject, Depends(current_subject)]
) -> dict[str, Any]:
    await _may_at_station(request, subject, station_id, "node.vision.inspect")
    async with multipart_form(request, inspect_limit(_settings(request)), max_files=1) as form:
        image = await _file(form, "image", node_state(request.app).runtime.vision.max_image_bytes)
        batch, part = _text(form, "batch", required=False), _text(form, "part", required=False)
    async with session_scope(node_state(request.app).db.sessionmaker) as session:
        result = await service.inspect(
            session, subject, runtime=node_state(request.app).runtime, station_id=station_id,
            image=image, batch=batch, part=part,
        )  # fmt: skip
    return {
        "record": record_json(result.record),
        "heatmapPng": base64.b64encode(result.heatmap_png).decode(),
        "imageThreshold": result.image_threshold,
        "totalMs": result.total_ms,
        "peopleMasked": result.people_masked,
    }


@router.post(
    CLIP_PATH,
    summary="Count items in a camera clip",
    openapi_extra=multipart_body(
        ["video", "started_at"],
        video=BINARY,
        started_at={"type": "string", "format": "date-time", "description": "With its zone"},
    ),
)
async def count_clip(
    station_id: uuid.UUID, request: Request, subject: Annotated[Subject, Depends(current_subject)]
) -> dict[str, Any]:
    await _may_at_station(request, subject, station_id, "node.vision.count")
    async with multipart_form(request, clip_limit(_settings(request)), max_files=1) as form:
        video = await _file(form, "video", service.MAX_CLIP_BYTES)
        started = _text(form, "started_at") or ""
    try:
        started_at = dt.datetime.fromisoformat(started)
    except ValueError as exc:
        raise InvalidInput("started_at: an ISO 8601 time with its zone") from exc
    async with session_scope(node_state(request.app).db.sessionmaker) as session:
        result = await service.count_clip(
            session, subject, runtime=node_state(request.app).runtime, station_id=station_id,
            video=video, started_at=started_at,
        )  # fmt: skip
        work = result.work_order
        return {
            "counted": result.counted,
            "reported": result.reported,
            "workOrder": {"id": str(work.id), "made": work.made, "status": work.status.value}
            if work
            else None,
        }


@router.get("/api/v1/quality-records/{record_id}/image", summary="An inspected part's image")
async def quality_image(
    record_id: uuid.UUID, request: Request, subject: Annotated[Subject, Depends(current_subject)]
) -> Response:
    async with node_state(request.app).db.sessionmaker() as session:
        data = await service.quality_image(
            session, subject, runtime=node_state(request.app).runtime, record_id=record_id
        )
    return Response(data, media_type="image/jpeg", headers={"cache-control": "private, no-store"})


def model_json(row: InspectionModel) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "factoryId": str(row.factory_id),
        "sku": row.sku,
        "number": row.number,
        "digest": row.digest,
        "kind": row.kind,
        "metrics": row.metrics,
        "params": row.params,
        "lineage": row.lineage,
        "createdAt": row.created_at.isoformat(),
    }


def record_json(row: QualityRecord) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "stationId": str(row.station_id),
        "factoryId": str(row.factory_id),
        "modelId": str(row.model_id),
        "sku": row.sku,
        "batch": row.batch,
        "part": row.part,
        "score": row.score,
        "verdict": row.verdict,
        "defectClass": row.defect_class,
        "boxes": [{k: b[k] for k in ("x", "y", "w", "h", "peak")} for b in row.boxes],
        "width": row.width,
        "height": row.height,
        "elapsedMs": row.elapsed_ms,
        "imageKept": row.image_file is not None,
        "inspectedAt": row.inspected_at.isoformat(),
    }
