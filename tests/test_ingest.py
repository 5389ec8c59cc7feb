"""Telemetry through HTTP batch ingest: storage, duplicates, dead letters, device credentials and
lifecycle, rollups, alerts, metrics. (MQTT transport: tests/test_mqtt_ingest.py.)"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, operator_headers, provision, with_device
from tests.support import eventually

NODE_URL = "http://zj-textile.test"

SERIES = """
query(
  $id: UUID!, $metric: String!, $start: DateTime!, $end: DateTime!, $res: TelemetryResolution!
) {
  telemetry(deviceId: $id, metric: $metric, start: $start, end: $end, resolution: $res) {
    unit points { at value count min max }
  }
}
"""
DEAD = """
query($reason: String) {
  deadLetters(reason: $reason, first: 50) {
    edges { node { source deviceKey reason detail payloadBase64 } }
  }
}
"""
DEVICE = "query($id: UUID!) { device(id: $id) { status lastSeenAt } }"
STATUS = """
mutation($id: UUID!, $t: DeviceTransition!) {
  changeDeviceStatus(deviceId: $id, transition: $t) { status }
}
"""
RULE = """
mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { id kind } }
"""
ALERTS = """
query($id: UUID!) {
  factory(id: $id) {
    alerts { edges { node { id status message value closedBy } } }
    evaluation { scores { name value } }
  }
}
"""


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


async def send(
    client: httpx.AsyncClient,
    device: dict[str, Any],
    readings: list[dict[str, Any]],
    key: str | None = None,
) -> httpx.Response:
    return await client.post(
        "/api/v1/telemetry",
        json={"devices": {key or device["username"]: {"readings": readings}}},
        auth=(device["username"], device["password"]),
    )


async def test_batches_are_stored_once_and_read_back(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        assert device["device"]["status"] == "PROVISIONED"
        start = now_ms() - 60_000
        readings = [
            {"ts": start + i * 1000, "metrics": {"clamp_force_kn": 800 + i, "mould_temp_c": 60.5}}
            for i in range(30)
        ]
        first = await send(node.client, device, readings)
        assert first.status_code == 200, first.text
        assert first.json() == {"accepted": 60, "duplicates": 0, "rejected": 0, "problems": []}
        # Sent again (a gateway retrying after a lost response): nothing stored twice.
        again = (await send(node.client, device, readings)).json()
        assert (again["accepted"], again["duplicates"]) == (0, 60)

        series = (
            await node.graphql(
                SERIES,
                {
                    "id": device["device"]["id"],
                    "metric": "clamp_force_kn",
                    "start": iso(start),
                    "end": iso(start + 30_000),
                    "res": "RAW",
                },
                headers=operator,
            )
        )["telemetry"]
        assert series["unit"] == "kN"
        assert [p["value"] for p in series["points"]] == [800.0 + i for i in range(30)]
        shown = await node.graphql(DEVICE, {"id": device["device"]["id"]}, headers=operator)
        assert shown["device"]["status"] == "ACTIVE"
        assert shown["device"]["lastSeenAt"] is not None

        metrics = (await node.client.get("/metrics")).text
        assert 'yunfab_ingest_readings_total{outcome="accepted"} 60.0' in metrics
        assert 'yunfab_ingest_readings_total{outcome="duplicate"} 60.0' in metrics


async def test_bad_readings_become_dead_letters_and_the_rest_is_kept(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        t = now_ms() - 5_000
        readings: list[dict[str, Any]] = [
            {"ts": t, "metrics": {"clamp_force_kn": 810.0, "mould_temp_c": 999.0}},
            {"ts": t + 1, "metrics": {"spindle_load_pct": 50}},
            {"ts": "yesterday", "metrics": {"clamp_force_kn": 1}},
            {"ts": t + 2, "metrics": {"clamp_force_kn": "high"}},
            {"ts": t - 30 * 86_400_000, "metrics": {"clamp_force_kn": 700}},
            {"ts": t + 3_600_000, "metrics": {"clamp_force_kn": 700}},
            {"ts": t + 3, "metrics": {"clamp_force_kn": 820.0}},
        ]
        response = await send(node.client, device, readings)
        assert response.status_code == 200
        outcome = response.json()
        assert outcome["accepted"] == 2
        assert outcome["rejected"] == 6
        reasons = {problem["reason"] for problem in outcome["problems"]}
        assert reasons == {
            "out_of_range",
            "unknown_metric",
            "bad_timestamp",
            "bad_value",
            "too_old",
            "from_future",
        }
        letters = [
            edge["node"]
            for edge in (await node.graphql(DEAD, headers=operator))["deadLetters"]["edges"]
        ]
        by_reason = {letter["reason"]: letter for letter in letters}
        assert set(by_reason) == reasons
        out_of_range = by_reason["out_of_range"]
        assert "mould_temp_c=999" in out_of_range["detail"]
        assert out_of_range["deviceKey"] == device["username"]
        assert out_of_range["source"] == "http"
        assert b'"mould_temp_c":999.0' in base64.b64decode(out_of_range["payloadBase64"])

        # The same checks where every reading is a plain number (decoded a message at a time):
        # entries with their metrics in any order, integers and booleans taken as numbers.
        plain: list[dict[str, Any]] = [
            {"ts": t + 10, "metrics": {"clamp_force_kn": 810, "mould_temp_c": 999.0}},
            {"ts": t + 11, "metrics": {"mould_temp_c": 61.5, "clamp_force_kn": 811.5}},
            {"ts": t + 12, "metrics": {"mould_temp_c": True, "spindle_load_pct": 50}},
            {"ts": t - 30 * 86_400_000, "metrics": {"clamp_force_kn": 700}},
            {"ts": t + 3_600_000, "metrics": {"clamp_force_kn": 700}},
        ]
        outcome = (await send(node.client, device, plain)).json()
        assert (outcome["accepted"], outcome["rejected"]) == (4, 4)
        assert [(problem["reason"], problem["detail"]) for problem in outcome["problems"]] == [
            ("out_of_range", f"mould_temp_c=999 degC outside [0, 150] at {t + 10}"),
            ("unknown_metric", "spindle_load_pct is not declared"),
            ("too_old", f"clamp_force_kn at {t - 30 * 86_400_000} is older than the raw retention"),
            ("from_future", f"clamp_force_kn at {t + 3_600_000} is ahead of the node's clock"),
        ]
        for metric, expected in (
            ("clamp_force_kn", [810.0, 820.0, 810.0, 811.5]),
            ("mould_temp_c", [61.5, 1.0]),
        ):
            points = (
                await node.graphql(
                    SERIES,
                    {
                        "id": device["device"]["id"],
                        "metric": metric,
                        "start": iso(t),
                        "end": iso(t + 20),
                        "res": "RAW",
                    },
                    headers=operator,
                )
            )["telemetry"]["points"]
            assert [point["value"] for point in points] == expected

        # A body that is not the documented shape is refused whole, with a reason.
        broken = await node.client.post(
            "/api/v1/telemetry",
            content=b"{not json",
            auth=(device["username"], device["password"]),
        )
        assert broken.status_code == 422
        assert broken.json()["error"] == "invalid_input"


async def test_credentials_and_lifecycle_decide_who_may_send(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        other = await provision(node.client, operator, factory["id"])
        reading = [{"ts": now_ms(), "metrics": {"clamp_force_kn": 800}}]

        wrong = await send(node.client, {**device, "password": "guess"}, reading)
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "device_auth_failed"
        assert "www-authenticate" in wrong.headers
        # A device speaks for itself only.
        for_other = await send(node.client, device, reading, key=other["username"])
        assert for_other.status_code == 403

        device_id = device["device"]["id"]
        await node.graphql(STATUS, {"id": device_id, "t": "SUSPEND"}, headers=operator)
        refused = await send(node.client, device, reading)
        assert refused.status_code == 403
        assert "suspended" in refused.json()["detail"]
        letters = await node.graphql(DEAD, {"reason": "device_suspended"}, headers=operator)
        assert len(letters["deadLetters"]["edges"]) == 1
        start, end = iso(now_ms() - 60_000), iso(now_ms() + 60_000)
        stored = await node.graphql(
            SERIES,
            {"id": device_id, "metric": "clamp_force_kn", "start": start, "end": end, "res": "RAW"},
            headers=operator,
        )
        assert stored["telemetry"]["points"] == []

        await node.graphql(STATUS, {"id": device_id, "t": "REACTIVATE"}, headers=operator)
        assert (await send(node.client, device, reading)).status_code == 200

        rotated = await node.graphql(
            "mutation($id: UUID!) { rotateDeviceCredentials(deviceId: $id) { password } }",
            {"id": device_id},
            headers=operator,
        )
        assert (await send(node.client, device, reading)).status_code == 401
        fresh = {**device, "password": rotated["rotateDeviceCredentials"]["password"]}
        assert (await send(node.client, fresh, reading)).status_code == 200

        await node.graphql(STATUS, {"id": device_id, "t": "RETIRE"}, headers=operator)
        assert (await send(node.client, fresh, reading)).status_code == 403
        again = await node.graphql(
            STATUS, {"id": device_id, "t": "REACTIVATE"}, headers=operator, expect_errors=True
        )
        assert again["errors"][0]["extensions"]["code"] == "TRANSITION_NOT_ALLOWED"

        metrics = (await node.client.get("/metrics")).text
        assert 'yunfab_ingest_rejected_total{reason="device_suspended"} 1.0' in metrics
        assert 'yunfab_ingest_rejected_total{reason="device_retired"} 1.0' in metrics


async def test_minute_and_hour_rollups_follow_late_readings(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, rollup_interval_s=0.1) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        hour = (now_ms() - 3 * 3_600_000) // 3_600_000 * 3_600_000
        # Three minutes of one reading every 10 s: values 0..17.
        readings = [
            {"ts": hour + i * 10_000, "metrics": {"clamp_force_kn": float(i)}} for i in range(18)
        ]
        assert (await send(node.client, device, readings)).json()["accepted"] == 18
        variables = {
            "id": device["device"]["id"],
            "metric": "clamp_force_kn",
            "start": iso(hour),
            "end": iso(hour + 3_600_000),
        }

        async def minutes() -> list[dict[str, Any]]:
            data = await node.graphql(SERIES, {**variables, "res": "MINUTE"}, headers=operator)
            points: list[dict[str, Any]] = data["telemetry"]["points"]
            return points

        async def three_minutes() -> bool:
            return [p["count"] for p in await minutes()] == [6, 6, 6]

        await eventually(three_minutes, timeout_s=10)
        first = (await minutes())[0]
        assert (first["value"], first["min"], first["max"]) == (2.5, 0.0, 5.0)

        # A late reading (store and forward) lands in the first minute: it is recomputed.
        late = [{"ts": hour + 5_500, "metrics": {"clamp_force_kn": 100.0}}]
        assert (await send(node.client, device, late)).json()["accepted"] == 1

        async def recomputed() -> bool:
            return (await minutes())[0]["count"] == 7

        await eventually(recomputed, timeout_s=10)
        assert (await minutes())[0]["max"] == 100.0
        hours = await node.graphql(SERIES, {**variables, "res": "HOUR"}, headers=operator)
        (bucket,) = hours["telemetry"]["points"]
        assert bucket["count"] == 19
        assert bucket["max"] == 100.0
        assert abs(bucket["value"] - (sum(range(18)) + 100.0) / 19) < 1e-9


async def test_alert_rules_open_acknowledge_and_close(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, stale_check_interval_s=0.2) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        await node.graphql(
            RULE,
            {
                "input": {
                    "name": "Clamp force high",
                    "kind": "THRESHOLD",
                    "metric": "clamp_force_kn",
                    "deviceType": "injection_moulding",
                    "above": 900,
                    "severity": "CRITICAL",
                }
            },
            headers=operator,
        )
        await node.graphql(
            RULE,
            {
                "input": {
                    "name": "Mould temperature jump",
                    "kind": "RATE_OF_CHANGE",
                    "metric": "mould_temp_c",
                    "deviceId": device["device"]["id"],
                    "ratePerMin": 30,
                }
            },
            headers=operator,
        )
        t = now_ms() - 10_000
        await send(
            node.client,
            device,
            [
                {"ts": t, "metrics": {"clamp_force_kn": 850, "mould_temp_c": 60}},
                {"ts": t + 1000, "metrics": {"clamp_force_kn": 950, "mould_temp_c": 61}},
                {"ts": t + 2000, "metrics": {"mould_temp_c": 75}},
            ],
        )

        async def alerts() -> list[dict[str, Any]]:
            data = await node.graphql(ALERTS, {"id": factory["id"]}, headers=operator)
            return [edge["node"] for edge in data["factory"]["alerts"]["edges"]]

        opened = {a["message"].split(":")[0]: a for a in await alerts()}
        assert set(opened) == {"Clamp force high", "Mould temperature jump"}
        clamp = opened["Clamp force high"]
        assert (clamp["status"], clamp["value"]) == ("OPEN", 950)
        acknowledged = await node.graphql(
            "mutation($id: UUID!) { acknowledgeAlert(id: $id) { status } }",
            {"id": clamp["id"]},
            headers=operator,
        )
        assert acknowledged["acknowledgeAlert"]["status"] == "ACKNOWLEDGED"

        # Back within bounds: the rule closes it.
        await send(node.client, device, [{"ts": t + 3000, "metrics": {"clamp_force_kn": 860}}])
        closed = {a["id"]: a for a in await alerts()}[clamp["id"]]
        assert (closed["status"], closed["closedBy"]) == ("CLOSED", "rule")
        scores = {
            s["name"]: s["value"]
            for s in (await node.graphql(ALERTS, {"id": factory["id"]}, headers=operator))[
                "factory"
            ]["evaluation"]["scores"]
        }
        assert scores["quick_response"] == 100.0

        # Silence: a stale rule opens an alert when a metric stops arriving.
        await node.graphql(
            RULE,
            {
                "input": {
                    "name": "Clamp force silent",
                    "kind": "STALE",
                    "metric": "clamp_force_kn",
                    "deviceId": device["device"]["id"],
                    "staleAfterS": 1,
                }
            },
            headers=operator,
        )

        async def stale_alert() -> bool:
            return any(a["message"].startswith("Clamp force silent") for a in await alerts())

        await eventually(stale_alert, timeout_s=15)


async def test_a_refused_edge_node_speaks_for_nobody(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        factory = await active_factory(node.client, operator)
        edge = await provision(node.client, operator, factory["id"], kind="EDGE_NODE", metrics=[])
        child = await provision(node.client, operator, factory["id"], edgeNodeKey=edge["username"])
        reading = [{"ts": now_ms(), "metrics": {"clamp_force_kn": 800}}]
        sent = await send(node.client, edge, reading, key=child["username"])
        assert sent.json()["accepted"] == 1

        await node.graphql(STATUS, {"id": edge["device"]["id"], "t": "SUSPEND"}, headers=operator)
        later = [{"ts": now_ms() + 1, "metrics": {"clamp_force_kn": 801}}]
        refused = await send(node.client, edge, later, key=child["username"])
        assert refused.status_code == 403
        # Nor can its devices go around it while it is suspended.
        around = (await send(node.client, child, later)).json()
        assert (around["accepted"], around["problems"][0]["reason"]) == (0, "edge_node_suspended")
        start, end = iso(now_ms() - 60_000), iso(now_ms() + 60_000)
        stored = await node.graphql(
            SERIES,
            {
                "id": child["device"]["id"],
                "metric": "clamp_force_kn",
                "start": start,
                "end": end,
                "res": "RAW",
            },
            headers=operator,
        )
        assert [p["value"] for p in stored["telemetry"]["points"]] == [800.0]


async def test_hostile_text_is_kept_as_a_dead_letter_without_blocking_ingest(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        t = now_ms()
        readings = [
            {"ts": t, "metrics": {"bad\u0000name": 1, "clamp_force_kn": 800}},
            {"ts": t + 1, "metrics": {"x" * 5000: 2}},
        ]
        response = await send(node.client, device, readings)
        assert response.status_code == 200, response.text
        assert (response.json()["accepted"], response.json()["rejected"]) == (1, 2)
        letters = await node.graphql(DEAD, {"reason": "unknown_metric"}, headers=operator)
        (letter,) = letters["deadLetters"]["edges"]
        assert "\x00" not in letter["node"]["detail"]
        # The node goes on ingesting.
        assert (
            await send(node.client, device, [{"ts": t + 2, "metrics": {"clamp_force_kn": 1}}])
        ).json()["accepted"] == 1


async def test_a_retried_batch_does_not_reopen_a_closed_alert(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        await node.graphql(
            RULE,
            {
                "input": {
                    "name": "Clamp force high",
                    "kind": "THRESHOLD",
                    "metric": "clamp_force_kn",
                    "deviceId": device["device"]["id"],
                    "above": 900,
                }
            },
            headers=operator,
        )
        batch = [{"ts": now_ms() - 1000, "metrics": {"clamp_force_kn": 950}}]
        await send(node.client, device, batch)
        (alert,) = (await node.graphql(ALERTS, {"id": factory["id"]}, headers=operator))["factory"][
            "alerts"
        ]["edges"]
        await node.graphql(
            'mutation($id: UUID!) { closeAlert(id: $id, note: "checked the mould") { status } }',
            {"id": alert["node"]["id"]},
            headers=operator,
        )
        # The gateway did not hear back and sends the same batch again.
        again = (await send(node.client, device, batch)).json()
        assert (again["accepted"], again["duplicates"]) == (0, 1)
        alerts = (await node.graphql(ALERTS, {"id": factory["id"]}, headers=operator))["factory"][
            "alerts"
        ]["edges"]
        assert [a["node"]["status"] for a in alerts] == ["CLOSED"]


async def test_the_node_keeps_its_own_broker_names(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, mqtt_username="zj-ingest") as node:
        operator = await operator_headers(hub, NODE_URL)
        factory = await active_factory(node.client, operator)
        for key in ("zj-ingest", "yunfab-node-zj-textile"):
            body = await node.graphql(
                "mutation($input: ProvisionDeviceInput!) "
                "{ provisionDevice(input: $input) { username } }",
                {
                    "input": {
                        "factoryId": factory["id"],
                        "key": key,
                        "name": "Impostor",
                        "type": "injection_moulding",
                    }
                },
                headers=operator,
                expect_errors=True,
            )
            assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
            assert "reserved" in body["errors"][0]["message"]
