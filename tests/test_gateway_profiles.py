"""Machine profiles from the market (issue #25): a publisher lists a gateway mapping profile as a
`machine_profile` release; installed on a node, it is checked with the gateway's own profile
parser and kept under the listing's name; a gateway configuration naming it is accepted by
`pushGatewayConfig` (refused before the install and after the removal), and the gateway fetches
the profile with the configuration and keeps it in its data folder. A bad profile document is
refused at install with the parser's reason.

The hub is a real in-process hub, driven as in tests/test_market_node.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from regional_node.gateways.configs import register_config_check
from regional_node.gateways.profiles import register_profile_check
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, provision
from tests.support import InProcessService
from tests.test_gateway import _toml
from tests.test_market_node import NODE_URL, HubMarket, manifest, online, sync
from yunfab_cli.gateway_devices import check_gateway_config, check_machine_profile
from yunfab_gateway import pushed
from yunfab_gateway.config import parse_config
from yunfab_gateway.node_link import NodeLink

PUSH = """
mutation($input: PushGatewayConfigInput!) {
  pushGatewayConfig(input: $input) {
    __typename
    ... on PushGatewayConfigSuccess { version }
    ... on PushGatewayConfigError { code message }
  }
}
"""

PRESS = """
# A press's controller, read over Modbus TCP.
kind = "modbus"
description = "Hydraulic press (holding registers)"
device_type = "hydraulic_press"

[[groups]]
name = "fast"
interval_s = 0.5

[[groups.points]]
metric = "ram_pressure_bar"
table = "holding"
address = 10
type = "uint16"
scale = 0.1
unit = "bar"
min = 0
max = 700

[[groups.points]]
metric = "strokes"
table = "holding"
address = 20
type = "uint32"
unit = "count"
min = 0
"""

BROKEN = PRESS.replace('type = "uint16"', 'type = "int17"')


@pytest.fixture(autouse=True)
def _gateway_parsers() -> None:
    """What `yunfab node serve` does: the node checks pushed configurations and market machine
    profiles with the gateway's own parsers."""
    register_config_check(check_gateway_config)
    register_profile_check(check_machine_profile)


def _config(tmp_path: Path, group: str, edge: str, profile: str) -> dict[str, Any]:
    return {
        "gateway": {"group": group, "edge_node": edge, "data_dir": str(tmp_path / "gateway")},
        "mqtt": {"url": "mqtt://127.0.0.1:1883", "password": "unused"},
        "modbus": [
            {
                "name": "press",
                "device": f"{group}-press-01",
                "host": "127.0.0.1",
                "port": 5020,
                "profile": profile,
            }
        ],
    }


def _profile_manifest(name: str) -> dict[str, Any]:
    return manifest(
        name,
        "machine_profile",
        {"protocol": "modbus"},
        permissions=["gateway:profile"],
    )


async def _installed(hub_side: HubMarket, node: InProcessService, installation: str) -> Any:
    outcome = (await sync(node))[installation]
    return outcome, await hub_side.installation(installation)


async def test_a_market_profile_installs_and_a_gateway_configuration_may_name_it(
    hub_factory: HubFactory, node_factory: NodeFactory, tmp_path: Path
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await online(hub, node)
        factory = await active_factory(node.client, operator)
        group = factory["slug"]
        edge_key = f"{group}-gw"
        edge = await provision(
            node.client, operator, factory["id"], key=edge_key, kind="EDGE_NODE",
            type="gateway", metrics=[],
        )  # fmt: skip
        raw = _config(tmp_path, group, edge_key, "hydraulic-press")
        text = _toml(raw)

        async def push() -> dict[str, Any]:
            answer = await node.graphql(
                PUSH, {"input": {"deviceId": edge["device"]["id"], "config": text}},
                headers=operator,
            )  # fmt: skip
            result: dict[str, Any] = answer["pushGatewayConfig"]
            return result

        # Not installed yet: the gateway's parser does not know the name.
        before = await push()
        assert before["code"] == "INVALID_INPUT"
        assert "modbus[0].profile: unknown profile 'hydraulic-press'" in before["message"]

        hub_side = HubMarket(hub)
        publisher = await hub_side.publisher("Press Makers Association")
        release = await hub_side.publish(
            publisher, _profile_manifest("hydraulic-press"), PRESS.encode()
        )
        installation = await hub_side.install(release)
        outcome, at_hub = await _installed(hub_side, node, installation)
        assert (outcome.action, at_hub.state.value) == ("installed", "installed"), outcome
        assert at_hub.detail is not None
        assert "machine profile hydraulic-press@1.0.0 installed" in at_hub.detail

        # Installed: the same configuration is taken, the profile's points with it.
        accepted = await push()
        assert accepted == {"__typename": "PushGatewayConfigSuccess", "version": 1}

        # The gateway fetches the version with the profile, checks it on its box and keeps
        # the profile in its data folder, where the kept version finds it after a restart.
        own = _config(tmp_path, group, edge_key, "modbus_energy_meter")
        own["mqtt"]["password"] = edge["password"]
        own["node"] = {"url": NODE_URL}
        running = parse_config(own)
        link = NodeLink(running, transport=node.transport)
        fetched = await link.fetch_config()
        await link.close()
        assert fetched is not None
        version, fetched_text, profiles = fetched
        assert (version, fetched_text) == (1, text)
        assert profiles == {"hydraulic-press": PRESS}
        config = pushed.checked(fetched_text, running=running, base=tmp_path, profiles=profiles)
        [connector] = config.modbus
        assert connector.device_type == "hydraulic_press"
        assert [p.metric for g in connector.groups for p in g.points] == [
            "ram_pressure_bar",
            "strokes",
        ]
        pushed.save(config, version, fetched_text, profiles)
        kept = pushed.load(running, tmp_path)
        assert kept is not None
        assert kept[1] == 1
        assert kept[0].modbus[0].groups[0].points[0].metric == "ram_pressure_bar"

        # Removed from the node: the name is unknown again.
        await hub_side.remove(installation)
        removed, at_hub = await _installed(hub_side, node, installation)
        assert removed.action == "removed", removed
        assert at_hub.detail is not None
        assert "machine profile hydraulic-press@1.0.0 removed" in at_hub.detail
        after = await push()
        assert after["code"] == "INVALID_INPUT"
        assert "unknown profile 'hydraulic-press'" in after["message"]


async def test_a_bad_profile_document_is_refused_at_install(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        await online(hub, node)
        hub_side = HubMarket(hub)
        publisher = await hub_side.publisher("Press Makers Association")
        broken = await hub_side.publish(
            publisher, _profile_manifest("broken-press"), BROKEN.encode()
        )
        installation = await hub_side.install(broken)
        outcome, at_hub = await _installed(hub_side, node, installation)
        assert (outcome.action, outcome.code) == ("failed", "activation_failed"), outcome
        assert at_hub.state.value == "failed"
        assert "machine profile: groups[0].points[0].type" in (at_hub.detail or "")

        # A listing may not take a built-in profile's name.
        shadow = await hub_side.publish(publisher, _profile_manifest("euromap77"), PRESS.encode())
        refused, at_hub = await _installed(hub_side, node, await hub_side.install(shadow))
        assert refused.code == "activation_failed", refused
        assert "'euromap77' is a built-in profile's" in (at_hub.detail or "")
