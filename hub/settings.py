from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from yunfab.settings import ServiceSettings


class HubSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="YUNFAB_HUB_", extra="ignore", validate_default=True
    )
    default_database_file: ClassVar[str] = "hub.db"

    port: int = 8700
    node_offline_after_s: float = Field(default=30.0, gt=0)
    """A node whose last heartbeat is older than this is shown offline."""
    offline_sweep_interval_s: float = Field(default=5.0, gt=0)
