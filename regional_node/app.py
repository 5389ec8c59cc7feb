from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from regional_node.alerts.delivery import NotificationWorker
from regional_node.alerts.notifications import NotificationConfig
from regional_node.audit.service import AuditLog
from regional_node.broker_admin import BrokerAdmin
from regional_node.data_products import api as data_products_api
from regional_node.data_products.products import ProducerContext, configured
from regional_node.data_products.publisher import DataPublisher
from regional_node.devices.credentials import VerifiedSecrets
from regional_node.graphql.context import get_context
from regional_node.graphql.schema import build_schema
from regional_node.hub_link.auth import ClientCredentials, HubKeys
from regional_node.hub_link.client import HubClient, Registration
from regional_node.hub_link.link import Backoff, HubLink
from regional_node.identity.service import ensure_identity
from regional_node.market import api as market_api
from regional_node.market.installer import MarketInstaller
from regional_node.orders import api as orders_api
from regional_node.runtime import NodeRuntime, build_runtime, reconcile_broker
from regional_node.settings import NodeSettings
from regional_node.telemetry import api as telemetry_api
from regional_node.telemetry import rollups
from regional_node.telemetry.mqtt import MqttIngest, MqttOptions
from regional_node.vision import api as vision_api
from yunfab.authorization import Authorizer
from yunfab.db import session_scope
from yunfab.graphql.ide import SignIn
from yunfab.migrations import TREES
from yunfab.policy import create_engine as create_policy_engine
from yunfab.revocations import RevocationSet
from yunfab.service import Database, create_service_app
from yunfab.tokens import TokenValidator
from yunfab.web_console import ConsoleConfig, WebConsole, default_console_dir

log = structlog.get_logger(__name__)


def create_app(
    settings: NodeSettings,
    *,
    hub_auth: httpx.Auth | None = None,
    hub_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The node app. `hub_auth` signs calls to the hub; `hub_transport` reaches an in-process hub
    (tests) instead of the network."""
    public_url = settings.public_url or f"http://{settings.host}:{settings.port}"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database.open(settings.db_url)
        app.state.db = db
        async with session_scope(db.sessionmaker) as session:
            await ensure_identity(
                session, name=settings.name, region=settings.region, industry=settings.industry
            )
        keys = HubKeys(
            f"{settings.hub_url.rstrip('/')}/.well-known/jwks.json", transport=hub_transport
        )
        app.state.hub_keys = keys
        revocations = RevocationSet()
        app.state.tokens = TokenValidator(
            keys=keys,
            revocations=revocations,
            issuer=settings.issuer,
            audience=settings.audience,
        )
        auth = hub_auth
        if auth is None and settings.client_id and settings.client_secret:
            auth = ClientCredentials(
                f"{settings.hub_url.rstrip('/')}/oauth/token",
                settings.client_id,
                settings.client_secret.get_secret_value(),
                scope="nodes:register",
            )
        link = HubLink(
            client=HubClient(
                settings.hub_url,
                timeout_s=settings.hub_timeout_s,
                auth=auth,
                transport=hub_transport,
            ),
            registration=Registration(
                name=settings.name,
                region=settings.region,
                industry=settings.industry,
                base_url=public_url.rstrip("/"),
                flower_public_key=settings.flower_public_key_file.read_text().strip()
                if settings.flower_public_key_file
                else None,
            ),
            heartbeat_interval_s=settings.heartbeat_interval_s,
            backoff=Backoff(settings.hub_retry_initial_s, settings.hub_retry_max_s),
            sessionmaker=db.sessionmaker,
            revocations=revocations,
            keys=keys,
        )
        app.state.hub_link = link
        await keys.refresh()
        link.start()
        runtime, mqtt, broker = await _start_runtime(app, settings, db)
        tasks = [
            asyncio.create_task(
                rollups.maintain(
                    db.engine,
                    rollups.Retention(
                        raw_s=settings.raw_retention_days * 86400,
                        minute_s=settings.minute_retention_days * 86400,
                        hour_s=settings.hour_retention_days * 86400
                        if settings.hour_retention_days
                        else None,
                    ),
                    rollup_every_s=settings.rollup_interval_s,
                ),
                name="telemetry-maintenance",
            ),
            asyncio.create_task(
                runtime.alerts.run_stale_checks(settings.stale_check_interval_s),
                name="stale-alerts",
            ),
            asyncio.create_task(
                _alert_delivery(settings, db, runtime).run(), name="alert-delivery"
            ),
        ]
        products = configured(settings.data_products)
        app.state.data_publisher = None
        if products:
            publisher = DataPublisher(
                client=link.client,
                sessionmaker=db.sessionmaker,
                products=products,
                context=lambda: ProducerContext.of(settings),
            )
            app.state.data_publisher = publisher
            tasks.append(
                asyncio.create_task(
                    publisher.run(link, settings.data_publish_interval_s), name="data-products"
                )
            )
        installer = MarketInstaller(
            client=link.client,
            sessionmaker=db.sessionmaker,
            runtime=runtime,
            node_name=settings.name,
            directory=settings.data_dir / "market",
            require_verified=settings.market_require_verified,
            max_artifact_bytes=settings.market_max_artifact_mb * 1024 * 1024,
        )
        app.state.market_installer = installer
        tasks.append(
            asyncio.create_task(
                installer.run(link, settings.market_poll_interval_s), name="market-installer"
            )
        )
        log.info("node_started", public_url=public_url, hub=settings.hub_url)
        try:
            yield
        finally:
            if mqtt is not None:
                await mqtt.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if broker is not None:
                await broker.close()
            await link.stop()
            await keys.close()
            await db.close()
            log.info("node_stopped")

    async def hub_link_check() -> dict[str, Any]:
        status = app.state.hub_link.status
        checks: dict[str, Any] = {
            "hub": {
                "state": status.state.value,
                "url": status.hub_url,
                "last_error": status.last_error,
            }
        }
        mqtt: MqttIngest | None = app.state.mqtt
        if mqtt is not None:
            checks["mqtt"] = {
                "connected": mqtt.status.connected,
                "last_error": mqtt.status.last_error,
                "messages": mqtt.status.messages,
            }
        return checks

    policy = create_policy_engine(settings.policy_engine, settings.opa_url)

    async def audit_line(**entry: Any) -> None:
        await app.state.audit.append(**entry)

    app = create_service_app(
        title=f"Yunfab node {settings.name}",
        description="A regional node: factories, devices, vision, scheduling.",
        settings=settings,
        tree=TREES["node"],
        lifespan=lifespan,
        schema=build_schema(settings),
        context_getter=get_context,
        readiness_extra=hub_link_check,
        routers=[
            telemetry_api.router,
            orders_api.router,
            vision_api.router,
            data_products_api.router,
            market_api.router,
        ],
        body_limits=[telemetry_api.body_limit(settings), *vision_api.body_limits(settings)],
        sign_in=SignIn(issuer=settings.issuer, public_url=public_url, resource=settings.audience),
    )
    app.state.settings = settings
    WebConsole(
        settings.console_dir or default_console_dir(),
        ConsoleConfig(
            issuer=settings.issuer,
            public_url=public_url,
            resource=settings.audience,
            name=settings.name,
        ),
    ).install(app)
    app.state.mqtt = None
    app.state.device_throttle = telemetry_api.device_throttle()
    app.state.device_secrets = VerifiedSecrets()
    app.state.authorizer = Authorizer(
        policy,
        context={
            "service": "node",
            "node_name": settings.name,
            "node_region": settings.region,
            "operator_org": settings.operator_org,
        },
        audit=audit_line,
    )
    return app


def _alert_delivery(
    settings: NodeSettings, db: Database, runtime: NodeRuntime
) -> NotificationWorker:
    """The worker that sends alert notifications from the outbox; the engine wakes it."""
    worker = NotificationWorker(db.sessionmaker, NotificationConfig.of(settings))
    runtime.alerts.use_notifications(worker.config.channel.zone, worker.wake)
    return worker


async def _start_runtime(
    app: FastAPI, settings: NodeSettings, db: Database
) -> tuple[NodeRuntime, MqttIngest | None, BrokerAdmin | None]:
    """The node's runtime, its broker admin (when it manages the broker) and MQTT consumer."""
    app.state.audit = AuditLog(db.sessionmaker)
    runtime = await build_runtime(settings, db, app.state.authorizer, app.state.audit)
    app.state.runtime = runtime
    broker = runtime.broker if isinstance(runtime.broker, BrokerAdmin) else None
    endpoint = settings.mqtt_endpoint
    if broker is not None and settings.mqtt_username and settings.mqtt_password:
        await broker.ensure_ingest_client(
            settings.mqtt_username, settings.mqtt_password.get_secret_value(), settings.name
        )
    if broker is not None:
        await reconcile_broker(db, broker)
    mqtt = None
    if endpoint is not None:
        mqtt = MqttIngest(
            MqttOptions(
                host=endpoint[0],
                port=endpoint[1],
                tls=ssl.create_default_context() if endpoint[2] else None,
                client_id=settings.mqtt_client_id or f"yunfab-node-{settings.name}",
                host_id=settings.name,
                username=settings.mqtt_username,
                password=settings.mqtt_password.get_secret_value()
                if settings.mqtt_password
                else None,
                shared_group=settings.mqtt_shared_group,
                session_expiry_s=settings.mqtt_session_expiry_s,
                max_message_bytes=settings.mqtt_max_message_bytes,
            ),
            pipeline=runtime.pipeline,
            registry=runtime.registry,
            metrics=runtime.metrics,
        )
        await mqtt.start()
    app.state.mqtt = mqtt
    return runtime, mqtt, broker
