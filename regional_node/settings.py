from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from yunfab.settings import Region, ServiceSettings, Slug, normalize_url


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

    @model_validator(mode="after")
    def _credentials(self) -> NodeSettings:
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError("client_secret: give both client_id and client_secret, or neither")
        if not self.development and self.client_id is None:
            raise ValueError("client_id: required outside development")
        if not self.development and not self.hub_url.startswith("https://"):
            raise ValueError("hub_url: an https URL is required outside development")
        return self

    @property
    def audience(self) -> str:
        """Tokens for this node carry its public URL, as the hub registered it."""
        url = self.token_audience or self.public_url or f"http://{self.host}:{self.port}"
        return normalize_url(url)

    @property
    def issuer(self) -> str:
        return (self.hub_issuer or self.hub_url).rstrip("/")
