"""`yunfab workers ...`: shared workers on a node (docs/workforce.md).

    yunfab workers post workers.json               # an employer's pseudonymous workers
    yunfab workers need need.json                  # a factory's need
    yunfab workers match                           # the node's operator matches
    yunfab workers proposals [--need ID]           # yours: as employer or as borrower
    yunfab workers accept ID --as employer|worker  # the employer's staff answer
    yunfab workers purge --retention-days 180      # the operator deletes expired workers

Files hold the GraphQL inputs as JSON (`WorkforceWorkerInput` list, `WorkforceNeedInput`).
Results go to stdout (a table at a terminal, JSON in a pipe); a refusal is one line on stderr
with its code and the documented exit code.
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from yunfab import progress
from yunfab.console import error_exit_code, fail
from yunfab.output import Column, FormatOption, chosen, print_list, print_one
from yunfab_cli.api_client import graphql, node_target
from yunfab_cli.resources import HubOption, NodeOption, TokenOption

workers_app = typer.Typer(
    help="Shared workers: lend and borrow seasonal labour on a node (calls the node).",
    no_args_is_help=True,
)

SCOPES = "factories:write node:operate"
MAX_FILE_BYTES = 5 * 1024 * 1024

POST = """
mutation($workers: [WorkforceWorkerInput!]!) {
  postWorkers(workers: $workers) {
    __typename
    ... on PostWorkersSuccess { workers { id pseudonym availableFrom availableTo } }
    ... on WorkforceError { code message }
  }
}
"""
NEED = """
mutation($input: WorkforceNeedInput!) {
  postWorkforceNeed(input: $input) {
    __typename
    ... on PostWorkforceNeedSuccess { need { id title skill firstDay lastDay } }
    ... on WorkforceError { code message }
  }
}
"""
MATCH = """
mutation {
  matchWorkers {
    __typename
    ... on MatchWorkersSuccess {
      run {
        id method optimal workers needs demanded covered weightedCoverage kept elapsedS
        shortfalls(first: 100) { needId day shift wanted covered code reason }
      }
    }
    ... on WorkforceError { code message }
  }
}
"""
PROPOSALS = """
query($need: UUID, $first: Int!, $after: String) {
  workforceProposals(needId: $need, first: $first, after: $after) {
    edges { node {
      id pseudonym needId status firstDay lastDay days { day } reason { text }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
DECIDE = """
mutation($id: UUID!, $party: WorkforceParty!, $accept: Boolean!) {
  decideWorkforceProposal(id: $id, party: $party, accept: $accept) {
    __typename
    ... on DecideWorkforceProposalSuccess {
      proposal { id pseudonym status firstDay lastDay employerAcceptedAt workerAcceptedAt }
    }
    ... on WorkforceError { code message }
  }
}
"""
PURGE = """
mutation($days: Int!) {
  purgeWorkforce(retentionDays: $days) {
    __typename
    ... on PurgeWorkforceSuccess { deleted }
    ... on WorkforceError { code message }
  }
}
"""

WORKER_COLUMNS: list[Column] = [
    ("ID", "id"), ("PSEUDONYM", "pseudonym"), ("FROM", "availableFrom"), ("TO", "availableTo"),
]  # fmt: skip
PROPOSAL_COLUMNS: list[Column] = [
    ("ID", "id"), ("PSEUDONYM", "pseudonym"), ("STATUS", "status"), ("FIRST", "firstDay"),
    ("LAST", "lastDay"), ("DAYS", lambda p: len(p["days"])), ("WHY", "reason.text"),
]  # fmt: skip
SHORTFALL_COLUMNS: list[Column] = [
    ("NEED", "needId"), ("DAY", "day"), ("SHIFT", "shift"), ("WANTED", "wanted"),
    ("COVERED", "covered"), ("REASON", "reason"),
]  # fmt: skip


class Party(enum.StrEnum):
    EMPLOYER = "employer"
    WORKER = "worker"


def _ok(result: dict[str, Any], success: str) -> dict[str, Any]:
    if result.get("__typename") != success:
        code = str(result.get("code", "ERROR"))
        fail(f"{code}: {result.get('message', 'refused')}", code=error_exit_code(code))
    return result


def _json_file(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            fail(f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")
    except ValueError as exc:
        fail(f"{path}: not JSON ({exc})")


FileArgument = Annotated[Path, typer.Argument(help="A JSON file.", show_default=False)]


@workers_app.command("post")
def post_command(
    file: FileArgument, node: NodeOption = None, hub: HubOption = None,
    token: TokenOption = None, fmt: FormatOption = None,
) -> None:  # fmt: skip
    """Post your workers (a JSON list of WorkforceWorkerInput, up to 500), all or none."""
    workers = _json_file(file)
    if not isinstance(workers, list):
        fail(f"{file}: a JSON list of workers")
    target = node_target(node, hub=hub, token=token)
    data = graphql(target, POST, {"workers": workers}, token=token, scope=SCOPES)
    posted = _ok(data["postWorkers"], "PostWorkersSuccess")["workers"]
    print_list(posted, WORKER_COLUMNS, chosen(fmt))


@workers_app.command("need")
def need_command(
    file: FileArgument, node: NodeOption = None, hub: HubOption = None,
    token: TokenOption = None, fmt: FormatOption = None,
) -> None:  # fmt: skip
    """Post a need for workers (a JSON WorkforceNeedInput)."""
    need = _json_file(file)
    if not isinstance(need, dict):
        fail(f"{file}: a JSON object")
    target = node_target(node, hub=hub, token=token)
    data = graphql(target, NEED, {"input": need}, token=token, scope=SCOPES)
    made = _ok(data["postWorkforceNeed"], "PostWorkforceNeedSuccess")["need"]
    print_one(made, [("ID", "id"), ("TITLE", "title"), ("SKILL", "skill"),
                     ("FIRST", "firstDay"), ("LAST", "lastDay")], chosen(fmt))  # fmt: skip


@workers_app.command("match")
def match_command(
    node: NodeOption = None, hub: HubOption = None, token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:  # fmt: skip
    """Match every open need to the workers (the node's operator); accepted proposals stay."""
    target = node_target(node, hub=hub, token=token)
    with progress.spinner("matching"):
        data = graphql(target, MATCH, token=token, scope=SCOPES)
    run = _ok(data["matchWorkers"], "MatchWorkersSuccess")["run"]
    print_one(
        run,
        [("RUN", "id"), ("METHOD", "method"), ("OPTIMAL", "optimal"), ("WORKERS", "workers"),
         ("NEEDS", "needs"), ("DEMANDED", "demanded"), ("COVERED", "covered"),
         ("WEIGHTED COVERAGE", "weightedCoverage"), ("KEPT", "kept"), ("SECONDS", "elapsedS")],
        chosen(fmt),
        sections=[("Shortfalls", "shortfalls", SHORTFALL_COLUMNS)],
    )  # fmt: skip


@workers_app.command("proposals")
def proposals_command(
    need: Annotated[str | None, typer.Option("--need", help="One need's only.")] = None,
    node: NodeOption = None, hub: HubOption = None, token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:  # fmt: skip
    """Proposals you may see: for your workers (employer) or your needs (borrower)."""
    target = node_target(node, hub=hub, token=token)
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = graphql(
            target, PROPOSALS, {"need": need, "first": 100, "after": after},
            token=token, scope=SCOPES,
        )["workforceProposals"]  # fmt: skip
        found += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"] or len(found) >= 10_000:
            break
        after = page["pageInfo"]["endCursor"]
    print_list(found, PROPOSAL_COLUMNS, chosen(fmt))


@workers_app.command("accept")
def accept_command(
    proposal: Annotated[str, typer.Argument(help="The proposal's id.", show_default=False)],
    party: Annotated[
        Party, typer.Option("--as", help="employer: your own answer; worker: the worker's.")
    ] = Party.EMPLOYER,
    decline: Annotated[bool, typer.Option("--decline", help="Decline instead.")] = False,
    node: NodeOption = None, hub: HubOption = None, token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:  # fmt: skip
    """Record the employer's answer, or the worker's on their behalf (employer's staff)."""
    target = node_target(node, hub=hub, token=token)
    data = graphql(
        target, DECIDE, {"id": proposal, "party": party.name, "accept": not decline},
        token=token, scope=SCOPES,
    )  # fmt: skip
    done = _ok(data["decideWorkforceProposal"], "DecideWorkforceProposalSuccess")["proposal"]
    print_one(done, [("ID", "id"), ("PSEUDONYM", "pseudonym"), ("STATUS", "status"),
                     ("EMPLOYER ACCEPTED", "employerAcceptedAt"),
                     ("WORKER ACCEPTED", "workerAcceptedAt")], chosen(fmt))  # fmt: skip


@workers_app.command("purge")
def purge_command(
    retention_days: Annotated[
        int, typer.Option("--retention-days", help="Keep workers this many days after their "
                          "availability ended.")
    ] = 180,
    node: NodeOption = None, hub: HubOption = None, token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:  # fmt: skip
    """Delete workers (and their contacts, proposals, attendance, ratings) whose availability
    ended more than --retention-days ago (the node's operator; audited)."""
    target = node_target(node, hub=hub, token=token)
    data = graphql(target, PURGE, {"days": retention_days}, token=token, scope=SCOPES)
    done = _ok(data["purgeWorkforce"], "PurgeWorkforceSuccess")
    print_one(done, [("DELETED", "deleted")], chosen(fmt))
