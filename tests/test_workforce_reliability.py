"""Borrowed workers' ratings of a factory feed its evaluation's reliability, only in aggregate:
with fewer than three ratings the score has no value and says why; from three on it is their
mean, and no single rating, rater or comment shows through the evaluation. So does the
factory's attendance record as a lender and as a borrower: worker-days absent against
worker-days agreed, from three assignments on, as totals only."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, operator_headers
from tests.test_workforce import (
    DECIDE,
    MATCH,
    NODE_URL,
    POST_NEED,
    POST_WORKERS,
    PROPOSALS,
    TODAY,
    factory_headers,
    need,
    worker,
)

EVALUATION = """
query($id: UUID!) {
  factory(id: $id) { evaluation { scores { name value explanation inputs { name value } } } }
}
"""
RATE = """
mutation($id: UUID!, $score: Int!, $comment: String) {
  rateWorkforceAssignment(proposalId: $id, side: WORKER_RATES_FACTORY, score: $score,
                          comment: $comment) {
    __typename ... on WorkforceError { code message }
  }
}
"""


async def test_ratings_feed_reliability_only_in_aggregate(
    hub_factory: HubFactory, node_factory: NodeFactory, node_db_url: str
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, workforce_rematch=False) as node:
        operator = await operator_headers(hub, NODE_URL)
        lender, _ = await factory_headers(hub, "Humen Knitwear Co")
        borrower, borrower_org = await factory_headers(hub, "Dalang Garments Ltd")
        factory = await active_factory(node.client, operator, organization_id=borrower_org)

        async def reliability() -> dict[str, Any]:
            body = await node.graphql(EVALUATION, {"id": factory["id"]}, headers=operator)
            scores = {s["name"]: s for s in body["factory"]["evaluation"]["scores"]}
            return scores["reliability"]

        empty = await reliability()
        assert empty["value"] is None
        assert "Fewer than 3 ratings" in empty["explanation"]

        workers = [worker(f"sew-{n}", f"Worker {n}") for n in range(3)]
        posted = (await node.graphql(POST_WORKERS, {"workers": workers}, headers=lender))[
            "postWorkers"
        ]
        assert posted["__typename"] == "PostWorkersSuccess", posted
        made = (
            await node.graphql(
                POST_NEED, {"input": need(headcount=[{"shift": "day", "workers": 3}])},
                headers=borrower,
            )
        )["postWorkforceNeed"]  # fmt: skip
        assert made["__typename"] == "PostWorkforceNeedSuccess", made
        run = (await node.graphql(MATCH, headers=operator))["matchWorkers"]["run"]
        assert run["covered"] == 9
        proposals = (await node.graphql(PROPOSALS, {"need": made["need"]["id"]}, headers=lender))[
            "workforceProposals"
        ]["edges"]
        ids = [e["node"]["id"] for e in proposals]
        assert len(ids) == 3
        for proposal in ids:
            for party in ("EMPLOYER", "WORKER"):
                decided = await node.graphql(
                    DECIDE, {"id": proposal, "party": party, "accept": True}, headers=lender
                )
                assert decided["decideWorkforceProposal"]["__typename"] == (
                    "DecideWorkforceProposalSuccess"
                )

        # Ratings open after an assignment's last day, and these start tomorrow. The API has no
        # clock to set, so the accepted assignments are moved into the past in the database, as
        # if they had been worked; everything after goes through GraphQL again.
        engine = create_async_engine(node_db_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "UPDATE workforce_proposals SET first_day = :first, last_day = :last "
                        "WHERE status = 'accepted'"
                    ),
                    {
                        "first": TODAY - dt.timedelta(days=10),
                        "last": TODAY - dt.timedelta(days=8),
                    },
                )
        finally:
            await engine.dispose()

        for proposal, score in zip(ids[:2], (5, 4), strict=True):
            rated = await node.graphql(
                RATE, {"id": proposal, "score": score, "comment": "Dorm was cold"}, headers=lender
            )
            assert rated["rateWorkforceAssignment"]["__typename"] == (
                "RateWorkforceAssignmentSuccess"
            ), rated
        # Two ratings: no value, no count, no mean (either would show a single worker's).
        two = await reliability()
        assert two["value"] is None
        assert two["inputs"] == []

        rated = await node.graphql(RATE, {"id": ids[2], "score": 3}, headers=lender)
        assert rated["rateWorkforceAssignment"]["__typename"] == "RateWorkforceAssignmentSuccess"
        three = await reliability()
        # Mean 4 of 5: 75 on a 0-100 scale.
        assert three["value"] == 75.0
        assert {i["name"]: i["value"] for i in three["inputs"]} == {
            "worker_ratings": 3,
            "mean_worker_rating": 4.0,
        }
        assert "Dorm" not in str(three)


ATTEND = """
mutation($id: UUID!, $day: Date!, $present: Boolean!, $hours: Float!) {
  recordWorkforceAttendance(proposalId: $id, day: $day, present: $present, hours: $hours) {
    __typename ... on WorkforceError { code message }
  }
}
"""


async def test_attendance_feeds_reliability_for_lender_and_borrower_in_aggregate(
    hub_factory: HubFactory, node_factory: NodeFactory, node_db_url: str
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, workforce_rematch=False) as node:
        operator = await operator_headers(hub, NODE_URL)
        lender, lender_org = await factory_headers(hub, "Humen Knitwear Co")
        borrower, borrower_org = await factory_headers(hub, "Dalang Garments Ltd")
        borrowing = await active_factory(node.client, operator, organization_id=borrower_org)
        lending = await active_factory(node.client, operator, organization_id=lender_org)

        async def reliability(factory: dict[str, Any]) -> dict[str, Any]:
            body = await node.graphql(EVALUATION, {"id": factory["id"]}, headers=operator)
            scores = {s["name"]: s for s in body["factory"]["evaluation"]["scores"]}
            return scores["reliability"]

        posted = await node.graphql(
            POST_WORKERS, {"workers": [worker(f"sew-{n}", f"Worker {n}") for n in range(3)]},
            headers=lender,
        )  # fmt: skip
        assert posted["postWorkers"]["__typename"] == "PostWorkersSuccess", posted
        made = (
            await node.graphql(
                POST_NEED, {"input": need(headcount=[{"shift": "day", "workers": 3}])},
                headers=borrower,
            )
        )["postWorkforceNeed"]  # fmt: skip
        run = (await node.graphql(MATCH, headers=operator))["matchWorkers"]["run"]
        assert run["covered"] == 9
        proposals = (await node.graphql(PROPOSALS, {"need": made["need"]["id"]}, headers=lender))[
            "workforceProposals"
        ]["edges"]
        ids = [e["node"]["id"] for e in proposals]
        for proposal in ids:
            for party in ("EMPLOYER", "WORKER"):
                decided = await node.graphql(
                    DECIDE, {"id": proposal, "party": party, "accept": True}, headers=lender
                )
                assert decided["decideWorkforceProposal"]["__typename"] == (
                    "DecideWorkforceProposalSuccess"
                )
        # Agreed but not yet worked: no record to speak of.
        assert (await reliability(borrowing))["value"] is None

        # The API has no clock to set: the three assignments (three days each) are moved ten
        # days into the past in the database, as if worked; attendance goes through GraphQL.
        past = [TODAY - dt.timedelta(days=10 - n) for n in range(3)]
        days = json.dumps([[day.isoformat(), "day"] for day in past])
        engine = create_async_engine(node_db_url)
        try:
            async with engine.begin() as connection:
                value = "CAST(:days AS JSON)" if engine.dialect.name == "postgresql" else ":days"
                await connection.execute(
                    text(
                        f"UPDATE workforce_proposals SET days = {value}, first_day = :first, "
                        "last_day = :last WHERE status = 'accepted'"
                    ),
                    {"days": days, "first": past[0], "last": past[-1]},
                )
        finally:
            await engine.dispose()
        # Two of the nine worker-days agreed were missed, by two different workers.
        for proposal, day in ((ids[0], past[1]), (ids[1], past[2])):
            absent = await node.graphql(
                ATTEND, {"id": proposal, "day": day.isoformat(), "present": False, "hours": 0},
                headers=borrower,
            )  # fmt: skip
            assert absent["recordWorkforceAttendance"]["__typename"] == (
                "RecordWorkforceAttendanceSuccess"
            ), absent
        present = await node.graphql(
            ATTEND, {"id": ids[2], "day": past[0].isoformat(), "present": True, "hours": 8},
            headers=borrower,
        )  # fmt: skip
        assert present["recordWorkforceAttendance"]["__typename"] == (
            "RecordWorkforceAttendanceSuccess"
        )

        as_borrower = await reliability(borrowing)
        assert as_borrower["value"] == round(100 * (1 - 2 / 9), 1)
        assert {i["name"]: i["value"] for i in as_borrower["inputs"]} == {
            "days_agreed_as_borrower": 9,
            "days_absent_as_borrower": 2,
        }
        assert "attendance record in 3 shared-worker assignments" in as_borrower["explanation"]
        as_lender = await reliability(lending)
        assert as_lender["value"] == round(100 * (1 - 2 / 9), 1)
        assert {i["name"]: i["value"] for i in as_lender["inputs"]} == {
            "days_agreed_as_lender": 9,
            "days_absent_as_lender": 2,
        }
        # Only totals: no worker, pseudonym or day shows through the evaluation.
        shown = str(as_borrower) + str(as_lender)
        assert "sew-" not in shown
        assert all(day.isoformat() not in shown for day in past)
