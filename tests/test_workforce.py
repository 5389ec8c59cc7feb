"""Shared workers on a node through GraphQL: an employer lends pseudonymous workers, a factory
posts a need, the operator matches (with reasons for each proposal and each shortfall); the
borrower sees pseudonyms and skills only until both the employer and the worker accept (through
staff or a one-time consent link), then reads the contact, each read audited; a re-match keeps
accepted proposals; attendance gives pay owed; deletion on request and by retention leave no
trace but the audit line; others are refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import factory_client, operator_headers
from tests.support import InProcessService, bearer, client_token

NODE_URL = "http://zj-textile.test"
TODAY = dt.datetime.now(dt.UTC).date()
HUMEN = (22.815, 113.673)
SEW = "sewing_operator"

POST_WORKERS = """
mutation($workers: [WorkforceWorkerInput!]!, $employer: String) {
  postWorkers(workers: $workers, employer: $employer) {
    __typename
    ... on PostWorkersSuccess { workers { id pseudonym homeLat skills { skill level } } }
    ... on WorkforceError { code message }
  }
}
"""
POST_NEED = """
mutation($input: WorkforceNeedInput!) {
  postWorkforceNeed(input: $input) {
    __typename
    ... on PostWorkforceNeedSuccess { need { id factory headcount { shift workers } } }
    ... on WorkforceError { code message }
  }
}
"""
MATCH = """
mutation {
  matchWorkers {
    __typename
    ... on MatchWorkersSuccess {
      run { id method optimal demanded covered kept shortfalls { needId day code reason } }
    }
    ... on WorkforceError { code message }
  }
}
"""
PROPOSALS = """
query($need: UUID, $status: WorkforceProposalStatus) {
  workforceProposals(needId: $need, status: $status) {
    edges { node {
      id pseudonym workerId status firstDay lastDay days { day shift }
      reason { skill level minLevel km wage wageFloor text }
    } }
  }
}
"""
DECIDE = """
mutation($id: UUID!, $party: WorkforceParty!, $accept: Boolean!) {
  decideWorkforceProposal(id: $id, party: $party, accept: $accept) {
    __typename
    ... on DecideWorkforceProposalSuccess {
      proposal { status employerAcceptedAt workerAcceptedVia }
    }
    ... on WorkforceError { code message }
  }
}
"""
CONTACT = "query($id: UUID!) { workforceContact(proposalId: $id) { pseudonym name phone } }"
LINK = """
mutation($id: UUID!) {
  issueConsentLink(proposalId: $id) { __typename ... on IssueConsentLinkSuccess { token } }
}
"""
BY_LINK = """
mutation($token: String!, $accept: Boolean!) {
  consentByLink(token: $token, accept: $accept) {
    __typename
    ... on ConsentByLinkSuccess { status firstDay }
    ... on WorkforceError { code message }
  }
}
"""


def worker(pseudonym: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "pseudonym": pseudonym,
        "name": name,
        "phone": f"+86 769 {abs(hash(name)) % 10_000_000:07d}",
        "skills": [{"skill": "sewing_operator", "level": 3}],
        "availableFrom": TODAY.isoformat(),
        "availableTo": (TODAY + dt.timedelta(days=30)).isoformat(),
        "homeArea": "Humen",
        "homeLat": HUMEN[0] + 0.0123,
        "homeLon": HUMEN[1] + 0.0071,
        "radiusKm": 15,
        "wageFloor": 220,
        **extra,
    }


def need(**extra: Any) -> dict[str, Any]:
    return {
        "title": "Peak-season sewing line",
        "siteArea": "Humen",
        "siteLat": HUMEN[0],
        "siteLon": HUMEN[1],
        "skill": "sewing_operator",
        "minLevel": 2,
        "firstDay": (TODAY + dt.timedelta(days=1)).isoformat(),
        "lastDay": (TODAY + dt.timedelta(days=3)).isoformat(),
        "headcount": [{"shift": "day", "workers": 2}],
        "wage": 260,
        "priority": 3,
        **extra,
    }


async def factory_headers(hub: InProcessService, org: str) -> tuple[dict[str, str], str]:
    client_id, secret, org_id = await factory_client(hub, org)
    return bearer(await client_token(hub, client_id, secret, "factories:write", NODE_URL)), org_id


async def audit(node: InProcessService, operator: dict[str, str], action: str) -> list[Any]:
    found = await node.graphql(
        "query($a: String!) { auditLog(action: $a, first: 100) "
        "{ edges { node { actor resource outcome detail } } } }",
        {"a": action},
        headers=operator,
    )
    return [e["node"] for e in found["auditLog"]["edges"]]


async def test_match_consent_contact_rematch_attendance_and_deletion(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, workforce_rematch=False) as node:
        operator = await operator_headers(hub, NODE_URL)
        lender, lender_org = await factory_headers(hub, "Humen Knitwear Co")
        borrower, borrower_org = await factory_headers(hub, "Dalang Garments Ltd")
        stranger, _ = await factory_headers(hub, "Changping Plastics")

        # Posting for another organization is refused before anything is stored.
        refused = await node.graphql(
            POST_WORKERS, {"workers": [worker("x-1", "Nobody")], "employer": lender_org},
            headers=stranger, expect_errors=True,
        )  # fmt: skip
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
        bad = (
            await node.graphql(
                POST_WORKERS, {"workers": [worker("x-2", "Li", radiusKm=-1)]}, headers=lender
            )
        )["postWorkers"]
        assert bad == {
            "__typename": "PostWorkersError", "code": "WORKFORCE_INVALID",
            "message": "workers[0].radiusKm: 0 to 300",
        }  # fmt: skip

        posted = (
            await node.graphql(
                POST_WORKERS,
                {"workers": [
                    worker("sew-01", "Wang Fang"),
                    worker("sew-02", "Zhang Min", skills=[{"skill": SEW, "level": 4}]),
                    worker("sew-03", "Liu Yang", skills=[{"skill": SEW, "level": 1}]),
                    worker("far-04", "Chen Jie", homeLat=23.5, homeLon=114.6),
                ]},
                headers=lender,
            )
        )["postWorkers"]  # fmt: skip
        assert posted["__typename"] == "PostWorkersSuccess", posted
        ids = {w["pseudonym"]: w["id"] for w in posted["workers"]}
        assert posted["workers"][0]["homeLat"] == round(HUMEN[0] + 0.0123, 2)

        made = (await node.graphql(POST_NEED, {"input": need()}, headers=borrower))[
            "postWorkforceNeed"
        ]
        assert made["__typename"] == "PostWorkforceNeedSuccess", made
        need_id = made["need"]["id"]
        assert made["need"]["factory"] == borrower_org
        # A forklift need nobody can fill: its shortfall says why.
        forklift = (
            await node.graphql(
                POST_NEED, {"input": need(skill="forklift_driver", title="Forklift")},
                headers=borrower,
            )
        )["postWorkforceNeed"]["need"]["id"]  # fmt: skip

        # Only the operator matches.
        denied = await node.graphql(MATCH, headers=borrower, expect_errors=True)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        run = (await node.graphql(MATCH, headers=operator))["matchWorkers"]["run"]
        assert run["method"] == "min-cost-flow"
        assert run["optimal"] is True
        # Two sewers at level >= 2 within reach, three days: 6 of 6 sewing worker-days.
        assert run["demanded"] == 12
        assert run["covered"] == 6
        reasons = {(s["needId"], s["code"]) for s in run["shortfalls"]}
        assert reasons == {(forklift, "skill")}
        assert "forklift_driver" in run["shortfalls"][0]["reason"]

        seen = (await node.graphql(PROPOSALS, {"need": need_id}, headers=borrower))[
            "workforceProposals"
        ]["edges"]
        proposals = {e["node"]["pseudonym"]: e["node"] for e in seen}
        assert set(proposals) == {"sew-01", "sew-02"}
        first = proposals["sew-01"]
        assert first["status"] == "PROPOSED"
        assert len(first["days"]) == 3
        assert first["reason"]["skill"] == "sewing_operator"
        assert (first["reason"]["level"], first["reason"]["minLevel"]) == (3, 2)
        assert first["reason"]["wageFloor"] == 220
        assert first["reason"]["km"] < 3
        # The stranger sees none of them.
        others = await node.graphql(PROPOSALS, {"need": need_id}, headers=stranger)
        assert others["workforceProposals"]["edges"] == []

        # No contact before both accept: not for the borrower, not after the employer alone.
        async def contact_refused(proposal: str) -> None:
            body = await node.graphql(
                CONTACT, {"id": proposal}, headers=borrower, expect_errors=True
            )
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

        await contact_refused(first["id"])
        accepted = (
            await node.graphql(
                DECIDE, {"id": first["id"], "party": "EMPLOYER", "accept": True}, headers=lender
            )
        )["decideWorkforceProposal"]
        assert accepted["proposal"]["status"] == "PROPOSED"
        # The borrower cannot consent for the employer or the worker.
        forged = await node.graphql(
            DECIDE, {"id": first["id"], "party": "WORKER", "accept": True}, headers=borrower,
            expect_errors=True,
        )  # fmt: skip
        assert forged["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        await contact_refused(first["id"])
        both = (
            await node.graphql(
                DECIDE, {"id": first["id"], "party": "WORKER", "accept": True}, headers=lender
            )
        )["decideWorkforceProposal"]["proposal"]
        assert both["status"] == "ACCEPTED"
        assert both["workerAcceptedVia"].startswith("client:")
        released = (await node.graphql(CONTACT, {"id": first["id"]}, headers=borrower))[
            "workforceContact"
        ]
        assert (released["pseudonym"], released["name"]) == ("sew-01", "Wang Fang")
        lines = await audit(node, operator, "node.workforce.contact.release")
        assert len(lines) == 1
        assert lines[0]["resource"] == f"workforce-proposal:{first['id']}"
        assert lines[0]["detail"]["borrower"] == borrower_org

        # The second worker answers through a one-time link (no account).
        second = proposals["sew-02"]
        await node.graphql(
            DECIDE, {"id": second["id"], "party": "EMPLOYER", "accept": True}, headers=lender
        )
        token = (await node.graphql(LINK, {"id": second["id"]}, headers=lender))[
            "issueConsentLink"
        ]["token"]
        answered = (await node.graphql(BY_LINK, {"token": token, "accept": True}))["consentByLink"]
        assert answered == {
            "__typename": "ConsentByLinkSuccess", "status": "ACCEPTED",
            "firstDay": (TODAY + dt.timedelta(days=1)).isoformat(),
        }  # fmt: skip
        again = (await node.graphql(BY_LINK, {"token": token, "accept": False}))["consentByLink"]
        assert again["code"] == "CONSENT_LINK_INVALID"

        # A re-match with a second need keeps the accepted proposals as they are.
        await node.graphql(
            POST_NEED, {"input": need(title="Second line", priority=9)}, headers=borrower
        )
        rerun = (await node.graphql(MATCH, headers=operator))["matchWorkers"]["run"]
        assert rerun["kept"] == 6
        kept = (
            await node.graphql(PROPOSALS, {"need": need_id, "status": "ACCEPTED"}, headers=borrower)
        )["workforceProposals"]["edges"]
        assert {e["node"]["id"] for e in kept} == {first["id"], second["id"]}

        # Attendance and pay owed: 8 h and 10 h at 260 a day (two hours at 150%).
        days = [d["day"] for d in first["days"]]
        record = """
        mutation($id: UUID!, $day: Date!, $hours: Float!) {
          recordWorkforceAttendance(proposalId: $id, day: $day, present: true, hours: $hours) {
            __typename ... on WorkforceError { code message }
          }
        }"""
        for day, hours in zip(days[:2], (8, 10), strict=True):
            done = await node.graphql(
                record, {"id": first["id"], "day": day, "hours": hours}, headers=borrower
            )
            assert (
                done["recordWorkforceAttendance"]["__typename"]
                == "RecordWorkforceAttendanceSuccess"
            )
        outside = await node.graphql(
            record, {"id": first["id"], "day": TODAY.isoformat(), "hours": 8}, headers=borrower
        )
        assert outside["recordWorkforceAttendance"]["code"] == "WORKFORCE_INVALID"
        owed = (
            await node.graphql(
                "query($id: UUID!) { workforceAttendance(proposalId: $id) { hours payOwed } }",
                {"id": first["id"]}, headers=lender,
            )
        )["workforceAttendance"]  # fmt: skip
        assert owed == {"hours": 18.0, "payOwed": 260 * 2 + 2 * 260 / 8 * 1.5}
        early = await node.graphql(
            "mutation($id: UUID!) { rateWorkforceAssignment(proposalId: $id, "
            "side: FACTORY_RATES_WORKER, score: 5) { __typename ... on WorkforceError { code } } }",
            {"id": first["id"]}, headers=borrower,
        )  # fmt: skip
        assert early["rateWorkforceAssignment"]["code"] == "PROPOSAL_CLOSED"

        # Deletion on request: the worker, their contact and proposals go; the audit line stays.
        gone = (
            await node.graphql(
                "mutation($id: UUID!) { deleteWorker(id: $id) { __typename } }",
                {"id": ids["sew-01"]}, headers=lender,
            )
        )["deleteWorker"]  # fmt: skip
        assert gone["__typename"] == "DeleteWorkerSuccess"
        missing = await node.graphql(
            CONTACT, {"id": first["id"]}, headers=borrower, expect_errors=True
        )
        assert missing["errors"][0]["extensions"]["code"] == "PROPOSAL_NOT_FOUND"
        contact = await node.graphql(
            "query($id: UUID!) { workforceWorkerContact(workerId: $id) { name } }",
            {"id": ids["sew-01"]}, headers=lender, expect_errors=True,
        )  # fmt: skip
        assert contact["errors"][0]["extensions"]["code"] == "WORKER_NOT_FOUND"
        deleted = await audit(node, operator, "node.workforce.worker.delete")
        assert [d["resource"] for d in deleted] == [f"workforce-worker:{ids['sew-01']}"]
        assert "Wang Fang" not in str(deleted)


async def test_retention_purge_and_contacts_stay_with_the_employer(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, workforce_rematch=False) as node:
        operator = await operator_headers(hub, NODE_URL)
        lender, _ = await factory_headers(hub, "Humen Knitwear Co")
        borrower, _ = await factory_headers(hub, "Dalang Garments Ltd")
        old = TODAY - dt.timedelta(days=400)
        posted = (
            await node.graphql(
                POST_WORKERS,
                {"workers": [
                    worker("old-1", "Zhao Lei", availableFrom=old.isoformat(),
                           availableTo=(old + dt.timedelta(days=20)).isoformat()),
                    worker("new-2", "Sun Li"),
                ]},
                headers=lender,
            )
        )["postWorkers"]["workers"]  # fmt: skip
        ids = {w["pseudonym"]: w["id"] for w in posted}
        own = (
            await node.graphql(
                "query($id: UUID!) { workforceWorkerContact(workerId: $id) { name } }",
                {"id": ids["new-2"]}, headers=lender,
            )
        )["workforceWorkerContact"]  # fmt: skip
        assert own == {"name": "Sun Li"}
        # Another factory and the operator never read a worker's contact from the pool.
        for headers in (borrower, operator):
            body = await node.graphql(
                "query($id: UUID!) { workforceWorkerContact(workerId: $id) { name } }",
                {"id": ids["new-2"]}, headers=headers, expect_errors=True,
            )  # fmt: skip
            assert body["errors"][0]["extensions"]["code"] in {"WORKER_NOT_FOUND", "FORBIDDEN"}
        again = (
            await node.graphql(
                POST_WORKERS, {"workers": [worker("new-2", "Sun Li")]}, headers=lender
            )
        )["postWorkers"]
        assert again["code"] == "WORKFORCE_INVALID"
        assert "new-2" in again["message"]
        # A closed need takes nobody new.
        made = (await node.graphql(POST_NEED, {"input": need()}, headers=borrower))[
            "postWorkforceNeed"
        ]["need"]
        closing = (
            "mutation($id: UUID!) { closeWorkforceNeed(id: $id) "
            "{ __typename ... on WorkforceError { code } } }"
        )
        denied = await node.graphql(closing, {"id": made["id"]}, headers=lender)
        assert denied["closeWorkforceNeed"]["code"] == "NEED_NOT_FOUND"
        await node.graphql(closing, {"id": made["id"]}, headers=borrower)
        run = (await node.graphql(MATCH, headers=operator))["matchWorkers"]["run"]
        assert (run["demanded"], run["covered"]) == (0, 0)
        theirs = await node.graphql(
            "{ workforceWorkers { edges { node { pseudonym } } } }", headers=borrower
        )
        assert theirs["workforceWorkers"]["edges"] == []
        purge = (
            "mutation($d: Int!) { purgeWorkforce(retentionDays: $d) { __typename "
            "... on PurgeWorkforceSuccess { deleted } ... on WorkforceError { code } } }"
        )
        refused = await node.graphql(purge, {"d": 180}, headers=lender, expect_errors=True)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
        purged = (await node.graphql(purge, {"d": 180}, headers=operator))["purgeWorkforce"]
        assert purged == {"__typename": "PurgeWorkforceSuccess", "deleted": 1}
        left = await node.graphql(
            "{ workforceWorkers { edges { node { pseudonym } } } }", headers=operator
        )
        assert [e["node"]["pseudonym"] for e in left["workforceWorkers"]["edges"]] == ["new-2"]
        lines = await audit(node, operator, "node.workforce.purge")
        assert lines[0]["detail"]["deleted"] == 1
