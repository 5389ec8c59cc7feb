"""`yunfab node device provision-gateway`: the node's registry fed from a gateway's own mapping;
and the gateway's parser lent to the node for the configurations it pushes.

The gateway's configuration already says which machines it reads and which metrics, units and
ranges each point becomes (`yunfab gateway devices` prints them); this provisions exactly those
on the node: the gateway as an edge node, each machine under it. It lives with the command line
because it joins the node's console and the gateway's configuration, neither of which may
import the other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from regional_node.cli import (
    DatabaseUrl,
    DataDir,
    Industry,
    Name,
    Region,
    console_options,
    device_app,
    node_console,
)
from regional_node.devices import service as devices
from regional_node.devices.models import DeviceKind
from regional_node.factories import service as factories
from regional_node.gateways.configs import CheckedConfig, register_config_check
from regional_node.gateways.profiles import register_profile_check
from regional_node.runtime import NodeRuntime
from yunfab.console import EXIT_USAGE, fail
from yunfab.db import session_scope
from yunfab.service import Database
from yunfab.subject import SYSTEM
from yunfab_gateway.config import ConfigError, load_config, parse_profile
from yunfab_gateway.mapping import DeviceDeclaration, build_mapping
from yunfab_gateway.pushed import parse_text


def register() -> None:
    """Adds the command to the node console's `device` group, and gives the node the gateway's
    parsers to check pushed configurations (`pushGatewayConfig`) and market machine profiles
    with."""
    device_app.command("provision-gateway")(provision_gateway)
    register_config_check(check_gateway_config)
    register_profile_check(check_machine_profile)


def check_gateway_config(text: str, profiles: Mapping[str, str]) -> CheckedConfig:
    """A pushed configuration read as the gateway reads its file, with the market profiles
    installed on the node that it names (files it names are the gateway's to check on its box)."""
    try:
        config = parse_text(text, profiles=profiles)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return CheckedConfig(group=config.gateway.group, edge_node=config.gateway.edge_node)


def check_machine_profile(name: str, text: str) -> None:
    """A market `machine_profile` document, as the gateway will use it."""
    try:
        parse_profile(name, text)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


def _inputs(declared: DeviceDeclaration | None) -> list[devices.MetricInput]:
    return [
        devices.MetricInput(name=m.name, unit=m.unit, min_value=m.min, max_value=m.max)
        for m in (declared.metrics if declared is not None else ())
    ]


def _write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secret + "\n")


def provision_gateway(
    config: Annotated[Path, typer.Option(help="The gateway's TOML file.")],
    password_file: Annotated[
        Path, typer.Option(help="Where to write the edge node's broker password (0600).")
    ],
    node_name: Name = None,
    region: Region = None,
    industry: Industry = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Provision a gateway (an edge node in its configuration's factory) and the machines it
    reads, with the metrics its mapping declares; writes the edge node's password for the
    gateway's `mqtt.password_file`."""
    try:
        settings = load_config(config, secrets=False)
    except ConfigError as exc:
        fail(str(exc), code=EXIT_USAGE)
    mapping = build_mapping(settings)
    edge_key = settings.gateway.edge_node

    async def work(runtime: NodeRuntime, db: Database) -> int:
        async with session_scope(db.sessionmaker) as session:
            owner = await factories.get_factory_by_slug(session, settings.gateway.group)
            made = await devices.provision_device(
                session,
                SYSTEM,
                runtime=runtime,
                input=devices.NewDevice(
                    factory_id=owner.id,
                    key=edge_key,
                    name=f"Gateway {edge_key}",
                    type="gateway",
                    kind=DeviceKind.EDGE_NODE,
                    metrics=_inputs(mapping.edge),
                ),
            )
            for declared in mapping.declarations():
                await devices.provision_device(
                    session,
                    SYSTEM,
                    runtime=runtime,
                    input=devices.NewDevice(
                        factory_id=owner.id,
                        key=declared.key,
                        name=f"Machine {declared.key}",
                        type=declared.type,
                        edge_node_key=edge_key,
                        metrics=_inputs(declared),
                    ),
                )
            # Before the commit: a secret nobody could read must not be left provisioned.
            _write_secret(password_file, made.secret)
        return len(mapping.declarations())

    count = node_console(console_options(locals()), work)
    typer.echo(
        json.dumps({"edge_node": edge_key, "devices": count, "password_file": str(password_file)})
    )
