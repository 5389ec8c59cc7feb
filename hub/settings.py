from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from yunfab.blobs import S3Location
from yunfab.settings import ServiceSettings, normalize_url
from yunfab.tokens import LEEWAY_S


class HubSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="YUNFAB_HUB_", extra="ignore", validate_default=True
    )
    default_database_file: ClassVar[str] = "hub.db"

    port: int = 8700
    console_title: str = Field(default="Yunfab hub", min_length=1, max_length=80)
    """The name the web console's header and the browser's tab show for this hub."""
    node_offline_after_s: float = Field(default=30.0, gt=0)
    """A node whose last heartbeat is older than this is shown offline."""
    offline_sweep_interval_s: float = Field(default=5.0, gt=0)
    public_url: str | None = None
    """The URL clients reach the hub at; the token issuer. Defaults to the bound address."""
    token_lifetime_s: int = Field(default=600, gt=0, le=3600)
    id_token_lifetime_s: int = Field(default=600, gt=0, le=3600)
    signing_key_passphrase: SecretStr | None = None
    """Encrypts the private signing keys at rest; required outside development."""
    key_refresh_interval_s: float = Field(default=30.0, gt=0)
    session_lifetime_s: int = Field(default=10 * 3600, gt=0)
    """A person's sign-in at the hub (the browser session cookie) ends this long after it began,
    however active; apps then ask for the password again."""
    session_idle_timeout_s: int = Field(default=1800, gt=0)
    """A browser session unused (no authorization request) for this long ends."""
    refresh_token_lifetime_s: int = Field(default=7 * 24 * 3600, gt=0)
    """Refresh tokens of one sign-in work for at most this long after it, rotated or not."""
    refresh_token_idle_s: int = Field(default=3 * 24 * 3600, gt=0)
    """A refresh token unused for this long expires (each use gives a new one)."""
    flower_superlink: str | None = None
    """host:port of the Flower SuperLink that federated runs go through; unset: no runs."""
    flower_root_certificates: Path | None = None
    """The CA that signed the SuperLink's certificate; required outside development."""
    federated_poll_interval_s: float = Field(default=2.0, gt=0)
    market_max_artifact_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    """The largest release artifact the market accepts."""
    node_urls_allow_private: bool | None = None
    """Let a node's URL be (or resolve to) a loopback, link-local or private address; defaults to
    on in development (the demo runs on loopback), off in production. Outside development a
    node's URL must also be https."""
    live_max_response_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    """The largest answer the hub reads from a node for a live query."""
    auth_failure_limit: int = Field(default=10, gt=0)
    """Failed secret checks (client secret, password) one credential may have from one address
    within `auth_failure_window_s` before that pair is answered 429."""
    auth_failure_window_s: float = Field(default=60.0, gt=0)
    nats_url: str | None = None
    """NATS with JetStream (`nats://host:4222`) when the hub runs as several replicas: its
    domain events (nodes coming and going, federated run progress) reach the live subscribers
    of every replica, and its long jobs (federated runs) go to `yunfab hub worker` processes.
    None (the embedded default): events and jobs stay inside this process (one replica)."""
    nats_scope: str = Field(default="hub", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    """The name of the hub's events stream and jobs queue on NATS (`yunfab.events.<scope>.*`):
    hubs sharing one NATS server each need their own."""
    nats_replicas: int = Field(default=1, ge=1, le=5)
    """Copies of the hub's events and jobs streams and shared-state buckets in a NATS cluster
    (3 for a cluster of three), used when the hub makes them; a start raises a stream to it
    but never lowers a stream an operator raised, nor resets its other settings made by hand."""
    lease_ttl_s: float = Field(default=15.0, ge=1, le=600)
    """With NATS: how long a replica's hold on a once-per-hub task (the offline sweep, clearing
    expired sign-in records) lasts unrenewed; another replica takes the task over this long
    after its holder died (at once when it stopped). Renewed every third of it."""
    events_max_age_s: float = Field(default=300.0, gt=0, le=86400)
    """How long the events stream keeps an event for a replica that reconnects (NATS only)."""
    events_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    """The events stream's memory bound; the oldest events go first (NATS only)."""
    jobs_ack_wait_s: float = Field(default=60.0, ge=3, le=3600)
    """With NATS: how long a job may go without its worker saying it is busy before it is
    given to another worker (workers say so every third of it)."""
    jobs_max_attempts: int = Field(default=3, ge=1, le=20)
    """Runs of a job that fails unexpectedly before it is marked failed."""
    blob_store: Literal["filesystem", "s3"] = "filesystem"
    """Where the hub's files live (market artifacts, federated runs' outputs and models, the
    market signing key): under `data_dir` (one replica), or in an S3-compatible bucket every
    replica, worker and the SuperLink reach (`s3_*`)."""
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    """The S3 API's URL (SeaweedFS `weed server -s3`, MinIO...); unset: AWS."""
    s3_prefix: str = Field(default="hub", pattern=r"^[A-Za-z0-9._-]*$", max_length=64)
    """Key prefix inside the bucket, so that a hub can share a bucket with nodes."""
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    """Unset (both): the SDK's own chain (environment, an instance or pod role)."""
    auth_check_threads: int = Field(default=2, gt=0)
    """Worker threads for introspection and revocation, apart from those issuing tokens: a
    flood of bad secrets there waits for these and cannot hold up token requests."""

    @model_validator(mode="after")
    def _production_secrets(self) -> HubSettings:
        if not self.development and self.signing_key_passphrase is None:
            raise ValueError("signing_key_passphrase: required outside development")
        if not self.development and not (self.public_url or "").startswith("https://"):
            raise ValueError("public_url: an https URL is required outside development")
        if not self.development and self.flower_superlink and not self.flower_root_certificates:
            raise ValueError("flower_root_certificates: TLS to the SuperLink outside development")
        return self

    @model_validator(mode="after")
    def _blob_store(self) -> HubSettings:
        if self.blob_store == "s3" and not self.s3_bucket:
            raise ValueError("s3_bucket: required with blob_store = s3")
        if self.s3_access_key_id is not None and self.s3_secret_access_key is None:
            raise ValueError("s3_secret_access_key: required with s3_access_key_id")
        return self

    def blob_location(self) -> S3Location | None:
        """The S3 bucket the hub's files live in, or None for its own data directory."""
        if self.blob_store != "s3" or not self.s3_bucket:
            return None
        secret = self.s3_secret_access_key
        return S3Location(
            bucket=self.s3_bucket,
            endpoint_url=self.s3_endpoint_url,
            prefix=self.s3_prefix,
            region=self.s3_region,
            access_key_id=self.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
        )

    @property
    def allow_private_node_urls(self) -> bool:
        if self.node_urls_allow_private is None:
            return self.development
        return self.node_urls_allow_private

    @property
    def issuer_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def key_retire_after(self) -> dt.timedelta:
        """How long a key that stopped signing must still verify: a token lifetime, plus the
        time other hub processes may keep signing with it, plus the validators' leeway."""
        return dt.timedelta(seconds=self.token_lifetime_s + self.key_refresh_interval_s + LEEWAY_S)

    @property
    def audience(self) -> str:
        return normalize_url(self.token_audience or self.issuer_url)

    @property
    def key_passphrase(self) -> str | None:
        secret = self.signing_key_passphrase
        return secret.get_secret_value() if secret is not None else None
