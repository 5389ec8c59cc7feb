"""`yunfab node device provision-fleet`: devices of one simulator profile, and their fleet file.

It lives with the command line rather than in the node's console because the machine profiles
and the fleet file belong to the simulator (demo tooling, `yunfab_demo.simulator`); the command
line and its output are the node console's.
"""

from __future__ import annotations

import json
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
from regional_node.runtime import NodeRuntime
from yunfab.console import fail
from yunfab.db import session_scope
from yunfab.service import Database
from yunfab.subject import SYSTEM
from yunfab_demo.simulator.fleet import FleetDevice, save_fleet
from yunfab_demo.simulator.profiles import PROFILES


def register() -> None:
    """Adds the command to the node console's `device` group (after regional_node.cli's)."""
    device_app.command("provision-fleet")(provision_fleet)


def provision_fleet(
    factory: Annotated[str, typer.Option(help="The factory's slug.")],
    profile: Annotated[str, typer.Option(help=f"Machine kind: {', '.join(sorted(PROFILES))}.")],
    count: Annotated[int, typer.Option(min=1, max=10_000, help="How many devices.")],
    out: Annotated[Path, typer.Option(help="Fleet file to write (0600, holds secrets).")],
    prefix: Annotated[str | None, typer.Option(help="Device key prefix.")] = None,
    protocol: Annotated[
        str, typer.Option(help="json, or sparkplug (devices behind one edge node per 10).")
    ] = "json",
    node_name: Name = None,
    region: Region = None,
    industry: Industry = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Provision devices of one machine kind, with the kind's metrics and ranges, and write their
    credentials as a fleet file for `yunfab sim`."""
    if profile not in PROFILES:
        fail(f"--profile: one of {', '.join(sorted(PROFILES))}")
    if protocol not in ("json", "sparkplug"):
        fail("--protocol: json or sparkplug")
    kind = PROFILES[profile]
    metrics = [
        devices.MetricInput(name=m.name, unit=m.unit, min_value=m.min, max_value=m.max)
        for m in kind.metrics
    ]
    key_prefix = prefix or f"{factory}-{profile.replace('_', '-')}"

    async def work(runtime: NodeRuntime, db: Database) -> list[FleetDevice]:
        fleet: list[FleetDevice] = []
        async with session_scope(db.sessionmaker) as session:
            owner = await factories.get_factory_by_slug(session, factory)
            edge: str | None = None
            for index in range(count):
                if protocol == "sparkplug" and index % 10 == 0:
                    edge = f"{key_prefix}-gw{index // 10:02d}"
                    made = await devices.provision_device(
                        session,
                        SYSTEM,
                        runtime=runtime,
                        input=devices.NewDevice(
                            factory_id=owner.id,
                            key=edge,
                            name=f"Gateway {edge}",
                            type="gateway",
                            kind=DeviceKind.EDGE_NODE,
                        ),
                    )
                    fleet.append(
                        FleetDevice(edge, None, factory, edge, made.secret, "sparkplug", None)
                    )
                key = f"{key_prefix}-{index:03d}"
                made = await devices.provision_device(
                    session,
                    SYSTEM,
                    runtime=runtime,
                    input=devices.NewDevice(
                        factory_id=owner.id,
                        key=key,
                        name=f"{kind.description} {index + 1}",
                        type=profile,
                        edge_node_key=edge if protocol == "sparkplug" else None,
                        metrics=metrics,
                    ),
                )
                if protocol == "sparkplug":
                    fleet.append(FleetDevice(key, profile, factory, None, None, "sparkplug", edge))
                else:
                    fleet.append(FleetDevice(key, profile, factory, key, made.secret, "json", None))
            # Before the commit: secrets nobody could read must not be left provisioned.
            save_fleet(out, fleet)
        return fleet

    fleet = node_console(console_options(locals()), work)
    typer.echo(json.dumps({"devices": len(fleet), "fleet": str(out)}))
