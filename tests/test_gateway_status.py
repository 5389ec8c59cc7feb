"""Gateway status at the node: a gateway reading real peers (an asyncua moulder, a pymodbus
meter) reports its link, journal, connectors and every point's last value and error to the
node's HTTP API with its own login; the node keeps it per edge node and shows it in GraphQL to
who may read the device."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import HubFactory, NodeFactory
from tests.support import bearer, client_token, create_client, eventually
from tests.test_gateway import (
    NODE_URL,
    _keys,
    gateway_config,
    machines,
    mqtt_connected,
    need_broker,
    node_mqtt,
    provision_site,
)
from yunfab_gateway.config import GatewayConfig, parse_config
from yunfab_gateway.runner import Gateway

STATUS = """
query($id: UUID!) {
  gatewayStatus(deviceId: $id) {
    connection lastSeenAt reportedAt gatewayAt mqttConnected journalRows journalDropped
    valuesRefused readErrors
    connectors { name up lastError }
    points { connector deviceKey metric unit source lastValue lastAt lastError failing reads }
  }
}
"""


@pytest.fixture
def backend() -> str:
    return "sqlite"


@asynccontextmanager
async def reporting(
    config: GatewayConfig, transport: httpx.AsyncBaseTransport
) -> AsyncIterator[Gateway]:
    """The gateway, its reports reaching the in-process node."""
    gateway = Gateway(config, node_transport=transport)
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.run(stop))
    try:
        yield gateway
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def basic(key: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{key}:{password}".encode()).decode()}


async def test_the_node_shows_what_the_gateway_reports_per_point(
    hub_factory: HubFactory, node_factory: NodeFactory, tmp_path: Path
) -> None:
    need_broker()
    group, edge, imm_key, meter_key = _keys()
    async with (
        machines(tmp_path) as (moulder, meter),
        hub_factory() as hub,
        node_factory(hub, **node_mqtt()) as node,
    ):
        moulder.inject("melt_temp_c", 999.0)  # outside the profile's 0..450

        def raw(password: str | None = None) -> dict[str, Any]:
            made = gateway_config(
                tmp_path, group=group, edge=edge, imm=imm_key, meter_key=meter_key,
                moulder=moulder, meter=meter, password=password,
                meter_points=[{"metric": "spare_c", "address": 5000}],
            )  # fmt: skip
            made["node"] = {"url": NODE_URL}
            return made

        site = await provision_site(hub, node, parse_config(raw(), base=tmp_path))
        config = parse_config(raw(site.edge_password), base=tmp_path)
        await mqtt_connected(node)
        edge_id = site.ids[edge]

        # Before any report: online state known, nothing reported.
        before = (await site.graphql(STATUS, {"id": edge_id}))["gatewayStatus"]
        assert before["reportedAt"] is None
        assert before["points"] == []
        # A machine is not an edge node: no gateway status.
        machine = await site.graphql(STATUS, {"id": site.ids[imm_key]})
        assert machine["gatewayStatus"] is None

        async with reporting(config, node.transport):
            seen: dict[str, Any] = {}

            async def reported() -> bool:
                found = (await site.graphql(STATUS, {"id": edge_id}))["gatewayStatus"]
                seen.update(found)
                points = {p["metric"]: p for p in found["points"]}
                return (
                    found["connection"] == "ONLINE"
                    and all(c["up"] for c in found["connectors"])
                    and points.get("clamp_force_kn", {}).get("lastValue") is not None
                    and points.get("melt_temp_c", {}).get("lastError") is not None
                    and points.get("spare_c", {}).get("lastError") is not None
                )

            await eventually(reported, timeout_s=30)
        found = seen
        assert found["reportedAt"] is not None
        assert found["mqttConnected"] is True
        assert found["journalDropped"] == 0
        assert found["valuesRefused"] >= 1
        assert {c["name"] for c in found["connectors"]} == {"imm", "meter"}
        points = {p["metric"]: p for p in found["points"]}
        clamp = points["clamp_force_kn"]
        assert (clamp["deviceKey"], clamp["connector"], clamp["unit"]) == (imm_key, "imm", "kN")
        assert isinstance(clamp["lastValue"], float | int)
        assert clamp["failing"] is False
        assert clamp["lastAt"] is not None
        melt = points["melt_temp_c"]
        assert melt["failing"] is True
        assert melt["lastError"] == "999 °C outside [0, 450]"
        spare = points["spare_c"]
        assert spare["deviceKey"] == meter_key
        assert "illegal data address" in spare["lastError"]
        assert points["power_w"]["lastError"] is None

        # Another factory's people do not see it; the device answers as one not there.
        client_id, secret = await create_client(
            hub, org="Other Moulds", org_kind="factory", scopes=["devices:write"]
        )
        stranger = bearer(await client_token(hub, client_id, secret, "devices:write", NODE_URL))
        refused = await node.graphql(STATUS, {"id": edge_id}, headers=stranger, expect_errors=True)
        assert refused["errors"][0]["extensions"]["code"] == "DEVICE_NOT_FOUND"


async def test_only_the_edge_node_itself_reports_its_status(
    hub_factory: HubFactory, node_factory: NodeFactory, tmp_path: Path
) -> None:
    group, edge, imm_key, meter_key = _keys()
    async with (
        machines(tmp_path) as (moulder, meter),
        hub_factory() as hub,
        node_factory(hub) as node,
    ):
        raw = gateway_config(
            tmp_path, group=group, edge=edge, imm=imm_key, meter_key=meter_key,
            moulder=moulder, meter=meter,
        )  # fmt: skip
        site = await provision_site(hub, node, parse_config(raw, base=tmp_path))
        path = "/api/v1/gateways/status"
        document = {"edge_node": edge, "points": []}
        wrong = await node.client.post(path, json=document, headers=basic(edge, "nope"))
        assert wrong.status_code == 401
        # A machine's own login (re-issued here) is not an edge node's.
        rotated = await site.graphql(
            "mutation($id: UUID!) { rotateDeviceCredentials(deviceId: $id) { password } }",
            {"id": site.ids[imm_key]},
        )
        machine = basic(imm_key, rotated["rotateDeviceCredentials"]["password"])
        as_machine = await node.client.post(path, json={"edge_node": imm_key}, headers=machine)
        assert as_machine.status_code == 403
        login = basic(edge, site.edge_password)
        other = await node.client.post(path, json={"edge_node": "someone-else"}, headers=login)
        assert other.status_code == 403
        too_many = {
            "edge_node": edge,
            "points": [{"connector": "c", "device": "d", "metric": "m"}] * 2001,
        }
        refused = await node.client.post(path, json=too_many, headers=login)
        assert (refused.status_code, refused.json()["error"]) == (422, "invalid_input")
        assert "points" in refused.json()["detail"]
        long_error = {
            "edge_node": edge,
            "points": [
                {"connector": "c", "device": imm_key, "metric": "m", "last_error": "x" * 5000}
            ],
        }
        stored = await node.client.post(path, json=long_error, headers=login)
        assert stored.status_code == 200
        shown = (await site.graphql(STATUS, {"id": site.ids[edge]}))["gatewayStatus"]
        assert shown["reportedAt"] is not None
        assert len(shown["points"][0]["lastError"]) == 500
