"""The demo's shared-workers scenario on the textile node (issue #23): in its peak season the
node's weaving and workwear factory (Shaoxing Keqiao Weaving Co.) is short of sewing operators,
while a knitwear maker across the district has slack and lends its idle operators.

Played through the node's GraphQL, as the two factories' HR systems and the operator would:

1. the knitwear maker posts 24 seeded operators as pseudonymous profiles (their names and
   phones kept with it), one crew of four as a team;
2. the weaving factory posts two needs: a day line of 10 operators for two weeks from next
   Monday, and an evening line of 4 that keeps teams together;
3. the node operator matches: proposals with reasons, the shortfalls with theirs;
4. the knitwear maker accepts for itself and records its operators' answers (one operator
   answers through a one-time consent link; one declines);
5. the weaving factory reads the contacts of the accepted ones (each read audited).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import httpx

LENDER_ORG = "Shaoxing Lanting Knitwear Co."
KEQIAO = (30.083, 120.493)
"""Keqiao district, Shaoxing: where the weaving factory's sewing lines are."""
TOWNS = {
    "Keqiao": (30.083, 120.493),
    "Qianqing": (30.107, 120.459),
    "Yangxunqiao": (30.054, 120.567),
    "Lanting": (29.985, 120.503),
}
SEED = 23
TIMEOUT_S = 60.0
SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu")
GIVEN = ("Fang", "Min", "Jing", "Lei", "Yan", "Jun", "Li", "Xia", "Hui", "Ping", "Tao", "Na")

POST_WORKERS = """
mutation($workers: [WorkforceWorkerInput!]!) {
  postWorkers(workers: $workers) {
    __typename ... on PostWorkersSuccess { workers { id pseudonym } }
    ... on WorkforceError { code message }
  }
}
"""
POST_NEED = """
mutation($input: WorkforceNeedInput!) {
  postWorkforceNeed(input: $input) {
    __typename ... on PostWorkforceNeedSuccess { need { id title } }
    ... on WorkforceError { code message }
  }
}
"""
MATCH = """
mutation {
  matchWorkers {
    __typename
    ... on MatchWorkersSuccess {
      run { id method optimal demanded covered weightedCoverage shortfalls { code reason } }
    }
    ... on WorkforceError { code message }
  }
}
"""
PROPOSALS = """
query($after: String) {
  workforceProposals(first: 100, after: $after) {
    edges { node { id pseudonym needId status days { day } reason { text } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
DECIDE = """
mutation($id: UUID!, $party: WorkforceParty!, $accept: Boolean!) {
  decideWorkforceProposal(id: $id, party: $party, accept: $accept) {
    __typename ... on DecideWorkforceProposalSuccess { proposal { status } }
    ... on WorkforceError { code message }
  }
}
"""
LINK = """
mutation($id: UUID!) {
  issueConsentLink(proposalId: $id) {
    __typename ... on IssueConsentLinkSuccess { token } ... on WorkforceError { code message }
  }
}
"""
BY_LINK = """
mutation($token: String!) {
  consentByLink(token: $token, accept: true) {
    __typename ... on ConsentByLinkSuccess { status } ... on WorkforceError { code message }
  }
}
"""
CONTACT = "query($id: UUID!) { workforceContact(proposalId: $id) { pseudonym name phone } }"


class SharedWorkersFailed(RuntimeError):
    pass


def operators(today: dt.date, seed: int = SEED) -> list[dict[str, Any]]:
    """24 sewing operators with slack at the knitwear maker: levels, homes, wage floors."""
    rng = random.Random(seed)
    start = today + dt.timedelta(days=7 - today.weekday())
    found = []
    for i in range(24):
        town = rng.choice(list(TOWNS))
        lat, lon = TOWNS[town]
        team = "crew-a" if i < 4 else None
        skills = [{"skill": "sewing_operator", "level": 4 if team else rng.choice((1, 2, 3, 3, 4))}]
        if rng.random() < 0.3:
            skills.append({"skill": "overlock_operator", "level": rng.choice((2, 3))})
        found.append(
            {
                "pseudonym": f"LT-{i + 1:03d}",
                "name": f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
                "phone": f"+86 575 {rng.randrange(10**7):07d}",
                "skills": skills,
                "availableFrom": start.isoformat(),
                "availableTo": (start + dt.timedelta(days=rng.choice((13, 20, 27)))).isoformat(),
                "shifts": ["evening"]
                if team
                else rng.choice((["day"], ["day"], ["day", "evening"])),
                "homeArea": town,
                "homeLat": lat + rng.uniform(-0.02, 0.02),
                "homeLon": lon + rng.uniform(-0.02, 0.02),
                "radiusKm": 5.0
                if town == "Lanting" and i % 3 == 0
                else rng.choice((10.0, 15.0, 20.0)),
                "wageFloor": rng.choice((220.0, 240.0, 260.0, 300.0)),
                "team": team,
            }
        )
    return found


def needs(today: dt.date) -> list[dict[str, Any]]:
    start = today + dt.timedelta(days=7 - today.weekday())
    line = {
        "siteArea": "Keqiao", "siteLat": KEQIAO[0], "siteLon": KEQIAO[1],
        "skill": "sewing_operator", "firstDay": start.isoformat(),
        "lastDay": (start + dt.timedelta(days=13)).isoformat(), "housing": True,
    }  # fmt: skip
    return [
        {**line, "title": "Workwear line 3, peak season", "minLevel": 2,
         "headcount": [{"shift": "day", "workers": 10}], "wage": 280.0, "priority": 5,
         "transport": True},
        {**line, "title": "Evening hemming crew", "minLevel": 3,
         "headcount": [{"shift": "evening", "workers": 4}], "wage": 320.0, "priority": 3,
         "keepTeam": True, "safetyTraining": False},
    ]  # fmt: skip


def _graphql(
    client: httpx.Client, url: str, token: str | None, query: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = client.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise SharedWorkersFailed(f"{query.split('{')[0].strip()}: {body.get('errors')}")
    data: dict[str, Any] = body["data"]
    return data


def _success(result: dict[str, Any], name: str) -> dict[str, Any]:
    if result.get("__typename") != name:
        raise SharedWorkersFailed(f"{name}: {result.get('code')} {result.get('message')}")
    return result


def play(
    node_url: str, *, operator_token: str, lender_token: str, borrower_token: str,
    today: dt.date | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The scenario, start to end; returns what the demo prints and keeps (workforce.json)."""
    today = today or dt.datetime.now(dt.UTC).date()
    with httpx.Client(timeout=TIMEOUT_S) as client:

        def call(token: str | None, query: str, variables: dict[str, Any] | None = None) -> Any:
            return _graphql(client, node_url, token, query, variables)

        pool = operators(today)
        _success(
            call(lender_token, POST_WORKERS, {"workers": pool})["postWorkers"], "PostWorkersSuccess"
        )
        for need in needs(today):
            _success(
                call(borrower_token, POST_NEED, {"input": need})["postWorkforceNeed"],
                "PostWorkforceNeedSuccess",
            )
        run = _success(call(operator_token, MATCH)["matchWorkers"], "MatchWorkersSuccess")["run"]
        proposals: list[dict[str, Any]] = []
        after = None
        while True:
            page = call(lender_token, PROPOSALS, {"after": after})["workforceProposals"]
            proposals += [edge["node"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        proposals.sort(key=lambda p: p["pseudonym"])
        accepted: list[str] = []
        declined = 0
        by_link = 0
        for index, proposal in enumerate(proposals):
            if index == len(proposals) - 1 and len(proposals) > 2:
                # One operator would rather stay: the employer records the no.
                call(
                    lender_token, DECIDE, {"id": proposal["id"], "party": "WORKER", "accept": False}
                )
                declined += 1
                continue
            call(lender_token, DECIDE, {"id": proposal["id"], "party": "EMPLOYER", "accept": True})
            if index == 0:
                # The first answers for themself through the link the employer sent them.
                token = _success(
                    call(lender_token, LINK, {"id": proposal["id"]})["issueConsentLink"],
                    "IssueConsentLinkSuccess",
                )["token"]
                _success(
                    call(None, BY_LINK, {"token": token})["consentByLink"], "ConsentByLinkSuccess"
                )
                by_link += 1
            else:
                call(
                    lender_token, DECIDE, {"id": proposal["id"], "party": "WORKER", "accept": True}
                )
            accepted.append(proposal["id"])
        contacts = [
            call(borrower_token, CONTACT, {"id": pid})["workforceContact"] for pid in accepted
        ]
    codes: dict[str, int] = {}
    for shortfall in run["shortfalls"]:
        codes[shortfall["code"]] = codes.get(shortfall["code"], 0) + 1
    return {
        "lender": LENDER_ORG,
        "workers": len(pool),
        "needs": 2,
        "method": run["method"],
        "demanded": run["demanded"],
        "covered": run["covered"],
        "weighted_coverage": run["weightedCoverage"],
        "proposals": len(proposals),
        "accepted": len(accepted),
        "by_link": by_link,
        "declined": declined,
        "contacts_released": len(contacts),
        "shortfalls": codes,
        "example_reason": proposals[0]["reason"]["text"] if proposals else "",
    }
