"""Fresh rows from a node: the hub calls only the node's enrolled URL, at a checked address, and
what the node answers reaches the consumer only as rows of the product's schema.

The node here is a stand-in (httpx's mock transport) that answers what a broken or hostile node
might: the real node's live endpoint is tested in test_data_products_node.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from hub.state import hub_state
from tests.conftest import HubFactory
from tests.support import InProcessService, bearer, client_token, create_client

pytestmark = pytest.mark.usefixtures("backend")

NODE = "gd-injection-moulding"
SCHEMA = [
    {"name": "factory", "type": "string", "role": "contributor"},
    {"name": "region", "type": "string", "role": "region"},
    {"name": "process", "type": "string", "role": "dimension"},
    {"name": "free_hours", "type": "number", "role": "measure"},
]
ROWS = [
    {"key": "f1:moulding", "data": {"factory": "f1", "region": "CN-GD", "process": "moulding",
                                    "free_hours": 40.0}},
    {"key": "f2:moulding", "data": {"factory": "f2", "region": "CN-GD", "process": "moulding",
                                    "free_hours": 16.0}},
]  # fmt: skip
QUERY = """
query($id: UUID!) { governedData(contractId: $id, query: {fresh: true}) { rows fresh } }
"""
SECRET = "internal-admin-page-7f3a"
"""What a listener the hub must not relay would answer."""


async def _live_contract(hub: InProcessService, base_url: str) -> tuple[str, dict[str, str]]:
    """gd enrols at `base_url` and publishes a live product; a consumer agrees to fresh data."""
    client_id, secret = await create_client(
        hub, org="gd operator", org_kind="node_operator", kind="node", node=NODE,
        region="CN-GD", scopes=["nodes:register", "exchange:publish"],
    )  # fmt: skip
    gd = bearer(await client_token(hub, client_id, secret, "nodes:register exchange:publish"))
    registered = await hub.client.put(
        f"/api/v1/nodes/{NODE}",
        json={"region": "CN-GD", "industry": "injection-moulding", "base_url": base_url},
        headers=gd,
    )
    assert registered.status_code == 200, registered.text
    offer = {
        "consumers": {"kinds": ["consumer"]}, "purposes": ["capacity-planning"],
        "retention_days": 30, "contract_days": 90, "approval": "automatic", "fresh_data": True,
    }  # fmt: skip
    definition = {
        "title": "Free moulding hours", "region": "CN-GD", "industry": "injection-moulding",
        "update_frequency": "daily", "schema": SCHEMA, "live": True, "offers": [offer],
    }  # fmt: skip
    product = await hub.client.put("/api/v1/data-products/free-hours", json=definition, headers=gd)
    assert product.status_code == 200, product.text
    scopes = "exchange:read exchange:write"
    consumer_id, consumer_secret = await create_client(
        hub, org="Dongguan Toys Ltd", org_kind="consumer", scopes=scopes.split()
    )
    consumer = bearer(await client_token(hub, consumer_id, consumer_secret, scopes))
    catalog = await hub.graphql(
        "{ dataProducts { edges { node { offers { id } } } } }", headers=consumer
    )
    offer_id = catalog["dataProducts"]["edges"][0]["node"]["offers"][0]["id"]
    contract = await hub.graphql(
        "mutation($o: UUID!) { requestDataContract(input: {offerId: $o, "
        "purpose: CAPACITY_PLANNING}) { id state } }",
        {"o": offer_id},
        headers=consumer,
    )
    assert contract["requestDataContract"]["state"] == "FINALIZED"
    return contract["requestDataContract"]["id"], consumer


def _node(answer: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(answer)


def _always(response: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _: response


async def _fresh_error(hub: InProcessService, cid: str, consumer: dict[str, str]) -> Any:
    body = await hub.graphql(QUERY, {"id": cid}, headers=consumer, expect_errors=True)
    assert body.get("data") is None, body
    (error,) = body["errors"]
    return error


async def test_junk_from_a_node_is_an_error_naming_the_node_and_never_relayed(
    hub_factory: HubFactory,
) -> None:
    """The probe: a node's URL pointed at an arbitrary listener, and the hub echoed the first
    200 bytes of its answer to the consumer."""
    async with hub_factory(live_max_response_bytes=4096) as hub:
        cid, consumer = await _live_contract(hub, "http://gd.test")
        page = f"<html><body>{SECRET}</body></html>"
        outside = {"key": "x", "data": {"factory": "f1", "admin_password": SECRET}}
        wrong_type = {"key": "x", "data": {"factory": "f1", "free_hours": SECRET}}
        junk = [
            httpx.Response(500, text=f"Traceback ... {SECRET}"),
            httpx.Response(200, text=page),
            httpx.Response(200, json={"rows": SECRET}),
            httpx.Response(200, json={"rows": [*ROWS, outside]}),
            httpx.Response(200, json={"rows": [wrong_type]}),
            httpx.Response(200, json={"rows": [SECRET]}),
            httpx.Response(302, headers={"location": "http://169.254.169.254/"}, text=SECRET),
            httpx.Response(200, json={"rows": ROWS, "padding": SECRET * 1000}),
        ]
        for response in junk:
            hub_state(hub.app).data_live.transport = _node(_always(response))
            error = await _fresh_error(hub, cid, consumer)
            assert error["extensions"]["code"] == "NODE_UNAVAILABLE", error
            assert error["extensions"]["node"] == NODE
            assert NODE in error["message"]
            assert SECRET not in json.dumps(error), error

        hub_state(hub.app).data_live.transport = _node(
            lambda _: httpx.Response(200, json={"rows": ROWS})
        )
        answer = await hub.graphql(QUERY, {"id": cid}, headers=consumer)
        assert answer["governedData"]["fresh"] is True
        assert sorted(r["free_hours"] for r in answer["governedData"]["rows"]) == [16.0, 40.0]


async def test_a_node_name_is_called_only_at_a_public_address_it_resolves_to(
    hub_factory: HubFactory,
) -> None:
    """Names are resolved at each call, refused if any address is not public, and the request
    goes to the address that was checked (a second lookup could answer otherwise)."""
    seen: list[httpx.Request] = []

    def node(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"rows": ROWS})

    answers: dict[str, list[str]] = {}

    async def resolver(host: str, port: int) -> list[str]:
        return answers[host]

    async with hub_factory(node_urls_allow_private=False) as hub:
        cid, consumer = await _live_contract(hub, "http://gd.example.cn:8701")
        hub_state(hub.app).data_live.transport = _node(node)
        hub_state(hub.app).data_live.resolver = resolver
        for private in (["10.0.0.7"], ["93.184.216.34", "127.0.0.1"], ["::1"], []):
            answers["gd.example.cn"] = private
            error = await _fresh_error(hub, cid, consumer)
            assert error["extensions"]["code"] == "NODE_UNAVAILABLE", (private, error)
            assert "10.0.0.7" not in error["message"]
        assert seen == []

        answers["gd.example.cn"] = ["93.184.216.34"]
        answer = await hub.graphql(QUERY, {"id": cid}, headers=consumer)
        assert len(answer["governedData"]["rows"]) == 2
        (request,) = seen
        assert request.url.host == "93.184.216.34"
        assert request.url.port == 8701
        assert request.headers["host"] == "gd.example.cn:8701"
        assert request.extensions["sni_hostname"] == "gd.example.cn"


async def test_a_node_trickling_its_answer_is_cut_off_at_the_total_timeout(
    hub_factory: HubFactory,
) -> None:
    """The review of #15: httpx's timeouts are per read, so a node sending a byte at a time held
    the consumer's request as long as it liked. The whole call has the timeout."""
    rows = json.dumps({"rows": ROWS}).encode()

    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(200):  # 10 s of leading whitespace, then a valid answer
            await asyncio.sleep(0.05)
            yield b" "
        yield rows

    async with hub_factory() as hub:
        cid, consumer = await _live_contract(hub, "http://gd.test")
        hub_state(hub.app).data_live.timeout_s = 0.5
        hub_state(hub.app).data_live.transport = _node(
            lambda _: httpx.Response(200, content=trickle())
        )
        started = time.monotonic()
        error = await _fresh_error(hub, cid, consumer)
        assert time.monotonic() - started < 8
        assert error["extensions"]["code"] == "NODE_UNAVAILABLE", error
        assert error["extensions"]["node"] == NODE
        assert "within 0.5 s" in error["message"]


async def test_a_node_parked_at_a_placeholder_url_is_never_called(
    hub_factory: HubFactory,
) -> None:
    """Nodes that shared a URL are parked at `https://url-shared.invalid/<name>` until a hub
    operator moves them: a live query under their contracts fails without a request."""
    from sqlalchemy import update

    from hub.federation.models import RegionalNode
    from yunfab.db import session_scope

    seen: list[httpx.Request] = []

    def node(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"rows": ROWS})

    async with hub_factory() as hub:
        cid, consumer = await _live_contract(hub, "http://gd.test")
        async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
            parked = f"https://url-shared.invalid/{NODE}"
            await session.execute(
                update(RegionalNode).where(RegionalNode.name == NODE).values(base_url=parked)
            )
        hub_state(hub.app).data_live.transport = _node(node)
        error = await _fresh_error(hub, cid, consumer)
        assert error["extensions"]["code"] == "NODE_UNAVAILABLE", error
        assert seen == []
