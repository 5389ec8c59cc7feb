"""`yunfab hub fl run`: a federated run from the hub's console, followed to its end."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.federated import service
from hub.federated.repository import FederatedRepository
from hub.federated.runner import FlowerRunner
from hub.settings import HubSettings
from yunfab import progress
from yunfab.authorization import Authorizer
from yunfab.console import fail, open_database, settings_or_exit
from yunfab.db import session_scope
from yunfab.errors import YunfabError
from yunfab.policy import create_engine as create_policy_engine
from yunfab.service import Database
from yunfab.subject import SYSTEM


@asynccontextmanager
async def _console(
    settings: HubSettings,
) -> AsyncIterator[tuple[Database, Authorizer, FlowerRunner]]:
    """The hub's database, the policy and a Flower runner, for one console command."""
    if settings.flower_superlink is None:  # before the database: nothing to run on without it
        fail("no Flower SuperLink is configured for this hub (YUNFAB_HUB_FLOWER_SUPERLINK)")
    db = open_database(settings)
    authorizer = Authorizer(
        create_policy_engine(settings.policy_engine, settings.opa_url),
        context={"service": "hub", "env": settings.env.value},
    )
    try:
        yield db, authorizer, FlowerRunner(settings, db.sessionmaker)
    finally:
        await db.close()


async def _follow(db: Database, run_id: uuid.UUID, status: progress.Status) -> None:
    """Show the run's state as the runner records it, while a person watches (the runner
    itself only returns at the end)."""
    if not progress.shown():
        return
    while True:
        async with db.sessionmaker() as session:
            run = await FederatedRepository(session).run(run_id)
        if run is not None:
            flower = f" (Flower run {run.flower_run_id})" if run.flower_run_id else ""
            status.update(f"federated run {run_id}: {run.status.value}{flower}")
        await asyncio.sleep(2.0)


fl_app = typer.Typer(help="Federated learning runs over the nodes (Flower).", no_args_is_help=True)


@fl_app.command("register-nodes")
def register_nodes_command(
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The hub's data.")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
) -> None:
    """Register the SuperNode keys of the hub's registered nodes at its SuperLink (TLS, with
    SuperNode authentication): only these nodes may then join federated runs."""
    settings = settings_or_exit(HubSettings, data_dir=data_dir, database_url=database_url)

    async def run() -> list[dict[str, Any]]:
        async with _console(settings) as (db, authorizer, runner):
            await authorizer.check(SYSTEM, "hub.federated.run")
            if not runner.available:
                fail("no Flower SuperLink is configured for this hub (YUNFAB_HUB_FLOWER_SUPERLINK)")
            async with db.sessionmaker() as session:
                rows = await FederatedRepository(session).nodes_with_flower_keys()
            return await runner.register_nodes([(name, key) for name, key in rows if key])

    outcomes = asyncio.run(run())
    typer.echo(json.dumps({"nodes": outcomes}, indent=2))
    if not all(outcome["registered"] for outcome in outcomes):
        raise typer.Exit(1)


@fl_app.command("run")
def run_command(
    strategy: Annotated[str, typer.Option(help="fedavg or fedprox.")] = "fedavg",
    rounds: Annotated[int, typer.Option(min=2, max=100, help="The first fits the scaling.")] = 3,
    min_nodes: Annotated[int, typer.Option(min=1, help="Nodes a round needs to start.")] = 2,
    proximal_mu: Annotated[float, typer.Option(min=0, help="FedProx's mu.")] = 0.0,
    local_epochs: Annotated[int, typer.Option(min=1)] = 20,
    learning_rate: Annotated[float, typer.Option(min=0)] = 0.1,
    dp_noise_multiplier: Annotated[
        float, typer.Option(min=0, help="0: off; else clip and noise the nodes' updates.")
    ] = 0.0,
    dp_clipping_norm: Annotated[float, typer.Option(min=0)] = 1.0,
    secure_aggregation: Annotated[
        bool, typer.Option(help="Flower's SecAgg+: the hub sees only the sum of the updates.")
    ] = False,
    secagg_max_weight: Annotated[
        float, typer.Option(min=1, help="SecAgg+: the most training examples a node weighs.")
    ] = 1000.0,
    round_timeout_s: Annotated[float, typer.Option(min=10)] = 300.0,
    label: str = "",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The hub's data.")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
) -> None:
    """Start a run at the hub's SuperLink, wait for it, and print how it went (JSON)."""
    settings = settings_or_exit(HubSettings, data_dir=data_dir, database_url=database_url)
    request = service.RunRequest(
        strategy=strategy, rounds=rounds, min_nodes=min_nodes, proximal_mu=proximal_mu,
        local_epochs=local_epochs, learning_rate=learning_rate,
        dp_noise_multiplier=dp_noise_multiplier, dp_clipping_norm=dp_clipping_norm,
        secure_aggregation=secure_aggregation, secagg_max_weight=secagg_max_weight,
        round_timeout_s=round_timeout_s, label=label,
    )  # fmt: skip

    async def run() -> dict[str, Any]:
        async with _console(settings) as (db, authorizer, runner):
            async with session_scope(db.sessionmaker) as session:
                row = await service.create_run(
                    session, SYSTEM, authorizer=authorizer, request=request,
                    available=runner.available,
                )  # fmt: skip
                run_id = row.id
            with progress.spinner(f"federated run {run_id}: starting") as status:
                follower = asyncio.create_task(_follow(db, run_id, status))
                try:
                    done = await runner.drive(run_id)
                finally:
                    follower.cancel()
            result: dict[str, Any] = {
                "run": str(done.id),
                "status": done.status.value,
                "flower_run_id": done.flower_run_id,
                "error": done.error,
            }
            if done.model_id is not None:
                async with db.sessionmaker() as session:
                    model = await FederatedRepository(session).model(done.model_id)
                    assert model is not None
                    result["model"] = {
                        "name": model.name, "version": model.version, "digest": model.digest,
                        "metrics": model.metrics,
                    }  # fmt: skip
            return result

    try:
        outcome = asyncio.run(run())
    except YunfabError as exc:
        fail(exc.detail)
    typer.echo(json.dumps(outcome, indent=2, default=str))
    if outcome["status"] != "finished":
        raise typer.Exit(1)
