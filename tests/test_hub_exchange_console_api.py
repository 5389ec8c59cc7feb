"""What the hub's web console asks of the data exchange beyond the catalog itself: facet counts
of a catalog search (industry, region, schema fields) and the filter on a schema field, through
the public GraphQL API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import InProcessService, bearer, client_token, create_client

pytestmark = pytest.mark.usefixtures("backend")

OPEN: dict[str, Any] = {
    "consumers": {"kinds": ["consumer"]},
    "purposes": ["research"],
    "retention_days": 30,
    "contract_days": 90,
    "approval": "automatic",
}
FACETS = """
query($search: String, $region: String, $industry: String, $field: String) {
  dataCatalogFacets(search: $search, region: $region, industry: $industry, field: $field) {
    industry { value count } region { value count } fields { value count }
  }
}
"""
CATALOG = """
query($search: String, $field: String, $region: String) {
  dataProducts(search: $search, field: $field, region: $region) {
    totalCount edges { node { key } }
  }
}
"""


def _schema(*names: str) -> list[dict[str, str]]:
    return [{"name": name, "type": "string", "role": "dimension"} for name in names]


async def _publish(
    hub: InProcessService,
    headers: dict[str, str],
    key: str,
    *,
    region: str,
    industry: str,
    fields: list[str],
) -> None:
    definition = {
        "title": f"Facet test {key}",
        "description": "A product of the console's catalog test.",
        "region": region,
        "industry": industry,
        "update_frequency": "daily",
        "schema": _schema(*fields),
        "sample": [],
        "offers": [OPEN],
    }
    response = await hub.client.put(
        f"/api/v1/data-products/{key}", json=definition, headers=headers
    )
    assert response.status_code == 200, response.text


def _counts(facet: list[dict[str, Any]]) -> dict[str, int]:
    return {entry["value"]: entry["count"] for entry in facet}


async def _parties(hub: InProcessService) -> tuple[dict[str, str], dict[str, str]]:
    client_id, secret = await create_client(
        hub, org="Facet Publisher", org_kind="publisher", scopes=["exchange:publish"]
    )
    publisher = bearer(await client_token(hub, client_id, secret, "exchange:publish"))
    client_id, secret = await create_client(
        hub, org="Facet Reader", org_kind="consumer", scopes=["exchange:read"]
    )
    reader = bearer(await client_token(hub, client_id, secret, "exchange:read"))
    return publisher, reader


async def test_facets_count_the_matching_products_per_industry_region_and_field(
    hub: InProcessService,
) -> None:
    publisher, reader = await _parties(hub)
    await _publish(
        hub, publisher, "facet-a", region="CN-ZJ", industry="textile", fields=["city", "week"]
    )
    await _publish(
        hub, publisher, "facet-b", region="CN-ZJ", industry="moulding", fields=["city", "grade"]
    )
    await _publish(
        hub, publisher, "facet-c", region="CN-GD", industry="moulding", fields=["process"]
    )

    everything = (await hub.graphql(FACETS, {"search": "facet test"}, headers=reader))[
        "dataCatalogFacets"
    ]
    assert _counts(everything["industry"]) == {"moulding": 2, "textile": 1}
    assert _counts(everything["region"]) == {"CN-ZJ": 2, "CN-GD": 1}
    assert _counts(everything["fields"]) == {"city": 2, "week": 1, "grade": 1, "process": 1}
    # Most first: the console lists them in this order.
    assert everything["fields"][0] == {"value": "city", "count": 2}

    # Under a filter the counts are of what the filter lets through.
    narrowed = (
        await hub.graphql(FACETS, {"search": "facet test", "industry": "moulding"}, headers=reader)
    )["dataCatalogFacets"]
    assert _counts(narrowed["region"]) == {"CN-ZJ": 1, "CN-GD": 1}
    assert _counts(narrowed["fields"]) == {"city": 1, "grade": 1, "process": 1}
    by_field = (await hub.graphql(FACETS, {"field": "city"}, headers=reader))["dataCatalogFacets"]
    assert _counts(by_field["industry"]) == {"moulding": 1, "textile": 1}


async def test_the_catalog_filters_on_a_schema_field_and_counts_what_it_lets_through(
    hub: InProcessService,
) -> None:
    publisher, reader = await _parties(hub)
    await _publish(hub, publisher, "field-a", region="CN-ZJ", industry="textile", fields=["week"])
    await _publish(hub, publisher, "field-b", region="CN-GD", industry="textile", fields=["week"])
    await _publish(hub, publisher, "field-c", region="CN-ZJ", industry="textile", fields=["city"])
    for variables, keys in [
        ({"field": "week"}, {"field-a", "field-b"}),
        ({"field": "week", "region": "CN-ZJ"}, {"field-a"}),
        ({"field": "nothing_so_named"}, set()),
        ({"search": "field-"}, {"field-a", "field-b", "field-c"}),
    ]:
        answer = (await hub.graphql(CATALOG, variables, headers=reader))["dataProducts"]
        assert {e["node"]["key"] for e in answer["edges"]} == keys, variables
        assert answer["totalCount"] == len(keys), variables


async def test_facets_are_refused_without_a_catalog_scope_and_bound_their_filters(
    hub: InProcessService,
) -> None:
    _, reader = await _parties(hub)
    client_id, secret = await create_client(
        hub, org="Market Only", org_kind="consumer", scopes=["market:read"]
    )
    outsider = bearer(await client_token(hub, client_id, secret, "market:read"))
    refused = await hub.graphql(FACETS, {}, headers=outsider, expect_errors=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    too_long = await hub.graphql(FACETS, {"field": "x" * 101}, headers=reader, expect_errors=True)
    assert too_long["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_a_contract_names_its_product_for_both_parties(hub: InProcessService) -> None:
    publisher, _ = await _parties(hub)
    await _publish(hub, publisher, "named", region="CN-ZJ", industry="textile", fields=["week"])
    client_id, secret = await create_client(
        hub, org="Named Consumer", org_kind="consumer", scopes=["exchange:read", "exchange:write"]
    )
    consumer = bearer(await client_token(hub, client_id, secret, "exchange:read exchange:write"))
    catalog = await hub.graphql(
        '{ dataProducts(search: "named") { edges { node { id offers { id } } } } }',
        headers=consumer,
    )
    (edge,) = catalog["dataProducts"]["edges"]
    requested = await hub.graphql(
        """mutation($offer: UUID!) {
          requestDataContract(input: {offerId: $offer, purpose: RESEARCH}) {
            id status product { key title }
          }
        }""",
        {"offer": edge["node"]["offers"][0]["id"]},
        headers=consumer,
    )
    contract = requested["requestDataContract"]
    assert contract["product"] == {"key": "named", "title": "Facet test named"}
    for headers, role in [(consumer, "CONSUMER"), (publisher, "PROVIDER")]:
        listed = await hub.graphql(
            "query($role: ContractRole) { dataContracts(role: $role) "
            "{ edges { node { id product { id key } } } } }",
            {"role": role},
            headers=headers,
        )
        (found,) = listed["dataContracts"]["edges"]
        assert found["node"]["product"] == {"id": edge["node"]["id"], "key": "named"}, role
