"""The node re-matches shared workers by itself when a side changes: a need and a worker that fit
are posted and a proposal appears without anyone calling `matchWorkers`; once accepted it stays
as it is when more needs and workers come and the matching runs again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.conftest import HubFactory, NodeFactory
from tests.support import eventually
from tests.test_workforce import (
    DECIDE,
    POST_NEED,
    POST_WORKERS,
    PROPOSALS,
    TODAY,
    factory_headers,
    need,
    worker,
)


async def test_a_need_and_a_worker_that_fit_are_proposed_without_asking(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, workforce_rematch_delay_s=0.05) as node,
    ):
        lender, _ = await factory_headers(hub, "Humen Knitwear Co")
        borrower, _ = await factory_headers(hub, "Dalang Garments Ltd")

        async def proposals(need_id: str) -> list[dict[str, Any]]:
            body = await node.graphql(PROPOSALS, {"need": need_id}, headers=borrower)
            return [e["node"] for e in body["workforceProposals"]["edges"]]

        posted = await node.graphql(
            POST_WORKERS, {"workers": [worker("sew-01", "Wang Fang")]}, headers=lender
        )
        assert posted["postWorkers"]["__typename"] == "PostWorkersSuccess", posted
        one = (
            await node.graphql(
                POST_NEED, {"input": need(headcount=[{"shift": "day", "workers": 1}])},
                headers=borrower,
            )
        )["postWorkforceNeed"]["need"]["id"]  # fmt: skip

        async def proposed(need_id: str) -> bool:
            return len(await proposals(need_id)) == 1

        await eventually(lambda: proposed(one))
        first = (await proposals(one))[0]
        assert first["pseudonym"] == "sew-01"
        assert first["status"] == "PROPOSED"
        assert len(first["days"]) == 3
        for party in ("EMPLOYER", "WORKER"):
            decided = await node.graphql(
                DECIDE, {"id": first["id"], "party": party, "accept": True}, headers=lender
            )
            assert decided["decideWorkforceProposal"]["__typename"] == (
                "DecideWorkforceProposalSuccess"
            )

        # A second need on other days and a second worker: the node matches again by itself,
        # and the accepted proposal keeps its id, days and status.
        later = TODAY + dt.timedelta(days=10)
        two = (
            await node.graphql(
                POST_NEED,
                {"input": need(
                    title="Second line", headcount=[{"shift": "day", "workers": 1}],
                    firstDay=later.isoformat(), lastDay=(later + dt.timedelta(days=1)).isoformat(),
                )},
                headers=borrower,
            )
        )["postWorkforceNeed"]["need"]["id"]  # fmt: skip
        await node.graphql(
            POST_WORKERS, {"workers": [worker("sew-02", "Zhang Min")]}, headers=lender
        )
        await eventually(lambda: proposed(two))
        assert (await proposals(one)) == [{**first, "status": "ACCEPTED"}]
