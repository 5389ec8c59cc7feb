"""Configuration pushed from the node: the node checks a gateway's new configuration with the
gateway's own parser before storing a version; the running gateway (reading a real asyncua
moulder and pymodbus meter) learns of it in its status report, fetches it, checks it on its box,
runs it and reports the version; a version it cannot run is refused and reported, and the one
before goes on."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from regional_node.gateways.configs import register_config_check
from tests.conftest import HubFactory, NodeFactory
from tests.support import bearer, client_token, create_client, eventually
from tests.test_gateway import (
    NODE_URL,
    _keys,
    _toml,
    gateway_config,
    machines,
    mqtt_connected,
    need_broker,
    node_mqtt,
    provision_site,
)
from yunfab_cli.gateway_devices import check_gateway_config
from yunfab_gateway.config import parse_config
from yunfab_gateway.runner import run_configs

PUSH = """
mutation($input: PushGatewayConfigInput!) {
  pushGatewayConfig(input: $input) {
    __typename
    ... on PushGatewayConfigSuccess { version createdAt }
    ... on PushGatewayConfigError { code message }
  }
}
"""
STATUS = """
query($id: UUID!) {
  gatewayStatus(deviceId: $id) {
    reportedAt configVersion configLatest configRefusedVersion configRefusedError
    connectors { name up }
    points { metric lastValue lastAt failing }
  }
}
"""


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture(autouse=True)
def _gateway_parser() -> None:
    """What `yunfab node serve` does: the node checks pushed configurations with the gateway's
    own parser."""
    register_config_check(check_gateway_config)


async def test_a_pushed_configuration_is_checked_run_and_reported(
    hub_factory: HubFactory, node_factory: NodeFactory, tmp_path: Path
) -> None:
    need_broker()
    group, edge, imm_key, meter_key = _keys()
    async with (
        machines(tmp_path) as (moulder, meter),
        hub_factory() as hub,
        node_factory(hub, **node_mqtt()) as node,
    ):
        raw: dict[str, Any] = gateway_config(
            tmp_path, group=group, edge=edge, imm=imm_key, meter_key=meter_key,
            moulder=moulder, meter=meter,
        )  # fmt: skip
        raw["node"] = {"url": NODE_URL}
        site = await provision_site(hub, node, parse_config(raw, base=tmp_path))
        raw["mqtt"]["password"] = site.edge_password
        await mqtt_connected(node)
        edge_id = site.ids[edge]

        async def push(document: dict[str, Any] | str, headers: Any = None) -> dict[str, Any]:
            text = document if isinstance(document, str) else _toml(document)
            answer = await node.graphql(
                PUSH,
                {"input": {"deviceId": edge_id, "config": text}},
                headers=headers or site.headers,
            )
            result: dict[str, Any] = answer["pushGatewayConfig"]
            return result

        # Refused by the node, with the gateway parser's reason; nothing stored.
        garbage = await push("[gateway\nedge_node = 1")
        assert garbage["code"] == "INVALID_INPUT"
        assert "not valid TOML" in garbage["message"]
        bad_key = copy.deepcopy(raw)
        bad_key["modbus"][0]["groups"][0]["points"][0]["type"] = "int17"
        refused = await push(bad_key)
        assert refused["code"] == "INVALID_INPUT"
        assert "modbus[0].groups[0].points[0].type" in refused["message"]
        other = copy.deepcopy(raw)
        other["gateway"]["edge_node"] = f"{group}-gw-9"
        assert "gateway.edge_node" in (await push(other))["message"]
        # Another factory's people cannot push to it.
        client_id, secret = await create_client(
            hub, org="Other Moulds", org_kind="factory", scopes=["devices:write"]
        )
        stranger = bearer(await client_token(hub, client_id, secret, "devices:write", NODE_URL))
        foreign = await push(raw, headers=stranger)
        assert foreign["code"] == "DEVICE_NOT_FOUND"

        stop = asyncio.Event()
        running = asyncio.create_task(
            run_configs(
                parse_config(raw, base=tmp_path), stop, base=tmp_path,
                node_transport=node.transport,
            )
        )  # fmt: skip
        seen: dict[str, Any] = {}

        async def status_where(check: Any) -> bool:
            found = (await site.graphql(STATUS, {"id": edge_id}))["gatewayStatus"]
            seen.clear()
            seen.update(found)
            return bool(found["reportedAt"]) and bool(check(found))

        try:
            await eventually(lambda: status_where(lambda s: s["configVersion"] is None))
            assert seen["configLatest"] is None

            # Version 1 reads one more register: the gateway runs it and says so.
            first = copy.deepcopy(raw)
            first["modbus"][0]["groups"][0]["points"].append(
                {"metric": "setpoint_again", "address": 100, "type": "int16", "scale": 0.1}
            )
            pushed = await push(first)
            assert pushed == {**pushed, "__typename": "PushGatewayConfigSuccess", "version": 1}

            def runs_first(found: dict[str, Any]) -> bool:
                points = {p["metric"]: p for p in found["points"]}
                again = points.get("setpoint_again", {})
                return found["configVersion"] == 1 and again.get("lastValue") is not None

            await eventually(lambda: status_where(runs_first), timeout_s=30)
            assert seen["configLatest"] == 1

            # Version 2 names a password file this box does not have: refused there, reported,
            # and version 1 goes on reading.
            second = copy.deepcopy(first)
            del second["mqtt"]["password"]
            second["mqtt"]["password_file"] = str(tmp_path / "missing.secret")
            assert (await push(second))["version"] == 2

            await eventually(
                lambda: status_where(lambda s: s["configRefusedVersion"] == 2), timeout_s=30
            )
            assert seen["configVersion"] == 1
            assert "mqtt.password_file" in seen["configRefusedError"]
            before = {p["metric"]: p["lastAt"] for p in seen["points"]}

            def still_reading(found: dict[str, Any]) -> bool:
                points = {p["metric"]: p["lastAt"] for p in found["points"]}
                return (
                    found["configVersion"] == 1
                    and points["setpoint_again"] is not None
                    and points["setpoint_again"] != before["setpoint_again"]
                )

            await eventually(lambda: status_where(still_reading), timeout_s=30)
            assert not running.done()
        finally:
            stop.set()
            last = await asyncio.wait_for(running, 30)
        assert last.config_version == 1
        # A restarted gateway runs version 1 again: it is kept with its version on the box.
        kept = json.loads((tmp_path / "gateway" / "node-config.json").read_text())
        assert kept == {"version": 1}
