"""The `yunfab` command line: serve the hub or a node, migrate databases, run the demo."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url

from yunfab import progress
from yunfab.console import DEBUG_ENV, EXIT_CODES_HELP, EXIT_ERROR, ConsoleGroup, fail
from yunfab.migrations import TREES, MigrationTree, revision, upgrade
from yunfab.settings import (
    Environment,
    ServiceSettings,
    SettingsError,
    load_settings,
    normalize_database_url,
)
from yunfab_cli import auth, resources
from yunfab_cli.camera import watch_command
from yunfab_cli.demand import demand_app
from yunfab_cli.demo_data import demo_data_app
from yunfab_cli.market import market_app
from yunfab_cli.vision import vision_app
from yunfab_cli.workers import workers_app
from yunfab_gateway.cli import gateway_app

app = typer.Typer(
    name="yunfab",
    help="Yunfab: one hub and N regional nodes for industrial data, knowledge and production.",
    epilog=EXIT_CODES_HELP + " Credentials and more: docs/cli.md.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=ConsoleGroup,
)
hub_app = typer.Typer(
    help="Serve the hub, or operate it on its own database (console).", no_args_is_help=True
)
node_app = typer.Typer(
    help="Serve a node, or operate it on its own database (console).", no_args_is_help=True
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
schedule_app = typer.Typer(help="Shop scheduling with CP-SAT.", no_args_is_help=True)
_SIGN_IN = "Sign in (to a hub)"
_READ = "Read data (call the hub or a node with your credentials)"
_CONSOLE = "Operator consoles (open the service's database on its machine)"
for _name, _command in (
    ("login", auth.login_command),
    ("logout", auth.logout_command),
    ("token", auth.token_command),
    ("whoami", auth.whoami_command),
):
    app.command(_name, rich_help_panel=_SIGN_IN)(_command)
for _name, _app in {**resources.NODE_APPS, **resources.HUB_APPS}.items():
    app.add_typer(_app, name=_name, rich_help_panel=_READ)
app.add_typer(schedule_app, name="schedule")
vision_app.command("watch")(watch_command)
app.add_typer(vision_app, name="vision")
app.add_typer(hub_app, name="hub", rich_help_panel=_CONSOLE)
app.add_typer(node_app, name="node", rich_help_panel=_CONSOLE)
app.add_typer(db_app, name="db")
app.add_typer(market_app, name="market")
app.add_typer(demand_app, name="demand")
app.add_typer(workers_app, name="workers")
app.add_typer(demo_data_app, name="demo-data")
app.add_typer(gateway_app, name="gateway")


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar=DEBUG_ENV,
            help="On a failure, show the traceback instead of one line.",
        ),
    ] = False,
) -> None:
    pass


def _register_hub_console(hub: typer.Typer) -> None:
    from hub.cli import register

    register(hub)


NODE_EXTRA = frozenset({"cv2", "ortools", "matplotlib"})
"""What the `node` extra installs; the hub's image has none of it."""


def _register_node_console(node: typer.Typer) -> None:
    try:
        from regional_node.cli import register
        from yunfab_cli import fleet, gateway_devices
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in NODE_EXTRA:
            raise
        _node_extra_missing(node, exc.name or "")
        return
    register(node)
    fleet.register()
    gateway_devices.register()


def _node_extra_missing(node: typer.Typer, missing: str) -> None:
    """On an install without the node's libraries (the hub's), `yunfab node ...` says what to
    install instead of failing on import, and every other command still works."""
    node.info.epilog = (
        f"The node's console commands need the node extra ({missing} is not installed): "
        "pip install 'yunfab\\[node]'."  # \\[: not rich markup
    )

    @node.callback(invoke_without_command=True)
    def _missing() -> None:
        fail(
            f"the node's commands need the node extra ({missing} is not installed): "
            "pip install 'yunfab[node]'",
            code=EXIT_ERROR,
        )


class Service(enum.StrEnum):
    HUB = "hub"
    NODE = "node"


Host = Annotated[str | None, typer.Option(help="Address to listen on.")]
Port = Annotated[int | None, typer.Option(help="Port to listen on.")]
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder for the SQLite file and local data.")
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="sqlite:///PATH or postgresql://USER@HOST/DB (default: SQLite in the data folder).",
    ),
]


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _prepare_database(settings: ServiceSettings, tree: MigrationTree, *, migrate: bool) -> None:
    if make_url(settings.db_url).get_backend_name() == "sqlite":
        database = make_url(settings.db_url).database
        assert database is not None
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(f"cannot create the data folder for {database}: {exc.strerror}")
    if not migrate:
        return
    prefix = str(settings.model_config.get("env_prefix", ""))
    try:
        upgrade(tree, settings.db_url)
    except Exception as exc:  # one line for the operator; the cause is in the message
        fail(
            f"cannot migrate the database {_shown(settings.db_url)} ({prefix}DATABASE_URL): "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            code=1,
        )


@hub_app.command("serve")
def hub_serve(
    host: Host = None, port: Port = None, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Serve the hub: REST for nodes, GraphQL at /graphql, GraphiQL at /graphiql."""
    from hub.app import create_app
    from hub.settings import HubSettings
    from yunfab.logs import configure_logging
    from yunfab.serve import bind, run

    try:
        settings = load_settings(
            HubSettings, host=host, port=port, data_dir=data_dir, database_url=database_url
        )
        sock = bind(settings)
    except SettingsError as exc:
        fail(str(exc))
    settings.port = sock.getsockname()[1]
    configure_logging(settings, service="hub")
    _prepare_database(settings, TREES["hub"], migrate=bool(settings.auto_migrate))
    run(create_app(settings), sock, settings)


@hub_app.command("worker")
def hub_worker(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Run the hub's jobs (federated runs, ...) taken from its NATS (YUNFAB_HUB_NATS_URL): run
    several; a job whose worker dies goes to another. Workers share the hub's database and its
    data directory (run files, the model registry) with the API replicas."""
    from hub.settings import HubSettings
    from hub.workers import NoQueue, run_worker
    from yunfab.logs import configure_logging

    try:
        settings = load_settings(HubSettings, data_dir=data_dir, database_url=database_url)
    except SettingsError as exc:
        fail(str(exc))
    configure_logging(settings, service="hub-worker")
    _prepare_database(settings, TREES["hub"], migrate=False)
    try:
        asyncio.run(run_worker(settings))
    except NoQueue as exc:
        fail(f"{exc} (YUNFAB_HUB_NATS_URL)")


@node_app.command("serve")
def node_serve(
    name: Annotated[str | None, typer.Option(help="Unique node name, e.g. zj-textile.")] = None,
    region: Annotated[str | None, typer.Option(help="ISO 3166-2 region, e.g. CN-ZJ.")] = None,
    industry: Annotated[str | None, typer.Option(help="Industry, e.g. textile.")] = None,
    hub_url: Annotated[str | None, typer.Option(help="The hub's base URL.")] = None,
    client_id: Annotated[str | None, typer.Option(help="This node's client at the hub.")] = None,
    public_url: Annotated[
        str | None, typer.Option(help="URL the hub reaches this node at.")
    ] = None,
    host: Host = None,
    port: Port = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve a regional node, registering it with the hub and heartbeating."""
    from regional_node.app import create_app
    from regional_node.identity.errors import IdentityMismatch
    from regional_node.settings import NodeSettings
    from yunfab.logs import configure_logging
    from yunfab.serve import bind, bound_url, run

    try:
        settings = load_settings(
            NodeSettings,
            name=name,
            region=region,
            industry=industry,
            hub_url=hub_url,
            client_id=client_id,
            public_url=public_url,
            host=host,
            port=port,
            data_dir=data_dir,
            database_url=database_url,
        )
        sock = bind(settings)
    except SettingsError as exc:
        fail(str(exc))
    settings.port = sock.getsockname()[1]
    settings.public_url = settings.public_url or bound_url(sock)
    configure_logging(settings, service="node", node=settings.name, region=settings.region)
    _prepare_database(settings, TREES["node"], migrate=bool(settings.auto_migrate))
    try:
        asyncio.run(_check_node_identity(settings))
    except IdentityMismatch as exc:
        fail(f"{exc.detail} (YUNFAB_NODE_DATABASE_URL / --data-dir)")
    run(create_app(settings), sock, settings)


@node_app.command("ingest")
def node_ingest(
    name: Annotated[str | None, typer.Option(help="Unique node name, e.g. zj-textile.")] = None,
    region: Annotated[str | None, typer.Option(help="ISO 3166-2 region, e.g. CN-ZJ.")] = None,
    industry: Annotated[str | None, typer.Option(help="Industry, e.g. textile.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Consume the node's MQTT telemetry only, no API: run several with one
    YUNFAB_NODE_MQTT_SHARED_GROUP and each its own YUNFAB_NODE_MQTT_CLIENT_ID to split the
    stream (the API processes then run without YUNFAB_NODE_MQTT_URL)."""
    from regional_node.ingest_process import NoBroker, run_ingest

    _node_process(
        "node-ingest", run_ingest, NoBroker, "YUNFAB_NODE_MQTT_URL",
        name=name, region=region, industry=industry, data_dir=data_dir, database_url=database_url,
    )  # fmt: skip


@node_app.command("worker")
def node_worker(
    name: Annotated[str | None, typer.Option(help="Unique node name, e.g. zj-textile.")] = None,
    region: Annotated[str | None, typer.Option(help="ISO 3166-2 region, e.g. CN-ZJ.")] = None,
    industry: Annotated[str | None, typer.Option(help="Industry, e.g. textile.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the node's jobs (model training, ...) taken from its NATS (YUNFAB_NODE_NATS_URL):
    run several; a job whose worker dies goes to another. Files come from the node's blob store
    (YUNFAB_NODE_BLOB_STORE=s3 when workers run on other machines)."""
    from regional_node.workers import NoQueue, run_worker

    _node_process(
        "node-worker", run_worker, NoQueue, "YUNFAB_NODE_NATS_URL",
        name=name, region=region, industry=industry, data_dir=data_dir, database_url=database_url,
    )  # fmt: skip


def _node_process(
    service: str,
    main: Callable[[Any], Coroutine[Any, Any, None]],
    unusable: type[Exception],
    setting: str,
    **options: Any,
) -> None:
    """A node process without an API (ingest, worker): the node's settings, its database as it
    is (the API migrates it) and checked to be this node's, then `main(settings)` until it
    stops; a setting it cannot run without (`unusable`) ends it naming `setting`."""
    from regional_node.identity.errors import IdentityMismatch
    from regional_node.settings import NodeSettings
    from yunfab.logs import configure_logging

    try:
        settings = load_settings(NodeSettings, **options)
    except SettingsError as exc:
        fail(str(exc))
    configure_logging(settings, service=service, node=settings.name, region=settings.region)
    _prepare_database(settings, TREES["node"], migrate=False)
    try:
        asyncio.run(_check_node_identity(settings))
        asyncio.run(main(settings))
    except IdentityMismatch as exc:
        fail(f"{exc.detail} (YUNFAB_NODE_DATABASE_URL / --data-dir)")
    except unusable as exc:
        fail(f"{exc} ({setting})")


async def _check_node_identity(settings: ServiceSettings) -> None:
    from regional_node.identity.service import ensure_identity
    from regional_node.settings import NodeSettings
    from yunfab.db import session_scope
    from yunfab.service import Database

    assert isinstance(settings, NodeSettings)
    db = Database.open(settings.db_url)
    try:
        async with session_scope(db.sessionmaker) as session:
            await ensure_identity(
                session, name=settings.name, region=settings.region, industry=settings.industry
            )
    finally:
        await db.close()


def _storage_settings(
    service: Service, data_dir: Path | None, database_url: str | None
) -> ServiceSettings:
    from hub.settings import HubSettings
    from regional_node.settings import NodeStorageSettings

    cls: type[ServiceSettings] = HubSettings if service is Service.HUB else NodeStorageSettings
    try:
        return load_settings(cls, data_dir=data_dir, database_url=database_url)
    except SettingsError as exc:
        fail(str(exc))


@db_app.command("upgrade")
def db_upgrade(
    service: Annotated[Service, typer.Argument(help="Which migration tree.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Upgrade a hub or node database to the newest migration."""
    settings = _storage_settings(service, data_dir, database_url)
    _prepare_database(settings, TREES[service.value], migrate=True)
    typer.echo(f"{service.value} database at head: {_shown(settings.db_url)}")


@db_app.command("revision")
def db_revision(
    service: Annotated[Service, typer.Argument(help="Which migration tree.")],
    message: Annotated[str, typer.Option("-m", "--message", help="What the migration does.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Autogenerate a migration from the models (for developers; read it before committing)."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        url = normalize_database_url(database_url or f"sqlite:///{scratch}/scratch.db")
        tree = TREES[service.value]
        upgrade(tree, url)
        revision(tree, url, message)


@app.command("graphql-schema")
def graphql_schema(
    service: Annotated[Service, typer.Argument(help="Whose schema.")],
    write: Annotated[
        bool, typer.Option(help="Write the committed schema.graphql instead of printing.")
    ] = False,
) -> None:
    """Print (or write) the GraphQL schema in SDL; a test checks the committed copy is current."""
    path, sdl = schema_sdl(service)
    if write:
        path.write_text(sdl)
        typer.echo(f"wrote {path}")
    else:
        typer.echo(sdl, nl=False)


def schema_sdl(service: Service) -> tuple[Path, str]:
    if service is Service.HUB:
        from hub.graphql.schema import SCHEMA_FILE, build_schema
        from hub.settings import HubSettings

        schema = build_schema(HubSettings(env=Environment.DEVELOPMENT))
        return SCHEMA_FILE, schema.as_str() + "\n"
    from regional_node.graphql.schema import SCHEMA_FILE as NODE_SCHEMA_FILE
    from regional_node.graphql.schema import build_schema as build_node_schema
    from regional_node.settings import NodeSettings

    node_schema = build_node_schema(
        NodeSettings(name="schema", region="CN", industry="schema", env=Environment.DEVELOPMENT)
    )
    return NODE_SCHEMA_FILE, node_schema.as_str() + "\n"


@app.command("demo")
def demo(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="One folder for every service's data and logs.")
    ] = Path("./var/demo"),
    host: Annotated[str, typer.Option(help="Loopback address to serve on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Hub port; nodes take the next ones. 0 picks free ports.")
    ] = 8700,
    reset_passwords: Annotated[
        bool,
        typer.Option("--reset-passwords", help="New passwords for the demo's people."),
    ] = False,
) -> None:
    """Start the hub and two regional nodes on loopback; Ctrl-C stops them all.

    Prints the demo's people (one per role) and where they sign in; their passwords are printed
    when made and kept in DATA_DIR/demo-users.json."""
    from yunfab_cli.demo import run_demo

    raise typer.Exit(run_demo(data_dir, host, port, reset_passwords=reset_passwords))


class SimProtocol(enum.StrEnum):
    JSON = "json"
    SPARKPLUG = "sparkplug"


@app.command("sim")
def sim(
    broker: Annotated[
        str, typer.Option(help="mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS).")
    ] = "mqtt://127.0.0.1:1883",
    fleet: Annotated[
        Path | None, typer.Option(help="Fleet file (JSON list of devices with credentials).")
    ] = None,
    devices: Annotated[
        int | None, typer.Option(help="Simulate N anonymous devices instead of a fleet file.")
    ] = None,
    profile: Annotated[
        str, typer.Option(help="Profile of the --devices: injection_moulding, sewing_line, cnc.")
    ] = "injection_moulding",
    prefix: Annotated[str, typer.Option(help="Key prefix of the --devices.")] = "sim",
    factory: Annotated[str, typer.Option(help="Factory (Sparkplug group) of the --devices.")] = (
        "sim-factory"
    ),
    protocol: Annotated[
        SimProtocol | None, typer.Option(help="Protocol of the --devices (default json).")
    ] = None,
    rate: Annotated[float, typer.Option(help="Readings per second per device.")] = 1.0,
    batch: Annotated[int, typer.Option(help="Readings per message.")] = 1,
    duration: Annotated[
        float | None, typer.Option(help="Seconds to run (default: until Ctrl-C).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same readings.")] = 0,
    drift: Annotated[
        list[str] | None, typer.Option(help="METRIC:PER_HOUR ramp; repeatable.")
    ] = None,
    spike_prob: Annotated[float, typer.Option(help="Spike probability per reading.")] = 0.0,
    dropout_prob: Annotated[float, typer.Option(help="Chance a reading is lost.")] = 0.0,
    offline_every: Annotated[
        float | None, typer.Option(help="Go offline after this many seconds online...")
    ] = None,
    offline_for: Annotated[
        float | None, typer.Option(help="...for this many seconds, buffering readings.")
    ] = None,
    window: Annotated[int, typer.Option(help="Unacknowledged messages per connection.")] = 32,
    ca_file: Annotated[
        Path | None, typer.Option(help="CA bundle for mqtts:// (default: system store).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level (logs go to stderr).")] = "warning",
) -> None:
    """Simulate factory devices publishing telemetry over MQTT; prints a JSON summary at the end."""
    import signal
    from urllib.parse import urlsplit

    import orjson

    from yunfab.logs import configure_logging
    from yunfab.settings import LogFormat
    from yunfab_demo.simulator import (
        Drift,
        FaultError,
        Faults,
        FleetError,
        Simulator,
        SimulatorError,
        TlsConfig,
        load_fleet,
        synthetic_fleet,
    )

    configure_logging(
        ServiceSettings.model_construct(log_level=log_level, log_format=LogFormat.AUTO)
    )
    url = urlsplit(broker)
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
        fail(f"--broker must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT], got {broker!r}")
    tls = TlsConfig(ca_certs=str(ca_file) if ca_file else None) if url.scheme == "mqtts" else None
    try:
        port = url.port or (8883 if tls else 1883)
    except ValueError:
        fail(f"--broker has an invalid port: {broker!r}")
    if (fleet is None) == (devices is None):
        fail("give either --fleet FILE or --devices N")
    try:
        if fleet is not None:
            if protocol is not None:
                fail("--protocol applies to --devices; a fleet file names each device's protocol")
            chosen = load_fleet(fleet)
        else:
            assert devices is not None
            chosen = synthetic_fleet(
                devices,
                profile,
                prefix,
                factory=factory,
                protocol="sparkplug" if protocol is SimProtocol.SPARKPLUG else "json",
            )
        faults = Faults(
            drift=tuple(Drift.parse(text) for text in drift or ()),
            spike_prob=spike_prob,
            dropout_prob=dropout_prob,
            offline_every_s=offline_every,
            offline_for_s=offline_for,
        )
        simulator = Simulator(
            url.hostname,
            port,
            chosen,
            rate_hz=rate,
            batch=batch,
            seed=seed,
            faults=faults,
            duration_s=duration,
            tls=tls,
            window=window,
        )
        # SIGTERM (docker stop, systemd) ends a run as cleanly as Ctrl-C: flush, wait for PUBACKs.
        signal.signal(signal.SIGTERM, lambda signum, frame: simulator.stop())
        stats = simulator.run()
    except (FleetError, FaultError) as exc:
        fail(str(exc))
    except SimulatorError as exc:
        fail(str(exc), code=1)
    typer.echo(orjson.dumps(stats.as_dict()).decode())


_register_hub_console(hub_app)
_register_node_console(node_app)


TimeLimit = Annotated[float, typer.Option("--time-limit", min=0.1, help="Seconds to search.")]
Workers = Annotated[int, typer.Option(min=1, max=64, help="Solver threads.")]


def _schedule(file: Path, *, flexible: bool, time_limit: float, workers: int) -> None:
    import json

    from solvers.scheduling.instances import InstanceError, load
    from solvers.scheduling.jobshop import solve

    try:
        instance = load(file, flexible=flexible)
    except (OSError, InstanceError) as exc:
        fail(str(exc))
    with progress.timed(f"solving {file.name} with CP-SAT", time_limit):
        result = solve(instance, time_limit_s=time_limit, workers=workers)
    typer.echo(json.dumps(result.as_json()))
    if result.makespan is None:
        raise typer.Exit(1)


@schedule_app.command("jobshop")
def schedule_jobshop(
    file: Annotated[Path, typer.Argument(help="Job shop instance (Taillard/OR-Library form).")],
    time_limit: TimeLimit = 10.0,
    workers: Workers = 2,
) -> None:
    """Solve a job shop: prints makespan, lower bound, status, solve time and the schedule."""
    _schedule(file, flexible=False, time_limit=time_limit, workers=workers)


@schedule_app.command("fjsp")
def schedule_fjsp(
    file: Annotated[Path, typer.Argument(help="Flexible job shop instance (Brandimarte form).")],
    time_limit: TimeLimit = 10.0,
    workers: Workers = 2,
) -> None:
    """Solve a flexible job shop: prints makespan, lower bound, status, time and the schedule."""
    _schedule(file, flexible=True, time_limit=time_limit, workers=workers)


def main() -> None:
    app()
