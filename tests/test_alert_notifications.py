"""Alerts operators can live with (#16): `for` and hysteresis on a noisy signal, escalation,
silences, contact points of every kind delivered through the outbox to local receivers (an HTTP
server and an SMTP server this test starts; never a real messenger), retries and the delivery
log, and who sees which alerts and contact points."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import math
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from regional_node.alerts.channels import check_url
from regional_node.alerts.errors import UnsafeDestination
from regional_node.alerts.models import AlertSilence, ContactKind
from regional_node.alerts.notifications import silence_holds
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, with_device
from tests.support import bearer, client_token, create_client, eventually
from tests.test_ingest import send
from yunfab.processes import free_port

NODE_URL = "http://zj-textile.test"
RULE = "mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { id } }"
CREATE_POINT = """
mutation($input: NewContactPointInput!) {
  createContactPoint(input: $input) { secret contactPoint { id target hasSecret kind } }
}
"""
TEST_POINT = """
mutation($id: UUID!) { testContactPoint(id: $id) { ok statusCode error } }
"""
ALERTS = """
query($filter: AlertFilter) {
  alerts(filter: $filter, first: 100) { totalCount edges { node { id status severity ruleId } } }
}
"""
NOTIFICATIONS = """
query($alert: UUID, $point: UUID, $status: AlertNotificationStatus) {
  alertNotifications(alertId: $alert, contactPointId: $point, status: $status) {
    totalCount
    edges { node { event status attempts contactPointId deliveries { ok statusCode error } } }
  }
}
"""


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 standing in for webhooks and the messengers' robots."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)

    def at(self, path: str) -> list[Received]:
        return [request for request in self.requests if request.path == path]


@contextmanager
def serving(port: int = 0) -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            state.hits[parts.path] = state.hits.get(parts.path, 0) + 1
            state.requests.append(
                Received(parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
            )
            status, answer = 200, {"errcode": 0, "code": 0}
            if parts.path == "/flaky":
                # Each notification fails twice, then gets through.
                notification = json.loads(body)["alert"]["notification_id"]
                state.hits[notification] = state.hits.get(notification, 0) + 1
                status = 503 if state.hits[notification] <= 2 else 200
            if parts.path == "/down":
                status = 500
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(answer).encode())

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as state:
        yield state


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def noisy(start_ms: int, seed: int) -> list[dict[str, Any]]:
    """Six minutes of a mould temperature cycling around 100 °C each minute, with noise."""
    rng = random.Random(seed)
    return [
        {
            "ts": start_ms + i * 1000,
            "metrics": {
                "mould_temp_c": 100 + 8 * math.sin(2 * math.pi * i / 60) + rng.uniform(-4, 4)
            },
        }  # fmt: skip
        for i in range(360)
    ]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_for_and_hysteresis_keep_a_noisy_signal_from_flapping(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, _, device = await with_device(hub, node, NODE_URL)
        rule = {"kind": "THRESHOLD", "metric": "mould_temp_c", "above": 100,
                "deviceId": device["device"]["id"]}  # fmt: skip
        bare = await node.graphql(RULE, {"input": {**rule, "name": "bare"}}, headers=operator)
        steady = await node.graphql(
            RULE,
            {"input": {**rule, "name": "steady", "forS": 5, "clearAbove": 95, "clearForS": 3}},
            headers=operator,
        )
        for wrong, words in (
            ({"clearAbove": 105}, "clearAbove: with `above`, at or below it"),
            ({"escalateAbove": 120, "escalateTo": "INFO"}, "escalateTo: a severity above"),
            ({"forS": -1}, "forS: 0 to 86400 seconds"),
        ):
            body = await node.graphql(
                RULE, {"input": {**rule, "name": "wrong", **wrong}}, headers=operator,
                expect_errors=True,
            )  # fmt: skip
            (error,) = body["errors"]
            assert error["extensions"]["code"] == "INVALID_INPUT"
            assert error["message"].startswith(words)
        accepted = await send(node.client, device, noisy(int(time.time() * 1000) - 400_000, 2026))
        assert accepted.json()["accepted"] == 360, accepted.text

        async def opened(rule_id: str) -> int:
            data = await node.graphql(ALERTS, {"filter": {"ruleId": rule_id}}, headers=operator)
            count: int = data["alerts"]["totalCount"]
            return count

        flapping = await opened(bare["createAlertRule"]["id"])
        held = await opened(steady["createAlertRule"]["id"])
        # Six cycles: at most one alert each with `for` and a clear level, against an open and
        # a close at nearly every crossing of the noise without them.
        assert 1 <= held <= 6
        assert flapping >= 15
        assert flapping >= 3 * held


def _webhook_signed(request: Received, secret: str) -> bool:
    stamp = request.headers["X-Yunfab-Timestamp"]
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + request.body, hashlib.sha256)
    return hmac.compare_digest(
        request.headers["X-Yunfab-Signature"], "sha256=" + expected.hexdigest()
    )


def _dingtalk_signed(request: Received, secret: str) -> bool:
    stamp = request.query["timestamp"][0]
    digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    return request.query["sign"][0] == base64.b64encode(digest).decode()


def _feishu_signed(body: dict[str, Any], secret: str) -> bool:
    digest = hmac.new(f"{body['timestamp']}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return bool(body["sign"] == base64.b64encode(digest).decode())


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_notifications_reach_every_kind_of_contact_point_signed_and_retried(
    hub_factory: HubFactory,
    node_factory: NodeFactory,
    receiver: Receiver,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, smtp_port = mailbox
    settings = {
        "alert_retry_initial_s": 0.05, "alert_retry_max_s": 0.1, "alert_delivery_max_attempts": 3,
        "alert_smtp_host": "127.0.0.1", "alert_smtp_port": smtp_port,
        "alert_smtp_starttls": False, "alert_smtp_from": "alerts@zj-textile.test",
    }  # fmt: skip
    async with hub_factory() as hub, node_factory(hub=hub, **settings) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)

        async def point(kind: str, **fields: Any) -> dict[str, Any]:
            made = await node.graphql(
                CREATE_POINT,
                {"input": {"kind": kind, "name": kind.lower(), "factoryId": factory["id"],
                           **fields}},
                headers=operator,
            )  # fmt: skip
            result: dict[str, Any] = made["createContactPoint"]
            return result

        hook = await point("WEBHOOK", url=f"{receiver.url}/hook")
        wecom = await point("WECOM", url=f"{receiver.url}/wecom?key=robot-token")
        ding = await point("DINGTALK", url=f"{receiver.url}/ding?access_token=t",
                           secret="SEC-ding-secret")  # fmt: skip
        feishu = await point("FEISHU", url=f"{receiver.url}/feishu", secret="feishu-secret")
        flaky = await point("WEBHOOK", url=f"{receiver.url}/flaky", isDefault=True)
        down = await point("WEBHOOK", url=f"{receiver.url}/down", isDefault=True)
        mail = await point("EMAIL", recipients=["shift-lead@zj-textile.test"])
        # The webhook's secret is shown once; robot tokens are never shown.
        assert len(hook["secret"]) >= 32
        assert wecom["secret"] is None
        assert wecom["contactPoint"]["target"] == receiver.url
        listed = await node.graphql(
            "query($f: UUID) { contactPoints(factoryId: $f) { totalCount edges { node { target } } } }",  # noqa: E501
            {"f": factory["id"]},
            headers=operator,
        )
        assert listed["contactPoints"]["totalCount"] == 7
        assert "robot-token" not in json.dumps(listed)
        assert hook["secret"] not in json.dumps(listed)

        ids = [p["contactPoint"]["id"] for p in (hook, wecom, ding, feishu, mail)]
        clamp = {
            "kind": "THRESHOLD",
            "metric": "clamp_force_kn",
            "deviceId": device["device"]["id"],
        }
        loud = await node.graphql(
            RULE,
            {"input": {**clamp, "name": "Clamp force high", "above": 900, "escalateAbove": 1500,
                       "contactPointIds": ids}},
            headers=operator,
        )  # fmt: skip
        # No contact point named: the factory's default (the flaky receiver).
        await node.graphql(RULE, {"input": {**clamp, "name": "Clamp low", "below": 100}},
                           headers=operator)  # fmt: skip
        start = int(time.time() * 1000) - 10_000
        values = [950, 1600, 800, 50, 500]
        readings = [{"ts": start + i * 1000, "metrics": {"clamp_force_kn": v}}
                    for i, v in enumerate(values)]  # fmt: skip
        assert (await send(node.client, device, readings)).json()["accepted"] == 5

        alerts = (await node.graphql(ALERTS, {}, headers=operator))["alerts"]["edges"]
        by_rule = {edge["node"]["ruleId"]: edge["node"] for edge in alerts}
        alert = by_rule[loud["createAlertRule"]["id"]]
        assert (alert["status"], alert["severity"]) == ("CLOSED", "CRITICAL")

        async def settled() -> bool:
            data = await node.graphql(NOTIFICATIONS, {"alert": alert["id"]}, headers=operator)
            rows = [edge["node"] for edge in data["alertNotifications"]["edges"]]
            return len(rows) == 15 and all(row["status"] == "DELIVERED" for row in rows)

        await eventually(settled, timeout_s=20)
        # opened, escalated, closed at each of the five
        hooks = receiver.at("/hook")
        assert [json.loads(r.body)["event"] for r in hooks] == ["opened", "escalated", "closed"]
        assert all(_webhook_signed(r, hook["secret"]) for r in hooks)
        opened = json.loads(hooks[0].body)
        assert opened["link"] == f"{NODE_URL}/alerts/{alert['id']}"
        assert opened["alert"]["device"] == device["device"]["key"]
        assert opened["alert"]["value"] == 950

        (first_wecom, *_) = receiver.at("/wecom")
        assert first_wecom.query["key"] == ["robot-token"]
        content = json.loads(first_wecom.body)["markdown"]["content"]
        assert json.loads(first_wecom.body)["msgtype"] == "markdown"
        for expected in (device["device"]["key"], f"Factory {factory['slug']}", "950",
                         "(Asia/Shanghai)", f"{NODE_URL}/alerts/{alert['id']}"):  # fmt: skip
            assert expected in content
        dings = receiver.at("/ding")
        assert json.loads(dings[0].body)["markdown"]["title"].startswith("[WARNING]")
        assert all(_dingtalk_signed(r, "SEC-ding-secret") for r in dings)
        feishus = [json.loads(r.body) for r in receiver.at("/feishu")]
        assert all(_feishu_signed(body, "feishu-secret") for body in feishus)
        assert feishus[0]["msg_type"] == "text"
        assert "950" in feishus[0]["content"]["text"]
        mails = [message_from_bytes(raw) for raw in box.messages]
        assert [m["To"] for m in mails] == ["shift-lead@zj-textile.test"] * 3
        assert "Clamp force high" in str(mails[0]["Subject"])

        # Two defaults: one failed twice, then took it; the other failed every attempt.
        low = by_rule[next(r for r in by_rule if r != loud["createAlertRule"]["id"])]

        async def retried() -> list[dict[str, Any]]:
            data = await node.graphql(NOTIFICATIONS, {"alert": low["id"]}, headers=operator)
            return [edge["node"] for edge in data["alertNotifications"]["edges"]]

        async def done() -> bool:
            return all(row["status"] in ("DELIVERED", "FAILED") for row in await retried())

        await eventually(done, timeout_s=20)
        rows = {(row["contactPointId"], row["event"]): row for row in await retried()}
        assert len(rows) == 4
        first = rows[(flaky["contactPoint"]["id"], "OPENED")]
        assert (first["status"], first["attempts"]) == ("DELIVERED", 3)
        assert [d["statusCode"] for d in first["deliveries"]] == [503, 503, 200]
        given_up = rows[(down["contactPoint"]["id"], "CLOSED")]
        assert (given_up["status"], given_up["attempts"]) == ("FAILED", 3)
        assert [d["statusCode"] for d in given_up["deliveries"]] == [500, 500, 500]

        # A test message: the outcome now, and in the contact point's log.
        tested = await node.graphql(TEST_POINT, {"id": down["contactPoint"]["id"]},
                                    headers=operator)  # fmt: skip
        outcome = tested["testContactPoint"]
        assert (outcome["ok"], outcome["statusCode"]) == (False, 500)
        assert "HTTP 500" in tested["testContactPoint"]["error"]
        logged = await node.graphql(
            NOTIFICATIONS, {"point": down["contactPoint"]["id"], "status": "FAILED"},
            headers=operator,
        )  # fmt: skip
        assert logged["alertNotifications"]["totalCount"] == 3  # opened, closed and the test
        mailed = await node.graphql(
            TEST_POINT, {"id": mail["contactPoint"]["id"]}, headers=operator
        )
        assert mailed["testContactPoint"]["ok"], mailed
        assert len(box.messages) == 4


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_notifications_owed_when_the_node_stops_are_sent_after_it_restarts(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    port = free_port()
    quick = {"alert_retry_initial_s": 0.2, "alert_retry_max_s": 0.5,
             "alert_delivery_max_attempts": 20}  # fmt: skip
    async with hub_factory() as hub:
        async with node_factory(hub=hub, **quick) as node:
            operator, factory, device = await with_device(hub, node, NODE_URL)
            made = await node.graphql(
                CREATE_POINT,
                {"input": {"kind": "WEBHOOK", "name": "line", "factoryId": factory["id"],
                           "url": f"http://127.0.0.1:{port}/hook", "isDefault": True}},
                headers=operator,
            )  # fmt: skip
            await node.graphql(
                RULE,
                {"input": {"name": "Clamp force high", "kind": "THRESHOLD",
                           "metric": "clamp_force_kn", "above": 900,
                           "deviceId": device["device"]["id"]}},
                headers=operator,
            )  # fmt: skip
            reading = {"ts": int(time.time() * 1000) - 1000, "metrics": {"clamp_force_kn": 950}}
            await send(node.client, device, [reading])
            point = {"point": made["createContactPoint"]["contactPoint"]["id"]}

            async def tried() -> bool:
                data = await node.graphql(NOTIFICATIONS, point, headers=operator)
                (edge,) = data["alertNotifications"]["edges"]
                return bool(edge["node"]["attempts"] >= 1)

            await eventually(tried)  # nobody listens yet: refused, to be retried
        # The node stopped owing it; the receiver comes up, then the node again.
        with serving(port) as receiver:
            async with node_factory(hub=hub, **quick) as node:

                async def delivered() -> bool:
                    data = await node.graphql(NOTIFICATIONS, point, headers=operator)
                    (edge,) = data["alertNotifications"]["edges"]
                    return bool(edge["node"]["status"] == "DELIVERED")

                await eventually(delivered, timeout_s=20)
        (request,) = receiver.at("/hook")
        assert json.loads(request.body)["event"] == "opened"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_silenced_rule_records_its_alerts_but_sends_nothing(
    hub_factory: HubFactory, node_factory: NodeFactory, receiver: Receiver
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        made = await node.graphql(
            CREATE_POINT,
            {"input": {"kind": "WEBHOOK", "name": "line", "factoryId": factory["id"],
                       "url": f"{receiver.url}/hook", "isDefault": True}},
            headers=operator,
        )  # fmt: skip
        point_id = made["createContactPoint"]["contactPoint"]["id"]
        rule = await node.graphql(
            RULE,
            {"input": {"name": "Clamp force high", "kind": "THRESHOLD", "metric": "clamp_force_kn",
                       "above": 900, "deviceId": device["device"]["id"]}},
            headers=operator,
        )  # fmt: skip
        rule_id = rule["createAlertRule"]["id"]
        now = time.time()
        silence = await node.graphql(
            """mutation($input: AlertSilenceInput!) { addAlertSilence(input: $input) { id } }""",
            {"input": {"ruleId": rule_id, "comment": "mould change",
                       "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)),
                       "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))}},
            headers=operator,
        )  # fmt: skip
        listed = await node.graphql(
            "query($f: UUID) { alertRules(factoryId: $f) { totalCount edges { node {"
            " id contactPointIds silences { id comment } } } } }",
            {"f": factory["id"]},
            headers=operator,
        )
        (listed_rule,) = [edge["node"] for edge in listed["alertRules"]["edges"]]
        assert listed_rule == {"id": rule_id, "contactPointIds": [], "silences": [
            {"id": silence["addAlertSilence"]["id"], "comment": "mould change"}]}  # fmt: skip
        start = int(now * 1000) - 5000
        readings = [{"ts": start + i * 1000, "metrics": {"clamp_force_kn": v}}
                    for i, v in enumerate([950, 800])]  # fmt: skip
        await send(node.client, device, readings)

        (edge,) = (await node.graphql(ALERTS, {"filter": {"ruleId": rule_id}}, headers=operator))[
            "alerts"
        ]["edges"]
        assert edge["node"]["status"] == "CLOSED"
        logged = await node.graphql(NOTIFICATIONS, {"alert": edge["node"]["id"]}, headers=operator)
        rows = [e["node"] for e in logged["alertNotifications"]["edges"]]
        assert sorted((r["event"], r["status"], r["attempts"]) for r in rows) == [
            ("CLOSED", "SILENCED", 0),
            ("OPENED", "SILENCED", 0),
        ]
        # Nothing was sent: a test message is the receiver's first request.
        tested = await node.graphql(TEST_POINT, {"id": point_id}, headers=operator)
        assert tested["testContactPoint"]["ok"]
        assert [json.loads(r.body)["event"] for r in receiver.requests] == ["test"]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_others_alerts_and_contact_points_answer_as_ones_not_on_the_node(
    hub_factory: HubFactory, node_factory: NodeFactory, receiver: Receiver
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        client_id, secret = await create_client(
            hub, org="Ningbo Brackets", org_kind="factory", scopes=["devices:write"]
        )
        org = (
            await hub.graphql(
                "{ viewer { organizationId } }",
                headers=bearer(await client_token(hub, client_id, secret, "devices:write")),
            )
        )["viewer"]["organizationId"]
        own = await active_factory(node.client, operator, organization_id=org)
        staff = bearer(await client_token(hub, client_id, secret, "devices:write", NODE_URL))
        theirs = await node.graphql(
            CREATE_POINT,
            {"input": {"kind": "WEBHOOK", "name": "mine", "factoryId": own["id"],
                       "url": f"{receiver.url}/hook"}},
            headers=staff,
        )  # fmt: skip
        assert theirs["createContactPoint"]["secret"]
        other = await node.graphql(
            CREATE_POINT,
            {"input": {"kind": "WEBHOOK", "name": "other", "factoryId": factory["id"],
                       "url": f"{receiver.url}/hook"}},
            headers=operator,
        )  # fmt: skip
        await node.graphql(
            RULE,
            {"input": {"name": "Clamp force high", "kind": "THRESHOLD", "metric": "clamp_force_kn",
                       "above": 900, "escalateAfterS": 30, "deviceId": device["device"]["id"]}},
            headers=operator,
        )  # fmt: skip
        now_ms = int(time.time() * 1000)
        readings = [{"ts": now_ms - ago, "metrics": {"clamp_force_kn": 950}}
                    for ago in (40_000, 1000)]  # fmt: skip
        await send(node.client, device, readings)
        everything = await node.graphql(ALERTS, {"filter": {"severity": ["CRITICAL"]}},
                                        headers=operator)  # fmt: skip
        (edge,) = everything["alerts"]["edges"]  # escalated after 30 s open
        acknowledged = await node.graphql(
            "mutation($id: UUID!) { acknowledgeAlert(id: $id, note: "
            '"金工 on it") { status acknowledgeNote escalatedAt } }',
            {"id": edge["node"]["id"]},
            headers=operator,
        )
        assert acknowledged["acknowledgeAlert"]["status"] == "ACKNOWLEDGED"
        assert acknowledged["acknowledgeAlert"]["acknowledgeNote"] == "金工 on it"
        assert acknowledged["acknowledgeAlert"]["escalatedAt"] is not None
        mine = await node.graphql(ALERTS, {}, headers=staff)
        assert mine["alerts"]["totalCount"] == 0

        async def code(query: str, variables: dict[str, Any]) -> str:
            body = await node.graphql(query, variables, headers=staff, expect_errors=True)
            (error,) = body["errors"]
            return str(error["extensions"]["code"])

        alert_query = "query($id: UUID!) { alert(id: $id) { id } }"
        assert await code(alert_query, {"id": edge["node"]["id"]}) == "ALERT_NOT_FOUND"
        other_id = other["createContactPoint"]["contactPoint"]["id"]
        for query, variables in (
            (TEST_POINT, {"id": other_id}),
            ("mutation($id: UUID!) { deleteContactPoint(id: $id) }", {"id": other_id}),
            (NOTIFICATIONS, {"point": other_id}),
            (NOTIFICATIONS, {"alert": edge["node"]["id"]}),
        ):
            assert await code(query, variables) in ("CONTACT_POINT_NOT_FOUND", "ALERT_NOT_FOUND")
        assert await code(NOTIFICATIONS, {"point": other_id}) == "CONTACT_POINT_NOT_FOUND"
        # Node-wide contact points are the operator's.
        node_wide = {"input": {"kind": "WEBHOOK", "name": "node", "url": f"{receiver.url}/hook"}}
        assert await code(CREATE_POINT, node_wide) == "FORBIDDEN"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://hooks.example.cn/alerts", ContactKind.WEBHOOK),
        ("https://127.0.0.1/alerts", ContactKind.WEBHOOK),
        ("https://10.1.2.3/alerts", ContactKind.WEBHOOK),
        ("https://169.254.169.254/latest/meta-data", ContactKind.WEBHOOK),
        ("https://[::1]/alerts", ContactKind.WEBHOOK),
        ("https://user:pw@hooks.example.cn/alerts", ContactKind.WEBHOOK),
        ("https://evil.example.cn/robot/send?access_token=t", ContactKind.DINGTALK),
    ],
)
async def test_outside_development_webhooks_go_only_to_public_https_hosts(
    url: str, kind: ContactKind
) -> None:
    with pytest.raises(UnsafeDestination):
        await check_url(url, kind, development=False)


def test_daily_silences_follow_the_node_zone_and_may_run_over_midnight() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    night = AlertSilence(daily_from="22:00", daily_to="06:00")
    lunch = AlertSilence(
        daily_from="12:00", daily_to="13:00", ends_at=dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    )

    def at(hour: int, minute: int = 0, day: int = 6) -> dt.datetime:
        return dt.datetime(2026, 12, day, hour, minute, tzinfo=zone).astimezone(dt.UTC)

    assert [silence_holds(night, at(h), zone) for h in (21, 22, 23, 0, 5, 6, 12)] == [
        False, True, True, True, True, False, False,
    ]  # fmt: skip
    assert silence_holds(lunch, at(12, 30), zone)
    assert not silence_holds(lunch, at(13), zone)
    assert not silence_holds(lunch, at(12, 30, day=7), zone)  # the one-off end has passed
