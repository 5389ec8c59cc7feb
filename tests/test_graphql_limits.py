"""What a GraphQL document may cost before it runs, and what an anonymous caller may learn.

Probing found a 400-field anonymous query under the token limit that took over a second to
validate on the event loop (8 such clients pushed `/healthz` to 6.8 s); introspection and "Did
you mean" suggestions on in production; and a document with several operations run without
saying which.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from graphql import DocumentNode

from hub.settings import HubSettings
from tests.conftest import HubFactory
from tests.support import PRODUCTION_HUB, InProcessService, served
from yunfab.graphql import limits
from yunfab.processes import free_port
from yunfab.settings import SettingsError, load_settings

NODE_FIELDS = "regionalNodes { edges { node { name } } }"
BIG = "{ " + " ".join([NODE_FIELDS] * 400) + " }"
"""The probe's document: 400 copies of one small selection, 4,002 tokens (under the limit)."""


def amplified(levels: int) -> str:
    """A small document whose fragments double at each level: 2**levels copies of one field."""
    fragments = ["fragment F0 on Query { regionalNodes { totalCount } }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels)]
    return f"{{ ...F{levels - 1} }} " + " ".join(fragments)


async def post(hub: InProcessService, query: str, **extra: Any) -> httpx.Response:
    """POST asking for `application/graphql-response+json`, whose request errors are 400s."""
    return await hub.client.post(
        "/graphql",
        json={"query": query, **extra},
        headers={"accept": "application/graphql-response+json"},
    )


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


async def test_a_costly_document_is_refused_before_validation(hub: InProcessService) -> None:
    # A field that does not exist rides along: validation would report it, so its absence shows
    # the document was refused before validation ran.
    for document in (BIG.replace("{ ", "{ noSuchField ", 1), amplified(10)):
        response = await post(hub, document)
        assert response.status_code == 400
        assert "data" not in response.json()
        assert codes(response) == ["GRAPHQL_QUERY_TOO_COMPLEX"]
        assert "split it" in response.json()["errors"][0]["message"]

    # A fragment cycle is counted once and left to validation, which names it.
    cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    response = await post(hub, cycle)
    assert response.status_code == 400
    assert codes(response)[0] == "GRAPHQL_VALIDATION_FAILED"
    assert "within itself" in response.text

    # Ordinary documents, fragments included, are served.
    assert (await post(hub, amplified(4))).status_code == 200
    assert (await post(hub, "{ " + " ".join([NODE_FIELDS] * 20) + " }")).status_code == 200


async def test_the_bound_is_a_setting(hub_factory: HubFactory) -> None:
    async with hub_factory(graphql_max_selections=3) as hub:
        assert (await post(hub, "{ regionalNodes { totalCount } }")).status_code == 200
        response = await post(hub, "{ regionalNodes { totalCount edges { cursor } } }")
        assert codes(response) == ["GRAPHQL_QUERY_TOO_COMPLEX"]


async def test_large_documents_validate_off_the_event_loop(
    hub_factory: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validating a large document takes time a caller chooses: it runs in a worker thread, so
    health checks and other requests keep being served meanwhile."""
    validated: list[tuple[int, bool]] = []
    validate = limits._validate

    def recorded(schema: Any, document: DocumentNode, *args: Any) -> Any:
        fields = limits.selection_count(document, 10_000)
        validated.append((fields, threading.current_thread() is threading.main_thread()))
        return validate(schema, document, *args)

    monkeypatch.setattr(limits, "_validate", recorded)
    # Large enough to go to a worker thread, under a raised bound so they are validated.
    async with hub_factory(graphql_max_selections=2_000) as hub:
        documents = [
            "{ " + " ".join([NODE_FIELDS.replace("name", field)] * 120) + " }"
            for field in ("name", "region", "industry", "status")
        ]
        big = [asyncio.create_task(post(hub, document)) for document in documents]
        health = await hub.client.get("/healthz")
        assert health.status_code == 200
        for response in await asyncio.gather(*big):
            assert response.status_code == 200, response.text
            assert response.json()["data"]["regionalNodes"] == {"edges": []}
        assert (await post(hub, "{ __typename }")).status_code == 200
    large = [on_main for fields, on_main in validated if fields > limits.OFFLOAD_ABOVE]
    small = [on_main for fields, on_main in validated if fields <= limits.OFFLOAD_ABOVE]
    assert large == [False] * 4
    assert small
    assert all(small)  # small ones stay on the loop: no thread hop for them


async def test_anonymous_callers_are_rate_limited_per_address(hub_factory: HubFactory) -> None:
    async with hub_factory(graphql_anonymous_rate=0.5, graphql_anonymous_burst=3) as hub:
        for _ in range(3):
            assert (await post(hub, "{ __typename }")).status_code == 200
        refused = await post(hub, "{ __typename }")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert codes(refused) == ["RATE_LIMITED"]
        assert "without a token" in refused.json()["errors"][0]["message"]
        # A caller with a token is not counted as anonymous (this one is refused for its token).
        bad_token = await hub.client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"authorization": "Bearer not-a-token"},
        )
        assert bad_token.status_code == 401
    async with hub_factory(graphql_anonymous_rate=0) as hub:
        for _ in range(60):
            assert (await post(hub, "{ __typename }")).status_code == 200


INTROSPECTION = "{ __schema { queryType { name } } }"
TYPO = "{ regionalNodez { totalCount } }"
FILTERED = "query ($f: RegionalNodeFilter) { regionalNodes(filter: $f) { totalCount } }"
VARIABLE_TYPO = {"f": {"regoin": "CN-ZJ"}}
"""A mistake found while executing (coercing variables), not by validation."""


async def test_introspection_and_suggestions_are_off_in_production(
    hub_factory: HubFactory,
) -> None:
    async with hub_factory(**PRODUCTION_HUB) as hub:
        response = await post(hub, INTROSPECTION)
        assert response.status_code == 400
        assert set(codes(response)) == {"GRAPHQL_VALIDATION_FAILED"}
        assert "introspection" in response.json()["errors"][0]["message"]
        assert (await post(hub, "{ __typename }")).status_code == 200

        response = await post(hub, TYPO)
        assert response.status_code == 400
        assert "regionalNodez" in response.text
        assert "Did you mean" not in response.text
        response = await post(hub, FILTERED, variables=VARIABLE_TYPO)
        assert codes(response) == ["BAD_USER_INPUT"]
        assert "regoin" in response.text
        assert "Did you mean" not in response.text

    async with hub_factory(
        **PRODUCTION_HUB, graphql_introspection=True, graphql_suggestions=True
    ) as hub:
        response = await post(hub, INTROSPECTION)
        assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
        assert "Did you mean" in (await post(hub, TYPO)).text
        assert "Did you mean" in (await post(hub, FILTERED, variables=VARIABLE_TYPO)).text


async def test_introspection_and_suggestions_are_on_in_development(hub: InProcessService) -> None:
    response = await post(hub, INTROSPECTION)
    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert "Did you mean" in (await post(hub, TYPO)).text


async def test_several_operations_need_a_name(hub: InProcessService) -> None:
    unnamed = await post(hub, "{ __typename } { regionalNodes { totalCount } }")
    assert unnamed.status_code == 400
    assert "data" not in unnamed.json()
    assert "anonymous operation must be the only" in unnamed.text

    two = "query A { __typename } query B { regionalNodes { totalCount } }"
    response = await post(hub, two)
    assert response.status_code == 400
    assert "data" not in response.json()
    assert codes(response) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Must provide operation name" in response.text

    chosen = await post(hub, two, operationName="B")
    assert chosen.json() == {"data": {"regionalNodes": {"totalCount": 0}}}


async def test_websocket_operations_are_bounded_too(hub: InProcessService) -> None:
    async with served(hub.app, free_port(), lifespan="off") as url:
        async with websockets.connect(
            url.replace("http://", "ws://") + "/graphql",
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": BIG}}))
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["type"] == "error"
    assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_QUERY_TOO_COMPLEX"


def test_a_missing_env_means_production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("YUNFAB_HUB_ENV", raising=False)
    with pytest.raises(SettingsError) as raised:
        load_settings(HubSettings, data_dir=tmp_path)
    message = str(raised.value)
    assert message.startswith("invalid setting YUNFAB_HUB_SIGNING_KEY_PASSPHRASE: ")
    assert "YUNFAB_HUB_ENV is not set, so production applies" in message
    settings = load_settings(
        HubSettings,
        data_dir=tmp_path,
        signing_key_passphrase="from-a-secret-store",
        public_url="https://hub.example.cn",
    )
    assert settings.env == "production"
    assert not settings.graphql_introspection
    assert not settings.auto_migrate

    monkeypatch.setenv("YUNFAB_HUB_ENV", "development")
    assert load_settings(HubSettings, data_dir=tmp_path).development
