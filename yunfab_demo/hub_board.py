"""The demo's supply-and-demand board: a few needs and offers of Chinese manufacturers, so the
hub's board has something to match against from the start.

Each is posted in the name of its own organization (made at the hub if missing), checked by the
board's own rules (`NewPosting.validated`) and audited as the hub's system posting for the
demo. Windows are relative to the day the demo runs: the postings are made again, and the old
ones withdrawn, once they would no longer be current.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncSession

POSTED_BY = "yunfab demo"
"""`posted_by` of the demo's postings: how a later run finds its own."""
FRESH_DAYS = 30
"""A run finding a seeded window ending within this many days withdraws the seeded postings and
posts them again (each runs at least twice as long from the day it is seeded)."""


@dataclass(frozen=True)
class DemoPosting:
    organization: str
    side: str
    resource: str
    item: str
    quantity: float
    unit: str
    starts_in_days: int
    days: int
    city: str
    region: str
    latitude: float
    longitude: float
    max_distance_km: float | None = None
    note: str = ""


DEMO_POSTINGS: tuple[DemoPosting, ...] = (
    DemoPosting(
        "Ningbo Yinzhou Mould & Plastics", "offer", "capacity", "injection-moulding", 1500,
        "hours", 0, 60, "Ningbo", "CN-ZJ", 29.8683, 121.5440, 1500,
        "Eight 250-450 t presses (Haitian), PP/ABS/PC, mould changes within 4 h.",
    ),
    DemoPosting(
        "Dongguan Chang'an Precision Moulding", "offer", "capacity", "injection-moulding", 800,
        "hours", 3, 45, "Dongguan", "CN-GD", 22.8166, 113.8094, None,
        "Night shifts free on 6 presses of 120-280 t; ISO 9001, IATF 16949.",
    ),
    DemoPosting(
        "Foshan Shunde Plastics", "offer", "capacity", "injection-moulding", 400, "hours", 7,
        30, "Foshan", "CN-GD", 22.8058, 113.2936, 2000,
        "Two 650 t presses for large housings; own mould shop.",
    ),
    DemoPosting(
        "Suzhou Xiangcheng CNC Works", "offer", "capacity", "cnc-machining", 600, "hours", 0,
        40, "Suzhou", "CN-JS", 31.4250, 120.6411, 1200,
        "5-axis DMG Mori and 3-axis Haas cells; aluminium and stainless, ±0.01 mm.",
    ),
    DemoPosting(
        "Shenzhen Bao'an Electronics Assembly", "need", "capacity", "cnc-machining", 240,
        "hours", 5, 25, "Shenzhen", "CN-GD", 22.5553, 113.8838, None,
        "Aluminium enclosures for a router run, anodising done by us.",
    ),
    DemoPosting(
        "Shanghai Baoshan Steel Coil Trading", "offer", "material", "cold-rolled-steel-coil",
        300, "t", 0, 45, "Shanghai", "CN-SH", 31.4045, 121.4896, 1500,
        "SPCC 0.8-1.5 mm x 1250 mm, mill certificates, delivery by truck.",
    ),
    DemoPosting(
        "Wuhan Qingshan Metal Supply", "offer", "material", "cold-rolled-steel-coil", 120, "t",
        2, 40, "Wuhan", "CN-HB", 30.6398, 114.4221, 1000,
        "DC01 1.0 mm, slitting to width on request.",
    ),
    DemoPosting(
        "Hangzhou Xiaoshan Auto Parts", "need", "material", "cold-rolled-steel-coil", 200, "t",
        7, 30, "Hangzhou", "CN-ZJ", 30.1839, 120.2645, 800,
        "Stamping brackets for a new model; SPCC or DC01, 1.0-1.2 mm.",
    ),
    DemoPosting(
        "Maoming Petrochemical Resin Sales", "offer", "material", "pp-resin", 80, "t", 0, 60,
        "Maoming", "CN-GD", 21.6633, 110.9254, None, "Homopolymer PP, MFI 12, 25 kg bags.",
    ),
)  # fmt: skip


async def seed_postings(session: AsyncSession, *, today: dt.date | None = None) -> int:
    """Posts the demo's needs and offers unless current ones are there; returns how many."""
    from sqlalchemy import select

    from hub.audit.service import append_entry
    from hub.data_exchange.board.models import BoardPosting, PostingStatus, Resource, Side
    from hub.data_exchange.board.service import NewPosting
    from hub.organizations.models import OrganizationKind
    from hub.organizations.service import ensure_organization
    from yunfab.db import utcnow
    from yunfab.subject import SYSTEM

    today = today or utcnow().date()
    seeded = (
        await session.scalars(
            select(BoardPosting).where(
                BoardPosting.posted_by == POSTED_BY, BoardPosting.status == PostingStatus.OPEN
            )
        )
    ).all()
    if seeded and min(row.available_to for row in seeded) >= today + dt.timedelta(FRESH_DAYS):
        return 0
    for row in seeded:
        row.status = PostingStatus.WITHDRAWN
        row.closed_at = utcnow()
    for demo in DEMO_POSTINGS:
        organization = await ensure_organization(
            session, name=demo.organization, kind=OrganizationKind.FACTORY
        )
        start = today + dt.timedelta(days=demo.starts_in_days)
        posting = NewPosting(
            side=Side(demo.side), resource=Resource(demo.resource), item=demo.item,
            quantity=demo.quantity, unit=demo.unit, available_from=start,
            available_to=start + dt.timedelta(days=max(demo.days, 2 * FRESH_DAYS)),
            latitude=demo.latitude, longitude=demo.longitude, region=demo.region,
            city=demo.city, max_distance_km=demo.max_distance_km, note=demo.note,
        ).validated(today)  # fmt: skip
        row = BoardPosting(
            organization=organization, side=posting.side, resource=posting.resource,
            item=posting.item, quantity=posting.quantity, unit=posting.unit,
            available_from=posting.available_from, available_to=posting.available_to,
            latitude=posting.latitude, longitude=posting.longitude, region=posting.region,
            city=posting.city, max_distance_km=posting.max_distance_km, note=posting.note,
            status=PostingStatus.OPEN, posted_by=POSTED_BY,
        )  # fmt: skip
        session.add(row)
        await session.flush()
        await append_entry(
            session,
            actor=SYSTEM,
            action="hub.board.post",
            resource=f"board-posting:{row.id}",
            outcome="ok",
            detail={"demo": True, "organization": demo.organization, "item": row.item},
        )
    return len(DEMO_POSTINGS)


def seed_board(hub_data_dir: Path) -> int:
    """`seed_postings` on the demo hub's database (migrated: the hub has started)."""
    import asyncio

    from hub.settings import HubSettings
    from yunfab.db import session_scope
    from yunfab.service import Database

    settings = HubSettings(data_dir=hub_data_dir, env="development")

    async def run() -> int:
        db = Database.open(settings.db_url)
        try:
            async with session_scope(db.sessionmaker) as session:
                return await seed_postings(session)
        finally:
            await db.close()

    return asyncio.run(run())
