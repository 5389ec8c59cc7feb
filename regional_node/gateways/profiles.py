"""Machine profiles installed from the market: a `machine_profile` release's document, checked
with the gateway's own profile parser, kept under the listing's name; a gateway configuration
that names it (`profile = "<name>"`) is checked with it and fetched with it.

As with configurations, the node does not import the gateway: `yunfab node serve` lends the
parser with `register_profile_check`. Without one the node refuses to install a profile rather
than keep a document nobody checked.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.gateways.errors import ConfigCheckUnavailable
from regional_node.gateways.models import GatewayProfile
from regional_node.gateways.repository import ProfileRepository
from yunfab.db import utcnow

ProfileCheck = Callable[[str, str], None]
"""Checks a profile document (name, TOML text) as the gateway would use it; ValueError says
what is wrong."""

MAX_NAMED = 50
"""The most profiles one configuration may name (the rest are left to the gateway's check)."""

_checks: list[ProfileCheck] = []


def register_profile_check(check: ProfileCheck) -> None:
    _checks[:] = [check]


def check_profile(name: str, text: str) -> None:
    """ValueError with the gateway parser's reason; ConfigCheckUnavailable when none was lent."""
    if not _checks:
        raise ConfigCheckUnavailable(
            "this node cannot check machine profiles (serve it with `yunfab node serve`, which "
            "has the gateway's parser)"
        )
    _checks[0](name, text)


async def install_profile(
    session: AsyncSession, *, name: str, version: str, document: str, installation_id: str
) -> GatewayProfile:
    """The profile under `name`, replacing an earlier version (checked by the caller)."""
    repository = ProfileRepository(session)
    row = await repository.get(name, for_update=True)
    if row is None:
        row = GatewayProfile(name=name)
        repository.add(row)
    row.version = version
    row.document = document
    row.installation_id = installation_id
    row.installed_at = utcnow()
    await session.flush()
    return row


async def remove_profiles(session: AsyncSession, installation_id: str) -> list[str]:
    """Removes what the installation installed; `name@version` of each."""
    return await ProfileRepository(session).remove_installed_by(installation_id)


def named_profiles(text: str) -> list[str]:
    """The profile names a configuration's connectors give (none when it is not TOML: the
    gateway's parser says why)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    names: list[str] = []
    for section in ("opcua", "modbus"):
        connectors = raw.get(section)
        for connector in connectors if isinstance(connectors, list) else []:
            name = connector.get("profile") if isinstance(connector, dict) else None
            if isinstance(name, str) and name not in names:
                names.append(name[:100])
    return names[:MAX_NAMED]


async def profiles_for(session: AsyncSession, text: str) -> dict[str, str]:
    """The installed profiles a configuration names, by name (built-in names are not here)."""
    return await ProfileRepository(session).documents(named_profiles(text))
