"""Telemetry: readings over HTTP (devices log in with their keys) and MQTT, their rollups and
retention."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from regional_node.devices.credentials import VerifiedSecrets
from regional_node.settings import NodeSettings
from regional_node.state import NodeDomain, NodeState, NodeTask
from regional_node.telemetry import api, models, rollups
from regional_node.telemetry.graphql.schema import TelemetryQuery, TelemetrySubscription
from yunfab.bodies import BodyLimit


@asynccontextmanager
async def start(state: NodeState) -> AsyncIterator[None]:
    state.device_throttle = await api.device_throttle(state.runtime)
    state.device_secrets = VerifiedSecrets()
    yield


def maintain(state: NodeState) -> Coroutine[Any, Any, None]:
    settings = state.settings
    return rollups.maintain(
        state.db.engine,
        rollups.Retention(
            raw_s=settings.raw_retention_days * 86400,
            minute_s=settings.minute_retention_days * 86400,
            hour_s=settings.hour_retention_days * 86400 if settings.hour_retention_days else None,
        ),
        rollup_every_s=settings.rollup_interval_s,
    )


def body_limits(settings: NodeSettings) -> list[BodyLimit]:
    return [api.body_limit(settings)]


DOMAIN = NodeDomain(
    name="telemetry",
    models=(models,),
    routers=(api.router,),
    queries=(TelemetryQuery,),
    subscriptions=(TelemetrySubscription,),
    body_limits=body_limits,
    start=start,
    tasks=(NodeTask("telemetry-maintenance", maintain, singleton=True),),
)
