"""Shared workers across nodes through the hub's relay: a factory on node B finds a worker of
node A in the hub's `workforce-offers`, asks for them for its need through the hub; on A the
request becomes a proposal its employer and worker answer as any other; B learns each answer,
and receives the worker's contact only once both accepted, sealed so the hub cannot read it.
The release is audited on both nodes; nothing personal is ever stored at the hub."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from regional_node.state import node_state
from regional_node.workforce.relay import relay_once
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import operator_headers
from tests.support import (
    NODE_TREE,
    Databases,
    InProcessService,
    bearer,
    client_token,
    create_client,
)
from tests.test_data_products_node import GOVERNED
from tests.test_workforce import (
    DECIDE,
    MATCH,
    NODE_URL,
    POST_NEED,
    POST_WORKERS,
    PROPOSALS,
    audit,
    factory_headers,
    need,
    worker,
)
from tests.test_workforce_offers_exchange import hub_text

B = "js-garment"
B_URL = "http://js-garment.test"
LENT = worker("sew-01", "Wang Fang", email="wang.fang@example.cn")
SECRETS = ["Wang Fang", LENT["phone"], "wang.fang@example.cn"]
REQUEST = """
mutation($need: UUID!, $node: String!, $offer: String!) {
  requestRemoteWorker(needId: $need, node: $node, offer: $offer) {
    __typename
    ... on RequestRemoteWorkerSuccess { request { id status node offer shift } }
    ... on WorkforceError { code message }
  }
}
"""
REQUESTS = "{ remoteWorkforceRequests { edges { node { id status reason contactReceived } } } }"
REMOTE_CONTACT = (
    "query($id: UUID!) { remoteWorkforceContact(requestId: $id) { name phone email node } }"
)


async def test_a_factory_on_another_node_borrows_a_worker_through_the_hub(
    hub_factory: HubFactory, node_factory: NodeFactory, databases: Databases, backend: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    quiet = {"workforce_rematch": False, "workforce_relay_interval_s": 3600}
    async with (
        hub_factory() as hub,
        node_factory(
            hub=hub, data_products=["workforce-offers"], data_publish_interval_s=3600, **quiet
        ) as a,
        node_factory(
            hub=hub, name=B, region="CN-JS", public_url=B_URL, data_products=[],
            database_url=databases.fresh(NODE_TREE, backend), data_dir=tmp_path / "b", **quiet,
        ) as b,
    ):  # fmt: skip
        lender, lender_org = await factory_headers(hub, "Humen Knitwear Co")
        posted = (await a.graphql(POST_WORKERS, {"workers": [LENT]}, headers=lender))["postWorkers"]
        assert posted["__typename"] == "PostWorkersSuccess", posted
        publisher = node_state(a.app).data_publisher
        assert publisher is not None
        await publisher.publish()

        # The borrowing factory: one organization, its token for node B and for the hub.
        scopes = ["factories:write", "exchange:read", "exchange:write"]
        client_id, secret = await create_client(
            hub, org="Suzhou Garments Co", org_kind="factory", scopes=scopes
        )
        at_hub = bearer(await client_token(hub, client_id, secret, " ".join(scopes)))
        at_b = bearer(await client_token(hub, client_id, secret, "factories:write", B_URL))
        borrower_org = (await hub.graphql("{ viewer { organizationId } }", headers=at_hub))[
            "viewer"
        ]["organizationId"]

        # It finds the offer at the hub, under an agreement.
        catalog = await hub.graphql(
            '{ dataProducts(search: "workers") { edges { node { key node offers { id } } } } }',
            headers=at_hub,
        )
        (edge,) = catalog["dataProducts"]["edges"]
        contract = await hub.graphql(
            "mutation($o: UUID!) { requestDataContract(input: {offerId: $o, "
            "purpose: SUPPLY_MATCHING}) { id state } }",
            {"o": edge["node"]["offers"][0]["id"]}, headers=at_hub,
        )  # fmt: skip
        assert contract["requestDataContract"]["state"] == "FINALIZED"
        found: list[str] = []
        for _ in range(20):  # the node's own first publish may race this one: publish again
            offers = await hub.graphql(
                GOVERNED,
                {"id": contract["requestDataContract"]["id"],
                 "q": {"filters": [{"field": "kind", "value": "offer"}], "fields": ["worker"]}},
                headers=at_hub,
            )  # fmt: skip
            found = [row["worker"] for row in offers["governedData"]["rows"]]
            if found:
                break
            await publisher.publish()
        (offer,) = found

        # It asks node A for that worker for its need on node B.
        made = (await b.graphql(POST_NEED, {"input": need()}, headers=at_b))["postWorkforceNeed"]
        assert made["__typename"] == "PostWorkforceNeedSuccess", made
        asked = (
            await b.graphql(
                REQUEST, {"need": made["need"]["id"], "node": "zj-textile", "offer": offer},
                headers=at_b,
            )
        )["requestRemoteWorker"]  # fmt: skip
        assert asked["__typename"] == "RequestRemoteWorkerSuccess", asked
        assert asked["request"]["status"] == "PENDING"
        request_id = asked["request"]["id"]
        own = await b.graphql(
            REQUEST, {"need": made["need"]["id"], "node": B, "offer": offer}, headers=at_b
        )
        assert own["requestRemoteWorker"]["code"] == "WORKFORCE_INVALID"

        async def status_at_b() -> dict[str, Any]:
            edges = (await b.graphql(REQUESTS, headers=at_b))["remoteWorkforceRequests"]["edges"]
            (found,) = [e["node"] for e in edges if e["node"]["id"] == request_id]
            return found

        async def contact_at_b() -> dict[str, Any]:
            return await b.graphql(
                REMOTE_CONTACT, {"id": request_id}, headers=at_b, expect_errors=True
            )

        state_a, state_b = node_state(a.app), node_state(b.app)
        assert (await relay_once(state_b)).sent == 1
        assert (await status_at_b())["status"] == "REQUESTED"

        # On node A it arrives as a proposal, answered as any other.
        round_a = await relay_once(state_a)
        assert (round_a.taken, round_a.answered) == (1, 1)
        proposals = (await a.graphql(PROPOSALS, {}, headers=lender))["workforceProposals"]
        (proposal,) = [e["node"] for e in proposals["edges"]]
        assert proposal["pseudonym"] == "sew-01"
        assert proposal["status"] == "PROPOSED"
        assert [d["day"] for d in proposal["days"]] == _days(need())
        assert "Suzhou Garments Co on js-garment" in proposal["reason"]["text"]
        # A local match does not take it away before it is answered.
        operator_a = await operator_headers(hub, NODE_URL)
        assert (await a.graphql(MATCH, headers=operator_a))["matchWorkers"]["__typename"] == (
            "MatchWorkersSuccess"
        )
        still = (await a.graphql(PROPOSALS, {}, headers=lender))["workforceProposals"]["edges"]
        assert [e["node"]["status"] for e in still] == ["PROPOSED"]

        assert (await relay_once(state_b)).received == 1
        assert (await status_at_b())["status"] == "PROPOSED"
        refused = await contact_at_b()
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused

        # The employer accepts: still no contact (the worker has not).
        decided = await a.graphql(
            DECIDE, {"id": proposal["id"], "party": "EMPLOYER", "accept": True}, headers=lender
        )
        assert decided["decideWorkforceProposal"]["__typename"] == "DecideWorkforceProposalSuccess"
        assert (await relay_once(state_a)).answered == 0
        assert (await relay_once(state_b)).received == 0
        assert (await contact_at_b())["errors"][0]["extensions"]["code"] == "FORBIDDEN"

        # The worker accepts too: the contact goes to B, sealed, through the hub.
        decided = await a.graphql(
            DECIDE, {"id": proposal["id"], "party": "WORKER", "accept": True}, headers=lender
        )
        assert decided["decideWorkforceProposal"]["proposal"]["status"] == "ACCEPTED"
        assert (await relay_once(state_a)).answered == 1
        waiting = await hub_text(hub)
        assert request_id.replace("-", "") in waiting.replace("-", "")
        assert all(secret not in waiting for secret in SECRETS)  # sealed: not readable there
        relayed = await hub.graphql(
            "{ workforceRelayRequests { edges { node { id status contactWaiting lenderNode "
            "borrowerNode offer } } } }",
            headers=at_hub,
        )
        (seen,) = [e["node"] for e in relayed["workforceRelayRequests"]["edges"]]
        assert seen == {
            "id": request_id, "status": "ACCEPTED", "contactWaiting": True,
            "lenderNode": "zj-textile", "borrowerNode": B, "offer": offer,
        }  # fmt: skip

        assert (await relay_once(state_b)).received == 1
        assert (await status_at_b())["status"] == "ACCEPTED"
        assert (await status_at_b())["contactReceived"] is True
        contact = (await b.graphql(REMOTE_CONTACT, {"id": request_id}, headers=at_b))[
            "remoteWorkforceContact"
        ]
        assert contact == {
            "name": "Wang Fang", "phone": LENT["phone"], "email": "wang.fang@example.cn",
            "node": "zj-textile",
        }  # fmt: skip
        # Another factory on B does not read it.
        other, _ = await _factory_at_b(hub, "Wuxi Knits Ltd")
        body = await b.graphql(REMOTE_CONTACT, {"id": request_id}, headers=other,
                               expect_errors=True)  # fmt: skip
        assert body["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "REMOTE_REQUEST_NOT_FOUND"}

        # A factory without an agreement on the offers is refused at the hub, with the reason.
        theirs = (await b.graphql(POST_NEED, {"input": need()}, headers=other))[
            "postWorkforceNeed"
        ]["need"]
        asked = await b.graphql(
            REQUEST, {"need": theirs["id"], "node": "zj-textile", "offer": offer}, headers=other
        )
        assert asked["requestRemoteWorker"]["__typename"] == "RequestRemoteWorkerSuccess"
        assert (await relay_once(state_b)).sent == 1
        (mine,) = (await b.graphql(REQUESTS, headers=other))["remoteWorkforceRequests"]["edges"]
        assert mine["node"]["status"] == "REFUSED"
        assert "agreement" in mine["node"]["reason"]

        # Audited on both sides: the release on A, its arrival and each read on B.
        released = await audit(a, operator_a, "node.workforce.contact.release")
        assert [line["actor"] for line in released] == ["system:workforce-relay"]
        assert released[0]["detail"]["borrower"] == borrower_org
        assert released[0]["detail"]["borrower_node"] == B
        assert released[0]["detail"]["employer"] == lender_org
        operator_b = await _operator_at_b(hub)
        received = await audit(b, operator_b, "node.workforce.contact.receive")
        assert len(received) == 1
        assert received[0]["detail"]["lender_node"] == "zj-textile"
        reads = await audit(b, operator_b, "node.workforce.contact.release")
        assert len(reads) == 1
        assert reads[0]["actor"] != "system:workforce-relay"

        # The hub dropped the sealed contact once B took it; nothing personal is stored there.
        stored = await hub_text(hub)
        assert all(secret not in stored for secret in SECRETS)
        assert "sew-01" not in stored
        done = await hub.graphql(
            "{ workforceRelayRequests { edges { node { status contactWaiting } } } }",
            headers=at_hub,
        )
        assert [e["node"] for e in done["workforceRelayRequests"]["edges"]] == [
            {"status": "ACCEPTED", "contactWaiting": False}
        ]


def _days(terms: dict[str, Any]) -> list[str]:
    first, last = dt.date.fromisoformat(terms["firstDay"]), dt.date.fromisoformat(terms["lastDay"])
    return [(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


async def _factory_at_b(hub: InProcessService, org: str) -> tuple[dict[str, str], str]:
    client_id, secret = await create_client(
        hub, org=org, org_kind="factory", scopes=["factories:write"]
    )
    return bearer(await client_token(hub, client_id, secret, "factories:write", B_URL)), org


async def _operator_at_b(hub: InProcessService) -> dict[str, str]:
    client_id, secret = await create_client(
        hub, org=f"{B} operator", org_kind="node_operator", scopes=["nodes:register"],
        kind="node", node=B, region="CN-JS",
    )  # fmt: skip
    return bearer(await client_token(hub, client_id, secret, "nodes:register", B_URL))
