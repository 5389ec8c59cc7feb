"""The GraphQL endpoint behaves as the GraphQL-over-HTTP specification says, with limits on."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import HubFactory
from tests.support import PRODUCTION_HUB, InProcessService
from yunfab.db import create_engine

GRAPHQL_RESPONSE = "application/graphql-response+json"
QUERY = "{ regionalNodes { totalCount } }"


async def post(hub: InProcessService, query: str, accept: str | None = GRAPHQL_RESPONSE):  # noqa: ANN201
    headers = {"accept": accept} if accept is not None else {}
    return await hub.client.post("/graphql", json={"query": query}, headers=headers)


async def test_graphql_response_json_on_request_and_legacy_json_otherwise(
    hub: InProcessService,
) -> None:
    for accept in (GRAPHQL_RESPONSE, f"application/json;q=0.5, {GRAPHQL_RESPONSE}"):
        response = await post(hub, QUERY, accept)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE), accept
        assert response.json() == {"data": {"regionalNodes": {"totalCount": 0}}}

    for legacy in (None, "*/*", "application/json"):
        response = await post(hub, QUERY, legacy)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json"), legacy


async def test_a_request_that_fails_to_parse_is_400_without_data(hub: InProcessService) -> None:
    response = await post(hub, "{ regionalNodes { ", GRAPHQL_RESPONSE)
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert body["errors"][0]["locations"]


async def test_a_request_that_fails_validation_is_400_without_data(hub: InProcessService) -> None:
    response = await post(hub, "{ regionalNodes { noSuchField } }", GRAPHQL_RESPONSE)
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "noSuchField" in body["errors"][0]["message"]


async def test_legacy_json_clients_get_200_for_request_errors(hub: InProcessService) -> None:
    response = await post(hub, "{ regionalNodes { noSuchField } }", "application/json")
    assert response.status_code == 200
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_unacceptable_media_type_is_406(hub: InProcessService) -> None:
    response = await post(hub, QUERY, "text/csv")
    assert response.status_code == 406


async def test_depth_alias_and_token_limits(hub_factory: HubFactory) -> None:
    async with hub_factory(
        graphql_max_depth=2, graphql_max_aliases=3, graphql_max_tokens=60
    ) as hub:
        deep = "{ regionalNodes { edges { node { name } } } }"
        response = await post(hub, deep)
        assert response.status_code == 400
        assert "exceeds maximum operation depth" in response.json()["errors"][0]["message"]

        aliases = "{ " + " ".join(f"a{i}: regionalNodes {{ totalCount }}" for i in range(4)) + " }"
        response = await post(hub, aliases)
        assert response.status_code == 400
        assert "aliases" in response.json()["errors"][0]["message"]

        tokens = "{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }"
        response = await post(hub, tokens)
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"

        assert (await post(hub, QUERY)).status_code == 200


async def test_mutations_over_get_are_refused(hub: InProcessService) -> None:
    response = await hub.client.get("/graphql", params={"query": "mutation { x }"})
    assert response.status_code in (400, 405)


async def test_queries_over_get_work(hub: InProcessService) -> None:
    response = await hub.client.get("/graphql", params={"query": QUERY})
    assert response.status_code == 200
    assert response.json()["data"]["regionalNodes"]["totalCount"] == 0


async def test_graphiql_unless_turned_off(hub_factory: HubFactory) -> None:
    async with hub_factory(**PRODUCTION_HUB) as hub:
        response = await hub.client.get("/graphql", headers={"accept": "text/html"})
        assert response.status_code == 200
        assert "graphiql" in response.text.lower()
    async with hub_factory(graphiql=False) as hub:
        response = await hub.client.get("/graphql", headers={"accept": "text/html"})
        assert response.status_code == 404
        assert (await hub.client.get("/graphiql")).status_code == 404


async def test_unexpected_failures_are_masked_with_a_code(
    hub: InProcessService, hub_db_url: str
) -> None:
    engine = create_engine(hub_db_url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE regional_nodes"))
    await engine.dispose()

    response = await post(hub, QUERY)
    body = response.json()
    assert response.status_code == 200
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["message"] == "Internal server error."
    assert "regional_nodes" not in response.text


async def test_openapi_describes_the_node_endpoints(hub: InProcessService) -> None:
    spec = (await hub.client.get("/openapi.json")).json()
    assert "/api/v1/nodes/{name}" in spec["paths"]
    assert "/readyz" in spec["paths"]
