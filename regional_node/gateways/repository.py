"""SQL of the gateways domain."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.gateways.models import (
    GatewayClaimCode,
    GatewayConfigVersion,
    GatewayProfile,
    GatewayStatus,
)


class ClaimCodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, code: GatewayClaimCode) -> None:
        self.session.add(code)

    async def by_lookup(self, lookup: str, *, for_update: bool = False) -> GatewayClaimCode | None:
        query = select(GatewayClaimCode).where(GatewayClaimCode.lookup == lookup)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()


class GatewayStatusRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, status: GatewayStatus) -> None:
        self.session.add(status)

    async def get(self, device_id: uuid.UUID) -> GatewayStatus | None:
        return await self.session.get(GatewayStatus, device_id)


class GatewayConfigRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: GatewayConfigVersion) -> None:
        self.session.add(row)

    async def latest_version(self, device_id: uuid.UUID) -> int | None:
        return await self.session.scalar(
            select(func.max(GatewayConfigVersion.version)).where(
                GatewayConfigVersion.device_id == device_id
            )
        )

    async def latest(self, device_id: uuid.UUID) -> GatewayConfigVersion | None:
        query = (
            select(GatewayConfigVersion)
            .where(GatewayConfigVersion.device_id == device_id)
            .order_by(GatewayConfigVersion.version.desc())
            .limit(1)
        )
        return (await self.session.scalars(query)).one_or_none()


class ProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, name: str, *, for_update: bool = False) -> GatewayProfile | None:
        return await self.session.get(GatewayProfile, name, with_for_update=for_update)

    def add(self, profile: GatewayProfile) -> None:
        self.session.add(profile)

    async def documents(self, names: list[str]) -> dict[str, str]:
        if not names:
            return {}
        query = select(GatewayProfile.name, GatewayProfile.document).where(
            GatewayProfile.name.in_(names)
        )
        found: dict[str, str] = {}
        for name, document in (await self.session.execute(query)).all():
            found[name] = document
        return found

    async def remove_installed_by(self, installation_id: str) -> list[str]:
        query = (
            delete(GatewayProfile)
            .where(GatewayProfile.installation_id == installation_id)
            .returning(GatewayProfile.name, GatewayProfile.version)
        )
        return [f"{name}@{version}" for name, version in (await self.session.execute(query)).all()]
