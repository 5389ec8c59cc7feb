"""The node operator's console: onboard factories and provision devices in bulk.

Commands act as the `system` subject on the node's own database, through the same services as
GraphQL (so the same policy, validation and audit entries), and, when the node manages its
broker, on the broker too. `yunfab node device provision-fleet`, which writes the fleet file
`yunfab sim` reads, is added by the command line (`yunfab_cli.fleet`): the simulator's machine
profiles are demo tooling.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import AuditLog
from regional_node.data_products.products import ProducerContext, configured
from regional_node.data_products.publisher import DataPublisher, Published
from regional_node.factories import service as factories
from regional_node.factories.models import Factory
from regional_node.factories.repository import FactoryRepository
from regional_node.hub_link.auth import ClientCredentials
from regional_node.hub_link.client import HubClient, HubError
from regional_node.identity.errors import IdentityMismatch
from regional_node.identity.service import ensure_identity
from regional_node.market.installer import MarketInstaller, Outcome
from regional_node.orders import routings
from regional_node.orders import service as orders
from regional_node.orders.errors import RoutingInvalid
from regional_node.runtime import NodeRuntime, build_runtime
from regional_node.settings import NodeSettings
from yunfab import progress
from yunfab.authorization import Authorizer
from yunfab.console import fail, open_database, run_command, settings_or_exit
from yunfab.db import session_scope
from yunfab.errors import InvalidInput
from yunfab.policy import create_engine as create_policy_engine
from yunfab.service import Database
from yunfab.subject import SYSTEM

T = TypeVar("T")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="The node's data folder.")]
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", help="The node's database.")]
Name = Annotated[str | None, typer.Option(help="The node's name (YUNFAB_NODE_NAME).")]
Region = Annotated[str | None, typer.Option(help="The node's region (YUNFAB_NODE_REGION).")]
Industry = Annotated[str | None, typer.Option(help="The node's industry (YUNFAB_NODE_INDUSTRY).")]

factory_app = typer.Typer(help="Factories on this node.", no_args_is_help=True)
device_app = typer.Typer(help="Devices on this node.", no_args_is_help=True)
routing_app = typer.Typer(help="Product routings (templates orders decompose into).")
data_app = typer.Typer(
    help="Data products this node publishes at the hub's data exchange.", no_args_is_help=True
)
market_app = typer.Typer(
    help="Releases from the hub's market installed on this node.", no_args_is_help=True
)


def register(node_app: typer.Typer) -> None:
    node_app.add_typer(factory_app, name="factory")
    node_app.add_typer(device_app, name="device")
    node_app.add_typer(routing_app, name="routing")
    node_app.add_typer(data_app, name="data")
    node_app.add_typer(market_app, name="market")


def node_console(
    options: dict[str, Any], work: Callable[[NodeRuntime, Database], Awaitable[T]]
) -> T:
    """Runs `work` as the system subject on the node's own database (`yunfab_cli.fleet` too)."""
    settings = settings_or_exit(NodeSettings, **options)

    async def run() -> T:
        db = await _open(settings)
        audit = AuditLog(db.sessionmaker)
        authorizer = Authorizer(
            create_policy_engine(settings.policy_engine, settings.opa_url),
            context={
                "service": "node",
                "node_name": settings.name,
                "node_region": settings.region,
                "operator_org": settings.operator_org,
            },
            audit=audit.append,
        )
        runtime = await build_runtime(settings, db, authorizer, audit)
        try:
            return await work(runtime, db)
        finally:
            await runtime.close_events()
            broker: Any = runtime.broker
            if broker is not None:
                await broker.close()
            await db.close()

    return run_command(run)


async def _open(settings: NodeSettings) -> Database:
    """The node's database, once it is known to be this node's: a database belongs to one node,
    and the console acts under the name, region and industry it is given."""
    db = open_database(settings)
    try:
        async with session_scope(db.sessionmaker) as session:
            await ensure_identity(
                session, name=settings.name, region=settings.region, industry=settings.industry
            )
    except IdentityMismatch as exc:
        await db.close()
        fail(
            f"{exc.code}: {exc.detail}; give its --node-name/--region/--industry "
            "(YUNFAB_NODE_NAME, _REGION, _INDUSTRY) or the right --data-dir",
            code=1,
        )
    except BaseException:
        await db.close()
        raise
    return db


def _json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        fail(f"{path}: not JSON ({exc})")


@factory_app.command("add")
def factory_add(
    slug: Annotated[str, typer.Option(help="Short name, e.g. keqiao-weaving-03.")],
    name: Annotated[str, typer.Option(help="Legal name.")],
    profile: Annotated[
        Path | None,
        typer.Option(
            help="JSON profile: location, contact, skills, certifications, products, equipment "
            "([{type, model, count, parameters}]).",
        ),
    ] = None,
    activate: Annotated[
        bool, typer.Option(help="Submit, verify and activate at once (needs a full profile).")
    ] = False,
    organization_id: Annotated[
        str | None, typer.Option(help="The factory's organization at the hub.")
    ] = None,
    node_name: Name = None,
    region: Region = None,
    industry: Industry = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Invite a factory (and, with --activate, take it through onboarding), as the operator."""
    fields = _json_file(profile) if profile else {}
    if not isinstance(fields, dict):
        fail(f"{profile}: expected a JSON object of profile fields")

    async def work(runtime: NodeRuntime, db: Database) -> dict[str, Any]:
        async with session_scope(db.sessionmaker) as session:
            factory = await _onboard(
                session, runtime, slug, name, organization_id, fields, activate
            )
            return {"id": str(factory.id), "slug": factory.slug, "status": factory.status.value}

    typer.echo(json.dumps(node_console(console_options(locals()), work), indent=2))


@factory_app.command("import")
def factory_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON list of factories: slug, name, organization_id, profile fields and "
            "capacity ([{process, from, days, hours | units, rate, downtime_hours}])."
        ),
    ],
    activate: Annotated[
        bool, typer.Option(help="Submit, verify and activate each (needs full profiles).")
    ] = False,
    node_name: Name = None,
    region: Region = None,
    industry: Industry = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Onboard many factories at once (a node taking over an existing network), with their
    capacity calendars; all or nothing, and factories already here (by slug) are left alone."""
    entries = _json_file(file)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        fail(f"{file}: expected a JSON list of factories")

    async def work(runtime: NodeRuntime, db: Database) -> dict[str, Any]:
        added = skipped = days = 0
        async with session_scope(db.sessionmaker) as session:
            for index, entry in enumerate(entries):
                fields = dict(entry)
                try:
                    slug, name = fields.pop("slug"), fields.pop("name")
                except KeyError as exc:
                    fail(f"{file}: factory {index} has no {exc.args[0]}")
                if await FactoryRepository(session).get_by_slug(slug) is not None:
                    skipped += 1
                    continue
                capacity = fields.pop("capacity", [])
                factory = await _onboard(
                    session, runtime, slug, name, fields.pop("organization_id", None),
                    fields, activate,
                )  # fmt: skip
                rows = [
                    factories.CapacityInput(
                        process=item["process"],
                        day=dt.date.fromisoformat(item["from"]) + dt.timedelta(days=offset),
                        available_hours=item.get("hours"),
                        available_units=item.get("units"),
                        downtime_hours=item.get("downtime_hours", 0.0),
                        hourly_rate=item.get("rate"),
                    )
                    for item in capacity
                    for offset in range(int(item.get("days", 1)))
                ]
                for start in range(0, len(rows), factories.MAX_CAPACITY_DAYS):
                    await factories.set_capacity(
                        session, SYSTEM, runtime=runtime, factory_id=factory.id,
                        days=rows[start : start + factories.MAX_CAPACITY_DAYS],
                    )  # fmt: skip
                added += 1
                days += len(rows)
        return {"added": added, "skipped": skipped, "capacity_entries": days}

    typer.echo(json.dumps(node_console(console_options(locals()), work)))


@routing_app.command("import")
def routing_import(
    file: Annotated[Path, typer.Argument(help="A routing in TOML or JSON (docs/routings/).")],
    node_name: Name = None,
    region: Region = None,
    industry: Industry = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import a product routing; the same routing again changes nothing."""
    try:
        spec = routings.load_file(file)
    except RoutingInvalid as exc:
        fail(exc.detail)

    async def work(runtime: NodeRuntime, db: Database) -> dict[str, Any]:
        async with session_scope(db.sessionmaker) as session:
            row, created = await orders.import_routing(
                session, SYSTEM, runtime=runtime, spec=spec, source=file.name
            )
            return {
                "product": row.product,
                "version": row.version,
                "steps": len(row.steps),
                "created": created,
            }

    typer.echo(json.dumps(node_console(console_options(locals()), work)))


@data_app.command("publish")
def data_publish(
    node_name: Name = None,
    region: Region = None,
    industry: Industry = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Send the hub what changed in this node's data products (YUNFAB_NODE_DATA_PRODUCTS) now,
    once, with the node's client (YUNFAB_NODE_CLIENT_ID / _SECRET); prints what went per
    product. Batches the hub did not acknowledge stay queued for the next round."""
    settings = settings_or_exit(NodeSettings, **console_options(locals()))

    async def run() -> list[Published]:
        db = await _open(settings)
        client = HubClient(settings.hub_url, timeout_s=settings.hub_timeout_s, auth=_auth(settings))
        products = configured(settings.data_products)
        try:
            results: list[Published] = []
            # One product at a time, so a person at a terminal sees which one is being sent.
            for key in progress.track(list(products), "publishing data products"):
                publisher = DataPublisher(
                    client=client,
                    sessionmaker=db.sessionmaker,
                    products={key: products[key]},
                    context=lambda: ProducerContext.of(settings),
                )
                results += await publisher.publish()
            return results
        finally:
            await client.close()
            await db.close()

    results = run_command(run)
    for result in results:
        typer.echo(json.dumps(_published(result)))
    if any(result.error for result in results):
        raise typer.Exit(1)


@market_app.command("sync")
def market_sync(
    node_name: Name = None,
    region: Region = None,
    industry: Industry = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Carry out what the hub's market asks of this node now, once: install approved releases
    (verified offline), disable revoked ones, remove removed ones, report usage. Prints what
    was done per installation as JSON; exits 1 when the hub could not be asked or an
    installation failed."""
    settings = settings_or_exit(NodeSettings, **console_options(locals()))

    async def work(runtime: NodeRuntime, db: Database) -> list[Outcome]:
        client = HubClient(settings.hub_url, timeout_s=settings.hub_timeout_s, auth=_auth(settings))
        installer = MarketInstaller(
            client=client,
            sessionmaker=db.sessionmaker,
            runtime=runtime,
            node_name=settings.name,
            directory=settings.data_dir / "market",
            require_verified=settings.market_require_verified,
            max_artifact_bytes=settings.market_max_artifact_mb * 1024 * 1024,
        )
        try:
            return await installer.sync()
        except HubError as exc:
            fail(f"the hub's market could not be asked: {exc}", 1)
        finally:
            await client.close()

    outcomes = node_console(console_options(locals()), work)
    typer.echo(json.dumps({"installations": [o.as_json() for o in outcomes]}, indent=2))
    if any(o.action == "failed" or o.error for o in outcomes):
        raise typer.Exit(1)


def _auth(settings: NodeSettings) -> ClientCredentials | None:
    if settings.client_id and settings.client_secret:
        return ClientCredentials(
            f"{settings.hub_url.rstrip('/')}/oauth/token",
            settings.client_id,
            settings.client_secret.get_secret_value(),
            scope="nodes:register",
        )
    return None


def _published(result: Published) -> dict[str, Any]:
    queued = result.queued
    return {
        "product": result.product,
        "queued": None
        if queued is None
        else {
            "kind": queued.kind,
            "seqs": list(queued.seqs),
            "upserts": queued.upserts,
            "deletes": queued.deletes,
        },
        "sent": []
        if result.flushed is None
        else [
            {"seq": s.seq, "kind": s.kind, "rows": s.rows, "applied": s.applied}
            for s in result.flushed.sent
        ],
        "hub_seq": None if result.flushed is None else result.flushed.hub_seq,
        "error": result.error,
    }


async def _onboard(
    session: AsyncSession,
    runtime: NodeRuntime,
    slug: str,
    name: str,
    organization_id: str | None,
    fields: dict[str, Any],
    activate: bool,
) -> Factory:
    """Invite, fill in the profile and, with `activate`, take the factory through review."""
    fields = dict(fields)
    factory = await factories.invite_factory(
        session,
        SYSTEM,
        runtime=runtime,
        input=factories.NewFactory(slug=slug, name=name, organization_id=organization_id),
    )
    if fields:
        await factories.save_profile(
            session,
            SYSTEM,
            runtime=runtime,
            factory_id=factory.id,
            input=_profile_input(fields),
        )
    if activate:
        for transition in (
            factories.Transition.SUBMIT,
            factories.Transition.VERIFY,
            factories.Transition.ACTIVATE,
        ):
            await factories.change_status(
                session, SYSTEM, runtime=runtime, factory_id=factory.id, transition=transition
            )
    return factory


def _profile_input(fields: dict[str, Any]) -> factories.ProfileInput:
    """A profile from a JSON object, refusing fields the profile does not have."""
    fields = dict(fields)
    equipment = fields.pop("equipment", None) or []
    _known("profile", fields, factories.ProfileInput)
    if not isinstance(equipment, list):
        raise InvalidInput("profile.equipment: a list of {type, model, count, parameters}")
    items = []
    for index, item in enumerate(equipment):
        where = f"profile.equipment[{index}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where}: an object {{type, model, count, parameters}}")
        _known(where, item, factories.EquipmentInput)
        missing = sorted({"type", "model", "count"} - item.keys())
        if missing:
            raise InvalidInput(f"{where}: missing {', '.join(missing)}")
        items.append(factories.EquipmentInput(**item))
    return factories.ProfileInput(**fields, equipment=items or None)


def _known(where: str, fields: dict[str, Any], shape: type[Any]) -> None:
    allowed = set(shape.__dataclass_fields__)
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InvalidInput(
            f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}"
        )


def console_options(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": values["node_name"],
        "region": values["region"],
        "industry": values["industry"],
        "data_dir": values["data_dir"],
        "database_url": values["database_url"],
    }
