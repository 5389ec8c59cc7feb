"""In-factory scheduling through the node's API: a schedule solved, a rush job inserted without
moving what has started, the two compared, the Gantt chart fetched as data and as pictures (with
a bearer token, or through a short-lived signed link a browser's <img> can use)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any
from urllib.parse import unquote

from regional_node.orders import chart_links
from regional_node.state import node_state
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, operator_headers
from tests.support import bearer, client_token, create_client

NODE_URL = "http://zj-textile.test"

TASKS = "tasks { job operation machine start end setup }"
SCHEDULE = f"""
mutation($factoryId: UUID!, $input: ShopInput!) {{
  scheduleFactory(factoryId: $factoryId, name: "Monday", input: $input, timeLimitS: 5,
                  start: "2026-03-02T00:00:00Z") {{
    id status makespan weightedLateness chartPath
    plan {{ start {TASKS} }}
    gantt {{
      start machines {{ id unavailable {{ start end kind }} tasks {{ job label startsAt }} }}
    }}
  }}
}}
"""
RUSH = f"""
mutation($id: UUID!, $job: ShopJobInput!, $now: Int!) {{
  insertRushJob(scheduleId: $id, job: $job, now: $now, name: "Monday + rush", timeLimitS: 5) {{
    id status chartPath plan {{ start {TASKS} }}
    png: chartUrl svg: chartUrl(format: SVG)
  }}
}}
"""
COMPARE = """
query($ids: [UUID!]!) {
  compareSchedules(ids: $ids) {
    scenarios { name status makespan lateJobs changes }
    jobs { id ends { scenario value } }
    best { metric scenarios }
  }
}
"""
LIST = """
query($factoryId: UUID!, $first: Int!, $after: String) {
  factorySchedules(factoryId: $factoryId, first: $first, after: $after) {
    totalCount edges { node { id name } } pageInfo { hasNextPage endCursor }
  }
}
"""


def _op(*options: tuple[str, int]) -> dict[str, Any]:
    return {"options": [{"machine": m, "minutes": t} for m, t in options]}


# Two looms on one day shift with a family change-over; three jobs.
SHOP: dict[str, Any] = {
    "machines": [
        {"id": "loom-1", "shifts": [{"start": 0, "end": 480}]},
        {"id": "loom-2", "shifts": [{"start": 0, "end": 480}],
         "downtime": [{"start": 60, "end": 120}]},
    ],
    "jobs": [
        {"id": "A", "family": "denim", "due": 200,
         "operations": [_op(("loom-1", 90), ("loom-2", 100))]},
        {"id": "B", "family": "poplin", "due": 300, "operations": [_op(("loom-1", 60))]},
        {"id": "C", "family": "denim", "due": 400, "weight": 2,
         "operations": [_op(("loom-2", 50)), _op(("loom-1", 40), ("loom-2", 40))]},
    ],
    "setups": [{"before": "denim", "after": "poplin", "minutes": 20},
               {"before": "poplin", "after": "denim", "minutes": 20}],
}  # fmt: skip


async def test_schedule_rush_insertion_comparison_and_gantt_export(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        factory = await active_factory(node.client, operator)
        first = (
            await node.graphql(
                SCHEDULE, {"factoryId": factory["id"], "input": SHOP}, headers=operator
            )
        )["scheduleFactory"]
        assert first["status"] in ("optimal", "feasible")
        assert first["weightedLateness"] == 0
        # Every task within the shift, none on loom-2 while it is down.
        for task in first["plan"]["tasks"]:
            assert task["start"] - task["setup"] >= 0
            assert task["end"] <= 480
            if task["machine"] == "loom-2":
                assert task["end"] <= 60 or task["start"] - task["setup"] >= 120
        machines = {m["id"]: m for m in first["gantt"]["machines"]}
        assert {"start": 60, "end": 120, "kind": "downtime"} in machines["loom-2"]["unavailable"]
        # Minute 0 is the start given: bars carry clock times, not only minutes.
        assert first["plan"]["start"].startswith("2026-03-02T00:00:00")
        starts = {t["job"]: t["startsAt"] for m in machines.values() for t in m["tasks"]}
        a_task = next(t for t in first["plan"]["tasks"] if t["job"] == "A")
        assert starts["A"].startswith(f"2026-03-02T{a_task['start'] // 60:02d}:")

        now = 30
        rush = {"id": "RUSH", "family": "poplin", "due": 160, "weight": 10,
                "operations": [_op(("loom-1", 45), ("loom-2", 45))]}  # fmt: skip
        second = (
            await node.graphql(RUSH, {"id": first["id"], "job": rush, "now": now}, headers=operator)
        )["insertRushJob"]
        assert second["status"] in ("optimal", "feasible")
        ends = {t["job"]: t["end"] for t in second["plan"]["tasks"]}
        # Loom-1 is busy with A until 90 and needs a 20-minute change-over: 155 is the earliest.
        assert ends["RUSH"] <= 160
        before = {(t["job"], t["operation"]): t for t in first["plan"]["tasks"]}
        for task in second["plan"]["tasks"]:
            old = before.get((task["job"], task["operation"]))
            if old is not None and old["start"] - old["setup"] < now:
                assert task == old  # started before the rush came in: untouched
            elif task["job"] == "RUSH" or old != task:
                assert task["start"] - task["setup"] >= now

        compared = (
            await node.graphql(COMPARE, {"ids": [first["id"], second["id"]]}, headers=operator)
        )["compareSchedules"]
        assert len(compared["scenarios"]) == 2
        assert {row["name"].split(" (")[0] for row in compared["scenarios"]} == {
            "Monday", "Monday + rush",
        }  # fmt: skip
        rush_ends = next(job for job in compared["jobs"] if job["id"] == "RUSH")["ends"]
        assert [e["value"] is None for e in rush_ends] == [True, False]  # only in the second
        assert {b["metric"] for b in compared["best"]} >= {"makespan"}

        # The factory's schedules, newest first, a page at a time, with the total.
        listed = (
            await node.graphql(LIST, {"factoryId": factory["id"], "first": 1}, headers=operator)
        )["factorySchedules"]
        assert listed["totalCount"] == 2
        assert [e["node"]["name"] for e in listed["edges"]] == ["Monday + rush"]
        cursor = listed["pageInfo"]["endCursor"]
        rest = (
            await node.graphql(
                LIST, {"factoryId": factory["id"], "first": 5, "after": cursor}, headers=operator
            )
        )["factorySchedules"]
        assert [e["node"]["name"] for e in rest["edges"]] == ["Monday"]

        # A browser's <img> sends no bearer header: the signed link opens the picture alone.
        linked = await node.client.get(second["png"])
        assert (linked.status_code, linked.headers["content-type"]) == (200, "image/png")
        svg_link = await node.client.get(second["svg"])
        assert svg_link.status_code == 200
        # In local time (the node's zone, Asia/Shanghai, where midnight UTC is 08:00), each bar
        # with a tooltip naming its job.
        assert re.search(
            rb"<title>RUSH \xc2\xb7 poplin \(operation 0\) on loom-\d: 03-02 (0[89]|1\d):\d\d to",
            svg_link.content,
        )
        # One character changed, or the link for another picture, is refused with the reason.
        path, _, query = second["png"].partition("?")
        fields = {k: unquote(v) for k, v in (part.split("=", 1) for part in query.split("&"))}
        forged = dict(fields, sig=("A" if fields["sig"][0] != "A" else "B") + fields["sig"][1:])
        tampered = await node.client.get(path, params=forged)
        assert (tampered.status_code, tampered.json()["error"]) == (403, "chart_link_refused")
        assert "signature" in tampered.json()["detail"]
        other_format = await node.client.get(path.replace(".png", ".svg"), params=fields)
        assert other_format.status_code == 403
        longer = dict(fields, expires=str(int(fields["expires"]) + 3600))
        assert (await node.client.get(path, params=longer)).status_code == 403
        # A link signed right but past its time (lifetimes are minutes) is refused as expired.
        key = node_state(node.app).settings.chart_link_key()
        stale = chart_links.new_link(
            uuid.UUID(second["id"]), "png", fields["sub"], ttl_s=60, now=time.time() - 120
        )
        expired = await node.client.get(chart_links.chart_url(key, stale))
        assert (expired.status_code, expired.json()["error"]) == (403, "chart_link_refused")
        assert "expired" in expired.json()["detail"]

        png = await node.client.get(f"{second['chartPath']}.png", headers=operator)
        assert png.status_code == 200
        assert png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG")
        svg = await node.client.get(f"{second['chartPath']}.svg", headers=operator)
        assert svg.status_code == 200
        assert b"<svg" in svg.content
        bad = await node.client.get(f"{second['chartPath']}.gif", headers=operator)
        assert bad.status_code == 422
        anonymous = await node.client.get(f"{second['chartPath']}.png")
        assert anonymous.status_code == 401
        # People of another factory see nothing of this one's schedules.
        client_id, secret = await create_client(
            hub, org="Another Mill", org_kind="factory", scopes=["factories:write"]
        )
        stranger = bearer(await client_token(hub, client_id, secret, "factories:write", NODE_URL))
        denied = await node.client.get(f"{second['chartPath']}.png", headers=stranger)
        assert (denied.status_code, denied.json()["error"]) == (404, "schedule_not_found")

        # Sizes are checked before the solver runs, for a rush job too: input comes as
        # variables, which the query's token limit does not count.
        huge_rush = {"id": "HUGE", "operations": [_op(("loom-1", 1))] * 2000}
        too_big = await node.graphql(
            RUSH, {"id": second["id"], "job": huge_rush, "now": now}, headers=operator,
            expect_errors=True,
        )  # fmt: skip
        assert too_big["errors"][0]["extensions"]["code"] == "SCHEDULE_INVALID"
        assert "operations" in too_big["errors"][0]["message"]
        crowded = dict(SHOP, machines=[{"id": f"m-{i}"} for i in range(1000)])
        too_many = await node.graphql(
            SCHEDULE, {"factoryId": factory["id"], "input": crowded}, headers=operator,
            expect_errors=True,
        )  # fmt: skip
        assert too_many["errors"][0]["extensions"]["code"] == "SCHEDULE_INVALID"
        assert "machines" in too_many["errors"][0]["message"]

        broken = dict(SHOP, jobs=[{"id": "X", "operations": [_op(("no-such-loom", 10))]}])
        refused = await node.graphql(
            SCHEDULE, {"factoryId": factory["id"], "input": broken}, headers=operator,
            expect_errors=True,
        )  # fmt: skip
        assert refused["errors"][0]["extensions"]["code"] == "SCHEDULE_INVALID"
        assert "no-such-loom" in refused["errors"][0]["message"]
