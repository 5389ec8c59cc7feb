"""What an installed release changes on the node, per kind, and how that is undone.

- scheduling_template: the artifact is a routing (TOML or JSON, as `orders.routings` reads it)
  and becomes the product's next routing version, through the same service as an operator's
  import; orders for the product are then decomposed into it.
- defect_model: a new inspection model version for the factory and SKU the installation's config
  names (`{"factory": slug, "sku": ..., "activate": bool, "station": slug}`), inactive unless
  the config says `"activate": true`. A `yunfab-vision-v2` artifact is a node model file as
  stored; a `federated-head-v1` artifact (a federated run's global model) becomes the supervised
  head of the factory's own newest anomaly model for that SKU (see `federated_head`).
- machine_profile: the artifact is a gateway mapping profile (TOML, as the gateway's built-in
  `euromap77` is written), checked with the gateway's own profile parser and kept under the
  listing's name and version (`gateways.profiles`); gateway configurations may then name it.
  Removing or revoking the installation removes it.
- app, process_recipe, data_connector: the verified artifact is kept and the installation
  recorded; nothing on the node runs them yet.

Database changes are made on the caller's session, so an installation either commits whole or
leaves the node as it was; a model file is written before its row, and removed again by the
caller when the transaction fails.
"""

from __future__ import annotations

import asyncio
import functools
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.factories.errors import FactoryNotFound
from regional_node.factories.models import Factory
from regional_node.factories.service import factory_resource, get_factory_by_slug
from regional_node.gateways import profiles
from regional_node.market.errors import InstallRefused
from regional_node.market.models import Installation
from regional_node.market.verify import Release
from regional_node.orders import routings
from regional_node.orders import service as orders
from regional_node.orders.errors import RoutingInvalid
from regional_node.orders.models import Routing
from regional_node.runtime import NodeRuntime
from regional_node.vision.models import InspectionModel, Station
from yunfab import market
from yunfab.db import utcnow
from yunfab.errors import YunfabError
from yunfab.subject import Subject, SubjectKind

INSTALLER = Subject(kind=SubjectKind.SYSTEM, id="market")
"""Who installs: the node itself, acting for its operator (the hub approved the installation at
the operator's request)."""
SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class ModelTarget:
    """Where a defect model goes, from the installation's config."""

    factory: str
    sku: str
    activate: bool = False
    stations: tuple[str, ...] = ()

    @classmethod
    def of(cls, config: dict[str, Any], manifest: market.Manifest) -> ModelTarget:
        factory = config.get("factory")
        named = manifest.content.get("sku")
        sku = config.get("sku", named if named != "any" else None)
        if not isinstance(factory, str) or not factory:
            raise InstallRefused("activation_failed", "config.factory: the factory's slug")
        if not isinstance(sku, str) or not SKU.fullmatch(sku):
            raise InstallRefused("activation_failed", "config.sku: the factory's SKU name")
        stations = config.get("stations", [config["station"]] if "station" in config else [])
        if not isinstance(stations, list) or not all(isinstance(s, str) for s in stations):
            raise InstallRefused("activation_failed", "config.stations: a list of station slugs")
        return cls(factory, sku, config.get("activate") is True, tuple(stations))


@dataclass
class PreparedModel:
    """A model file written for an installation, waiting for its row."""

    target: ModelTarget
    factory_id: uuid.UUID
    file: str
    digest: str
    kind: str
    metrics: dict[str, Any]
    params: dict[str, Any]
    lineage: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Activated:
    detail: str
    routing: Routing | None = None
    model: InspectionModel | None = None


async def import_template(
    session: AsyncSession, runtime: NodeRuntime, *, release: Release, manifest: market.Manifest,
    artifact: bytes,
) -> Activated:  # fmt: skip
    """The routing in the artifact as the product's routing; a routing identical to the
    product's current one adds nothing (and then is not the installation's to disable)."""
    try:
        text = artifact.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InstallRefused("activation_failed", f"the routing is not UTF-8: {exc}") from exc
    source = f"market:{release.listing}@{release.version}"
    try:
        spec = routings.parse(
            text, fmt="json" if text.lstrip().startswith("{") else "toml", source=source
        )
    except RoutingInvalid as exc:
        raise InstallRefused("activation_failed", exc.detail) from exc
    product = manifest.content.get("product")
    if spec.product != product:
        raise InstallRefused(
            "activation_failed",
            f"the routing is for {spec.product!r}, the manifest names {product!r}",
        )
    routing, created = await orders.import_routing(
        session, INSTALLER, runtime=runtime, spec=spec, source=source
    )
    if not created:
        return Activated(f"routing {routing.product}@{routing.version} was already in use")
    return Activated(f"routing {routing.product}@{routing.version} imported", routing=routing)


async def install_profile(
    session: AsyncSession, *, release: Release, artifact: bytes, installation_id: str
) -> Activated:
    """The profile document under the listing's name, once the gateway's parser took it."""
    try:
        text = artifact.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InstallRefused("activation_failed", f"the profile is not UTF-8: {exc}") from exc
    try:
        profiles.check_profile(release.listing, text)
    except ValueError as exc:
        raise InstallRefused("activation_failed", f"machine profile: {exc}") from exc
    except YunfabError as exc:
        raise InstallRefused("activation_failed", exc.detail) from exc
    await profiles.install_profile(
        session, name=release.listing, version=release.version, document=text,
        installation_id=installation_id,
    )  # fmt: skip
    return Activated(f"machine profile {release.listing}@{release.version} installed")


async def prepare_model(
    session: AsyncSession, runtime: NodeRuntime, *, release: Release, manifest: market.Manifest,
    artifact: bytes, config: dict[str, Any], installation_id: str,
) -> PreparedModel:  # fmt: skip
    """Check the target and write the model file (reads only from the database)."""
    target = ModelTarget.of(config, manifest)
    try:
        factory = await get_factory_by_slug(session, target.factory)
    except FactoryNotFound as exc:
        raise InstallRefused("activation_failed", exc.detail) from exc
    fmt = manifest.content.get("format")
    relative = (
        f"{factory.slug}/models/{target.sku}-market-{release.listing}-{release.version}"
        f"-{release.artifact_sha256[:12]}.pt"
    )
    lineage: dict[str, Any] = {
        "source": "market",
        "listing": release.listing,
        "version": release.version,
        "release": release.id,
        "installation": installation_id,
        "artifact_sha256": release.artifact_sha256,
        "publisher_key": release.key_id,
        "format": fmt,
        "node": runtime.node_name,
    }
    if fmt == "yunfab-vision-v2":
        job = functools.partial(_store_model_file, runtime, artifact, relative)
    elif fmt == "federated-head-v1":
        base = await _base_model(session, factory, target.sku)
        lineage["base_model"] = {"id": str(base.id), "number": base.number, "digest": base.digest}
        job = functools.partial(
            _combine_head, runtime, base, artifact, relative, manifest.content.get("metrics")
        )
    else:
        raise InstallRefused("activation_failed", f"unknown defect model format {fmt!r}")
    try:
        digest, kind, metrics, params = await runtime.vision.run(job)
    except InstallRefused:
        raise
    except (YunfabError, ValueError, OSError) as exc:
        await asyncio.to_thread(runtime.vision.discard, relative)
        detail = getattr(exc, "detail", None) or str(exc)
        raise InstallRefused("activation_failed", f"the model does not load: {detail}") from exc
    return PreparedModel(target, factory.id, relative, digest, kind, metrics, params, lineage)


async def _base_model(session: AsyncSession, factory: Factory, sku: str) -> InspectionModel:
    """The factory's newest usable model for the SKU: its anomaly model carries the head."""
    base = await session.scalar(
        select(InspectionModel)
        .where(
            InspectionModel.factory_id == factory.id,
            InspectionModel.sku == sku,
            InspectionModel.disabled_reason.is_(None),
            InspectionModel.kind.in_(("anomaly", "anomaly+supervised")),
        )
        .order_by(InspectionModel.number.desc())
        .limit(1)
    )
    if base is None:
        raise InstallRefused(
            "activation_failed",
            f"{factory.slug} has no inspection model of its own for {sku}: a federated head "
            "runs on the factory's anomaly model, so train one first",
        )
    return base


def _store_model_file(
    runtime: NodeRuntime, artifact: bytes, relative: str
) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """The artifact as the model file, byte for byte (what was signed), once it loads."""
    from vision_ml.training import TrainedModel

    path = runtime.vision.path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(artifact)
    try:
        trained = TrainedModel.load(partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    runtime.vision.publish(relative)
    kind = "anomaly+supervised" if trained.head is not None else "anomaly"
    return (
        trained.version or market.sha256_hex(artifact)[:12],
        kind,
        trained.metrics,
        trained.params,
    )


def _combine_head(
    runtime: NodeRuntime, base: InspectionModel, artifact: bytes, relative: str,
    reported: Any,
) -> tuple[str, str, dict[str, Any], dict[str, Any]]:  # fmt: skip
    from regional_node.market import federated_head
    from vision_ml import training

    head = federated_head.as_defect_head(federated_head.load_weights(artifact))
    own = runtime.vision.model(base.id, base.file)
    combined = training.TrainedModel(
        sku=own.sku,
        anomaly=own.anomaly,
        metrics={
            "image_threshold": own.image_threshold,
            "pixel_threshold": own.metrics.get("pixel_threshold"),
            "head_threshold": head.threshold,
            "calibration": "anomaly model's own; federated head at 1/2",
            "supervised": {
                "source": "federated",
                "evaluated_here": False,
                "federation": reported if isinstance(reported, dict) else None,
            },
        },
        params={**own.params, "supervised_head": {"kind": "federated logistic regression"}},
        created_at=utcnow().isoformat(timespec="seconds"),
        head=head,
    )
    combined.version = training._version(combined.anomaly, head)
    runtime.vision.save_model(combined, relative)
    return combined.version, "anomaly+federated", combined.metrics, combined.params


async def register_model(
    session: AsyncSession, runtime: NodeRuntime, *, release: Release, prepared: PreparedModel
) -> Activated:
    """The prepared file as the SKU's next model version, and on the stations the config asks
    for when it says to activate."""
    target = prepared.target
    factory = await session.get(Factory, prepared.factory_id)
    assert factory is not None  # read when the model was prepared; factories are not deleted
    # Asked before anything is written: a decision about a factory of another organization is
    # audited in a transaction of its own, which must not wait for this one.
    await runtime.authorizer.check(INSTALLER, "node.vision.model.train", factory_resource(factory))
    if target.activate:
        await runtime.authorizer.check(
            INSTALLER, "node.vision.station.manage", factory_resource(factory)
        )
    number = (
        await session.scalar(
            select(func.max(InspectionModel.number)).where(
                InspectionModel.factory_id == prepared.factory_id,
                InspectionModel.sku == target.sku,
            )
        )
        or 0
    ) + 1
    row = InspectionModel(
        factory_id=prepared.factory_id,
        sku=target.sku,
        number=number,
        digest=prepared.digest,
        kind=prepared.kind,
        file=prepared.file,
        metrics=prepared.metrics,
        params=prepared.params,
        lineage=prepared.lineage,
        created_by=INSTALLER.label,
    )
    session.add(row)
    await session.flush()
    await append_entry(
        session,
        actor=INSTALLER,
        action="node.market.model.register",
        resource=f"vision-model:{target.factory}/{target.sku}@{number}",
        outcome="ok",
        detail={"release": f"{release.listing}@{release.version}", "digest": prepared.digest},
    )
    detail = f"model {target.factory}/{target.sku}@{number} registered"
    if target.activate:
        stations = await _stations(session, prepared.factory_id, target)
        for station in stations:
            # As `vision.service.activate_model` switches a station (the file loaded when the
            # model was prepared, the authorization asked above).
            station.previous_model_id, station.model_id = station.model_id, row.id
            station.updated_at = utcnow()
            await append_entry(
                session,
                actor=INSTALLER,
                action="node.vision.model.activate",
                resource=f"station:{factory.slug}/{station.slug}",
                outcome="ok",
                detail={
                    "model": f"{row.sku}@{row.number}",
                    "previous": str(station.previous_model_id),
                },
            )
        slugs = ", ".join(s.slug for s in stations) or "no station"
        detail += f", active on {slugs}"
    else:
        detail += ", inactive until the factory or operator activates it"
    return Activated(detail, model=row)


async def _stations(
    session: AsyncSession, factory_id: uuid.UUID, target: ModelTarget
) -> list[Station]:
    """The stations named in the config, or those running a model of the SKU now."""
    query = (
        select(Station)
        .where(Station.factory_id == factory_id)
        .order_by(Station.slug)
        .with_for_update()
    )
    stations = list((await session.scalars(query)).all())
    if target.stations:
        found = {s.slug: s for s in stations}
        missing = sorted(set(target.stations) - set(found))
        if missing:
            raise InstallRefused(
                "activation_failed", f"{target.factory} has no station {', '.join(missing)}"
            )
        return [found[slug] for slug in target.stations]
    running = []
    for station in stations:
        model = await session.get(InspectionModel, station.model_id) if station.model_id else None
        if model is not None and model.sku == target.sku:
            running.append(station)
    return running


async def disable(session: AsyncSession, record: Installation, *, reason: str) -> list[str]:
    """Switch off what the installation activated: its routing plans no new order, its model
    runs on no station (each goes back to the model it ran before, when that one may still run)
    and may not be activated again. Returns what was done, for the report."""
    done = []
    if record.routing_id is not None:
        routing = await session.get(Routing, record.routing_id)
        if routing is not None and routing.disabled_reason is None:
            routing.disabled_reason = reason[:300]
            done.append(f"routing {routing.product}@{routing.version} disabled")
    if record.model_id is not None:
        model = await session.get(InspectionModel, record.model_id)
        if model is not None:
            if model.disabled_reason is None:
                model.disabled_reason = reason[:300]
                done.append(f"model {model.sku}@{model.number} disabled")
            done += await _off_stations(session, model)
    removed = await profiles.remove_profiles(session, record.id)
    done += [f"machine profile {name} removed" for name in removed]
    for line in done:
        await append_entry(
            session,
            actor=INSTALLER,
            action="node.market.disable",
            resource=f"market-installation:{record.id}",
            outcome="ok",
            detail={"done": line, "reason": reason[:300]},
        )
    return done


async def _off_stations(session: AsyncSession, model: InspectionModel) -> list[str]:
    done = []
    using = select(Station).where(
        (Station.model_id == model.id) | (Station.previous_model_id == model.id)
    )
    for station in (await session.scalars(using.with_for_update())).all():
        if station.previous_model_id == model.id:
            station.previous_model_id = None
        if station.model_id == model.id:
            previous = (
                await session.get(InspectionModel, station.previous_model_id)
                if station.previous_model_id
                else None
            )
            usable = previous is not None and previous.disabled_reason is None
            station.model_id = previous.id if usable and previous else None
            station.previous_model_id = None
            done.append(
                f"station {station.slug} back to {previous.sku}@{previous.number}"
                if usable and previous
                else f"station {station.slug} has no active model now"
            )
        station.updated_at = utcnow()
    return done


def store_artifact(directory: Path, digest: str, artifact: bytes) -> str:
    """The verified artifact under the node's market directory, by content address."""
    relative = f"artifacts/{digest[:2]}/{digest}"
    path = directory / relative
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(artifact)
        partial.replace(path)
    return relative
