from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from yunfab.blobs import S3Location
from yunfab.settings import Region, ServiceSettings, Slug, normalize_url
from yunfab.subject import canonical_org_id

DataProductKey = Literal[
    "regional-capacity", "factory-profiles", "factory-scores", "workforce-offers"
]
DATA_PRODUCT_KEYS: tuple[DataProductKey, ...] = (
    "regional-capacity",
    "factory-profiles",
    "factory-scores",
    "workforce-offers",
)


class NodeStorageSettings(ServiceSettings):
    """Where a node keeps its data; all that `yunfab db upgrade node` needs."""

    model_config = SettingsConfigDict(
        env_prefix="YUNFAB_NODE_", extra="ignore", validate_default=True
    )
    default_database_file: ClassVar[str] = "node.db"


class NodeSettings(NodeStorageSettings):
    name: Slug
    """Unique across the hub, e.g. zj-textile."""
    region: Region
    """ISO 3166-2 code, e.g. CN-ZJ."""
    industry: Slug
    """e.g. textile, injection-moulding."""
    port: int = 8701
    hub_url: str = "http://127.0.0.1:8700"
    public_url: str | None = None
    """The URL the hub and other platforms reach this node at; defaults to the bound address."""
    heartbeat_interval_s: float = Field(default=10.0, gt=0)
    hub_retry_initial_s: float = Field(default=1.0, gt=0)
    hub_retry_max_s: float = Field(default=30.0, gt=0)
    hub_timeout_s: float = Field(default=5.0, gt=0)
    hub_issuer: str | None = None
    """The `iss` of hub tokens; defaults to the hub URL."""
    client_id: str | None = None
    """This node's OAuth2 client at the hub (`yunfab hub client create --kind node`)."""
    client_secret: SecretStr | None = None
    operator_org: str | None = None
    """The hub organization that runs this node: its people with `node:operate` operate it."""

    mqtt_url: str | None = None
    """mqtt://host:port or mqtts://host:port of the device broker; unset: no MQTT ingest."""
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_client_id: str | None = None
    """Fixed, so the broker keeps this node's session (and its messages) across restarts."""
    mqtt_session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    """How long the broker keeps this node's session (and queues its messages) while it is away."""
    mqtt_shared_group: str | None = None
    """Consume through a shared subscription, to split the stream across several node processes."""
    mqtt_consume: bool = True
    """Whether this process consumes the broker's telemetry. False on the API replicas of a
    scaled-out node (its `yunfab node ingest` processes consume): with `mqtt_url` and the broker
    admin set they still manage the broker's device logins, and take no reading over MQTT."""
    mqtt_max_message_bytes: int = Field(default=1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    """The largest MQTT message (whole packet): the broker the node manages drops a larger one
    and disconnects its sender (Mosquitto `max_packet_size`), and the node's ingest client asks
    any broker not to deliver it a larger one (MQTT 5 Maximum Packet Size)."""
    telemetry_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    """The largest HTTP telemetry batch (`POST /api/v1/telemetry`), refused with 413."""
    graphql_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    """The largest `/graphql` request body; a node's GraphQL carries base64 images (inspectPart,
    trainVisionModel), so it is larger than the hub's. Bigger uploads go to the REST endpoints."""
    broker_admin_username: str | None = None
    """The broker's dynamic-security admin: set it and the node manages device credentials."""
    broker_admin_password: SecretStr | None = None
    nats_url: str | None = None
    """NATS with JetStream (`nats://host:4222`) for the node's domain events across replicas: a live
    subscriber on any replica hears of what happened on any other. None (the embedded default):
    events stay inside this process, which is right for one replica only."""
    lease_ttl_s: float = Field(default=15.0, ge=1, le=600)
    """With NATS: how long a replica's hold on a once-per-node task (rollups, alert delivery,
    publishing, schedules) lasts unrenewed; another replica takes the task over this long
    after its holder died (at once when it stopped). Renewed every third of it."""
    health_port: int = Field(default=0, ge=0, le=65535)
    """Where `yunfab node worker` and `yunfab node ingest` answer `/healthz` and `/readyz` (on
    `host`), for their pods' probes; 0: no health port. The API serves both on its own port."""
    nats_replicas: int = Field(default=1, ge=1, le=5)
    """Copies of the node's events and jobs streams and shared-state buckets in a NATS cluster
    (3 for a cluster of three), used when the node makes them; a start raises a stream to it
    but never lowers a stream an operator raised, nor resets its other settings made by hand."""
    events_max_age_s: float = Field(default=300.0, gt=0, le=86400)
    """How long the events stream keeps an event for a replica that reconnects (NATS only)."""
    events_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024 * 1024)
    """The events stream's memory bound; the oldest events go first (NATS only)."""
    jobs_ack_wait_s: float = Field(default=60.0, ge=3, le=3600)
    """With NATS: how long a job may go without its worker saying it is busy before it is
    given to another worker (workers say so every third of it)."""
    jobs_max_attempts: int = Field(default=3, ge=1, le=20)
    """Runs of a job that fails unexpectedly before it is marked failed."""
    blob_store: Literal["filesystem", "s3"] = "filesystem"
    """Where inspection models and kept images live: under `data_dir` (one replica), or in an
    S3-compatible bucket every replica and worker reads (`s3_*`)."""
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    """The S3 API's URL (SeaweedFS `weed server -s3`, MinIO...); unset: AWS."""
    s3_prefix: str | None = None
    """Key prefix inside the bucket; default: the node's name, so nodes can share a bucket."""
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    """Unset (both): the SDK's own chain (environment, an instance or pod role)."""
    raw_retention_days: float = Field(default=7.0, gt=0)
    minute_retention_days: float = Field(default=90.0, gt=0)
    hour_retention_days: float | None = Field(default=None, gt=0)
    rollup_interval_s: float = Field(default=5.0, gt=0)
    stale_check_interval_s: float = Field(default=10.0, gt=0)
    # Alert notifications (docs/alerts.md).
    alert_time_zone: str = "Asia/Shanghai"
    """IANA zone of the node's factories: silence windows' daily times and times in messages."""
    alert_smtp_host: str | None = None
    """SMTP server for email contact points; unset: email contact points cannot be created."""
    alert_smtp_port: int = Field(default=587, ge=1, le=65535)
    alert_smtp_starttls: bool = True
    """Upgrade the SMTP connection with STARTTLS (required outside development)."""
    alert_smtp_username: str | None = None
    alert_smtp_password_file: Path | None = None
    """A file holding the SMTP password (a mounted Secret), read when mail is sent."""
    alert_smtp_from: str | None = None
    """The From address of alert email, e.g. alerts@factory.example.cn."""
    alert_secrets_key_file: Path | None = None
    """A file holding the key (32+ random bytes, base64) that seals contact points' URLs and
    secrets in the database; default: one generated under data_dir. Share it between replicas."""
    alert_delivery_concurrency: int = Field(default=8, ge=1, le=64)
    """Notifications sent at once by the delivery worker."""
    alert_delivery_timeout_s: float = Field(default=10.0, gt=0, le=120)
    """The whole of one delivery attempt (connect to last byte, or the SMTP exchange)."""
    alert_delivery_max_attempts: int = Field(default=6, ge=1, le=20)
    """Attempts before a notification is marked failed."""
    alert_retry_initial_s: float = Field(default=5.0, gt=0)
    """Wait before the second attempt; doubled after each failure (with jitter)."""
    alert_retry_max_s: float = Field(default=600.0, gt=0)
    """The longest wait between two attempts."""

    @field_validator("alert_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"alert_time_zone: no time zone {value!r} (e.g. Asia/Shanghai)"
            ) from exc
        return value

    @model_validator(mode="after")
    def _blob_store(self) -> NodeSettings:
        if self.blob_store == "s3" and not self.s3_bucket:
            raise ValueError("s3_bucket: required with blob_store = s3")
        if self.s3_access_key_id is not None and self.s3_secret_access_key is None:
            raise ValueError("s3_secret_access_key: required with s3_access_key_id")
        return self

    def blob_location(self) -> S3Location | None:
        """The S3 bucket inspection files live in, or None for the node's own directory."""
        if self.blob_store != "s3" or not self.s3_bucket:
            return None
        return S3Location(
            bucket=self.s3_bucket,
            endpoint_url=self.s3_endpoint_url,
            prefix=self.s3_prefix if self.s3_prefix is not None else self.name,
            region=self.s3_region,
            access_key_id=self.s3_access_key_id,
            secret_access_key=self.s3_secret_access_key.get_secret_value()
            if self.s3_secret_access_key
            else None,
        )

    @model_validator(mode="after")
    def _alert_mail(self) -> NodeSettings:
        if self.alert_smtp_host is not None and not self.alert_smtp_from:
            raise ValueError("alert_smtp_from: required with alert_smtp_host")
        if (
            self.alert_smtp_host is not None
            and not self.development
            and not self.alert_smtp_starttls
        ):
            raise ValueError("alert_smtp_starttls: required outside development")
        return self

    flower_public_key_file: Path | None = None
    """The public key (OpenSSH) of this node's Flower SuperNode: sent to the hub when the node
    registers, so the hub's SuperLink accepts that SuperNode (federated learning)."""
    vision_max_image_mb: int = Field(default=20, ge=1, le=200)
    """The largest image file an inspection or training upload may send."""
    vision_max_megapixels: int = Field(default=50, ge=1, le=500)
    """The largest image an upload may hold, refused from its header before it is decoded."""
    vision_inspect_megapixels: int = Field(default=8, ge=1, le=500)
    """Larger inspection images are reduced to this as they are decoded (and kept at it)."""
    vision_max_training_megapixels: int = Field(default=1000, ge=1, le=100_000)
    """The pixels all images of one training may hold together; more is refused undecoded."""
    vision_max_upload_mb: int = Field(default=256, ge=1, le=4096)
    """The largest training upload (the whole multipart body of `POST /api/v1/vision/models`),
    refused with 413; an inspection or clip upload is bounded by its file's own limit."""
    vision_threads: int | None = Field(default=None, ge=1, le=64)
    """CPU threads a training or an inspection uses; defaults to the cores, at most 4."""
    data_products: list[DataProductKey] = Field(default_factory=lambda: list(DATA_PRODUCT_KEYS))
    """The data products this node publishes at the hub's data exchange and answers live
    queries for (a JSON list in YUNFAB_NODE_DATA_PRODUCTS); empty: none."""
    data_publish_interval_s: float = Field(default=300.0, gt=0)
    """How often changed rows of the data products are sent to the hub."""
    workforce_rematch: bool = True
    """Shared workers: re-run the matching by itself once needs and pool workers stop changing
    (posted, closed, deleted), not only when the operator asks; accepted proposals are kept."""
    workforce_rematch_delay_s: float = Field(default=5.0, gt=0, le=3600)
    """How long needs and workers must stay as they are before that re-match runs (also how
    often they are looked at)."""
    workforce_retention_days: int = Field(default=180, ge=0, le=3650)
    """Shared workers: the node deletes by itself, once every `workforce_purge_interval_s`,
    each worker whose availability (and last proposal) ended more than this many days ago;
    0: it does not (`purgeWorkforce` still does when asked)."""
    workforce_purge_interval_s: float = Field(default=86_400.0, gt=0)
    """How often that purge runs (daily), the first time ten minutes after the node starts."""
    workforce_relay_interval_s: float = Field(default=15.0, gt=0)
    """How often the node exchanges requests for shared workers with other nodes through the
    hub's relay: its factories' requests out, requests for its workers in, answers both ways."""
    market_poll_interval_s: float = Field(default=60.0, gt=0)
    """How often the node asks the hub's market for installations to carry out."""
    market_require_verified: bool = True
    """Install only releases a trusted reviewer countersigned (verified), not just signed."""
    market_max_artifact_mb: int = Field(default=200, ge=1, le=4096)
    """The largest market artifact the node downloads."""
    time_zone: str = "Asia/Shanghai"
    """IANA zone of the node's local time: Gantt chart axes of factories whose location names
    no zone of their own."""
    chart_link_ttl_s: int = Field(default=300, ge=30, le=3600)
    """How long a signed Gantt chart link (`FactorySchedule.chartUrl`) opens the picture."""
    device_online_window_s: int = Field(default=300, ge=10, le=86400)
    """A device counts as online in the overview while its last reading is this recent (or
    while Sparkplug says it is online)."""

    @field_validator("operator_org")
    @classmethod
    def _one_spelling(cls, value: str | None) -> str | None:
        return canonical_org_id(value)

    @model_validator(mode="after")
    def _credentials(self) -> NodeSettings:
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError("client_secret: give both client_id and client_secret, or neither")
        if not self.development and self.client_id is None:
            raise ValueError("client_id: required outside development")
        if not self.development and not self.hub_url.startswith("https://"):
            raise ValueError("hub_url: an https URL is required outside development")
        if self.flower_public_key_file is not None and not self.flower_public_key_file.is_file():
            raise ValueError(f"flower_public_key_file: no file {self.flower_public_key_file}")
        if (self.broker_admin_username is None) != (self.broker_admin_password is None):
            raise ValueError("broker_admin_password: give both admin username and password")
        if self.mqtt_url is not None:
            scheme = self.mqtt_url.split("://", 1)[0]
            if scheme not in ("mqtt", "mqtts") or "://" not in self.mqtt_url:
                raise ValueError("mqtt_url: mqtt://host:port or mqtts://host:port")
            if not self.development:
                if scheme != "mqtts":
                    raise ValueError("mqtt_url: mqtts (TLS) is required outside development")
                if self.broker_admin_username is None:
                    raise ValueError(
                        "broker_admin_username: outside development the node must manage the "
                        "broker's device credentials"
                    )
        return self

    @property
    def mqtt_endpoint(self) -> tuple[str, int, bool] | None:
        """(host, port, tls) of the broker, or None without MQTT ingest."""
        if self.mqtt_url is None:
            return None
        tls = self.mqtt_url.startswith("mqtts://")
        address = self.mqtt_url.split("://", 1)[1].rstrip("/")
        host, _, port = address.rpartition(":")
        if not host:
            return address, 8883 if tls else 1883, tls
        return host.strip("[]"), int(port), tls

    @property
    def audience(self) -> str:
        """Tokens for this node carry its public URL, as the hub registered it."""
        url = self.token_audience or self.public_url or f"http://{self.host}:{self.port}"
        return normalize_url(url)

    @property
    def issuer(self) -> str:
        return (self.hub_issuer or self.hub_url).rstrip("/")

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"time_zone: no time zone {value!r} (e.g. Asia/Shanghai)") from exc
        return value

    def chart_link_key(self) -> bytes:
        """The key signing chart links, derived from the node's client secret (required outside
        development, shared by its replicas, so a link made by one opens on another; rotating
        the secret ends the links out). Only development, without a secret, signs with a
        well-known key."""
        if self.client_secret is not None:
            secret = self.client_secret.get_secret_value().encode()
            return hmac.new(secret, b"yunfab node chart links v1", hashlib.sha256).digest()
        if not self.development:
            raise ValueError("client_secret: required to sign chart links outside development")
        return b"yunfab development chart links: not a secret"
