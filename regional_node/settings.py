from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from yunfab.settings import Region, ServiceSettings, Slug


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
