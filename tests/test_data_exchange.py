"""The hub's data exchange through its public interfaces: products and rows over REST, offers,
contracts and governed queries over GraphQL, the audit chain behind them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.state import hub_state
from tests.support import InProcessService, bearer, client_token, create_client

pytestmark = pytest.mark.usefixtures("backend")

SCHEMA = [
    {"name": "factory", "type": "string", "role": "contributor"},
    {"name": "region", "type": "string", "role": "region"},
    {"name": "city", "type": "string", "role": "dimension"},
    {"name": "process", "type": "string", "role": "dimension"},
    {"name": "week", "type": "string", "role": "dimension"},
    {"name": "free_hours", "type": "number", "role": "measure"},
    {"name": "hourly_rate", "type": "number", "role": "measure"},
]
# (factory, region, city, process, free hours, hourly rate)
FACTORIES = [
    ("f1", "CN-ZJ", "Shaoxing", "weaving", 40.0, 30.0),
    ("f2", "CN-ZJ", "Shaoxing", "weaving", 24.0, 34.0),
    ("f3", "CN-ZJ", "Hangzhou", "weaving", 16.0, 32.0),
    ("f4", "CN-ZJ", "Shaoxing", "dyeing", 8.0, 28.0),
    ("f5", "CN-JS", "Suzhou", "weaving", 30.0, 31.0),
]
OPEN_TO_CONSUMERS: dict[str, Any] = {
    "consumers": {"kinds": ["consumer"]},
    "purposes": ["capacity-planning", "research"],
    "retention_days": 30,
    "contract_days": 90,
    "approval": "automatic",
}

TYPED_POLICY: dict[str, Any] = {
    "consumers": {"kinds": ["CONSUMER"]},
    "purposes": ["CAPACITY_PLANNING", "RESEARCH"],
    "retentionDays": 30,
    "contractDays": 90,
    "approval": "AUTOMATIC",
}
PUBLISH_OFFER_JSON = """
mutation($id: UUID!, $policy: JSON!) {
  publishDataOffer(productId: $id, policyJson: $policy) { id }
}
"""
PUBLISH_OFFER = """
mutation($id: UUID!, $policy: UsagePolicyInput!) {
  publishDataOffer(productId: $id, policy: $policy) {
    id policyHash
    policy {
      consumers { organizations kinds } purposes regions fields aggregation { minContributors }
      retentionDays contractDays expiresAt onwardSharing freshData approval
    }
  }
}
"""
REQUEST = """
mutation($input: ContractRequestInput!) {
  requestDataContract(input: $input) {
    id status termsJson termsHash expiresAt
    terms { purpose fields regions retentionDays expiresAt aggregation { minContributors } }
    request { purpose fields regions }
    history { status by note }
  }
}
"""
STEP = """
mutation($id: UUID!) { %s(id: $id) { id status termsHash } }
"""
TERMINATE = """
mutation($id: UUID!, $reason: String!) {
  terminateDataContract(id: $id, reason: $reason) { status terminationReason }
}
"""
QUERY = """
query($id: UUID!, $q: DataQueryInput!) {
  governedData(contractId: $id, query: $q) {
    columns rows totalCount minContributors termsHash retainUntil hasNextPage endCursor
  }
}
"""
CATALOG = """
query($search: String) {
  dataProducts(search: $search) {
    edges { node { id key title region schema { name role } offers { id policy { approval } } } }
  }
}
"""


def _rows(weeks: tuple[str, ...] = ("2026-W48",)) -> list[dict[str, Any]]:
    return [
        {
            "key": f"{factory}:{process}:{week}",
            "data": {
                "factory": factory,
                "region": region,
                "city": city,
                "process": process,
                "week": week,
                "free_hours": hours,
                "hourly_rate": rate,
            },
        }  # fmt: skip
        for factory, region, city, process, hours, rate in FACTORIES
        for week in weeks
    ]


async def _publisher(hub: InProcessService) -> dict[str, str]:
    client_id, secret = await create_client(
        hub, org="Feilong Platform", org_kind="publisher", scopes=["exchange:publish"]
    )
    return bearer(await client_token(hub, client_id, secret, "exchange:publish"))


async def _consumer(
    hub: InProcessService, org: str = "Hangzhou Shirts Ltd", kind: str = "consumer"
) -> dict[str, str]:
    scopes = "exchange:read exchange:write"
    client_id, secret = await create_client(hub, org=org, org_kind=kind, scopes=scopes.split())
    return bearer(await client_token(hub, client_id, secret, scopes))


async def _product(
    hub: InProcessService, publisher: dict[str, str], offers: list[dict[str, Any]]
) -> dict[str, Any]:
    definition = {
        "title": "Free capacity by process and week",
        "description": "Hours each factory has left, per process and ISO week.",
        "region": "CN-ZJ",
        "industry": "textile",
        "update_frequency": "daily",
        "schema": SCHEMA,
        "sample": [_rows()[0]["data"]],
        "offers": offers,
    }
    response = await hub.client.put(
        "/api/v1/data-products/free-capacity", json=definition, headers=publisher
    )
    assert response.status_code == 200, response.text
    product: dict[str, Any] = response.json()
    assert product["sync"] == {"seq": 0, "snapshot": None}
    batch = {"seq": 1, "kind": "snapshot", "snapshot": 1, "last": True, "upserts": _rows()}
    response = await hub.client.post(
        "/api/v1/data-products/free-capacity/batches", json=batch, headers=publisher
    )
    assert response.json() == {"seq": 1, "applied": True}
    catalog = await hub.graphql(CATALOG, {"search": "capacity"}, headers=publisher)
    (edge,) = catalog["dataProducts"]["edges"]
    product["offers"] = edge["node"]["offers"]
    return product


async def _contract(
    hub: InProcessService, consumer: dict[str, str], offer_id: str, **extra: Any
) -> dict[str, Any]:
    request = {"offerId": offer_id, "purpose": "CAPACITY_PLANNING", **extra}
    answer = await hub.graphql(REQUEST, {"input": request}, headers=consumer)
    contract: dict[str, Any] = answer["requestDataContract"]
    return contract


async def _refused(
    hub: InProcessService, query: str, variables: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    body = await hub.graphql(query, variables, headers=headers, expect_errors=True)
    assert body.get("data") is None, body  # no partial data
    (error,) = body["errors"]
    extensions: dict[str, Any] = error["extensions"]
    return {"message": error["message"], **extensions}


async def _audited(hub: InProcessService) -> list[AuditEntry]:
    async with hub_state(hub.app).db.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "hub.exchange.data.query")
            .order_by(AuditEntry.seq)
        )
        return list(rows.all())


async def test_an_automatic_offer_is_agreed_in_one_step_and_its_terms_are_hashed(
    hub: InProcessService,
) -> None:
    publisher = await _publisher(hub)
    product = await _product(hub, publisher, [OPEN_TO_CONSUMERS])
    consumer = await _consumer(hub)
    contract = await _contract(hub, consumer, product["offers"][0]["id"])
    assert contract["status"] == "FINALIZED"
    assert [h["status"] for h in contract["history"]] == [
        "REQUESTED", "OFFERED", "AGREED", "FINALIZED",
    ]  # fmt: skip
    assert [h["by"] for h in contract["history"]][1::2] == ["policy", "policy"]
    body = json.dumps(contract["termsJson"], sort_keys=True, separators=(",", ":"))
    assert contract["termsHash"] == hashlib.sha256(body.encode()).hexdigest()
    terms = contract["terms"]
    assert terms["purpose"] == "CAPACITY_PLANNING"
    assert terms["expiresAt"] == contract["expiresAt"]
    assert (terms["retentionDays"], terms["aggregation"], terms["regions"]) == (30, None, None)
    assert terms["fields"] == sorted(f["name"] for f in SCHEMA)
    assert contract["request"] == {
        "purpose": "CAPACITY_PLANNING", "fields": terms["fields"], "regions": [],
    }  # fmt: skip


async def test_a_provider_approved_offer_goes_through_each_step_by_the_right_party(
    hub: InProcessService,
) -> None:
    publisher = await _publisher(hub)
    product = await _product(hub, publisher, [{**OPEN_TO_CONSUMERS, "approval": "provider"}])
    consumer = await _consumer(hub)
    contract = await _contract(hub, consumer, product["offers"][0]["id"])
    assert contract["status"] == "REQUESTED"
    assert contract["terms"] is None
    cid = {"id": contract["id"]}
    # Nothing to query yet, and the consumer cannot decide for the provider.
    refused = await _refused(hub, QUERY, {**cid, "q": {"aggregates": [{"fn": "COUNT"}]}}, consumer)
    assert (refused["code"], refused["term"]) == ("FORBIDDEN", "state")
    refused = await _refused(hub, STEP % "offerDataContract", cid, consumer)
    assert refused["code"] == "FORBIDDEN"
    offered = await hub.graphql(STEP % "offerDataContract", cid, headers=publisher)
    assert offered["offerDataContract"]["status"] == "OFFERED"
    refused = await _refused(hub, STEP % "finalizeDataContract", cid, publisher)
    assert refused["code"] == "INVALID_TRANSITION"  # the consumer has not agreed yet
    agreed = await hub.graphql(STEP % "agreeDataContract", cid, headers=consumer)
    assert agreed["agreeDataContract"]["status"] == "AGREED"
    final = await hub.graphql(STEP % "finalizeDataContract", cid, headers=publisher)
    assert final["finalizeDataContract"]["status"] == "FINALIZED"
    answer = await hub.graphql(
        QUERY, {**cid, "q": {"fields": ["process", "free_hours"], "first": 2}}, headers=consumer
    )
    assert answer["governedData"]["totalCount"] == len(FACTORIES)


async def test_requests_outside_the_offer_are_refused_naming_the_term_and_store_nothing(
    hub: InProcessService,
) -> None:
    publisher = await _publisher(hub)
    offer = {**OPEN_TO_CONSUMERS, "fields": ["process", "week", "free_hours"]}
    product = await _product(hub, publisher, [offer])
    offer_id = product["offers"][0]["id"]
    consumer = await _consumer(hub)
    cases: list[tuple[dict[str, Any], dict[str, str], str]] = [
        ({"purpose": "CREDIT_ASSESSMENT"}, consumer, "purposes"),
        ({"fields": ["process", "hourly_rate"]}, consumer, "fields"),
        ({}, await _consumer(hub, "Ningbo Mould Works", "factory"), "consumers"),
    ]
    for extra, headers, term in cases:
        request = {"offerId": offer_id, "purpose": "CAPACITY_PLANNING", **extra}
        refused = await _refused(hub, REQUEST, {"input": request}, headers)
        assert (refused["code"], refused["term"]) == ("FORBIDDEN", term), refused
    contracts = await hub.graphql("{ dataContracts { edges { node { id } } } }", headers=consumer)
    assert contracts["dataContracts"]["edges"] == []


async def test_offers_and_products_outside_the_vocabulary_are_rejected_with_the_reason(
    hub: InProcessService,
) -> None:
    publisher = await _publisher(hub)
    product = await _product(hub, publisher, [OPEN_TO_CONSUMERS])
    unknown_term = {**OPEN_TO_CONSUMERS, "resale_allowed": True}
    refused = await _refused(
        hub, PUBLISH_OFFER_JSON, {"id": product["id"], "policy": unknown_term}, publisher
    )
    assert refused["code"] == "INVALID_INPUT"
    assert "resale_allowed" in refused["message"]
    not_a_field = {**TYPED_POLICY, "fields": ["profit"]}
    refused = await _refused(
        hub, PUBLISH_OFFER, {"id": product["id"], "policy": not_a_field}, publisher
    )
    assert (refused["code"], "profit" in refused["message"]) == ("INVALID_INPUT", True)
    too_short = {**TYPED_POLICY, "aggregation": {"minContributors": 1}}
    refused = await _refused(
        hub, PUBLISH_OFFER, {"id": product["id"], "policy": too_short}, publisher
    )
    assert "aggregation.min_contributors" in refused["message"]
    bad_schema = {
        "title": "Broken", "region": "CN-ZJ", "industry": "textile",
        "update_frequency": "daily",
        "schema": [{"name": "Free Hours", "type": "float"}],
    }  # fmt: skip
    response = await hub.client.put(
        "/api/v1/data-products/broken", json=bad_schema, headers=publisher
    )
    assert response.status_code == 422
    assert "schema" in response.text
    catalog = await hub.graphql(CATALOG, {"search": "Broken"}, headers=publisher)
    assert catalog["dataProducts"]["edges"] == []


async def test_an_offer_published_with_the_typed_policy_reads_back_typed(
    hub: InProcessService,
) -> None:
    publisher = await _publisher(hub)
    product = await _product(hub, publisher, [OPEN_TO_CONSUMERS])
    policy = {
        **TYPED_POLICY,
        "regions": ["CN-ZJ"],
        "fields": ["factory", "process", "free_hours"],
        "aggregation": {"minContributors": 3},
        "expiresAt": "2030-01-01T00:00:00+00:00",
    }
    published = await hub.graphql(
        PUBLISH_OFFER, {"id": product["id"], "policy": policy}, headers=publisher
    )
    assert published["publishDataOffer"]["policy"] == {
        "consumers": {"organizations": [], "kinds": ["CONSUMER"]},
        "purposes": ["CAPACITY_PLANNING", "RESEARCH"],
        "regions": ["CN-ZJ"],
        "fields": ["factory", "process", "free_hours"],
        "aggregation": {"minContributors": 3},
        "retentionDays": 30,
        "contractDays": 90,
        "expiresAt": "2030-01-01T00:00:00+00:00",
        "onwardSharing": False,
        "freshData": False,
        "approval": "AUTOMATIC",
    }
    # The typed and the JSON form of the same terms are one offer.
    again = await hub.graphql(
        PUBLISH_OFFER_JSON,
        {"id": product["id"], "policy": {**OPEN_TO_CONSUMERS, "purposes": ["capacity-planning",
         "research"]}},
        headers=publisher,
    )  # fmt: skip
    assert again["publishDataOffer"]["id"] == product["offers"][0]["id"]


async def test_catalog_and_contract_filters_narrow_the_page_and_the_total(
    hub: InProcessService,
) -> None:
    publisher = await _publisher(hub)
    product = await _product(hub, publisher, [OPEN_TO_CONSUMERS])
    consumer = await _consumer(hub)
    await _contract(hub, consumer, product["offers"][0]["id"])
    catalog = """
    query($publisher: String, $node: String, $industry: String) {
      dataProducts(publisherOrganizationId: $publisher, node: $node, industry: $industry) {
        totalCount edges { node { id } }
      }
    }"""
    found_product = await hub.graphql(
        "query($id: UUID!) { dataProduct(id: $id) { publisherOrganizationId } }",
        {"id": product["id"]},
        headers=consumer,
    )
    owner = found_product["dataProduct"]["publisherOrganizationId"]
    for filters, found in [
        ({"publisher": owner, "industry": "textile"}, 1),
        ({"publisher": "someone-else"}, 0),
        ({"industry": "mould"}, 0),
        ({"node": "gd-node"}, 0),
    ]:
        answer = (await hub.graphql(catalog, filters, headers=consumer))["dataProducts"]
        assert (answer["totalCount"], len(answer["edges"])) == (found, found), filters
    contracts = """
    query($role: ContractRole, $status: ContractState, $product: UUID) {
      dataContracts(role: $role, status: $status, productId: $product) {
        totalCount edges { node { id status } }
      }
    }"""
    for headers, filters, found in [
        (consumer, {"status": "FINALIZED", "product": product["id"]}, 1),
        (consumer, {"status": "REQUESTED"}, 0),
        (consumer, {"role": "PROVIDER"}, 0),
        (publisher, {"role": "PROVIDER", "status": "FINALIZED"}, 1),
        (publisher, {"role": "CONSUMER"}, 0),
    ]:
        answer = (await hub.graphql(contracts, filters, headers=headers))["dataContracts"]
        assert (answer["totalCount"], len(answer["edges"])) == (found, found), filters


async def test_a_consumer_gets_only_the_agreed_fields_and_regions_and_every_access_is_audited(
    hub: InProcessService,
) -> None:
    publisher = await _publisher(hub)
    offer = {
        **OPEN_TO_CONSUMERS,
        "fields": ["region", "city", "process", "week", "free_hours"],
        "regions": ["CN-ZJ"],
    }
    product = await _product(hub, publisher, [offer])
    consumer = await _consumer(hub)
    contract = await _contract(hub, consumer, product["offers"][0]["id"])
    cid = contract["id"]
    answer = (await hub.graphql(QUERY, {"id": cid, "q": {}}, headers=consumer))["governedData"]
    assert answer["columns"] == ["region", "city", "process", "week", "free_hours"]
    assert {row["region"] for row in answer["rows"]} == {"CN-ZJ"}
    assert answer["totalCount"] == 4  # the Jiangsu factory's row is not theirs to see
    assert all("hourly_rate" not in row and "factory" not in row for row in answer["rows"])
    assert answer["termsHash"] == contract["termsHash"]
    assert answer["retainUntil"]
    # Paging.
    first = await hub.graphql(QUERY, {"id": cid, "q": {"first": 3}}, headers=consumer)
    page = first["governedData"]
    assert page["hasNextPage"]
    assert len(page["rows"]) == 3
    rest = await hub.graphql(
        QUERY, {"id": cid, "q": {"first": 3, "after": page["endCursor"]}}, headers=consumer
    )
    assert len(rest["governedData"]["rows"]) == 1
    # A field or a region outside the agreement: refused, naming the term, no data.
    for q, term in [
        ({"fields": ["process", "hourly_rate"]}, "fields"),
        ({"filters": [{"field": "hourly_rate", "op": "GTE", "value": 30}]}, "fields"),
        ({"filters": [{"field": "region", "value": "CN-JS"}]}, "regions"),
        ({"fresh": True}, "fresh_data"),
    ]:
        refused = await _refused(hub, QUERY, {"id": cid, "q": q}, consumer)
        assert (refused["code"], refused["term"]) == ("FORBIDDEN", term), refused
    # Someone else's agreement does not exist for another consumer.
    stranger = await _consumer(hub, "Shenzhen Bags Co")
    refused = await _refused(hub, QUERY, {"id": cid, "q": {}}, stranger)
    assert refused["code"] == "CONTRACT_NOT_FOUND"
    audited = await _audited(hub)
    assert [(e.outcome, e.detail.get("term")) for e in audited] == [
        ("allow", None), ("allow", None), ("allow", None),
        ("deny", "fields"), ("deny", "fields"), ("deny", "regions"), ("deny", "fresh_data"),
    ]  # fmt: skip
    first_entry = audited[0]
    assert first_entry.detail["contract"] == cid
    assert first_entry.detail["rows"] == 4
    assert first_entry.detail["terms_hash"] == contract["termsHash"]
    assert first_entry.resource == f"data_product:{product['id']}"


async def test_aggregation_only_answers_groups_of_at_least_k_contributors(
    hub: InProcessService,
) -> None:
    publisher = await _publisher(hub)
    offer = {
        **OPEN_TO_CONSUMERS,
        "fields": ["region", "city", "process", "week", "free_hours"],
        "aggregation": {"min_contributors": 3},
    }
    product = await _product(hub, publisher, [offer])
    consumer = await _consumer(hub)
    cid = (await _contract(hub, consumer, product["offers"][0]["id"]))["id"]
    total = {"fn": "SUM", "field": "free_hours"}
    by_process = {"groupBy": ["process"], "aggregates": [total, {"fn": "COUNT"}],
                  "filters": [{"field": "process", "value": "weaving"}]}  # fmt: skip
    answer = (await hub.graphql(QUERY, {"id": cid, "q": by_process}, headers=consumer))[
        "governedData"
    ]
    assert answer["rows"] == [{"process": "weaving", "sum_free_hours": 110.0, "count": 4}]
    assert answer["minContributors"] == 3  # the agreement's k, not the exact count
    # Listing rows, grouping finer than k allows, or narrowing to one factory: refused.
    too_fine = [
        {"fields": ["process", "free_hours"]},
        {"groupBy": ["process"], "aggregates": [total]},  # dyeing has one factory
        {"groupBy": ["city"], "aggregates": [total],
         "filters": [{"field": "process", "value": "weaving"}]},
    ]  # fmt: skip
    for q in too_fine:
        refused = await _refused(hub, QUERY, {"id": cid, "q": q}, consumer)
        assert (refused["code"], refused["term"]) == ("FORBIDDEN", "aggregation"), refused
    audited = await _audited(hub)
    assert [e.outcome for e in audited] == ["allow", "deny", "deny", "deny"]


async def _aggregation_only(hub: InProcessService) -> tuple[dict[str, str], str]:
    publisher = await _publisher(hub)
    offer = {
        **OPEN_TO_CONSUMERS,
        "fields": ["region", "city", "process", "week", "free_hours", "hourly_rate"],
        "aggregation": {"min_contributors": 3},
    }
    product = await _product(hub, publisher, [offer])
    consumer = await _consumer(hub)
    return consumer, (await _contract(hub, consumer, product["offers"][0]["id"]))["id"]


async def test_refusals_under_aggregation_only_terms_cannot_be_used_to_count_or_bound(
    hub: InProcessService,
) -> None:
    """The probe's first attack: a refusal named the below-k group and its contributor count, so
    a `free_hours >= x` filter, moved until the dyeing group (one mill) appeared or vanished,
    gave that mill's hours exactly. Now filters on a measure are refused whatever x is, and a
    refusal names no group and no count."""
    consumer, cid = await _aggregation_only(hub)
    total = {"fn": "SUM", "field": "free_hours"}
    refusals = set()
    low, high = 0.0, 64.0
    for _ in range(12):  # the probe's bisection
        x = (low + high) / 2
        q = {"groupBy": ["process"], "aggregates": [total],
             "filters": [{"field": "free_hours", "op": "GTE", "value": x}]}  # fmt: skip
        body = await hub.graphql(QUERY, {"id": cid, "q": q}, headers=consumer, expect_errors=True)
        assert body.get("data") is None, body
        (error,) = body["errors"]
        assert (error["extensions"]["code"], error["extensions"]["term"]) == (
            "FORBIDDEN",
            "aggregation",
        )
        refusals.add(error["message"])
        if "dyeing" in error["message"]:
            high = x
        else:
            low = x
    assert len(refusals) == 1  # the same answer for every x: nothing to bisect on
    # A group too small is refused without its key or its size, and so are min and max of a
    # measure (one mill's own figure) and filters on what is not a dimension.
    too_fine: list[dict[str, Any]] = [
        {"groupBy": ["process"], "aggregates": [total]},  # dyeing has one mill
        {"aggregates": [{"fn": "MAX", "field": "free_hours"}]},
        {"aggregates": [total], "filters": [{"field": "hourly_rate", "op": "LTE", "value": 30}]},
    ]
    for q in too_fine:
        refused = await _refused(hub, QUERY, {"id": cid, "q": q}, consumer)
        assert (refused["code"], refused["term"]) == ("FORBIDDEN", "aggregation"), refused
        assert "dyeing" not in refused["message"]
        assert not any(f" {n} contributor" in refused["message"] for n in range(1, 3))
    answer = await hub.graphql(QUERY, {"id": cid, "q": {"aggregates": [total]}}, headers=consumer)
    assert answer["governedData"]["rows"] == [{"sum_free_hours": 118.0}]


async def test_two_allowed_answers_cannot_be_differenced_to_one_contributor(
    hub: InProcessService,
) -> None:
    """The probe's second attack: weaving over four mills, then weaving over the three in
    Shaoxing and Hangzhou; the difference was the Suzhou mill's hours. Every narrowing whose
    difference stands on fewer than k mills is refused, in either order, while answers that
    add nothing new (the same groups again) and groups that do not nest are still given."""
    total = {"fn": "SUM", "field": "free_hours"}
    weaving = {"field": "process", "value": "weaving"}
    broad: dict[str, Any] = {"aggregates": [total], "filters": [weaving]}
    narrowings: list[dict[str, Any]] = [
        {"aggregates": [total],
         "filters": [weaving, {"field": "city", "op": "IN", "value": ["Shaoxing", "Hangzhou"]}]},
        {"aggregates": [total], "filters": [weaving, {"field": "region", "value": "CN-ZJ"}]},
        {"aggregates": [total], "filters": [weaving, {"field": "city", "op": "IN",
                                                      "value": ["Shaoxing", "Suzhou"]}]},
    ]  # fmt: skip

    async def sums(cid: str, queries: list[dict[str, Any]]) -> list[float | None]:
        got: list[float | None] = []
        for q in queries:
            response = await hub.client.post(
                "/graphql", json={"query": QUERY, "variables": {"id": cid, "q": q}},
                headers=consumer,
            )  # fmt: skip
            body = response.json()
            if body.get("data"):
                got.append(body["data"]["governedData"]["rows"][0]["sum_free_hours"])
            else:
                assert body["errors"][0]["extensions"]["term"] == "aggregation", body
                got.append(None)
        return got

    consumer, cid = await _aggregation_only(hub)
    # Broad first, then each narrowing.
    first, *narrow = await sums(cid, [broad, *narrowings])
    assert first == 110.0
    assert narrow == [None, None, None]
    # The same question again is answered: it discloses nothing new.
    assert await sums(cid, [broad]) == [110.0]
    # A second agreement on the same product starts no new ledger: the narrowing is refused
    # there too, as the figures given are the organization's, not the agreement's.
    product = (await hub.graphql(CATALOG, {"search": "capacity"}, headers=consumer))[
        "dataProducts"
    ]["edges"][0]["node"]
    second = (await _contract(hub, consumer, product["offers"][0]["id"]))["id"]
    assert await sums(second, [narrowings[0], broad]) == [None, 110.0]
    # Whatever the attacker got, no pair of answers differs by one mill's hours.
    answered = [v for v in [first, *narrow] if v is not None]
    single = {hours for *_, hours, _ in FACTORIES}
    assert not {abs(a - b) for a in answered for b in answered} & single
    # Groups that do not lie inside one another are still answered: Zhejiang's four mills
    # against the four weavers. The whole would lie around the weavers with one mill between.
    zhejiang = {"aggregates": [total], "filters": [{"field": "region", "value": "CN-ZJ"}]}
    assert await sums(cid, [zhejiang, {"aggregates": [total]}]) == [88.0, None]
    # Narrow first, then broad, for another organization.
    other = await _consumer(hub, "Ningbo Coats Co")
    third = (await _contract(hub, other, product["offers"][0]["id"]))["id"]
    consumer = other
    assert await sums(third, [narrowings[0], broad]) == [80.0, None]


async def test_terminating_an_agreement_stops_access_at_once(hub: InProcessService) -> None:
    publisher = await _publisher(hub)
    product = await _product(hub, publisher, [OPEN_TO_CONSUMERS])
    consumer = await _consumer(hub)
    cid = (await _contract(hub, consumer, product["offers"][0]["id"]))["id"]
    q = {"id": cid, "q": {"fields": ["process"], "first": 1}}
    assert (await hub.graphql(QUERY, q, headers=consumer))["governedData"]["rows"]
    ended = await hub.graphql(
        TERMINATE, {"id": cid, "reason": "the consumer broke the retention term"},
        headers=publisher,
    )  # fmt: skip
    assert ended["terminateDataContract"]["status"] == "TERMINATED"
    refused = await _refused(hub, QUERY, q, consumer)
    assert (refused["code"], refused["term"]) == ("FORBIDDEN", "state")
    again = await _refused(hub, TERMINATE, {"id": cid, "reason": "twice"}, consumer)
    assert again["code"] == "INVALID_TRANSITION"


async def test_batches_apply_in_order_once_and_a_snapshot_shows_only_when_complete(
    hub: InProcessService,
) -> None:
    publisher = await _publisher(hub)
    product = await _product(hub, publisher, [OPEN_TO_CONSUMERS])
    url = "/api/v1/data-products/free-capacity"

    async def post(batch: dict[str, Any]) -> Any:
        return await hub.client.post(f"{url}/batches", json=batch, headers=publisher)

    async def visible() -> list[dict[str, Any]]:
        answer = await hub.graphql(
            "query($id: UUID!) { ownData(productId: $id, query: {first: 1000}) { rows } }",
            {"id": product["id"]},
            headers=publisher,
        )
        rows: list[dict[str, Any]] = answer["ownData"]["rows"]
        return rows

    # A resend of batch 1 (after a cut) is acknowledged and changes nothing.
    again = await post({"seq": 1, "kind": "snapshot", "snapshot": 1, "last": True,
                        "upserts": _rows()[:1]})  # fmt: skip
    assert again.json() == {"seq": 1, "applied": False}
    assert len(await visible()) == len(FACTORIES)
    # Skipping ahead is refused with the seq expected.
    gap = await post({"seq": 3, "kind": "increment", "deletes": ["f1:weaving:2026-W48"]})
    assert gap.status_code == 409
    assert (gap.json()["error"], gap.json()["expected"]) == ("sync_gap", 2)
    # A row outside the schema refuses the whole batch.
    bad = _rows()[:2]
    bad[1] = {"key": "x", "data": {**bad[1]["data"], "profit": 1.0}}
    response = await post({"seq": 2, "kind": "increment", "upserts": bad})
    assert response.status_code == 422
    assert "profit" in response.json()["detail"]
    assert (await hub.client.get(f"{url}/sync", headers=publisher)).json()["seq"] == 1
    # An increment: one row changed, one deleted.
    changed = _rows()[1]
    changed["data"] = {**changed["data"], "free_hours": 0.0}
    response = await post({"seq": 2, "kind": "increment", "upserts": [changed],
                           "deletes": ["f1:weaving:2026-W48"]})  # fmt: skip
    assert response.json() == {"seq": 2, "applied": True}
    rows = await visible()
    assert len(rows) == len(FACTORIES) - 1
    assert {r["factory"]: r["free_hours"] for r in rows}["f2"] == 0.0
    # A two-chunk snapshot of next week: invisible until its last chunk.
    week = _rows(("2026-W49",))
    response = await post({"seq": 3, "kind": "snapshot", "snapshot": 3, "upserts": week[:3]})
    assert response.json()["applied"] is True
    assert {r["week"] for r in await visible()} == {"2026-W48"}
    response = await post({"seq": 4, "kind": "snapshot", "snapshot": 3, "last": True,
                           "upserts": week[3:]})  # fmt: skip
    assert response.json() == {"seq": 4, "applied": True}
    rows = await visible()
    assert {r["week"] for r in rows} == {"2026-W49"}
    assert len(rows) == len(FACTORIES)
    sync = (await hub.client.get(f"{url}/sync", headers=publisher)).json()
    assert sync == {"seq": 4, "snapshot": 3}
    # Only the publisher syncs its product: a consumer's token is refused.
    consumer = await _consumer(hub)
    response = await hub.client.post(
        f"{url}/batches", json={"seq": 5, "kind": "increment"}, headers=consumer
    )
    assert response.status_code in (403, 404)


def test_figures_that_together_single_out_a_contributor_are_refused() -> None:
    """Three answers: {a,b,c}, {d,e,f}, then all seven; the third less the first two is g's own
    figure, though it differs from each by four contributors. In every order the last of the
    three is refused; figures that only overlap are given."""
    import itertools

    from hub.data_exchange import disclosure
    from hub.data_exchange.errors import TermViolated

    def cell(*who: str) -> dict[str, str]:
        return {f"row-{w}": w for w in who}

    first, second, whole = cell("a", "b", "c"), cell("d", "e", "f"), cell(*"abcdefg")
    for order in itertools.permutations([first, second, whole]):
        disclosure.check(order[:1], order[1:2], k=3)
        with pytest.raises(TermViolated) as refused:
            disclosure.check(order[:2], order[2:], k=3)
        assert refused.value.extra["term"] == "aggregation"
        with pytest.raises(TermViolated):  # the same, given in one answer
            disclosure.check(order[:1], order[1:], k=3)
    # Overlapping without nesting, and a nest with k or more between: given.
    disclosure.check([cell(*"abcd")], [cell(*"cdef"), cell(*"abcdefghi")], k=3)
    # Two figures that nest around one contributor's rows: refused either way round.
    for earlier, new in [(cell(*"abcd"), cell(*"abc")), (cell(*"abc"), cell(*"abcd"))]:
        with pytest.raises(TermViolated):
            disclosure.check([earlier], [new], k=3)


def test_the_query_engine_filters_groups_and_counts_contributors() -> None:
    from hub.data_exchange import query as q
    from hub.data_exchange.errors import TermViolated

    rows: list[dict[str, Any]] = [
        {"f": "a", "skills": ["dye", "knit"], "hours": 3, "week": "2026-W48"},
        {"f": "b", "skills": ["dye"], "hours": 2.5, "week": "2026-W49"},
        {"f": "c", "skills": None, "hours": None, "week": "2026-W49"},
        {"f": "c", "skills": ["knit"], "hours": "n/a", "week": None},
    ]
    dyers = q.DataQuery(filters=[q.Filter("skills", q.FilterOp.CONTAINS, "dye")], fields=["f"])
    assert q.run(rows, dyers, visible=["f"], contributor="f", min_contributors=None).rows == [
        {"f": "a"},
        {"f": "b"},
    ]
    # Comparisons skip values of another type rather than fail.
    late = q.DataQuery(filters=[q.Filter("week", q.FilterOp.GTE, "2026-W49")], fields=["f"])
    assert q.run(rows, late, visible=[], contributor="f", min_contributors=None).total == 2
    much = q.DataQuery(filters=[q.Filter("hours", q.FilterOp.GTE, 2.5)], fields=["f"])
    assert q.run(rows, much, visible=[], contributor="f", min_contributors=None).total == 2
    # Lists group like values; sums skip nulls; count counts rows.
    by_skills = q.DataQuery(
        group_by=["skills"],
        aggregates=[q.Aggregate(q.AggregateFn.COUNT), q.Aggregate(q.AggregateFn.MAX, "week")],
    )
    result = q.run(rows, by_skills, visible=[], contributor="f", min_contributors=None)
    assert result.total == 4
    assert {tuple(r["skills"] or ()): r["count"] for r in result.rows}[("dye", "knit")] == 1
    whole = q.DataQuery(aggregates=[q.Aggregate(q.AggregateFn.SUM, "hours")])
    with pytest.raises(TermViolated) as refused:
        q.run(rows[:3], whole, visible=[], contributor="f", min_contributors=4)
    assert refused.value.extra["term"] == "aggregation"
    answer = q.run(rows[:3], whole, visible=[], contributor="f", min_contributors=3)
    assert answer.rows == [{"sum_hours": 5.5}]
    assert answer.min_contributors == 3
