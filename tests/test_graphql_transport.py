"""How browsers and tools reach GraphQL: subscriptions signed in through `connection_init`,
automatic persisted queries, media types, GraphiQL and Swagger UI without the internet."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets

from tests.conftest import NodeFactory
from tests.support import (
    InProcessService,
    bearer,
    client_token,
    create_client,
    create_node_client,
    served,
)
from yunfab.processes import free_port

EVENTS = "subscription { regionalNodeEvents { kind node { name baseUrl } } }"
"""A public subscription with one field (`baseUrl`) for signed-in readers only."""
NODE = {"region": "CN-GD", "industry": "injection-moulding", "base_url": "http://gd.test"}


@asynccontextmanager
async def socket(
    url: str, init: dict[str, Any] | None = None
) -> AsyncIterator[websockets.ClientConnection]:
    """A graphql-transport-ws connection, `init` as its `connection_init` payload."""
    async with websockets.connect(
        url.replace("http://", "ws://") + "/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    ) as ws:
        message: dict[str, Any] = {"type": "connection_init"}
        if init is not None:
            message["payload"] = init
        await ws.send(json.dumps(message))
        yield ws


async def subscribe(ws: websockets.ClientConnection, query: str) -> None:
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
    await asyncio.sleep(0.3)  # let the subscription attach before the event happens


async def close_code(ws: websockets.ClientConnection) -> int | None:
    """Read until the server closes the socket; its close code."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    except websockets.exceptions.ConnectionClosed:
        return ws.close_code


async def register_node(hub: InProcessService, name: str = "gd-injection-moulding") -> None:
    token = await node_register_token(hub, name)
    response = await hub.client.put(f"/api/v1/nodes/{name}", json=NODE, headers=bearer(token))
    assert response.status_code == 200, response.text


async def node_register_token(hub: InProcessService, name: str) -> str:
    client_id, secret = await create_node_client(hub, name, "CN-GD")
    return await client_token(hub, client_id, secret, "nodes:register")


async def reader(hub: InProcessService) -> tuple[str, str, str]:
    """A directory reader's client id, secret and token (`nodes:read` sees `baseUrl`)."""
    client_id, secret = await create_client(
        hub, org="Directory Reader", org_kind="consumer", scopes=["nodes:read"]
    )
    assert secret is not None
    return client_id, secret, await client_token(hub, client_id, secret, "nodes:read")


async def test_a_subscription_signed_in_through_connection_init_gets_its_events(
    hub: InProcessService,
) -> None:
    _, _, token = await reader(hub)
    async with served(hub.app, free_port(), lifespan="off") as url:
        async with socket(url, {"Authorization": f"Bearer {token}"}) as ws:
            await subscribe(ws, EVENTS)
            await register_node(hub)
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["type"] == "next", message
    assert message["payload"] == {
        "data": {
            "regionalNodeEvents": {
                "kind": "REGISTERED",
                "node": {"name": "gd-injection-moulding", "baseUrl": "http://gd.test"},
            }
        }
    }


async def test_without_a_token_what_needs_one_closes_the_socket_4401(
    hub: InProcessService,
) -> None:
    async with served(hub.app, free_port(), lifespan="off") as url:
        async with socket(url) as ws:
            await subscribe(ws, EVENTS)
            await register_node(hub)
            assert await close_code(ws) == 4401


async def test_a_token_that_does_not_verify_is_refused_4403(hub: InProcessService) -> None:
    async with served(hub.app, free_port(), lifespan="off") as url:
        async with socket(url, {"authorization": "Bearer not.a.token"}) as ws:
            assert await close_code(ws) == 4403


async def test_a_revoked_token_closes_the_socket_4401(hub: InProcessService) -> None:
    client_id, secret, token = await reader(hub)
    async with served(hub.app, free_port(), lifespan="off") as url:
        async with socket(url, {"Authorization": f"Bearer {token}"}) as ws:
            await subscribe(ws, EVENTS)
            revoked = await hub.client.post(
                "/oauth/revoke", data={"token": token}, auth=(client_id, secret)
            )
            assert revoked.status_code == 200, revoked.text
            await register_node(hub)
            assert await close_code(ws) == 4401


async def test_automatic_persisted_queries_round_trip(hub: InProcessService) -> None:
    query = "{ regionalNodes { totalCount } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}

    async def get(**params: Any) -> dict[str, Any]:
        encoded = {
            key: json.dumps(value) if key == "extensions" else value
            for key, value in params.items()
        }
        response = await hub.client.get("/graphql", params=encoded)
        body: dict[str, Any] = response.json()
        return body

    first = await get(extensions=persisted)
    assert first["errors"][0]["message"] == "PersistedQueryNotFound"
    assert first["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    sent = await hub.client.post("/graphql", json={"query": query, "extensions": persisted})
    assert sent.json() == {"data": {"regionalNodes": {"totalCount": 0}}}
    assert await get(extensions=persisted) == {"data": {"regionalNodes": {"totalCount": 0}}}

    wrong = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    mismatch = await hub.client.post("/graphql", json={"query": query, "extensions": wrong})
    assert mismatch.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"


async def test_a_document_that_fails_validation_is_not_persisted(hub: InProcessService) -> None:
    query = "{ noSuchField }"
    persisted = {
        "persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}
    }
    refused = await hub.client.post("/graphql", json={"query": query, "extensions": persisted})
    assert refused.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    again = await hub.client.post("/graphql", json={"extensions": persisted})
    assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_clients_that_do_not_say_get_application_json(hub: InProcessService) -> None:
    for accept in ("*/*", None):
        headers = {"accept": accept} if accept else {}
        response = await hub.client.post(
            "/graphql", json={"query": "{ __typename }"}, headers=headers
        )
        assert response.headers["content-type"].startswith("application/json"), accept
    asked = await hub.client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"accept": "application/graphql-response+json"},
    )
    assert asked.headers["content-type"].startswith("application/graphql-response+json")


def _local_references(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


async def test_graphiql_and_its_files_come_from_the_service(hub: InProcessService) -> None:
    response = await hub.client.get("/graphiql")
    assert response.status_code == 200
    page = response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "connect-src 'self' http://hub.test;" in policy  # the hub's token endpoint
    assert not re.search(r"unpkg|jsdelivr|cdn", policy + page)
    assert "<script>" not in page  # no inline script: every one has a src, on this service
    references = _local_references(page)
    assert references
    assert all(reference.startswith("/web-assets/") for reference in references)
    for reference in references:
        assert (await hub.client.get(reference)).status_code == 200, reference
    assert 'data-redirect-uri="http://hub.test/graphiql/callback"' in page
    assert 'data-client-id="yunfab-graphiql"' in page

    ours = (await hub.client.get("/web-assets/graphiql.js")).text
    for step in ("code_challenge_method", '"S256"', "sessionStorage", "refresh_token"):
        assert step in ours
    assert "connectionParams" in ours
    callback = await hub.client.get("/graphiql/callback", params={"code": "c", "state": "s"})
    assert callback.status_code == 200
    assert callback.text == page


async def test_graphiql_on_a_node_asks_for_tokens_for_that_node(
    hub: InProcessService, node_factory: NodeFactory
) -> None:
    async with node_factory(hub) as node:
        page = (await node.client.get("/graphiql")).text
    assert 'data-issuer="http://hub.test"' in page
    assert 'data-resource="http://zj-textile.test"' in page
    assert 'data-redirect-uri="http://zj-textile.test/graphiql/callback"' in page


async def test_swagger_ui_is_served_from_the_service(hub: InProcessService) -> None:
    response = await hub.client.get("/docs")
    assert response.status_code == 200
    assert "http://" not in response.text
    assert "https://" not in response.text
    references = _local_references(response.text)
    assert len(references) == 3  # script, stylesheet, icon
    for reference in references:
        assert (await hub.client.get(reference)).status_code == 200, reference


async def test_openapi_has_a_bearer_scheme_and_multipart_parts(
    hub: InProcessService, node_factory: NodeFactory
) -> None:
    spec = (await hub.client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from the hub's /oauth/token",
    }
    async with node_factory(hub) as node:
        node_spec = (await node.client.get("/openapi.json")).json()
    assert "bearerAuth" in node_spec["components"]["securitySchemes"]
    uploads = {
        path: operation["requestBody"]["content"]["multipart/form-data"]["schema"]
        for path, item in node_spec["paths"].items()
        for operation in item.values()
        if "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
    }
    inspect = uploads["/api/v1/stations/{station_id}/inspections"]
    assert inspect["properties"]["image"] == {"type": "string", "format": "binary"}
    assert inspect["required"] == ["image"]
    assert len(uploads) == 4


async def test_graphiql_on_a_node_may_call_the_hubs_token_endpoint(hub: InProcessService) -> None:
    origin = {"origin": "http://zj-textile.test"}
    discovery = await hub.client.get("/.well-known/openid-configuration", headers=origin)
    assert discovery.headers["access-control-allow-origin"] == "*"
    token = await hub.client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "x"}, headers=origin
    )
    assert token.status_code in (400, 401)  # a bad request, answered readably all the same
    assert token.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in token.headers
    assert "access-control-allow-origin" not in (await hub.client.get("/graphql")).headers
