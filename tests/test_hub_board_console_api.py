"""What the hub console's board pages read beyond the board itself: one posting by id (a
posting's page, open or closed), one organization's postings (your own, to manage them), and
the demo's seeded needs and offers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select

from hub.data_exchange.board.models import BoardPosting, PostingStatus
from hub.state import hub_state
from tests.support import InProcessService, token_for
from tests.test_board import CLOSE, EXCHANGE, WUHAN, meltblown, member, post
from yunfab.db import session_scope
from yunfab_demo.hub_board import DEMO_POSTINGS, FRESH_DAYS, POSTED_BY, seed_postings

POSTING = """
query($id: UUID!) {
  supplyDemandPosting(id: $id) {
    id organizationId organizationName side resource item quantity unit availableFrom
    availableTo region city maxDistanceKm note status closedAt
  }
}
"""
MINE = """
query($org: UUID, $includeClosed: Boolean!) {
  supplyDemandBoard(organizationId: $org, includeClosed: $includeClosed, first: 20) {
    totalCount
    edges { node { id organizationName status } }
  }
}
"""
MATCHES = """
query($id: UUID!, $distance: Float, $coverage: Float) {
  supplyDemandMatches(postingId: $id, maxDistanceKm: $distance, minCoverage: $coverage) {
    totalCount
    edges { node { coverage distanceKm posting { organizationName city } } }
  }
}
"""
SHANGHAI = (30.8990, 121.9290)


async def org_id(hub: InProcessService, headers: dict[str, str]) -> str:
    data = await hub.graphql("{ viewer { organizationId } }", headers=headers)
    found: str = data["viewer"]["organizationId"]
    return found


async def test_a_posting_is_read_by_id_open_or_closed(hub: InProcessService) -> None:
    maker = await member(hub, "Wuhan Suit Maker")
    posted = await post(
        hub, maker, meltblown("NEED", 20, WUHAN, "CN-HB", "Wuhan", note="for suits")
    )
    reader = await member(hub, "Curious Buyer", scopes=["exchange:read"])
    data = await hub.graphql(POSTING, {"id": posted}, headers=reader)
    posting = data["supplyDemandPosting"]
    assert posting["organizationName"] == "Wuhan Suit Maker"
    assert posting["organizationId"] == await org_id(hub, maker)
    assert (posting["side"], posting["item"], posting["note"]) == (
        "NEED", "meltblown-fabric", "for suits",
    )  # fmt: skip
    assert posting["status"] == "OPEN"

    await hub.graphql(CLOSE, {"id": posted, "status": "FILLED"}, headers=maker)
    closed = (await hub.graphql(POSTING, {"id": posted}, headers=reader))["supplyDemandPosting"]
    assert closed["status"] == "FILLED"
    assert closed["closedAt"] is not None


async def test_reading_a_posting_needs_the_board_and_an_existing_id(
    hub: InProcessService,
) -> None:
    maker = await member(hub, "Wuhan Suit Maker")
    posted = await post(hub, maker, meltblown("NEED", 20, WUHAN, "CN-HB", "Wuhan"))
    outsider = await member(hub, "Order Desk", scopes=["orders:write"])
    denied = await hub.graphql(POSTING, {"id": posted}, headers=outsider, expect_errors=True)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await hub.graphql(POSTING, {"id": posted}, expect_errors=True)
    assert anonymous["errors"][0]["extensions"]["code"] == "TOKEN_MISSING"
    missing = await hub.graphql(
        POSTING, {"id": str(uuid.uuid4())}, headers=maker, expect_errors=True
    )
    assert missing["errors"][0]["extensions"]["code"] == "BOARD_POSTING_NOT_FOUND"


async def test_one_organizations_postings(hub: InProcessService) -> None:
    maker = await member(hub, "Wuhan Suit Maker")
    weaver = await member(hub, "Shanghai Weaver")
    mine = await post(hub, maker, meltblown("NEED", 20, WUHAN, "CN-HB", "Wuhan"))
    closed = await post(hub, maker, meltblown("NEED", 5, WUHAN, "CN-HB", "Wuhan"))
    await hub.graphql(CLOSE, {"id": closed, "status": "WITHDRAWN"}, headers=maker)
    await post(hub, weaver, meltblown("OFFER", 30, SHANGHAI, "CN-SH", "Shanghai"))

    maker_org = await org_id(hub, maker)
    open_only = await hub.graphql(MINE, {"org": maker_org, "includeClosed": False}, headers=weaver)
    assert [edge["node"]["id"] for edge in open_only["supplyDemandBoard"]["edges"]] == [mine]
    assert open_only["supplyDemandBoard"]["totalCount"] == 1
    every = await hub.graphql(MINE, {"org": maker_org, "includeClosed": True}, headers=maker)
    assert {edge["node"]["id"] for edge in every["supplyDemandBoard"]["edges"]} == {mine, closed}
    nobody = await hub.graphql(
        MINE, {"org": str(uuid.uuid4()), "includeClosed": True}, headers=maker
    )
    assert nobody["supplyDemandBoard"]["totalCount"] == 0
    everyone = await hub.graphql(MINE, {"org": None, "includeClosed": False}, headers=maker)
    assert everyone["supplyDemandBoard"]["totalCount"] == 2


def _sessionmaker(hub: InProcessService) -> Any:
    return hub_state(hub.app).db.sessionmaker


async def test_the_demo_seeds_postings_that_match_a_new_need(hub: InProcessService) -> None:
    today = dt.datetime.now(dt.UTC).date()
    async with session_scope(_sessionmaker(hub)) as session:
        assert await seed_postings(session, today=today) == len(DEMO_POSTINGS)
    # A second run the same day finds them current and posts nothing.
    async with session_scope(_sessionmaker(hub)) as session:
        assert await seed_postings(session, today=today) == 0

    consumer = await member(hub, "Lingang Supply Chain")
    need = {
        "side": "NEED",
        "resource": "CAPACITY",
        "item": "injection-moulding",
        "quantity": 1000,
        "unit": "hours",
        "availableFrom": (today + dt.timedelta(days=7)).isoformat(),
        "availableTo": (today + dt.timedelta(days=30)).isoformat(),
        "latitude": SHANGHAI[0],
        "longitude": SHANGHAI[1],
        "region": "CN-SH",
        "city": "Shanghai",
    }
    posted = await post(hub, consumer, need)
    found = (await hub.graphql(MATCHES, {"id": posted}, headers=consumer))["supplyDemandMatches"]
    ranked = [edge["node"]["posting"]["organizationName"] for edge in found["edges"]]
    # Ningbo covers all of it; the two Guangdong moulders part of it, the nearer first.
    assert ranked == [
        "Ningbo Yinzhou Mould & Plastics",
        "Dongguan Chang'an Precision Moulding",
        "Foshan Shunde Plastics",
    ]
    assert found["edges"][0]["node"]["coverage"] == 1.0
    near = await hub.graphql(
        MATCHES, {"id": posted, "distance": 500.0, "coverage": 0.5}, headers=consumer
    )
    assert near["supplyDemandMatches"]["totalCount"] == 1


async def test_stale_demo_postings_are_withdrawn_and_posted_again(hub: InProcessService) -> None:
    first_day = dt.datetime.now(dt.UTC).date()
    async with session_scope(_sessionmaker(hub)) as session:
        await seed_postings(session, today=first_day)
    later = first_day + dt.timedelta(days=2 * FRESH_DAYS)
    async with session_scope(_sessionmaker(hub)) as session:
        assert await seed_postings(session, today=later) == len(DEMO_POSTINGS)
    async with session_scope(_sessionmaker(hub)) as session:
        counts = dict(
            (
                await session.execute(
                    select(BoardPosting.status, func.count())
                    .where(BoardPosting.posted_by == POSTED_BY)
                    .group_by(BoardPosting.status)
                )
            ).all()
        )
    assert counts == {
        PostingStatus.OPEN: len(DEMO_POSTINGS),
        PostingStatus.WITHDRAWN: len(DEMO_POSTINGS),
    }


async def test_exchange_scopes_the_console_checks(hub: InProcessService) -> None:
    """The console shows the post form and close buttons from `can.postToBoard`."""
    poster = await token_for(hub, org="Poster Co", org_kind="consumer", scopes=EXCHANGE)
    reader = await token_for(hub, org="Reader Co", org_kind="consumer", scopes=["exchange:read"])
    query = "{ viewer { can { readBoard postToBoard } } }"
    assert (await hub.graphql(query, headers={"authorization": f"Bearer {poster}"}))["viewer"][
        "can"
    ] == {"readBoard": True, "postToBoard": True}
    assert (await hub.graphql(query, headers={"authorization": f"Bearer {reader}"}))["viewer"][
        "can"
    ] == {"readBoard": True, "postToBoard": False}
