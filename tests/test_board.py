"""The supply-and-demand board (issue #8, seed 001): during an epidemic a protective-suit maker
posts what it needs, others post what they offer, and the hub ranks who can serve whom.

The matcher's rules are unit-tested on plain terms; the board itself through GraphQL on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from hub.data_exchange.board.matching import (
    Terms,
    find_matches,
    haversine_km,
    match,
    overlap_days,
)
from hub.data_exchange.board.models import PostingStatus, Resource, Side
from tests.support import InProcessService, bearer, client_token, create_client, token_for

WUHAN = (30.5928, 114.3055)
TODAY = dt.datetime.now(dt.UTC).date()

# Matching, on plain terms


def terms(**overrides: Any) -> Terms:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "organization_id": uuid.uuid4(),
        "side": Side.OFFER,
        "resource": Resource.MATERIAL,
        "item": "meltblown-fabric",
        "unit": "t",
        "quantity": 10.0,
        "available_from": dt.date(2026, 2, 1),
        "available_to": dt.date(2026, 2, 14),
        "latitude": WUHAN[0],
        "longitude": WUHAN[1],
        "max_distance_km": None,
        "status": PostingStatus.OPEN,
    }
    return Terms(**{**values, **overrides})


def test_haversine_distances() -> None:
    assert haversine_km(0, 0, 0, 0) == 0
    # One degree of longitude on the equator, and a quarter of a great circle.
    assert haversine_km(0, 0, 0, 1) == pytest.approx(111.195, abs=0.01)
    assert haversine_km(0, 0, 90, 0) == pytest.approx(10_007.5, abs=0.5)
    assert haversine_km(0, 179.5, 0, -179.5) == pytest.approx(111.195, abs=0.01)
    # Wuhan to Shanghai, about 690 km as the crow flies.
    assert haversine_km(*WUHAN, 31.2304, 121.4737) == pytest.approx(688, abs=5)


def test_overlap_days_count_both_ends() -> None:
    need = terms(available_from=dt.date(2026, 2, 1), available_to=dt.date(2026, 2, 14))
    assert (
        overlap_days(
            need, terms(available_from=dt.date(2026, 2, 14), available_to=dt.date(2026, 3, 1))
        )
        == 1
    )
    assert (
        overlap_days(
            need, terms(available_from=dt.date(2026, 1, 1), available_to=dt.date(2026, 3, 1))
        )
        == 14
    )
    assert (
        overlap_days(
            need, terms(available_from=dt.date(2026, 2, 15), available_to=dt.date(2026, 3, 1))
        )
        == 0
    )


def test_matches_need_the_same_thing_on_the_other_side_from_someone_else() -> None:
    need = terms(side=Side.NEED, quantity=20.0)
    assert match(need, terms()) is not None
    for unmatched in (
        terms(side=Side.NEED),
        terms(organization_id=need.organization_id),
        terms(resource=Resource.CAPACITY),
        terms(item="pp-resin"),
        terms(unit="kg"),
        terms(status=PostingStatus.FILLED),
        terms(status=PostingStatus.WITHDRAWN),
        terms(available_from=dt.date(2026, 3, 1), available_to=dt.date(2026, 3, 9)),
    ):
        assert match(need, unmatched) is None, unmatched
    assert find_matches(terms(side=Side.NEED, status=PostingStatus.FILLED), [terms()]) == []


def test_both_distance_limits_apply() -> None:
    need = terms(side=Side.NEED, max_distance_km=500.0)
    near = terms(latitude=WUHAN[0] + 3, max_distance_km=None)  # about 334 km north
    assert match(need, near) is not None
    assert match(need, terms(latitude=WUHAN[0] + 5)) is None  # about 556 km: beyond the need's
    assert match(need, terms(latitude=WUHAN[0] + 3, max_distance_km=300.0)) is None
    unlimited = terms(side=Side.NEED, max_distance_km=None)
    assert match(unlimited, terms(latitude=-30.0)) is not None


def test_matches_rank_by_coverage_then_distance_then_earliest_start() -> None:
    need = terms(side=Side.NEED, quantity=20.0)
    half_near = terms(quantity=10.0)
    full_far = terms(quantity=30.0, latitude=WUHAN[0] + 2)
    full_near_late = terms(quantity=20.0, latitude=WUHAN[0] + 1, available_from=dt.date(2026, 2, 5))
    full_near_early = terms(
        quantity=25.0, latitude=WUHAN[0] + 1, available_from=dt.date(2026, 2, 3)
    )
    found = find_matches(need, [half_near, full_far, full_near_late, full_near_early])
    assert [m.candidate for m in found] == [full_near_early, full_near_late, full_far, half_near]
    first, *_, last = found
    assert (first.matchable_quantity, first.coverage) == (20.0, 1.0)
    assert (last.matchable_quantity, last.coverage, last.distance_km) == (10.0, 0.5, 0.0)
    assert first.overlap_days == 12
    # From the offer's side, a bigger need covers the whole offer.
    assert match(half_near, need) is not None
    assert match(half_near, need).coverage == 1.0  # type: ignore[union-attr]


# The board through GraphQL

POST = """
mutation($input: PostSupplyDemandInput!) {
  postSupplyDemand(input: $input) {
    id organizationName side resource item quantity unit availableFrom availableTo region city
    maxDistanceKm status
  }
}
"""
CLOSE = """
mutation($id: UUID!, $status: BoardClosing!) {
  closePosting(id: $id, status: $status) { id status closedAt }
}
"""
BOARD = """
query($side: BoardSide, $region: String, $item: String, $includeClosed: Boolean!, $first: Int!,
      $after: String) {
  supplyDemandBoard(side: $side, region: $region, item: $item, includeClosed: $includeClosed,
                    first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id city status } }
  }
}
"""
MATCHES = """
query($id: UUID!, $first: Int!, $after: String) {
  supplyDemandMatches(postingId: $id, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { distanceKm overlapDays matchableQuantity coverage
                   posting { id city region organizationName } } }
  }
}
"""
EXCHANGE = ["exchange:read", "exchange:write"]


def window(start: int, end: int) -> dict[str, str]:
    return {
        "availableFrom": (TODAY + dt.timedelta(days=start)).isoformat(),
        "availableTo": (TODAY + dt.timedelta(days=end)).isoformat(),
    }


def meltblown(
    side: str, quantity: float, at: tuple[float, float], region: str, city: str, **overrides: Any
) -> dict[str, Any]:
    return {
        "side": side,
        "resource": "MATERIAL",
        "item": "meltblown-fabric",
        "quantity": quantity,
        "unit": "t",
        **window(0, 14),
        "latitude": at[0],
        "longitude": at[1],
        "region": region,
        "city": city,
        **overrides,
    }


async def member(hub: InProcessService, org: str, scopes: list[str] = EXCHANGE) -> dict[str, str]:
    return bearer(await token_for(hub, org=org, org_kind="factory", scopes=scopes))


async def post(hub: InProcessService, headers: dict[str, str], posting: dict[str, Any]) -> str:
    data = await hub.graphql(POST, {"input": posting}, headers=headers)
    posted: str = data["postSupplyDemand"]["id"]
    return posted


async def matches(
    hub: InProcessService,
    headers: dict[str, str],
    posting: str,
    first: int = 20,
    after: str | None = None,
) -> dict[str, Any]:
    data = await hub.graphql(
        MATCHES, {"id": posting, "first": first, "after": after}, headers=headers
    )
    found: dict[str, Any] = data["supplyDemandMatches"]
    return found


def cities(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["posting"]["city"] for edge in connection["edges"]]


async def board(hub: InProcessService, headers: dict[str, str], **variables: Any) -> dict[str, Any]:
    values = {"includeClosed": False, "first": 20, **variables}
    found: dict[str, Any] = (await hub.graphql(BOARD, values, headers=headers))["supplyDemandBoard"]
    return found


async def test_a_suit_maker_finds_meltblown_fabric_across_regions(hub: InProcessService) -> None:
    maker = await member(hub, "Wuhan Protective Suits")
    suits = meltblown(
        "NEED",
        20,
        WUHAN,
        "CN-HB",
        "Wuhan",
        maxDistanceKm=1500,
        note="EN 14126 suits: 20 t within two weeks",
    )
    need = await hub.graphql(POST, {"input": suits}, headers=maker)
    posted = need["postSupplyDemand"]
    assert posted["organizationName"] == "Wuhan Protective Suits"
    assert (posted["side"], posted["resource"], posted["status"]) == ("NEED", "MATERIAL", "OPEN")
    assert (posted["quantity"], posted["unit"], posted["maxDistanceKm"]) == (20.0, "t", 1500.0)
    need_id = posted["id"]

    ningbo = await member(hub, "Ningbo Nonwovens")
    jinan = await member(hub, "Jinan Filter Media")
    guangzhou = await member(hub, "Guangzhou Meltblown")
    offers = {
        "Ningbo": await post(hub, ningbo,
                             meltblown("OFFER", 12, (29.8683, 121.5440), "CN-ZJ", "Ningbo")),
        "Jinan": await post(hub, jinan,
                            meltblown("OFFER", 25, (36.6512, 117.1201), "CN-SD", "Jinan",
                                      **window(3, 30))),
        "Guangzhou": await post(hub, guangzhou,
                                meltblown("OFFER", 20, (23.1291, 113.2644), "CN-GD", "Guangzhou",
                                          maxDistanceKm=1000)),
    }  # fmt: skip
    # None of these can serve the need.
    others = await member(hub, "Elsewhere Textiles")
    unmatched = [
        meltblown("OFFER", 50, (43.8256, 87.6168), "CN-XJ", "Urumqi"),  # beyond the need's 1500 km
        meltblown("OFFER", 30, (28.2282, 112.9388), "CN-HN", "Changsha",
                  maxDistanceKm=200),  # 294 km: beyond the offer's own limit
        meltblown("OFFER", 30, (31.8206, 117.2272), "CN-AH", "Hefei",
                  **window(20, 40)),  # after the need's window
        meltblown("OFFER", 400, (34.7466, 113.6254), "CN-HA", "Zhengzhou",
                  unit="rolls"),  # another unit
        meltblown("OFFER", 30, (34.7466, 113.6254), "CN-HA", "Zhengzhou", item="pp-resin"),
        meltblown("NEED", 30, (34.7466, 113.6254), "CN-HA", "Zhengzhou"),  # another need
    ]  # fmt: skip
    for posting in unmatched:
        await post(hub, others, posting)
    await post(hub, maker, meltblown("OFFER", 5, WUHAN, "CN-HB", "Wuhan"))  # its own offer

    found = await matches(hub, maker, need_id)
    # Full coverage first (nearest first among equals), then the closer but partial offer.
    assert cities(found) == ["Jinan", "Guangzhou", "Ningbo"]
    assert found["totalCount"] == 3
    nodes = [edge["node"] for edge in found["edges"]]
    assert [node["posting"]["region"] for node in nodes] == ["CN-SD", "CN-GD", "CN-ZJ"]
    assert [node["distanceKm"] for node in nodes] == [
        pytest.approx(722, abs=2),
        pytest.approx(836, abs=2),
        pytest.approx(700, abs=2),
    ]
    assert [node["coverage"] for node in nodes] == [1.0, 1.0, 0.6]
    assert [node["matchableQuantity"] for node in nodes] == [20.0, 20.0, 12.0]
    assert [node["overlapDays"] for node in nodes] == [12, 15, 15]
    assert nodes[0]["posting"]["organizationName"] == "Jinan Filter Media"

    # Narrowed by distance and by coverage: the page and the total alike.
    narrowed = await hub.graphql(
        """query($id: UUID!, $km: Float, $share: Float) {
          supplyDemandMatches(postingId: $id, maxDistanceKm: $km, minCoverage: $share) {
            totalCount edges { node { posting { city } } }
          }
        }""",
        {"id": need_id, "km": 800.0, "share": None},
        headers=maker,
    )  # fmt: skip
    near = narrowed["supplyDemandMatches"]
    assert (cities(near), near["totalCount"]) == (["Jinan", "Ningbo"], 2)
    covering = await hub.graphql(
        """query($id: UUID!, $share: Float) {
          supplyDemandMatches(postingId: $id, minCoverage: $share) { totalCount }
        }""",
        {"id": need_id, "share": 1.0},
        headers=maker,
    )  # fmt: skip
    assert covering["supplyDemandMatches"]["totalCount"] == 2

    # Paged: two, then the rest after the cursor.
    first_page = await matches(hub, maker, need_id, first=2)
    assert cities(first_page) == ["Jinan", "Guangzhou"]
    assert first_page["pageInfo"]["hasNextPage"] is True
    rest = await matches(hub, maker, need_id, after=first_page["pageInfo"]["endCursor"])
    assert cities(rest) == ["Ningbo"]
    assert rest["pageInfo"]["hasNextPage"] is False

    # Seen from an offer: both open needs take all of it; the nearer comes first.
    from_ningbo = await matches(hub, ningbo, offers["Ningbo"])
    assert cities(from_ningbo) == ["Wuhan", "Zhengzhou"]
    assert [edge["node"]["coverage"] for edge in from_ningbo["edges"]] == [1.0, 1.0]

    # Filled and withdrawn offers leave the matches, and the open board.
    closed = await hub.graphql(CLOSE, {"id": offers["Jinan"], "status": "FILLED"}, headers=jinan)
    assert closed["closePosting"]["status"] == "FILLED"
    assert closed["closePosting"]["closedAt"] is not None
    assert cities(await matches(hub, maker, need_id)) == ["Guangzhou", "Ningbo"]
    await hub.graphql(CLOSE, {"id": offers["Ningbo"], "status": "WITHDRAWN"}, headers=ningbo)
    assert cities(await matches(hub, maker, need_id)) == ["Guangzhou"]
    # Closing again the same way is a no-op; the other way is refused.
    again = await hub.graphql(
        CLOSE, {"id": offers["Ningbo"], "status": "WITHDRAWN"}, headers=ningbo
    )
    assert again["closePosting"]["status"] == "WITHDRAWN"
    refused = await hub.graphql(
        CLOSE, {"id": offers["Ningbo"], "status": "FILLED"}, headers=ningbo, expect_errors=True
    )
    assert refused["errors"][0]["extensions"]["code"] == "BOARD_POSTING_CLOSED"

    open_board = await board(hub, maker, side="OFFER", item="meltblown-fabric")
    listed = [edge["node"]["city"] for edge in open_board["edges"]]
    assert "Jinan" not in listed
    assert "Ningbo" not in listed
    assert listed[0] == "Wuhan"  # newest first
    everything = await board(hub, maker, includeClosed=True)
    statuses = {edge["node"]["id"]: edge["node"]["status"] for edge in everything["edges"]}
    assert statuses[offers["Jinan"]] == "FILLED"
    assert statuses[offers["Ningbo"]] == "WITHDRAWN"
    assert everything["totalCount"] == 1 + 3 + len(unmatched) + 1

    # Once the need is filled it seeks nothing more.
    await hub.graphql(CLOSE, {"id": need_id, "status": "FILLED"}, headers=maker)
    assert (await matches(hub, maker, need_id))["edges"] == []


async def test_only_the_posting_organization_closes_it(hub: InProcessService) -> None:
    maker = await member(hub, "Wuhan Protective Suits")
    weaver = await member(hub, "Ningbo Nonwovens")
    need = await post(hub, maker, meltblown("NEED", 20, WUHAN, "CN-HB", "Wuhan"))
    for status in ("WITHDRAWN", "FILLED"):
        refused = await hub.graphql(
            CLOSE, {"id": need, "status": status}, headers=weaver, expect_errors=True
        )
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Another client of the same organization may.
    colleague = await member(hub, "Wuhan Protective Suits")
    closed = await hub.graphql(CLOSE, {"id": need, "status": "WITHDRAWN"}, headers=colleague)
    assert closed["closePosting"]["status"] == "WITHDRAWN"
    missing = await hub.graphql(
        CLOSE, {"id": str(uuid.uuid4()), "status": "FILLED"}, headers=maker, expect_errors=True
    )
    assert missing["errors"][0]["extensions"]["code"] == "BOARD_POSTING_NOT_FOUND"


async def test_reading_and_posting_need_their_scopes(hub: InProcessService) -> None:
    reader = await member(hub, "Curious Buyer", scopes=["exchange:read"])
    refused = await hub.graphql(
        POST,
        {"input": meltblown("OFFER", 5, WUHAN, "CN-HB", "Wuhan")},
        headers=reader,
        expect_errors=True,
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await board(hub, reader))["totalCount"] == 0

    outsider = await member(hub, "Order Desk", scopes=["orders:write"])
    for query, variables in (
        (BOARD, {"includeClosed": False, "first": 5}),
        (MATCHES, {"id": str(uuid.uuid4()), "first": 5}),
    ):
        denied = await hub.graphql(query, variables, headers=outsider, expect_errors=True)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await hub.graphql(BOARD, {"includeClosed": False, "first": 5}, expect_errors=True)
    assert anonymous["errors"][0]["extensions"]["code"] == "TOKEN_MISSING"

    # A client allowed both scopes, holding a token for exchange:read alone, cannot post either.
    client_id, secret = await create_client(
        hub, org="Narrow Token", org_kind="factory", scopes=EXCHANGE
    )
    narrow = bearer(await client_token(hub, client_id, secret, "exchange:read"))
    denied = await hub.graphql(
        POST,
        {"input": meltblown("OFFER", 5, WUHAN, "CN-HB", "Wuhan")},
        headers=narrow,
        expect_errors=True,
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"quantity": -5}, "quantity"),
        ({"quantity": 0}, "quantity"),
        (window(10, 2), "availableFrom"),
        ({"latitude": 123}, "latitude"),
        ({"longitude": -181}, "longitude"),
        ({"item": "Meltblown Fabric"}, "item"),
        ({"unit": ""}, "unit"),
        ({"region": "Hubei"}, "region"),
        ({"city": "   "}, "city"),
        ({"maxDistanceKm": 0}, "maxDistanceKm"),
        ({"note": "x" * 1001}, "note"),
        (window(-30, -10), "passed"),
        (window(0, 400), "year"),
    ],
)
async def test_bad_postings_are_refused_with_the_reason_and_store_nothing(
    hub: InProcessService, change: dict[str, Any], reason: str
) -> None:
    maker = await member(hub, "Wuhan Protective Suits")
    posting = {**meltblown("NEED", 20, WUHAN, "CN-HB", "Wuhan"), **change}
    refused = await hub.graphql(POST, {"input": posting}, headers=maker, expect_errors=True)
    error = refused["errors"][0]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert reason in error["message"]
    assert (await board(hub, maker, includeClosed=True))["totalCount"] == 0


async def test_board_pages_and_filters(hub: InProcessService) -> None:
    maker = await member(hub, "Wuhan Protective Suits")
    weaver = await member(hub, "Shaoxing Weaving")
    await post(hub, maker, meltblown("NEED", 20, WUHAN, "CN-HB", "Wuhan"))
    for city in ("Shaoxing", "Keqiao", "Zhuji"):
        await post(
            hub,
            weaver,
            {
                **meltblown("OFFER", 800, (30.0, 120.58), "CN-ZJ", city),
                "resource": "CAPACITY",
                "item": "weaving",
                "unit": "hours",
            },
        )
    first = await board(hub, maker, first=2)
    assert [edge["node"]["city"] for edge in first["edges"]] == ["Zhuji", "Keqiao"]
    assert first["totalCount"] == 4
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await board(hub, maker, first=2, after=first["pageInfo"]["endCursor"])
    assert [edge["node"]["city"] for edge in rest["edges"]] == ["Shaoxing", "Wuhan"]
    assert rest["pageInfo"]["hasNextPage"] is False
    zhejiang = await board(hub, maker, region="CN-ZJ", item="weaving", side="OFFER")
    assert zhejiang["totalCount"] == 3
    assert (await board(hub, maker, side="NEED"))["totalCount"] == 1
    too_many = await hub.graphql(
        BOARD, {"includeClosed": False, "first": 10_000}, headers=maker, expect_errors=True
    )
    assert too_many["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
