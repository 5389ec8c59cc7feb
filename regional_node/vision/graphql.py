"""Factory vision in the node's GraphQL API. Images travel as base64 strings (a `data:` URI
prefix is accepted); the REST endpoints in `vision.api` take the same as multipart uploads."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import uuid

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from regional_node.graphql.context import NodeContext
from regional_node.orders.graphql.types import WorkOrderType
from regional_node.runtime import NodeRuntime
from regional_node.vision import service
from regional_node.vision.models import InspectionModel, QualityRecord, Station
from yunfab.db import session_scope
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Connection, PageRequest


def decode_base64(text: str, name: str) -> bytes:
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"{name}: not base64 ({exc})") from exc


@strawberry.type(name="VisionModel")
class VisionModelType:
    id: uuid.UUID
    factory_id: uuid.UUID
    sku: str
    number: int = strawberry.field(description="1, 2, 3... per factory and SKU.")
    digest: str
    kind: str = strawberry.field(description="anomaly, or anomaly+supervised.")
    metrics: JSON = strawberry.field(description="Held-out calibration metrics and timings.")
    params: JSON
    lineage: JSON = strawberry.field(description="The training data's digest and counts, etc.")
    created_by: str
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: InspectionModel) -> VisionModelType:
        return cls(
            id=row.id,
            factory_id=row.factory_id,
            sku=row.sku,
            number=row.number,
            digest=row.digest,
            kind=row.kind,
            metrics=row.metrics,  # type: ignore[arg-type]
            params=row.params,  # type: ignore[arg-type]
            lineage=row.lineage,  # type: ignore[arg-type]
            created_by=row.created_by,
            created_at=row.created_at,
        )


@strawberry.type(name="Station")
class StationType:
    id: uuid.UUID
    factory_id: uuid.UUID
    slug: str
    name: str
    device_id: uuid.UUID | None
    model_id: uuid.UUID | None
    previous_model_id: uuid.UUID | None
    work_order_id: uuid.UUID | None
    counting: JSON | None
    privacy: JSON
    keep_images: bool
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, row: Station) -> StationType:
        return cls(
            id=row.id,
            factory_id=row.factory_id,
            slug=row.slug,
            name=row.name,
            device_id=row.device_id,
            model_id=row.model_id,
            previous_model_id=row.previous_model_id,
            work_order_id=row.work_order_id,
            counting=row.counting,  # type: ignore[arg-type]
            privacy=row.privacy,  # type: ignore[arg-type]
            keep_images=row.keep_images,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The model the station runs now.")
    async def model(self, info: Info[NodeContext, None]) -> VisionModelType | None:
        if self.model_id is None:
            return None
        row = await info.context.session.get(InspectionModel, self.model_id)
        return VisionModelType.from_model(row) if row else None


@strawberry.type(name="DefectBox")
class DefectBoxType:
    x: int
    y: int
    w: int
    h: int
    peak: float


@strawberry.type(name="QualityRecord")
class QualityRecordType:
    id: uuid.UUID
    station_id: uuid.UUID
    factory_id: uuid.UUID
    model_id: uuid.UUID
    device_id: uuid.UUID | None
    sku: str
    batch: str | None
    part: str | None
    score: float
    verdict: str = strawberry.field(description="good, defective, or uncalibrated (no threshold).")
    defect_class: str | None
    boxes: list[DefectBoxType]
    width: int
    height: int
    elapsed_ms: float
    image_kept: bool = strawberry.field(
        description="A masked image is kept on the node (REST: /api/v1/quality-records/{id}/image)."
    )
    inspected_at: dt.datetime

    @classmethod
    def from_model(cls, row: QualityRecord) -> QualityRecordType:
        return cls(
            id=row.id,
            station_id=row.station_id,
            factory_id=row.factory_id,
            model_id=row.model_id,
            device_id=row.device_id,
            sku=row.sku,
            batch=row.batch,
            part=row.part,
            score=row.score,
            verdict=row.verdict,
            defect_class=row.defect_class,
            boxes=[
                DefectBoxType(x=b["x"], y=b["y"], w=b["w"], h=b["h"], peak=b["peak"])
                for b in row.boxes
            ],
            width=row.width,
            height=row.height,
            elapsed_ms=row.elapsed_ms,
            image_kept=row.image_file is not None,
            inspected_at=row.inspected_at,
        )


@strawberry.type(name="Inspection")
class InspectionType:
    record: QualityRecordType
    heatmap_png: str = strawberry.field(description="The anomaly map, base64 PNG (red: defect).")
    image_threshold: float | None
    total_ms: float = strawberry.field(description="Decode, inspect, mask and record.")
    people_masked: int


@strawberry.type(name="CameraCount")
class CameraCountType:
    counted: int
    reported: bool = strawberry.field(description="False for a window reported before, or 0.")
    work_order: WorkOrderType | None


@strawberry.input
class LabelledImageInput:
    label: str = strawberry.field(description="The defect class, e.g. scratch.")
    image: str = strawberry.field(description="base64 image file (PNG, JPEG, ...).")


@strawberry.input
class TrainVisionModelInput:
    factory_id: uuid.UUID
    sku: str
    good: list[str] = strawberry.field(description="base64 image files of good parts.")
    defects: list[LabelledImageInput] = strawberry.field(default_factory=list)
    holdout: float = 0.2
    seed: int = 0


@strawberry.input
class StationInput:
    factory_id: uuid.UUID
    slug: str
    name: str
    device_id: uuid.UUID | None = None
    keep_images: bool = True
    privacy: JSON | None = strawberry.field(
        default=None, description='{"mode": "mask"|"counts_only", "zones": [[[x, y], ...]]}'
    )
    counting: JSON | None = strawberry.field(
        default=None,
        description='{"line": {"a": [x, y], "b": [x, y], "direction": "both"}} or {"zone": '
        "[[x, y], ...]}, frame pixels; optional min_area",
    )
    work_order_id: uuid.UUID | None = None


def training_data(input: TrainVisionModelInput, runtime: NodeRuntime) -> service.TrainingData:
    raw = [("good", decode_base64(text, f"good[{i}]")) for i, text in enumerate(input.good)]
    raw += [
        (item.label, decode_base64(item.image, f"defects[{i}]"))
        for i, item in enumerate(input.defects)
    ]
    names = [f"{label} image {i}" for i, (label, _) in enumerate(raw)]
    return service.training_data(runtime, raw, names)


@strawberry.type
class VisionQuery:
    @strawberry.field(description="A factory's inspection models, newest version first per SKU.")
    async def vision_models(
        self, info: Info[NodeContext, None], factory_id: uuid.UUID, sku: str | None = None
    ) -> list[VisionModelType]:
        context = info.context
        rows = await service.list_models(
            context.session, context.subject, runtime=context.runtime, factory_id=factory_id,
            sku=sku,
        )  # fmt: skip
        return [VisionModelType.from_model(row) for row in rows]

    @strawberry.field
    async def stations(
        self, info: Info[NodeContext, None], factory_id: uuid.UUID
    ) -> list[StationType]:
        context = info.context
        rows = await service.list_stations(
            context.session, context.subject, runtime=context.runtime, factory_id=factory_id
        )
        return [StationType.from_model(row) for row in rows]

    @strawberry.field
    async def station(self, info: Info[NodeContext, None], id: uuid.UUID) -> StationType:
        context = info.context
        row = await service.get_station(
            context.session, context.subject, runtime=context.runtime, station_id=id
        )
        return StationType.from_model(row)

    @strawberry.field(description="Inspected parts, newest first.")
    async def quality_records(
        self,
        info: Info[NodeContext, None],
        factory_id: uuid.UUID,
        station_id: uuid.UUID | None = None,
        sku: str | None = None,
        batch: str | None = None,
        verdict: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[QualityRecordType]:
        context = info.context
        page = await service.quality_records(
            context.session, context.subject, runtime=context.runtime, factory_id=factory_id,
            station_id=station_id, sku=sku, batch=batch, verdict=verdict,
            page=PageRequest.from_args(
                first, after, max_size=context.settings.graphql_max_page_size, arity=2
            ),
        )  # fmt: skip
        return Connection[QualityRecordType].from_page(
            page,
            key=lambda row: (row.inspected_at.isoformat(), str(row.id)),
            node=QualityRecordType.from_model,
            after=after,
        )

    @strawberry.field(
        description="Candidate causes of a station's defects: machine parameters that go with "
        "defective parts (same device, time window) and positions where defects gather."
    )
    async def quality_causes(
        self,
        info: Info[NodeContext, None],
        station_id: uuid.UUID,
        since: dt.datetime,
        until: dt.datetime,
        batch: str | None = None,
        lookback_s: float = 120.0,
    ) -> JSON:
        context = info.context
        if not 0 < lookback_s <= 86400:
            raise InvalidInput("lookbackS: more than 0 and at most a day")
        report = await service.quality_causes(
            context.session, context.subject, runtime=context.runtime, station_id=station_id,
            since=since, until=until, batch=batch, lookback=dt.timedelta(seconds=lookback_s),
        )  # fmt: skip
        return report.as_json()  # type: ignore[return-value]


@strawberry.type
class VisionMutation:
    @strawberry.mutation(
        description="Train a SKU's next inspection model on this node from good images (and "
        "labelled defects, which add a supervised head). Stored inactive: activate it on a station."
    )
    async def train_vision_model(
        self, info: Info[NodeContext, None], input: TrainVisionModelInput
    ) -> VisionModelType:
        context = info.context
        # Who may train, and how many images, before anything is decoded.
        await service.authorize_training(
            context.session, context.subject, runtime=context.runtime,
            factory_id=input.factory_id, images=len(input.good) + len(input.defects),
        )  # fmt: skip
        # Decoded in the training slot: concurrent uploads decode one at a time, as they train.
        data = await context.runtime.vision.run(
            functools.partial(training_data, input, context.runtime), training=True
        )
        async with session_scope(context.sessionmaker) as session:
            row = await service.train_model(
                session, context.subject, runtime=context.runtime, factory_id=input.factory_id,
                sku=input.sku, data=data, holdout=input.holdout, seed=input.seed,
            )  # fmt: skip
        return VisionModelType.from_model(row)

    @strawberry.mutation
    async def create_station(
        self, info: Info[NodeContext, None], input: StationInput
    ) -> StationType:
        context = info.context
        async with session_scope(context.sessionmaker) as session:
            row = await service.create_station(
                session, context.subject, runtime=context.runtime, factory_id=input.factory_id,
                input=service.StationInput(
                    slug=input.slug, name=input.name, device_id=input.device_id,
                    keep_images=input.keep_images, privacy=input.privacy,  # type: ignore[arg-type]
                    counting=input.counting,  # type: ignore[arg-type]
                    work_order_id=input.work_order_id,
                ),
            )  # fmt: skip
        return StationType.from_model(row)

    @strawberry.mutation(description="Point the station's camera counts at a work order.")
    async def configure_station_counting(
        self,
        info: Info[NodeContext, None],
        station_id: uuid.UUID,
        work_order_id: uuid.UUID | None,
        counting: JSON | None = None,
    ) -> StationType:
        context = info.context
        async with session_scope(context.sessionmaker) as session:
            row = await service.configure_station(
                session, context.subject, runtime=context.runtime, station_id=station_id,
                work_order_id=work_order_id, counting_config=counting,  # type: ignore[arg-type]
            )  # fmt: skip
        return StationType.from_model(row)

    @strawberry.mutation(
        description="Switch the station to a model (another version, or another SKU's) at once."
    )
    async def activate_vision_model(
        self, info: Info[NodeContext, None], station_id: uuid.UUID, model_id: uuid.UUID
    ) -> StationType:
        context = info.context
        async with session_scope(context.sessionmaker) as session:
            row = await service.activate_model(
                session, context.subject, runtime=context.runtime, station_id=station_id,
                model_id=model_id,
            )  # fmt: skip
        return StationType.from_model(row)

    @strawberry.mutation(description="Back to the model the station ran before its last switch.")
    async def rollback_station(
        self, info: Info[NodeContext, None], station_id: uuid.UUID
    ) -> StationType:
        context = info.context
        async with session_scope(context.sessionmaker) as session:
            row = await service.rollback_station(
                session, context.subject, runtime=context.runtime, station_id=station_id
            )
        return StationType.from_model(row)

    @strawberry.mutation(description="Inspect one part's image with the station's active model.")
    async def inspect_part(
        self,
        info: Info[NodeContext, None],
        station_id: uuid.UUID,
        image: str,
        batch: str | None = None,
        part: str | None = None,
    ) -> InspectionType:
        context = info.context
        data = decode_base64(image, "image")
        async with session_scope(context.sessionmaker) as session:
            result = await service.inspect(
                session, context.subject, runtime=context.runtime, station_id=station_id,
                image=data, batch=batch, part=part,
            )  # fmt: skip
        return inspection_type(result)

    @strawberry.mutation(
        description="Items a station's camera counted in a window become units made on its work "
        "order; the same window sent again moves it once."
    )
    async def report_camera_count(
        self,
        info: Info[NodeContext, None],
        station_id: uuid.UUID,
        count: int,
        window_start: dt.datetime,
        window_end: dt.datetime,
    ) -> CameraCountType:
        context = info.context
        async with session_scope(context.sessionmaker) as session:
            result = await service.report_camera_count(
                session, context.subject, runtime=context.runtime, station_id=station_id,
                count=count, window_start=window_start, window_end=window_end,
            )  # fmt: skip
        return camera_count_type(result)


def inspection_type(result: service.InspectionResult) -> InspectionType:
    return InspectionType(
        record=QualityRecordType.from_model(result.record),
        heatmap_png=base64.b64encode(result.heatmap_png).decode(),
        image_threshold=result.image_threshold,
        total_ms=result.total_ms,
        people_masked=result.people_masked,
    )


def camera_count_type(result: service.CameraCount) -> CameraCountType:
    return CameraCountType(
        counted=result.counted,
        reported=result.reported,
        work_order=WorkOrderType.from_model(result.work_order) if result.work_order else None,
    )
