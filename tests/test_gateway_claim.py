"""Claim codes: a factory's gateway gets its broker login from a one-time code made on the node,
with `yunfab gateway claim` against a node served over real HTTP; the machines of the gateway's
own mapping are provisioned, the password lands 0600 in the configured file, and works."""

from __future__ import annotations

import asyncio
import base64
import json
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, operator_headers
from tests.support import bearer, client_token, create_client, served
from yunfab.processes import free_port
from yunfab_cli.main import app
from yunfab_gateway.claim import provisioning_document
from yunfab_gateway.config import load_config

NODE_URL = "http://zj-textile.test"
CREATE = """
mutation($input: CreateGatewayClaimCodeInput!) {
  createGatewayClaimCode(input: $input) {
    __typename
    ... on CreateGatewayClaimCodeSuccess { code edgeNodeKey factorySlug expiresAt claimCommand }
    ... on CreateGatewayClaimCodeError { code message }
  }
}
"""
DEVICE = """
query($key: String!) {
  device(key: $key) { kind type status metrics { name unit minValue maxValue } }
}
"""
AUDIT = """
query($key: String!) { auditLog(deviceKey: $key) { edges { node { actor action detail } } } }
"""


@pytest.fixture
def backend() -> str:
    return "sqlite"


def write_config(tmp_path: Path, group: str, edge: str) -> Path:
    """A gateway with an OPC UA moulder (EUROMAP 77) and a Modbus meter: claiming reads only
    its mapping, so nothing needs to answer at these addresses."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "gateway.toml"
    path.write_text(
        f"""
[gateway]
group = "{group}"
edge_node = "{edge}"
data_dir = "state"

[mqtt]
url = "mqtt://127.0.0.1:1883"
password_file = "secrets/gateway.secret"

[[opcua]]
name = "imm"
device = "{group}-imm-01"
url = "opc.tcp://127.0.0.1:4840"
root = "e77:IMM_01"
profile = "euromap77"

[[modbus]]
name = "meter"
device = "{group}-meter-01"
host = "127.0.0.1"
profile = "modbus_energy_meter"
""",
        encoding="utf-8",
    )
    return path


async def gateway_cli(*argv: str) -> tuple[int, str]:
    """The command line in a thread of its own (it runs its own event loop), against the node
    this test's loop serves."""
    result = await asyncio.to_thread(CliRunner().invoke, app, ["gateway", *argv])
    return result.exit_code, result.output


async def code_for(node: Any, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    answer: dict[str, Any] = (await node.graphql(CREATE, {"input": fields}, headers=headers))[
        "createGatewayClaimCode"
    ]
    return answer


async def send_as(node: Any, key: str, password: str) -> int:
    """A reading over HTTP with the edge node's login: the node's own check of the password."""
    token = base64.b64encode(f"{key}:{password}".encode()).decode()
    response = await node.client.post(
        "/api/v1/telemetry",
        json={"devices": {key: {"readings": [{"metric": "gateway_points_in_error", "value": 0}]}}},
        headers={"authorization": f"Basic {token}"},
    )
    return response.status_code


async def test_a_gateway_claims_its_login_and_machines_with_a_one_time_code(
    hub_factory: HubFactory, node_factory: NodeFactory, tmp_path: Path
) -> None:
    async with hub_factory() as hub, node_factory(hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        client_id, secret = await create_client(
            hub, org="Dongguan Moulds", org_kind="factory", scopes=["devices:write"]
        )
        org = (
            await hub.graphql(
                "{ viewer { organizationId } }",
                headers=bearer(await client_token(hub, client_id, secret, "devices:write")),
            )
        )["viewer"]["organizationId"]
        slug = f"f-{uuid.uuid4().hex[:8]}"
        own = await active_factory(node.client, operator, slug=slug, organization_id=org)
        other = await active_factory(node.client, operator)
        staff = bearer(await client_token(hub, client_id, secret, "devices:write", NODE_URL))
        edge = f"{slug}-gw"

        # Factory staff name their gateways in their factory's namespace, in their own factory.
        outside = await code_for(node, staff, factoryId=own["id"], edgeNodeKey="gw-01")
        assert (outside["__typename"], outside["code"]) == (
            "CreateGatewayClaimCodeError",
            "INVALID_INPUT",
        )
        assert f"{slug}-" in outside["message"]
        foreign = await code_for(node, staff, factoryId=other["id"], edgeNodeKey=f"{slug}-x")
        assert foreign["code"] == "FACTORY_NOT_FOUND"
        too_long = await code_for(
            node, staff, factoryId=own["id"], edgeNodeKey=edge, validHours=1000
        )
        assert too_long["code"] == "INVALID_INPUT"
        made = await code_for(node, staff, factoryId=own["id"], edgeNodeKey=edge)
        assert made["__typename"] == "CreateGatewayClaimCodeSuccess", made
        assert (made["edgeNodeKey"], made["factorySlug"]) == (edge, slug)
        assert f"--code {made['code']}" in made["claimCommand"]
        expired = await code_for(
            node, staff, factoryId=own["id"], edgeNodeKey=edge, validHours=1e-9
        )

        config_path = write_config(tmp_path, slug, edge)
        mapping = provisioning_document(load_config(config_path, secrets=False))
        secret_file = tmp_path / "secrets" / "gateway.secret"
        async with served(node.app, free_port(), lifespan="off") as node_url:
            # A code the node never made, and one that expired: refused with the reason.
            status, output = await gateway_cli(
                "claim", "--config", str(config_path), "--node", node_url,
                "--code", "0123abcd-" + "x" * 24,
            )  # fmt: skip
            assert status == 1
            assert "401" in output
            assert "claim_code_invalid" in output
            status, output = await gateway_cli(
                "claim", "--config", str(config_path), "--node", node_url,
                "--code", expired["code"],
            )  # fmt: skip
            assert status == 1
            assert "410" in output
            assert "claim_code_expired" in output
            assert not secret_file.exists()

            # A configuration for another edge node than the code's: refused, code kept.
            wrong = write_config(tmp_path / "wrong", slug, f"{slug}-gw-2")
            status, output = await gateway_cli(
                "claim", "--config", str(wrong), "--node", node_url, "--code", made["code"]
            )
            assert status == 1
            assert "409" in output
            assert "claim_mismatch" in output

            status, output = await gateway_cli(
                "claim", "--config", str(config_path), "--node", node_url, "--code", made["code"]
            )
            assert status == 0, output
            claimed = json.loads(output)
            assert claimed["edge_node"] == edge
            assert sorted(claimed["provisioned"]) == [f"{slug}-imm-01", f"{slug}-meter-01"]
            assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
            password = secret_file.read_text(encoding="utf-8").strip()
            assert len(password) >= 32

            # Used once: the second try is refused, the password file left as it was.
            status, output = await gateway_cli(
                "claim", "--config", str(config_path), "--node", node_url, "--code", made["code"]
            )
            assert status == 1
            assert "410" in output
            assert "claim_code_used" in output
            assert secret_file.read_text(encoding="utf-8").strip() == password

        # The node knows the gateway and its machines exactly as the mapping declares them.
        gateway = (await node.graphql(DEVICE, {"key": edge}, headers=staff))["device"]
        assert (gateway["kind"], gateway["type"]) == ("EDGE_NODE", "gateway")
        for device in mapping["devices"]:
            found = (await node.graphql(DEVICE, {"key": device["key"]}, headers=staff))["device"]
            assert found["type"] == device["type"]
            assert sorted(m["name"] for m in found["metrics"]) == sorted(
                m["name"] for m in device["metrics"]
            )
        assert {d["type"] for d in mapping["devices"]} == {"injection_moulding", "energy_meter"}
        assert await send_as(node, edge, password) == 200
        assert await send_as(node, edge, "not-" + password) == 401

        # A new code for the same gateway (a replaced box): new login, the machines kept.
        again = await code_for(node, staff, factoryId=own["id"], edgeNodeKey=edge)
        async with served(node.app, free_port(), lifespan="off") as node_url:
            status, output = await gateway_cli(
                "claim", "--config", str(config_path), "--node", node_url, "--code", again["code"]
            )
        assert status == 0, output
        assert json.loads(output)["provisioned"] == []
        assert sorted(json.loads(output)["kept"]) == [f"{slug}-imm-01", f"{slug}-meter-01"]
        renewed = secret_file.read_text(encoding="utf-8").strip()
        assert renewed != password
        assert await send_as(node, edge, renewed) == 200
        assert await send_as(node, edge, password) == 401

        # Made and used, both in the node's audit chain.
        entries = (await node.graphql(AUDIT, {"key": edge}, headers=operator))["auditLog"]
        actions = [e["node"]["action"] for e in entries["edges"]]
        assert actions.count("node.gateway.claim_code.create") == 3
        assert actions.count("node.gateway.claim") == 2
        claim_entry = next(
            e["node"] for e in entries["edges"] if e["node"]["action"] == "node.gateway.claim"
        )
        assert claim_entry["actor"].startswith("system:gateway-claim:")
        assert claim_entry["detail"]["created_by"].startswith("client:")


async def test_guessing_claim_codes_is_throttled_and_bad_bodies_refused(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub) as node:
        await operator_headers(hub, NODE_URL)
        document = {"group": "f-x", "edge_node": {"key": "f-x-gw"}, "devices": []}
        statuses = []
        for attempt in range(12):
            response = await node.client.post(
                "/api/v1/gateways/claim",
                json={"code": f"{attempt:08x}-" + "y" * 24, "gateway": document},
            )
            statuses.append(response.status_code)
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429, 429]
        assert response.json()["error"] == "rate_limited"

    async with hub_factory() as hub, node_factory(hub) as node:
        not_json = await node.client.post(
            "/api/v1/gateways/claim",
            content=b"{",
            headers={"content-type": "application/json"},
        )
        assert (not_json.status_code, not_json.json()["error"]) == (422, "invalid_input")
        no_code = await node.client.post("/api/v1/gateways/claim", json={"gateway": document})
        assert no_code.status_code == 422
        assert "code" in no_code.json()["detail"]
        huge = await node.client.post(
            "/api/v1/gateways/claim",
            content=b"x" * (1024 * 1024 + 1),
            headers={"content-type": "application/json"},
        )
        assert huge.status_code == 413
        extra: dict[str, Any] = {"code": "a", "gateway": document, "password": "x"}
        assert (await node.client.post("/api/v1/gateways/claim", json=extra)).status_code == 422


def test_claim_needs_a_password_file_and_a_node_that_answers(tmp_path: Path) -> None:
    inline = write_config(tmp_path / "inline", "f-abc", "f-abc-gw")
    text = inline.read_text(encoding="utf-8")
    inline.write_text(text.replace('password_file = "secrets/gateway.secret"', ""), "utf-8")
    result = CliRunner().invoke(
        app, ["gateway", "claim", "--config", str(inline), "--node", "http://127.0.0.1:9",
              "--code", "0123abcd-" + "x" * 24],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "mqtt.password_file" in result.output

    config = write_config(tmp_path / "away", "f-abc", "f-abc-gw")
    result = CliRunner().invoke(
        app, ["gateway", "claim", "--config", str(config), "--node",
              f"http://127.0.0.1:{free_port()}", "--code", "0123abcd-" + "x" * 24],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "127.0.0.1" in result.output
    assert not (tmp_path / "away" / "secrets" / "gateway.secret").exists()
