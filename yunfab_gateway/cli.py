"""`yunfab gateway run|check|devices|claim --config gateway.toml`.

A bad configuration ends with one line naming the file and the key and exit code 2, before
anything connects. The protocol libraries (the `gateway` extra) are imported only by the
commands that talk to machines, so `yunfab` itself works without them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer

from yunfab.console import EXIT_ERROR, EXIT_USAGE, fail
from yunfab_gateway.claim import ClaimFailed, claim, provisioning_document
from yunfab_gateway.config import ConfigError, GatewayConfig, load_config

gateway_app = typer.Typer(
    help="The edge gateway: read machines over OPC UA and Modbus, publish Sparkplug B to the "
    "node's broker, buffered on disk through outages (docs/gateway.md).",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The gateway's TOML file.", show_default=False)
]
_EXTRA = frozenset({"asyncua", "pymodbus", "serial"})


def _config(path: Path) -> GatewayConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc), code=EXIT_USAGE)


def _config_without_secrets(path: Path) -> GatewayConfig:
    """For `claim`, which writes the password file the configuration names."""
    try:
        return load_config(path, secrets=False)
    except ConfigError as exc:
        fail(str(exc), code=EXIT_USAGE)


def _configure_logging(json_logs: bool, level: str) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_logs
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *([structlog.processors.format_exc_info] if json_logs else []),
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The protocol libraries log every failed attempt themselves; the gateway says it once.
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


def _missing_extra(exc: ModuleNotFoundError) -> None:
    if (exc.name or "").partition(".")[0] in _EXTRA:
        fail(
            f"the gateway needs the gateway extra ({exc.name} is not installed): "
            "pip install 'yunfab[gateway]'",
            code=EXIT_ERROR,
        )
    raise exc


@gateway_app.command("run")
def run_command(
    config: ConfigOption,
    log_format: Annotated[
        str, typer.Option(help="console or json (json for a service manager's journal).")
    ] = "console",
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the gateway until SIGINT or SIGTERM.

    On either it says goodbye to the node (NDEATH); what it read stays in its journal."""
    settings = _config(config)
    if log_format not in ("console", "json"):
        fail(f"--log-format: console or json, not {log_format!r}")
    if log_level.lower() not in ("debug", "info", "warning", "error"):
        fail(f"--log-level: debug, info, warning or error, not {log_level!r}")
    _configure_logging(log_format == "json", log_level)
    try:
        from yunfab_gateway.runner import run_gateway

        if settings.opcua:
            import yunfab_gateway.opcua  # noqa: F401 - fail now, not in a connector's task
        if settings.modbus:
            import yunfab_gateway.modbus  # noqa: F401
    except ModuleNotFoundError as exc:
        _missing_extra(exc)
    asyncio.run(run_gateway(settings, base=config.resolve().parent))


@gateway_app.command("check")
def check_command(config: ConfigOption) -> None:
    """Check the file, read every point once (its value or its error) and try the broker.

    Exits 1 when anything failed."""
    settings = _config(config)
    try:
        from yunfab_gateway.checks import check_all
    except ModuleNotFoundError as exc:
        _missing_extra(exc)
    # The protocol libraries' own complaints would drown the table; its lines say it all.
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    failed = asyncio.run(check_all(settings, typer.echo))
    if failed:
        raise typer.Exit(EXIT_ERROR)


@gateway_app.command("devices")
def devices_command(config: ConfigOption) -> None:
    """Print the devices and metrics to provision on the node (JSON).

    The edge node, and each machine under it, as provisionDevice takes them."""
    settings = _config(config)
    typer.echo(json.dumps(provisioning_document(settings), indent=2))


@gateway_app.command("claim")
def claim_command(
    config: ConfigOption,
    node: Annotated[str, typer.Option(help="The node's URL, e.g. https://node.example.cn.")],
    code: Annotated[str, typer.Option(help="The one-time claim code the node gave.")],
) -> None:
    """Claim the gateway's credentials with a one-time code from the node.

    Sends the code and the gateway's mapping (what `devices` prints); the node provisions the
    edge node and its machines, and its broker password is written to mqtt.password_file
    (0600). A used, expired or unknown code is refused with the node's reason (exit 1)."""
    settings = _config_without_secrets(config)
    try:
        claimed = asyncio.run(claim(settings, node, code))
    except ClaimFailed as exc:
        fail(str(exc), code=EXIT_ERROR)
    typer.echo(
        json.dumps(
            {
                "edge_node": claimed.edge_node,
                "password_file": str(claimed.password_file),
                "provisioned": claimed.provisioned,
                "kept": claimed.kept,
            }
        )
    )
