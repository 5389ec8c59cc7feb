"""Configurations pushed from the node: checked here as they would be at start, kept in the
data folder with their version, and run instead of the file from then on (also after a
restart). Market profiles the node sends with a version are kept beside it, in the data
folder's `profiles/`, so the version still resolves them after a restart. A version that
cannot run on this box (a file it names is missing, another identity or data folder) is
refused and reported; the configuration running goes on.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from yunfab_gateway.config import PROFILES_FOLDER, ConfigError, GatewayConfig, parse_config

PUSHED = "node-config.toml"
PUSHED_VERSION = "node-config.json"


def parse_text(
    text: str, *, base: Path | None = None, profiles: Mapping[str, str] | None = None
) -> GatewayConfig:
    """A configuration's TOML text as `load_config` reads a file (ConfigError names the key);
    `profiles`: market profile documents by name, as the node sends them."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    return parse_config(raw, base=base, profiles=profiles)


def checked(
    text: str, *, running: GatewayConfig, base: Path, profiles: Mapping[str, str] | None = None
) -> GatewayConfig:
    """A pushed configuration this gateway can run in place of `running`."""
    config = parse_text(text, base=base, profiles=profiles)
    for key, now, then in (
        ("gateway.group", running.gateway.group, config.gateway.group),
        ("gateway.edge_node", running.gateway.edge_node, config.gateway.edge_node),
        ("gateway.data_dir", running.gateway.data_dir, config.gateway.data_dir),
    ):
        if now != then:
            raise ConfigError(f"{key}: stays {str(now)!r} on this gateway, not {str(then)!r}")
    password_file = config.mqtt.password_file
    if password_file is not None and not password_file.is_file():
        raise ConfigError(f"mqtt.password_file: no such file on this gateway: {password_file}")
    return config


def _write(folder: Path, name: str, content: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f"{name}.tmp"
    temporary.write_text(content, encoding="utf-8")
    os.replace(temporary, folder / name)


def save(
    config: GatewayConfig, version: int, text: str, profiles: Mapping[str, str] | None = None
) -> None:
    """The version and the market profiles it came with (checked by `checked`), profiles
    first, so a kept version always finds them."""
    folder = config.gateway.data_dir
    for name, document in (profiles or {}).items():
        _write(folder / PROFILES_FOLDER, f"{name}.toml", document)
    for name, content in ((PUSHED, text), (PUSHED_VERSION, json.dumps({"version": version}))):
        _write(folder, name, content)


def load(running: GatewayConfig, base: Path) -> tuple[GatewayConfig, int] | None:
    """The pushed configuration kept in the data folder, when there is one that still runs
    here; ConfigError when it does not (the caller goes on with the file)."""
    folder = running.gateway.data_dir
    if not (folder / PUSHED).is_file() or not (folder / PUSHED_VERSION).is_file():
        return None
    try:
        version = int(json.loads((folder / PUSHED_VERSION).read_text(encoding="utf-8"))["version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{folder / PUSHED_VERSION}: {exc}") from None
    text = (folder / PUSHED).read_text(encoding="utf-8")
    return checked(text, running=running, base=base), version
