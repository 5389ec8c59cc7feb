"""Factory vision in the node's GraphQL API. Images travel as base64 strings (a `data:` URI
prefix is accepted); the REST endpoints in `vision.api` take the same as multipart uploads."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import uuid
from collections.abc import AsyncGenerator, Mapping
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON
from strawberry.types import Info

from regional_node.graphql.context import NodeContext
from regional_node.jobs.graphql.types import JobType
from regional_node.orders.graphql.types import WorkOrderType
from regional_node.runtime import NodeRuntime
from regional_node.vision import jobs as vision_jobs
from regional_node.vision import service
from regional_node.vision.events import training_job
from regional_node.vision.models import InspectionModel, QualityRecord, Station
from vision_ml import counting as counting_lib
from vision_ml import privacy as privacy_lib
from vision_ml.progress import Progress, TrainingStage
from yunfab.errors import InvalidInput
from yunfab.graphql.dataloaders import Loader, rows_by
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import mutate, page_request, query, read, service_input
from yunfab.graphql.subscriptions import gated_events
from yunfab.subject import SubjectKind
from yunfab.tokens import TokenMissing


def decode_base64(text: str, name: str) -> bytes:
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"{name}: not base64 ({exc})") from exc


_JSON_GOES = "Read the typed `{}`; this JSON form goes in the next release."

strawberry.enum(privacy_lib.PrivacyMode, name="VisionPrivacyMode")
strawberry.enum(privacy_lib.MaskStyle, name="VisionMaskStyle")
strawberry.enum(counting_lib.LineDirection, name="CountLineDirection")


@strawberry.type(name="VisionValue", description="One value of a model's metrics or parameters.")
class VisionValueType:
    name: str = strawberry.field(
        description="Its path in the model's record, parts joined by dots (timings.train_s)."
    )
    number: float | None = strawberry.field(description="Set for a number (true/false: 1/0).")
    text: str | None = strawberry.field(description="Set for text.")


def _values(document: Mapping[str, Any] | None, prefix: str = "") -> list[VisionValueType]:
    """A model's metrics or parameters flattened to named values: which ones a model records
    depends on how it was trained (a supervised head adds its own), so the names stay the
    model's while the type stays fixed."""
    out: list[VisionValueType] = []
    for key, value in (document or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += _values(value, f"{name}.")
        elif isinstance(value, bool | int | float):
            out.append(VisionValueType(name=name, number=float(value), text=None))
        elif isinstance(value, str):
            out.append(VisionValueType(name=name, number=None, text=value))
        elif isinstance(value, list):
            out += _values({str(i): item for i, item in enumerate(value)}, f"{name}.")
        else:
            out.append(VisionValueType(name=name, number=None, text=None))
    return out


@strawberry.type(name="VisionLabelCount")
class LabelCountType:
    label: str
    count: int


@strawberry.type(name="VisionTrainingData", description="What a trained model learnt from.")
class TrainingDataType:
    digest: str = strawberry.field(description="SHA-256 over the training images.")
    good_images: int
    defect_images: list[LabelCountType]
    sources: list[LabelCountType] = strawberry.field(
        description="Where the images came from, with how many each."
    )


@strawberry.type(name="VisionTrainingParameters")
class TrainingParametersType:
    holdout: float | None
    seed: int | None


@strawberry.type(name="VisionModelFile", description="The file a pushed model came in.")
class ModelFileType:
    name: str
    bytes: int
    sha256: str


@strawberry.type(name="VisionClaimed", description="What a pushed model's file says of itself.")
class ClaimedType:
    version: str | None
    created_at: str | None


@strawberry.type(name="VisionMarketOrigin", description="The market release a model came in.")
class MarketOriginType:
    listing: str
    version: str
    release_id: str
    installation_id: str | None
    artifact_sha256: str
    publisher_key: str | None
    format: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> MarketOriginType:
        installation, key, fmt = (
            doc.get("installation"),
            doc.get("publisher_key"),
            doc.get("format"),
        )
        return cls(
            listing=str(doc.get("listing", "")),
            version=str(doc.get("version", "")),
            release_id=str(doc.get("release", "")),
            installation_id=str(installation) if installation is not None else None,
            artifact_sha256=str(doc.get("artifact_sha256", "")),
            publisher_key=str(key) if key is not None else None,
            format=str(fmt) if fmt is not None else None,
        )


@strawberry.type(name="VisionBaseModel", description="The model a market head was put on.")
class BaseModelType:
    id: uuid.UUID
    number: int
    digest: str


@strawberry.type(name="VisionModelLineage", description="Where a model came from.")
class LineageType:
    source: str = strawberry.field(description="trained (on this node), pushed, or market.")
    node: str | None
    data: TrainingDataType | None = strawberry.field(description="Trained models.")
    parameters: TrainingParametersType | None = strawberry.field(description="Trained models.")
    file: ModelFileType | None = strawberry.field(description="Pushed models.")
    claimed: ClaimedType | None = strawberry.field(description="Pushed models.")
    market: MarketOriginType | None = strawberry.field(description="Models from the market.")
    base_model: BaseModelType | None = strawberry.field(
        description="Market heads: the factory's own model they were put on."
    )

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> LineageType:
        data, parameters = doc.get("data"), doc.get("parameters")
        file, claimed, base = doc.get("file"), doc.get("claimed"), doc.get("base_model")
        counted = ("digest", "good_images", "defect_images")
        return cls(
            source=str(doc.get("source", "")),
            node=doc.get("node"),
            data=TrainingDataType(
                digest=str(data.get("digest", "")),
                good_images=int(data.get("good_images", 0)),
                defect_images=[
                    LabelCountType(label=k, count=int(v))
                    for k, v in (data.get("defect_images") or {}).items()
                ],
                sources=[
                    LabelCountType(label=k, count=int(v))
                    for k, v in data.items()
                    if k not in counted and isinstance(v, int)
                ],
            )
            if isinstance(data, Mapping)
            else None,
            parameters=TrainingParametersType(
                holdout=parameters.get("holdout"), seed=parameters.get("seed")
            )
            if isinstance(parameters, Mapping)
            else None,
            file=ModelFileType(
                name=str(file.get("name", "")),
                bytes=int(file.get("bytes", 0)),
                sha256=str(file.get("sha256", "")),
            )  # fmt: skip
            if isinstance(file, Mapping)
            else None,
            claimed=ClaimedType(
                version=claimed.get("version"), created_at=claimed.get("created_at")
            )
            if isinstance(claimed, Mapping)
            else None,
            market=MarketOriginType.from_document(doc) if doc.get("source") == "market" else None,
            base_model=BaseModelType(
                id=uuid.UUID(str(base["id"])),
                number=int(base["number"]),
                digest=str(base["digest"]),
            )  # fmt: skip
            if isinstance(base, Mapping)
            else None,
        )


@strawberry.type(name="VisionModel")
class VisionModelType:
    id: uuid.UUID
    factory_id: uuid.UUID
    sku: str
    number: int = strawberry.field(description="1, 2, 3... per factory and SKU.")
    digest: str
    kind: str = strawberry.field(description="anomaly, or anomaly+supervised.")
    metrics: list[VisionValueType] = strawberry.field(
        description="Held-out calibration metrics and timings."
    )
    metrics_json: JSON = strawberry.field(deprecation_reason=_JSON_GOES.format("metrics"))
    params: list[VisionValueType] = strawberry.field(description="What it was fitted with.")
    params_json: JSON = strawberry.field(deprecation_reason=_JSON_GOES.format("params"))
    lineage: LineageType = strawberry.field(
        description="The training data's digest and counts, or the file it was pushed in."
    )
    lineage_json: JSON = strawberry.field(deprecation_reason=_JSON_GOES.format("lineage"))
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
            metrics=_values(row.metrics),
            metrics_json=row.metrics,  # type: ignore[arg-type]
            params=_values(row.params),
            params_json=row.params,  # type: ignore[arg-type]
            lineage=LineageType.from_document(row.lineage),
            lineage_json=row.lineage,  # type: ignore[arg-type]
            created_by=row.created_by,
            created_at=row.created_at,
        )


@strawberry.type(name="Point", description="A point in frame pixels.")
class PointType:
    x: int
    y: int


@strawberry.input(name="PointInput")
class PointInput:
    x: int
    y: int


def _points(raw: Any) -> list[PointType]:
    return [PointType(x=int(x), y=int(y)) for x, y in raw or []]


@strawberry.type(name="StationPrivacy", description="How the station protects people.")
class PrivacyType:
    mode: privacy_lib.PrivacyMode = strawberry.field(
        description="MASK: people masked before anything is kept; COUNTS_ONLY: no image kept."
    )
    zones: list[list[PointType]] = strawberry.field(description="Polygons always masked.")
    style: privacy_lib.MaskStyle

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> PrivacyType:
        policy = service.privacy_policy(doc)
        return cls(
            mode=policy.mode,
            zones=[_points(zone) for zone in policy.zones],
            style=policy.style,
        )


@strawberry.input(name="StationPrivacyInput")
class PrivacyInput:
    mode: privacy_lib.PrivacyMode = privacy_lib.PrivacyMode.MASK
    zones: list[list[PointInput]] = strawberry.field(default_factory=list)
    style: privacy_lib.MaskStyle = privacy_lib.MaskStyle.FILL

    def document(self) -> dict[str, Any]:
        """As stored, and as the JSON form takes it: both are checked alike."""
        return {
            "mode": self.mode.value,
            "zones": [[[p.x, p.y] for p in zone] for zone in self.zones],
            "style": self.style.value,
        }


@strawberry.type(name="CountLine", description="Items crossing this segment are counted.")
class CountLineType:
    a: PointType
    b: PointType
    direction: counting_lib.LineDirection


@strawberry.type(name="StationCounting", description="Where the station's camera counts items.")
class CountingType:
    line: CountLineType | None
    zone: list[PointType] | None = strawberry.field(description="Items entering it count.")
    min_area: int = strawberry.field(description="Smallest item, in pixels.")
    max_area: int | None = strawberry.field(description="Largest item, in pixels.")

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> CountingType:
        line, zone, top = doc.get("line"), doc.get("zone"), doc.get("max_area")
        return cls(
            line=CountLineType(
                a=PointType(x=int(line["a"][0]), y=int(line["a"][1])),
                b=PointType(x=int(line["b"][0]), y=int(line["b"][1])),
                direction=counting_lib.LineDirection(line.get("direction", "both")),
            )
            if line
            else None,
            zone=_points(zone) if zone else None,
            min_area=int(doc.get("min_area", 150)),
            max_area=int(top) if top is not None else None,
        )


@strawberry.input(name="CountLineInput")
class CountLineInput:
    a: PointInput
    b: PointInput
    direction: counting_lib.LineDirection = counting_lib.LineDirection.BOTH


@strawberry.input(name="StationCountingInput", description="A line, a zone, or both.")
class CountingInput:
    line: CountLineInput | None = None
    zone: list[PointInput] | None = None
    min_area: int | None = strawberry.field(default=None, description="Default 150 pixels.")
    max_area: int | None = None

    def document(self) -> dict[str, Any]:
        """As stored, and as the JSON form takes it: both are checked alike."""
        document: dict[str, Any] = {}
        if self.line is not None:
            document["line"] = {
                "a": [self.line.a.x, self.line.a.y],
                "b": [self.line.b.x, self.line.b.y],
                "direction": self.line.direction.value,
            }
        if self.zone is not None:
            document["zone"] = [[p.x, p.y] for p in self.zone]
        if self.min_area is not None:
            document["min_area"] = self.min_area
        if self.max_area is not None:
            document["max_area"] = self.max_area
        return document


def _one(typed: Any, legacy: Any, name: str) -> Any:
    """The typed input or its deprecated JSON form, as the service takes it."""
    if typed is not None and legacy is not None:
        raise InvalidInput(f"give {name} or {name}Json, not both")
    return typed.document() if typed is not None else legacy


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
    counting: CountingType | None
    counting_json: JSON | None = strawberry.field(deprecation_reason=_JSON_GOES.format("counting"))
    privacy: PrivacyType
    privacy_json: JSON = strawberry.field(deprecation_reason=_JSON_GOES.format("privacy"))
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
            counting=CountingType.from_document(row.counting) if row.counting else None,
            counting_json=row.counting,  # type: ignore[arg-type]
            privacy=PrivacyType.from_document(row.privacy),
            privacy_json=row.privacy,  # type: ignore[arg-type]
            keep_images=row.keep_images,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The model the station runs now.")
    async def model(self, info: Info[NodeContext, None]) -> VisionModelType | None:
        if self.model_id is None:
            return None
        row = await InspectionModelLoader.of(info).load(self.model_id)
        return VisionModelType.from_model(row) if row else None


class InspectionModelLoader(Loader[uuid.UUID, InspectionModel | None]):
    """The models of every station of a page, in one query."""

    async def batch_load(self, keys: list[uuid.UUID]) -> list[InspectionModel | None]:
        return await rows_by(self.context.session, InspectionModel, InspectionModel.id, keys)


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


@strawberry.type(
    name="InspectedPart",
    description="A part a station inspected, as its live feed shows it.",
)
class InspectedPartType:
    record: QualityRecordType = strawberry.field(description="Verdict, score, defect boxes.")
    heatmap_png: str | None = strawberry.field(
        description="The anomaly map, base64 PNG (red: defect), at the size the part was "
        "inspected: only in the feed (the node keeps no heatmap), and only for who may see the "
        "factory's images."
    )
    image_path: str | None = strawberry.field(
        description="Where the kept, masked image is (GET with the bearer token); null when "
        "none was kept or the subscriber may not see the factory's images."
    )
    image_threshold: float | None
    total_ms: float
    people_masked: int

    @classmethod
    def of(cls, part: service.InspectedPart) -> InspectedPartType:
        record, event = part.record, part.event
        kept = part.image_visible and record.image_file is not None
        return cls(
            record=QualityRecordType.from_model(record),
            heatmap_png=base64.b64encode(event.heatmap_png).decode()
            if part.image_visible
            else None,
            image_path=f"/api/v1/quality-records/{record.id}/image" if kept else None,
            image_threshold=event.image_threshold,
            total_ms=event.total_ms,
            people_masked=event.people_masked,
        )


TrainingStageEnum = strawberry.enum(TrainingStage, name="VisionTrainingStage")


@strawberry.type(
    name="VisionTrainingProgress",
    description="A step of a training job: DECODING and CALIBRATING count images (`done` of "
    "`total`), FITTING is one step, then STORING, and DONE (with `modelId`) or FAILED (with the "
    "error's code).",
)
class TrainingProgressType:
    stage: TrainingStageEnum  # type: ignore[valid-type]
    done: int
    total: int
    model_id: uuid.UUID | None
    error: str | None


@strawberry.type
class VisionSubscription:
    @strawberry.subscription(
        description="The steps of a training job you started with this `progressKey` "
        "(`trainVisionModel`, or the `progress_key` field of POST /api/v1/vision/models); ends "
        "with DONE or FAILED. Subscribe before you start the job: only later steps are told, "
        "and only to the job's own subject."
    )
    async def vision_training_progress(
        self, info: Info[NodeContext, None], key: uuid.UUID
    ) -> AsyncGenerator[TrainingProgressType, None]:
        context = info.context
        if context.subject.kind is SubjectKind.ANONYMOUS:
            raise TokenMissing("authentication required: send a Bearer access token")
        mine = context.subject.label
        async for event in gated_events(
            context,
            context.runtime.training_progress.subscribe(),
            wanted=lambda event: event.key == key and event.subject == mine,
        ):
            yield TrainingProgressType(
                stage=event.stage,
                done=event.done,
                total=event.total,
                model_id=event.model_id,
                error=event.error,
            )
            if event.stage in (TrainingStage.DONE, TrainingStage.FAILED):
                return

    @strawberry.subscription(
        description="A station's inspections as they are recorded: the inspection feed. Who may "
        "read the factory's quality records may follow it (STATION_NOT_FOUND otherwise); each "
        "event is decided again."
    )
    async def station_inspections(
        self, info: Info[NodeContext, None], station_id: uuid.UUID
    ) -> AsyncGenerator[InspectedPartType, None]:
        context = info.context

        async def may_follow(session: AsyncSession) -> object:
            await service.check_inspection_follower(
                session, context.subject, runtime=context.runtime, station_id=station_id
            )
            return None

        async for event in gated_events(
            context,
            context.runtime.inspection_events.subscribe(),
            wanted=lambda event: event.station_id == station_id,
            check=may_follow,
        ):
            part = await read(
                context, service.inspected_part, context.subject, runtime=context.runtime,
                event=event,
            )  # fmt: skip
            if part is not None:
                yield InspectedPartType.of(part)


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
    progress_key: uuid.UUID | None = strawberry.field(
        default=None,
        description="Your own name for this job: `visionTrainingProgress(key:)` then tells "
        "you each step.",
    )


@strawberry.input
class StationInput:
    factory_id: uuid.UUID
    slug: str
    name: str
    device_id: uuid.UUID | None = None
    keep_images: bool = True
    privacy: PrivacyInput | None = strawberry.field(
        default=None, description="Default: people masked, no zones."
    )
    counting: CountingInput | None = None
    work_order_id: uuid.UUID | None = None
    privacy_json: JSON | None = strawberry.field(
        default=None, deprecation_reason="Send the typed `privacy`."
    )
    counting_json: JSON | None = strawberry.field(
        default=None, deprecation_reason="Send the typed `counting`."
    )


def training_data(
    input: TrainVisionModelInput, runtime: NodeRuntime, progress: Progress | None = None
) -> service.TrainingData:
    raw = [("good", decode_base64(text, f"good[{i}]")) for i, text in enumerate(input.good)]
    raw += [
        (item.label, decode_base64(item.image, f"defects[{i}]"))
        for i, item in enumerate(input.defects)
    ]
    names = [f"{label} image {i}" for i, (label, _) in enumerate(raw)]
    return service.training_data(runtime, raw, names, progress)


@strawberry.type(name="QualityBatchRate")
class BatchRateType:
    batch: str | None
    parts: int
    defective: int
    rate: float | None


@strawberry.type(name="QualityCauseSplit", description="Where a parameter splits the risk.")
class SplitType:
    threshold: float
    risk_side: str = strawberry.field(description="above or below the threshold.")
    rate_above: float | None
    rate_below: float | None
    parts_above: int
    parts_below: int


@strawberry.type(name="QualityCauseBin")
class BinType:
    low: float
    high: float
    parts: int
    defective: int
    rate: float | None


@strawberry.type(
    name="QualityParameterCause",
    description="A machine parameter whose values go with defective parts.",
)
class ParameterCauseType:
    metric: str
    parts: int
    defective: int
    parts_without_value: int
    auroc: float
    strength: float
    direction: str
    p_value: float
    q_value: float = strawberry.field(description="False-discovery-rate adjusted.")
    significant: bool
    test: str
    split: SplitType
    bins: list[BinType]
    explanation: str


@strawberry.type(name="QualitySkippedMetric", description="A parameter that was not analysed.")
class SkippedMetricType:
    metric: str
    reason: str
    parts: int
    parts_without_value: int


@strawberry.type(name="QualityPositionCluster", description="Where defects gather on the part.")
class ClusterType:
    batch: str | None
    centre: list[float] = strawberry.field(description="x, y as fractions of the image.")
    radius: float
    parts: int
    scope_parts: int
    scope_defective: int
    share_of_defective: float | None
    share_of_parts: float | None
    p_value: float
    q_value: float
    explanation: str


@strawberry.type(name="QualityCauses", description="Candidate causes of a station's defects.")
class QualityCausesType:
    parts: int
    defective: int
    defect_rate: float | None
    parts_without_telemetry: int
    batches: list[BatchRateType]
    candidates: list[ParameterCauseType]
    not_analysable: list[SkippedMetricType]
    clusters: list[ClusterType]
    notes: list[str]

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> QualityCausesType:
        return cls(
            parts=doc["parts"],
            defective=doc["defective"],
            defect_rate=doc["defect_rate"],
            parts_without_telemetry=doc["parts_without_telemetry"],
            batches=[BatchRateType(**b) for b in doc["batches"]],
            candidates=[
                ParameterCauseType(
                    **{
                        **c,
                        "split": SplitType(**c["split"]),
                        "bins": [BinType(**b) for b in c["bins"]],
                    }
                )  # fmt: skip
                for c in doc["candidates"]
            ],
            not_analysable=[SkippedMetricType(**m) for m in doc["not_analysable"]],
            clusters=[ClusterType(**c) for c in doc["clusters"]],
            notes=list(doc["notes"]),
        )


@strawberry.type
class VisionQuery:
    @strawberry.field(description="A factory's inspection models, newest version first per SKU.")
    async def vision_models(
        self, info: Info[NodeContext, None], factory_id: uuid.UUID, sku: str | None = None
    ) -> list[VisionModelType]:
        context = info.context
        rows = await query(
            context, service.list_models, runtime=context.runtime, factory_id=factory_id,
            sku=sku,
        )  # fmt: skip
        return [VisionModelType.from_model(row) for row in rows]

    @strawberry.field
    async def stations(
        self, info: Info[NodeContext, None], factory_id: uuid.UUID
    ) -> list[StationType]:
        context = info.context
        rows = await query(
            context, service.list_stations, runtime=context.runtime, factory_id=factory_id
        )
        return [StationType.from_model(row) for row in rows]

    @strawberry.field
    async def station(self, info: Info[NodeContext, None], id: uuid.UUID) -> StationType:
        context = info.context
        row = await query(context, service.get_station, runtime=context.runtime, station_id=id)
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
        page = await query(
            context, service.quality_records, runtime=context.runtime, factory_id=factory_id,
            station_id=station_id, sku=sku, batch=batch, verdict=verdict,
            page=page_request(context, first, after, arity=2),
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
    ) -> QualityCausesType:
        document = await _quality_causes(info, station_id, since, until, batch, lookback_s)
        return QualityCausesType.from_document(document)

    @strawberry.field(deprecation_reason="Read the typed `qualityCauses`.")
    async def quality_causes_json(
        self,
        info: Info[NodeContext, None],
        station_id: uuid.UUID,
        since: dt.datetime,
        until: dt.datetime,
        batch: str | None = None,
        lookback_s: float = 120.0,
    ) -> JSON:
        return await _quality_causes(info, station_id, since, until, batch, lookback_s)  # type: ignore[return-value]


async def _quality_causes(
    info: Info[NodeContext, None], station_id: uuid.UUID, since: dt.datetime,
    until: dt.datetime, batch: str | None, lookback_s: float,
) -> dict[str, Any]:  # fmt: skip
    context = info.context
    if not 0 < lookback_s <= 86400:
        raise InvalidInput("lookbackS: more than 0 and at most a day")
    report = await query(
        context, service.quality_causes, runtime=context.runtime, station_id=station_id,
        since=since, until=until, batch=batch, lookback=dt.timedelta(seconds=lookback_s),
    )  # fmt: skip
    return report.as_json()


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
        await query(
            context, service.authorize_training, runtime=context.runtime,
            factory_id=input.factory_id, images=len(input.good) + len(input.defects),
        )  # fmt: skip
        runtime = context.runtime
        async with training_job(
            runtime.training_progress, input.progress_key, context.subject.label
        ) as job:
            # Decoded in the training slot: concurrent uploads decode one at a time, as they
            # train.
            data = await runtime.vision.run(
                functools.partial(training_data, input, runtime, job.progress), training=True
            )
            row = await mutate(
                context, service.train_model, runtime=runtime, factory_id=input.factory_id,
                sku=input.sku, data=data, holdout=input.holdout, seed=input.seed,
                progress=job.progress,
            )  # fmt: skip
            job.model_id = row.id
        return VisionModelType.from_model(row)

    @strawberry.mutation(
        description="Start training a SKU's next inspection model and return at once with the "
        "job: `job(id:)` tells how it goes and, once it succeeded, the model; "
        "`visionTrainingProgress(key:)` with the job's id tells each step. A node scaled out "
        "trains on its workers. Asking again with the same `key` returns the same job."
    )
    async def start_vision_training(
        self, info: Info[NodeContext, None], input: TrainVisionModelInput, key: str | None = None
    ) -> JobType:
        context = info.context
        # Who may train, and how many images, before anything is decoded or stored.
        await query(
            context, service.authorize_training, runtime=context.runtime,
            factory_id=input.factory_id, images=len(input.good) + len(input.defects),
        )  # fmt: skip
        uploads = [
            ("good", f"good image {i}", decode_base64(text, f"good[{i}]"))
            for i, text in enumerate(input.good)
        ]
        uploads += [
            (item.label, f"{item.label} image {i}", decode_base64(item.image, f"defects[{i}]"))
            for i, item in enumerate(input.defects)
        ]
        row = await mutate(
            context, vision_jobs.start_training, runtime=context.runtime,
            factory_id=input.factory_id, sku=input.sku, uploads=uploads, holdout=input.holdout,
            seed=input.seed, key=key,
        )  # fmt: skip
        return JobType.from_model(row)

    @strawberry.mutation
    async def create_station(
        self, info: Info[NodeContext, None], input: StationInput
    ) -> StationType:
        context = info.context
        row = await mutate(
            context, service.create_station, runtime=context.runtime, factory_id=input.factory_id,
            input=service_input(
                service.StationInput, input,
                privacy=_one(input.privacy, input.privacy_json, "privacy"),
                counting=_one(input.counting, input.counting_json, "counting"),
            ),
        )  # fmt: skip
        return StationType.from_model(row)

    @strawberry.mutation(description="Point the station's camera counts at a work order.")
    async def configure_station_counting(
        self,
        info: Info[NodeContext, None],
        station_id: uuid.UUID,
        work_order_id: uuid.UUID | None,
        counting: CountingInput | None = None,
        counting_json: Annotated[
            JSON | None, strawberry.argument(deprecation_reason="Send the typed `counting`.")
        ] = None,
    ) -> StationType:
        context = info.context
        config = _one(counting, counting_json, "counting")
        row = await mutate(
            context, service.configure_station, runtime=context.runtime, station_id=station_id,
            work_order_id=work_order_id, counting_config=config,
        )  # fmt: skip
        return StationType.from_model(row)

    @strawberry.mutation(
        description="Switch the station to a model (another version, or another SKU's) at once."
    )
    async def activate_vision_model(
        self, info: Info[NodeContext, None], station_id: uuid.UUID, model_id: uuid.UUID
    ) -> StationType:
        context = info.context
        row = await mutate(
            context, service.activate_model, runtime=context.runtime, station_id=station_id,
            model_id=model_id,
        )  # fmt: skip
        return StationType.from_model(row)

    @strawberry.mutation(description="Back to the model the station ran before its last switch.")
    async def rollback_station(
        self, info: Info[NodeContext, None], station_id: uuid.UUID
    ) -> StationType:
        context = info.context
        row = await mutate(
            context, service.rollback_station, runtime=context.runtime, station_id=station_id
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
        result = await mutate(
            context, service.inspect, runtime=context.runtime, station_id=station_id,
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
        result = await mutate(
            context, service.report_camera_count, runtime=context.runtime, station_id=station_id,
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
