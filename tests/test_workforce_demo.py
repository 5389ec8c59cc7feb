"""The demo's shared-workers scenario (yunfab_demo.shared_workers) played against a node on a
loopback port: the weaving factory's peak-season lines filled with the knitwear maker's idle
operators, consent through staff and a link, contacts released only for the accepted."""

from __future__ import annotations

import asyncio

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import operator_headers
from tests.support import served
from tests.test_cli_tasks import SQLITE
from tests.test_workforce import NODE_URL, audit, factory_headers
from yunfab.processes import free_port
from yunfab_demo import shared_workers


def _token(headers: dict[str, str]) -> str:
    return headers["authorization"].removeprefix("Bearer ")


@SQLITE
async def test_the_textile_node_borrows_sewing_operators(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, workforce_rematch=False) as node:
        operator = await operator_headers(hub, NODE_URL)
        lender, _ = await factory_headers(hub, shared_workers.LENDER_ORG)
        borrower, _ = await factory_headers(hub, "Shaoxing Keqiao Weaving Co.")
        async with served(node.app, free_port(), lifespan="off") as node_url:
            summary = await asyncio.to_thread(
                shared_workers.play, node_url, operator_token=_token(operator),
                lender_token=_token(lender), borrower_token=_token(borrower),
            )  # fmt: skip
        # Two weeks of a 10-operator day line and a 4-operator evening crew.
        assert summary["demanded"] == 14 * 10 + 14 * 4
        assert 0 < summary["covered"] <= summary["demanded"]
        assert summary["proposals"] == summary["accepted"] + summary["declined"]
        assert summary["declined"] == 1
        assert summary["by_link"] == 1
        assert summary["contacts_released"] == summary["accepted"]
        assert "sewing_operator" in summary["example_reason"]
        released = await audit(node, operator, "node.workforce.contact.release")
        assert len(released) == summary["accepted"]
