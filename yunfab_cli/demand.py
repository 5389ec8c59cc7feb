"""`yunfab demand ...`: a brand's sales to a node, its forecasts, and the production plan they
lead to (C2M, docs/c2m.md).

    yunfab demand import sales.csv --brand ORG --node URL     # CSV or Parquet
    yunfab demand forecast --brand ORG --horizon 8
    yunfab demand plan --brand ORG                             # new proposals, listed
    yunfab demand plan --brand ORG --accept ID --accept ID     # the operator accepts

The brand's own people (orders:write) send sales, forecast and plan; the node's operator may do
all of it for any brand (`--brand` its organization id) and alone accepts proposals. Results go
to stdout (a table at a terminal, JSON in a pipe); a refusal is one line on stderr with its code
and the documented exit code: a sales file with bad rows is refused as a whole, the line naming
its first problems by row and column.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from yunfab import progress
from yunfab.console import EXIT_UNREACHABLE, error_exit_code, fail
from yunfab.output import Column, FormatOption, chosen, print_list, print_one
from yunfab_cli.api_client import graphql, node_target
from yunfab_cli.credentials import TIMEOUT_S, Target, bearer_for
from yunfab_cli.resources import HubOption, NodeOption, TokenOption

demand_app = typer.Typer(
    help="C2M: a brand's sales, forecasts and production plan on a node (calls the node).",
    no_args_is_help=True,
)

SCOPES = "orders:write node:operate"
"""What a client-credentials token asks for: a brand's people hold the first, the node's
operator the second."""
SHOWN_PROBLEMS = 5
UPLOAD_TIMEOUT_S = 300.0
PARQUET = "application/vnd.apache.parquet"

BrandOption = Annotated[
    str | None,
    typer.Option(
        "--brand",
        help="The brand's organization id (default: yours; the node's operator names one).",
        show_default=False,
    ),
]


def _ok(result: dict[str, Any], success: str) -> dict[str, Any]:
    """A mutation's `<Name>Success`, or its `<Name>Error` as one line and an exit code."""
    if result.get("__typename") != success:
        code = str(result.get("code", "ERROR"))
        fail(f"{code}: {result.get('message', 'refused')}", code=error_exit_code(code))
    return result


@demand_app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="A CSV (sku,date,quantity[,channel,region]) or Parquet file.", show_default=False
        ),
    ],  # fmt: skip
    brand: BrandOption = None,
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """Send a brand's sales: stored as a whole, or refused as a whole with each bad row named."""
    try:
        content = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    target = node_target(node, hub=hub, token=token)
    bearer = bearer_for(target, token=token, scope=SCOPES)
    parquet = content.startswith(b"PAR1") or file.suffix.lower() == ".parquet"
    params = {"source": file.name[:200], **({"brand": brand} if brand else {})}
    url = f"{target.url}/api/v1/demand/sales?{urllib.parse.urlencode(params)}"
    progress.stage(f"sending {file.name} ({len(content):,} bytes) to {target.url}")
    try:
        with progress.spinner("importing"):
            response = httpx.post(
                url,
                content=content,
                headers={
                    "authorization": f"Bearer {bearer}",
                    "content-type": PARQUET if parquet else "text/csv",
                },
                timeout=max(TIMEOUT_S, UPLOAD_TIMEOUT_S),
            )
    except httpx.TransportError as exc:
        fail(f"cannot reach the node at {target.url}: {exc}", code=EXIT_UNREACHABLE)
    try:
        body = response.json()
    except ValueError:
        body = {"error": f"http_{response.status_code}", "detail": response.text[:200]}
    if response.status_code != 201:
        code, detail = str(body.get("error", "error")), str(body.get("detail", ""))
        problems = [
            " ".join(
                part
                for part in (
                    f"row {p['row']}" if p.get("row") is not None else "",
                    str(p["column"]) if p.get("column") else "",
                )
                if part
            )
            + f": {p['message']}"
            for p in body.get("problems", [])[:SHOWN_PROBLEMS]
        ]
        more = len(body.get("problems", [])) + int(body.get("more_problems", 0)) - len(problems)
        if problems:
            detail = f"{detail.split(';')[0]}: " + "; ".join(problems)
            detail += f" (and {more} more)" if more > 0 else ""
        fail(f"{code}: {detail}", code=error_exit_code(code))
    for warning in body.get("warnings", [])[:SHOWN_PROBLEMS]:
        typer.echo(f"yunfab: warning: {warning['message']}", err=True)
    fields: list[Column] = [
        ("Import", "id"), ("Brand", "brand"), ("Source", "source"), ("Rows", "rows"),
        ("First day", "firstDay"), ("Last day", "lastDay"),
        ("Gaps", lambda item: len(item.get("warnings", []))),
    ]  # fmt: skip
    print_one(body, fields, chosen(fmt))


FORECAST = """
mutation($brand: String, $horizon: Int!, $season: Int, $windows: Int!) {
  runForecast(brand: $brand, horizon: $horizon, seasonLength: $season, windows: $windows) {
    __typename
    ... on RunForecastSuccess {
      forecast {
        id brand horizon historyStart historyEnd firstWeek skus elapsedS reconciliation
        series(first: 100) { edges { node { name level model points { week mean lo90 hi90 } } } }
      }
    }
    ... on DemandError { code message }
  }
}
"""


@demand_app.command("forecast")
def forecast_command(
    horizon: Annotated[int, typer.Option("--horizon", min=1, max=52, help="Weeks ahead.")],
    brand: BrandOption = None,
    season_length: Annotated[
        int | None,
        typer.Option("--season-length", min=1, max=104, help="Weeks in a season (default 52)."),
    ] = None,
    windows: Annotated[
        int, typer.Option("--windows", min=1, max=10, help="Cross-validation windows.")
    ] = 3,
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """Forecast every SKU of the brand, reconciled SKU -> product -> total; prints the run and
    its series' next week (mean and 90% interval)."""
    target = node_target(node, hub=hub, token=token)
    with progress.spinner(f"forecasting {horizon} weeks"):
        data = graphql(
            target, FORECAST,
            {"brand": brand, "horizon": horizon, "season": season_length, "windows": windows},
            token=token, scope=SCOPES,
        )  # fmt: skip
    run = _ok(data["runForecast"], "RunForecastSuccess")["forecast"]
    series = [edge["node"] for edge in run.pop("series")["edges"]]
    for item in series:
        first = item["points"][0] if item["points"] else {}
        item["next"] = {key: first.get(key) for key in ("week", "mean", "lo90", "hi90")}
        del item["points"]
    run["series"] = series
    fields: list[Column] = [
        ("Forecast", "id"), ("Brand", "brand"), ("Horizon", "horizon"),
        ("History", lambda r: f"{r['historyStart']} to {r['historyEnd']}"),
        ("First week", "firstWeek"), ("SKUs", "skus"), ("Reconciliation", "reconciliation"),
        ("Seconds", "elapsedS"),
    ]  # fmt: skip
    columns: list[Column] = [
        ("SERIES", "name"), ("LEVEL", "level"), ("MODEL", "model"), ("WEEK", "next.week"),
        ("MEAN", lambda s: _round(s["next"]["mean"])),
        ("90% INTERVAL", lambda s: f"{_round(s['next']['lo90'])} - {_round(s['next']['hi90'])}"),
    ]  # fmt: skip
    print_one(run, fields, chosen(fmt), sections=[("Series", "series", columns)])


def _round(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.1f}"


PLAN = """
mutation($brand: String, $forecast: UUID) {
  planProduction(brand: $brand, forecastId: $forecast) {
    __typename
    ... on PlanProductionSuccess {
      plan { id effect { unitsBefore unitsAfter keptFrozen moves { sku week before after } } }
      autoAccepted { product week quantity order { number } }
    }
    ... on DemandError { code message }
  }
}
"""
PROPOSALS = """
query($brand: String, $first: Int!, $after: String) {
  productionProposals(brand: $brand, status: PROPOSED, first: $first, after: $after) {
    edges { node {
      id week release quantity requirement frozen late variant sku { code }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ACCEPT = """
mutation($ids: [UUID!]!) {
  acceptProposals(ids: $ids) {
    __typename
    ... on AcceptProposalsSuccess {
      lots { product variant week quantity planned problem order { number stage } }
    }
    ... on DemandError { code message }
  }
}
"""
PROPOSAL_COLUMNS: list[Column] = [
    ("ID", "id"), ("SKU", "sku.code"), ("WEEK", "week"), ("QUANTITY", "quantity"),
    ("REQUIREMENT", lambda p: _round(p["requirement"])), ("RELEASE", "release"),
    ("FROZEN", "frozen"), ("LATE", "late"),
]  # fmt: skip
LOT_COLUMNS: list[Column] = [
    ("ORDER", "order.number"), ("PRODUCT", "product"), ("VARIANT", "variant"), ("WEEK", "week"),
    ("QUANTITY", "quantity"), ("STAGE", "order.stage"), ("PLANNED", "planned"),
    ("PROBLEM", "problem"),
]  # fmt: skip


@demand_app.command("plan")
def plan_command(
    brand: BrandOption = None,
    accept: Annotated[
        list[str] | None,
        typer.Option(
            "--accept",
            help="Accept this proposal (repeat it; `all` for every open one) instead of "
            "planning: the node's operator places them as orders and plans them.",
            show_default=False,
        ),
    ] = None,
    forecast: Annotated[
        str | None,
        typer.Option("--forecast", help="Plan from this forecast (default: the latest)."),
    ] = None,
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """Work out net requirements from the latest forecast and list the proposals; or, with
    --accept, accept proposals into orders (one per product variant and week)."""
    target = node_target(node, hub=hub, token=token)
    if accept:
        ids = list(dict.fromkeys(accept))
        if "all" in ids:
            ids = [p["id"] for p in _open_proposals(target, brand, token)]
            if not ids:
                fail("no open proposals to accept: run `yunfab demand plan` first")
        with progress.spinner(f"accepting {len(ids)} proposals"):
            data = graphql(target, ACCEPT, {"ids": ids}, token=token, scope=SCOPES)
        lots = _ok(data["acceptProposals"], "AcceptProposalsSuccess")["lots"]
        print_list(lots, LOT_COLUMNS, chosen(fmt))
        return
    with progress.spinner("planning"):
        data = graphql(
            target, PLAN, {"brand": brand, "forecast": forecast}, token=token, scope=SCOPES
        )
    made = _ok(data["planProduction"], "PlanProductionSuccess")
    effect = made["plan"]["effect"]
    progress.stage(
        f"plan {made['plan']['id']}: {effect['unitsAfter']:,} units proposed "
        f"({effect['unitsBefore']:,} before), {len(effect['moves'])} SKU-weeks moved, "
        f"{effect['keptFrozen']} kept in the frozen horizon"
    )
    for lot in made["autoAccepted"]:
        progress.stage(
            f"accepted by rule: {lot['product']} week {lot['week']} x{lot['quantity']} as "
            f"{(lot.get('order') or {}).get('number', '-')}"
        )
    # Every open one: those kept in the frozen horizon belong to the plans that made them.
    print_list(_open_proposals(target, brand, token), PROPOSAL_COLUMNS, chosen(fmt))


def _open_proposals(target: Target, brand: str | None, token: str | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = graphql(
            target, PROPOSALS, {"brand": brand, "first": 100, "after": after},
            token=token, scope=SCOPES,
        )["productionProposals"]  # fmt: skip
        found += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]
