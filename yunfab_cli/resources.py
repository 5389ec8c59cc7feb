"""`yunfab factory|device|order|work-order|alert|station|model ...` (a node's GraphQL API) and
`yunfab contract|listing|run ...` (the hub's): list and show what the caller may see.

These call servers with the caller's token (`yunfab_cli.credentials`); the `yunfab hub ...` and
`yunfab node ...` groups instead open a service's database on its own machine. Things are named
as people name them (a factory's slug, a device's key, an order's SO number) and resolved to ids
here: with the node's lookups by name where it has them, else by paging through the lists.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer

from yunfab.console import EXIT_NOT_FOUND, CommandError
from yunfab.output import Column, FormatOption, chosen, print_list, print_one
from yunfab_cli.api_client import ApiError, graphql, hub_target, node_target, paginate
from yunfab_cli.credentials import Target

NodeOption = Annotated[
    str | None,
    typer.Option(
        "--node",
        help="The node's URL or registered name (env YUNFAB_NODE_URL).",
        show_default=False,
    ),
]
HubOption = Annotated[
    str | None,
    typer.Option("--hub", help="The hub's URL (env YUNFAB_HUB_URL; default: the signed-in hub)."),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="A bearer token to use as given (env YUNFAB_TOKEN).",
        show_default=False,
    ),
]
LimitOption = Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")]
AllOption = Annotated[bool, typer.Option("--all", help="Show every one (no --limit).")]
FactoryOption = Annotated[
    str, typer.Option("--factory", help="The factory's slug (or id).", show_default=False)
]

PAGE = "pageInfo { hasNextPage endCursor }"
_VALIDATION = "GRAPHQL_VALIDATION_FAILED"


def _limit(limit: int, every: bool) -> int | None:
    return None if every else limit


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _missing(what: str, name: str, target: Target, listing: str) -> CommandError:
    return CommandError(
        f"no {what} {name!r} on the {target.kind} at {target.url} that you may see: "
        f"`{listing}` lists them",
        EXIT_NOT_FOUND,
    )


def _newer_or(
    newer: Callable[[], dict[str, Any] | None], older: Callable[[], dict[str, Any] | None]
) -> dict[str, Any] | None:
    """Ask with a lookup a newer server has; a server without it answers the older way."""
    try:
        return newer()
    except ApiError as exc:
        if exc.code != _VALIDATION:
            raise
    return older()


class NodeCall:
    """One command's node, token and helpers to name its things."""

    def __init__(self, node: str | None, hub: str | None, token: str | None) -> None:
        self.token = token
        self.target = node_target(node, hub=hub, token=token)

    def query(self, text: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return graphql(self.target, text, variables, token=self.token)

    def pages(
        self, text: str, variables: dict[str, Any], path: tuple[str, ...], limit: int | None
    ) -> Iterator[dict[str, Any]]:
        return paginate(self.target, text, variables, path, limit=limit, token=self.token)

    def factories(self) -> Iterator[dict[str, Any]]:
        return self.pages(
            f"query($first: Int!, $after: String) {{ factories(first: $first, after: $after) "
            f"{{ edges {{ node {{ id slug }} }} {PAGE} }} }}",
            {},
            ("factories",),
            None,
        )

    def factory_id(self, ref: str) -> str:
        if _is_uuid(ref):
            return ref

        def newer() -> dict[str, Any] | None:
            found: dict[str, Any] | None = self.query(
                "query($slug: String!) { factory(slug: $slug) { id slug } }", {"slug": ref}
            )["factory"]
            return found

        def older() -> dict[str, Any] | None:
            return next((f for f in self.factories() if f["slug"] == ref), None)

        found = _newer_or(newer, older)
        if found is None:
            raise _missing("factory", ref, self.target, "yunfab factory list")
        return str(found["id"])


# --- factories --------------------------------------------------------------------------------

factory_app = typer.Typer(help="Factories on a node (calls the node).", no_args_is_help=True)

FACTORY_FIELDS = """id slug name status statusReason organizationId skills products createdAt
updatedAt statusChangedAt location { city region timeZone } equipment { type model count }"""
FACTORY_COLUMNS: list[Column] = [
    ("SLUG", "slug"),
    ("NAME", "name"),
    ("STATUS", "status"),
    ("PRODUCTS", "products"),
    ("UPDATED", "updatedAt"),
]


@factory_app.command("list")
def factory_list(
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    limit: LimitOption = 50,
    every: AllOption = False,
    fmt: FormatOption = None,
) -> None:
    """Factories you may see on the node, by name."""
    call = NodeCall(node, hub, token)
    items = call.pages(
        "query($first: Int!, $after: String) { factories(first: $first, after: $after) "
        "{ edges { node { id slug name status products organizationId updatedAt } } "
        f"{PAGE} }} }}",
        {},
        ("factories",),
        _limit(limit, every),
    )
    print_list(items, FACTORY_COLUMNS, chosen(fmt))


@factory_app.command("show")
def factory_show(
    slug: Annotated[str, typer.Argument(help="The factory's slug (or id).")],
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """One factory: its profile, status and equipment."""
    call = NodeCall(node, hub, token)
    found = call.query(
        f"query($id: UUID!) {{ factory(id: $id) {{ {FACTORY_FIELDS} }} }}",
        {"id": call.factory_id(slug)},
    )["factory"]
    fields: list[Column] = [
        ("Slug", "slug"), ("Name", "name"), ("Id", "id"), ("Status", "status"),
        ("Reason", "statusReason"), ("Organization", "organizationId"), ("Skills", "skills"),
        ("Products", "products"), ("City", "location.city"), ("Region", "location.region"),
        ("Created", "createdAt"),
        ("Updated", "updatedAt"),
    ]  # fmt: skip
    equipment: list[Column] = [("TYPE", "type"), ("MODEL", "model"), ("COUNT", "count")]
    print_one(found, fields, chosen(fmt), sections=[("Equipment", "equipment", equipment)])


# --- devices ----------------------------------------------------------------------------------

device_app = typer.Typer(help="Devices on a node (calls the node).", no_args_is_help=True)

DEVICE_FIELDS = """id key name type kind status connection factoryId lastSeenAt createdAt
statusChangedAt telemetryTopic metrics { name unit minValue maxValue }"""
DEVICE_COLUMNS: list[Column] = [
    ("KEY", "key"),
    ("NAME", "name"),
    ("TYPE", "type"),
    ("STATUS", "status"),
    ("CONNECTION", "connection"),
    ("LAST SEEN", "lastSeenAt"),
]


def _factory_devices(
    call: NodeCall, factory_id: str, limit: int | None
) -> Iterator[dict[str, Any]]:
    return call.pages(
        "query($id: UUID!, $first: Int!, $after: String) { factory(id: $id) { devices("
        f"first: $first, after: $after) {{ edges {{ node {{ {DEVICE_FIELDS} }} }} {PAGE} }} }} }}",
        {"id": factory_id},
        ("factory", "devices"),
        limit,
    )


def _every_device(call: NodeCall) -> Iterator[dict[str, Any]]:
    for factory in call.factories():
        yield from _factory_devices(call, str(factory["id"]), None)


def _all_devices(call: NodeCall, limit: int | None) -> Iterator[dict[str, Any]]:
    """The node-wide device list where the node has one, else factory by factory."""
    pages = call.pages(
        "query($first: Int!, $after: String) { devices(first: $first, after: $after) "
        f"{{ edges {{ node {{ {DEVICE_FIELDS} }} }} {PAGE} }} }}",
        {},
        ("devices",),
        limit,
    )
    try:
        first = next(pages, None)
    except ApiError as exc:
        if exc.code != _VALIDATION:
            raise
        yield from itertools.islice(_every_device(call), limit)
        return
    if first is not None:
        yield first
        yield from pages


@device_app.command("list")
def device_list(
    factory: Annotated[
        str | None, typer.Option("--factory", help="Only this factory's (slug or id).")
    ] = None,
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    limit: LimitOption = 50,
    every: AllOption = False,
    fmt: FormatOption = None,
) -> None:
    """Devices you may see on the node, or in one factory."""
    call = NodeCall(node, hub, token)
    if factory is not None:
        items = _factory_devices(call, call.factory_id(factory), _limit(limit, every))
    else:
        items = _all_devices(call, _limit(limit, every))
    print_list(items, DEVICE_COLUMNS, chosen(fmt))


@device_app.command("show")
def device_show(
    key: Annotated[str, typer.Argument(help="The device's key (or id).")],
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """One device: its status, connection and metrics."""
    call = NodeCall(node, hub, token)
    text = f"query($id: UUID!) {{ device(id: $id) {{ {DEVICE_FIELDS} }} }}"
    if _is_uuid(key):
        found: dict[str, Any] | None = call.query(text, {"id": key})["device"]
    else:
        found = _newer_or(
            lambda: call.query(
                f"query($key: String!) {{ device(key: $key) {{ {DEVICE_FIELDS} }} }}", {"key": key}
            )["device"],
            lambda: next((d for d in _every_device(call) if d["key"] == key), None),
        )
    if found is None:
        raise _missing("device", key, call.target, "yunfab device list")
    fields: list[Column] = [
        ("Key", "key"), ("Name", "name"), ("Id", "id"), ("Type", "type"), ("Kind", "kind"),
        ("Status", "status"), ("Connection", "connection"), ("Factory", "factoryId"),
        ("Last seen", "lastSeenAt"), ("Topic", "telemetryTopic"), ("Created", "createdAt"),
    ]  # fmt: skip
    metrics: list[Column] = [
        ("NAME", "name"),
        ("UNIT", "unit"),
        ("MIN", "minValue"),
        ("MAX", "maxValue"),
    ]
    print_one(found, fields, chosen(fmt), sections=[("Metrics", "metrics", metrics)])


# --- orders and work orders ----------------------------------------------------------------

order_app = typer.Typer(help="Orders on a node (calls the node).", no_args_is_help=True)
work_order_app = typer.Typer(help="Work orders on a node (calls the node).", no_args_is_help=True)

ORDER_SUMMARY = """id number buyerOrg buyerReference product quantity startDate dueDate stage
status createdAt updatedAt"""
WORK_ORDER_FIELDS = """id orderId factoryId step process quantity startDate endDate status made
scrapped updatedAt"""
ORDER_COLUMNS: list[Column] = [
    ("NUMBER", "number"),
    ("PRODUCT", "product"),
    ("QUANTITY", "quantity"),
    ("DUE", "dueDate"),
    ("STAGE", "stage"),
    ("STATUS", "status"),
    ("BUYER", "buyerOrg"),
]
WORK_ORDER_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("STEP", "step"),
    ("PROCESS", "process"),
    ("QUANTITY", "quantity"),
    ("MADE", "made"),
    ("START", "startDate"),
    ("END", "endDate"),
    ("STATUS", "status"),
]


@order_app.command("list")
def order_list(
    status: Annotated[
        str | None, typer.Option("--status", help="OPEN, CANCELLED or DONE.", show_default=False)
    ] = None,
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    limit: LimitOption = 50,
    every: AllOption = False,
    fmt: FormatOption = None,
) -> None:
    """Orders, newest first: yours, or all of them for the node's operator."""
    call = NodeCall(node, hub, token)
    items = call.pages(
        "query($status: OrderStatus, $first: Int!, $after: String) { orders(status: $status, "
        f"first: $first, after: $after) {{ edges {{ node {{ {ORDER_SUMMARY} }} }} {PAGE} }} }}",
        {"status": status.upper() if status else None},
        ("orders",),
        _limit(limit, every),
    )
    print_list(items, ORDER_COLUMNS, chosen(fmt))


@order_app.command("show")
def order_show(
    number: Annotated[str, typer.Argument(help="The order's number, SO-... (or id).")],
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """One order: its stage, dates and work orders."""
    call = NodeCall(node, hub, token)
    fields_text = f"{ORDER_SUMMARY} dailyTarget note workOrders {{ {WORK_ORDER_FIELDS} }}"
    if _is_uuid(number):
        order_id: str | None = number
    else:

        def newer() -> dict[str, Any] | None:
            found: dict[str, Any] | None = call.query(
                "query($n: String!) { order(number: $n) { id } }", {"n": number}
            )["order"]
            return found

        def older() -> dict[str, Any] | None:
            return next(
                (
                    o
                    for o in call.pages(
                        "query($first: Int!, $after: String) { orders(first: $first, "
                        f"after: $after) {{ edges {{ node {{ id number }} }} {PAGE} }} }}",
                        {},
                        ("orders",),
                        None,
                    )
                    if o["number"] == number
                ),
                None,
            )

        found = _newer_or(newer, older)
        order_id = str(found["id"]) if found else None
    if order_id is None:
        raise _missing("order", number, call.target, "yunfab order list")
    order = call.query(
        f"query($id: UUID!) {{ order(id: $id) {{ {fields_text} }} }}", {"id": order_id}
    )["order"]
    fields: list[Column] = [
        ("Number", "number"), ("Id", "id"), ("Buyer", "buyerOrg"),
        ("Reference", "buyerReference"), ("Product", "product"), ("Quantity", "quantity"),
        ("Start", "startDate"), ("Due", "dueDate"), ("Stage", "stage"), ("Status", "status"),
        ("Created", "createdAt"), ("Updated", "updatedAt"),
    ]  # fmt: skip
    print_one(
        order, fields, chosen(fmt), sections=[("Work orders", "workOrders", WORK_ORDER_COLUMNS)]
    )


@work_order_app.command("list")
def work_order_list(
    factory: FactoryOption,
    closed: Annotated[
        bool, typer.Option("--closed", help="Done and cancelled ones too (default: open).")
    ] = False,
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    limit: LimitOption = 50,
    every: AllOption = False,
    fmt: FormatOption = None,
) -> None:
    """A factory's work orders, open ones unless --closed."""
    call = NodeCall(node, hub, token)
    found = call.query(
        f"query($id: UUID!, $all: Boolean!) {{ workOrders(factoryId: $id, all: $all) "
        f"{{ {WORK_ORDER_FIELDS} }} }}",
        {"id": call.factory_id(factory), "all": closed},
    )["workOrders"]
    items = found if every else found[:limit]
    print_list(items, WORK_ORDER_COLUMNS, chosen(fmt))


# --- alerts -----------------------------------------------------------------------------------

alert_app = typer.Typer(help="Alerts on a node (calls the node).", no_args_is_help=True)

ALERT_FIELDS = """id ruleId deviceId factoryId metric severity status message value openedAt
acknowledgedAt acknowledgedBy closedAt closedBy closeReason"""
ALERT_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("SEVERITY", "severity"),
    ("STATUS", "status"),
    ("METRIC", "metric"),
    ("MESSAGE", "message"),
    ("OPENED", "openedAt"),
]


def _factory_alerts(
    call: NodeCall, factory_id: str, status: str | None, limit: int | None
) -> Iterator[dict[str, Any]]:
    return call.pages(
        "query($id: UUID!, $status: AlertStatus, $first: Int!, $after: String) { factory(id: $id)"
        " { alerts(status: $status, first: $first, after: $after) "
        f"{{ edges {{ node {{ {ALERT_FIELDS} }} }} {PAGE} }} }} }}",
        {"id": factory_id, "status": status},
        ("factory", "alerts"),
        limit,
    )


def _alerts_by_factory(
    call: NodeCall, factory: str | None, status: str | None, severity: str | None
) -> Iterator[dict[str, Any]]:
    ids = [call.factory_id(factory)] if factory else [str(f["id"]) for f in call.factories()]
    for factory_id in ids:
        for alert in _factory_alerts(call, factory_id, status, None):
            if severity is None or alert["severity"] == severity:
                yield alert


@alert_app.command("list")
def alert_list(
    status: Annotated[
        str | None, typer.Option(help="OPEN, ACKNOWLEDGED or CLOSED.", show_default=False)
    ] = None,
    severity: Annotated[
        str | None, typer.Option(help="INFO, WARNING or CRITICAL.", show_default=False)
    ] = None,
    factory: Annotated[
        str | None, typer.Option("--factory", help="Only this factory's (slug or id).")
    ] = None,
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    limit: LimitOption = 50,
    every: AllOption = False,
    fmt: FormatOption = None,
) -> None:
    """Alerts you may see on the node, newest first."""
    call = NodeCall(node, hub, token)
    wanted_status = status.upper() if status else None
    wanted_severity = severity.upper() if severity else None
    bound = _limit(limit, every)
    where: dict[str, Any] = {
        key: value
        for key, value in (
            ("status", [wanted_status] if wanted_status else None),
            ("severity", [wanted_severity] if wanted_severity else None),
            ("factoryId", call.factory_id(factory) if factory else None),
        )
        if value is not None
    }
    text = (
        "query($filter: AlertFilter, $first: Int!, $after: String) { alerts(filter: $filter, "
        f"first: $first, after: $after) {{ edges {{ node {{ {ALERT_FIELDS} }} }} {PAGE} }} }}"
    )
    try:
        items = list(call.pages(text, {"filter": where or None}, ("alerts",), bound))
    except ApiError as exc:
        if exc.code != _VALIDATION:
            raise
        found = _alerts_by_factory(call, factory, wanted_status, wanted_severity)
        ordered = sorted(found, key=lambda alert: str(alert["openedAt"]), reverse=True)
        items = ordered if bound is None else ordered[:bound]
    print_list(items, ALERT_COLUMNS, chosen(fmt))


@alert_app.command("show")
def alert_show(
    alert_id: Annotated[str, typer.Argument(metavar="ID", help="The alert's id.")],
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """One alert: what opened it, who acknowledged and closed it."""
    call = NodeCall(node, hub, token)
    if not _is_uuid(alert_id):
        raise _missing("alert", alert_id, call.target, "yunfab alert list")
    found = _newer_or(
        lambda: call.query(
            f"query($id: UUID!) {{ alert(id: $id) {{ {ALERT_FIELDS} }} }}", {"id": alert_id}
        )["alert"],
        lambda: next(
            (a for a in _alerts_by_factory(call, None, None, None) if a["id"] == alert_id), None
        ),
    )
    if found is None:
        raise _missing("alert", alert_id, call.target, "yunfab alert list")
    fields: list[Column] = [
        ("Id", "id"), ("Severity", "severity"), ("Status", "status"), ("Metric", "metric"),
        ("Value", "value"), ("Message", "message"), ("Device", "deviceId"),
        ("Factory", "factoryId"), ("Rule", "ruleId"), ("Opened", "openedAt"),
        ("Acknowledged", "acknowledgedAt"), ("By", "acknowledgedBy"), ("Closed", "closedAt"),
        ("Closed by", "closedBy"), ("Reason", "closeReason"),
    ]  # fmt: skip
    print_one(found, fields, chosen(fmt))


# --- stations and vision models -------------------------------------------------------------

station_app = typer.Typer(help="Camera stations on a node (calls the node).", no_args_is_help=True)
model_app = typer.Typer(help="Inspection models on a node (calls the node).", no_args_is_help=True)

STATION_FIELDS = """id factoryId slug name deviceId modelId previousModelId workOrderId
counting: countingJson privacy: privacyJson keepImages updatedAt model { id sku number kind }"""
MODEL_FIELDS = """id factoryId sku number digest kind metrics: metricsJson params: paramsJson
lineage: lineageJson createdBy createdAt"""


@station_app.command("list")
def station_list(
    factory: FactoryOption,
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """A factory's stations and the model each runs."""
    call = NodeCall(node, hub, token)
    found = call.query(
        f"query($id: UUID!) {{ stations(factoryId: $id) {{ {STATION_FIELDS} }} }}",
        {"id": call.factory_id(factory)},
    )["stations"]
    columns: list[Column] = [
        ("ID", "id"), ("SLUG", "slug"), ("NAME", "name"), ("MODEL", "model.sku"),
        ("VERSION", "model.number"), ("WORK ORDER", "workOrderId"), ("UPDATED", "updatedAt"),
    ]  # fmt: skip
    print_list(found, columns, chosen(fmt))


@station_app.command("show")
def station_show(
    station_id: Annotated[str, typer.Argument(metavar="ID", help="The station's id.")],
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """One station: its model, counting line or zone, privacy."""
    call = NodeCall(node, hub, token)
    if not _is_uuid(station_id):
        raise _missing("station", station_id, call.target, "yunfab station list --factory SLUG")
    found = call.query(
        f"query($id: UUID!) {{ station(id: $id) {{ {STATION_FIELDS} }} }}", {"id": station_id}
    )["station"]
    fields: list[Column] = [
        ("Slug", "slug"), ("Name", "name"), ("Id", "id"), ("Factory", "factoryId"),
        ("Device", "deviceId"), ("Model", "model.sku"), ("Version", "model.number"),
        ("Work order", "workOrderId"), ("Counting", "counting"), ("Privacy", "privacy"),
        ("Keeps images", "keepImages"), ("Updated", "updatedAt"),
    ]  # fmt: skip
    print_one(found, fields, chosen(fmt))


@model_app.command("list")
def model_list(
    factory: FactoryOption,
    sku: Annotated[str | None, typer.Option(help="Only this SKU's.", show_default=False)] = None,
    node: NodeOption = None,
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """A factory's inspection models, newest version first per SKU."""
    call = NodeCall(node, hub, token)
    found = call.query(
        f"query($id: UUID!, $sku: String) {{ visionModels(factoryId: $id, sku: $sku) "
        f"{{ {MODEL_FIELDS} }} }}",
        {"id": call.factory_id(factory), "sku": sku},
    )["visionModels"]
    columns: list[Column] = [
        ("SKU", "sku"), ("VERSION", "number"), ("KIND", "kind"), ("ID", "id"),
        ("BY", "createdBy"), ("CREATED", "createdAt"),
    ]  # fmt: skip
    print_list(found, columns, chosen(fmt))


# --- the hub: contracts, listings, federated runs ------------------------------------------

contract_app = typer.Typer(help="Data contracts at the hub (calls the hub).", no_args_is_help=True)
listing_app = typer.Typer(help="Market listings at the hub (calls the hub).", no_args_is_help=True)
run_app = typer.Typer(help="Federated learning runs (calls the hub).", no_args_is_help=True)

CONTRACT_FIELDS = """id offerId productId consumerOrganizationId providerOrganizationId
state: status purpose request: requestJson terms: termsJson termsHash history: historyJson
createdAt finalizedAt expiresAt terminatedAt terminationReason"""
LISTING_FIELDS = """id slug kind title summary industry tags publisherOrganizationId latestVersion
license yunfabRange verified free ratingCount ratingAverage createdAt updatedAt"""
RUN_FIELDS = """id label strategy rounds minNodes status flowerRunId config: configJson
summary: summaryJson error modelId startedBy createdAt finishedAt"""


def _hub_pages(
    hub: str | None,
    token: str | None,
    text: str,
    variables: dict[str, Any],
    path: tuple[str, ...],
    limit: int | None,
) -> Iterator[dict[str, Any]]:
    return paginate(hub_target(hub), text, variables, path, limit=limit, token=token)


@contract_app.command("list")
def contract_list(
    as_provider: Annotated[
        bool, typer.Option("--as-provider", help="Contracts where you provide the data.")
    ] = False,
    hub: HubOption = None,
    token: TokenOption = None,
    limit: LimitOption = 50,
    every: AllOption = False,
    fmt: FormatOption = None,
) -> None:
    """Your organization's data contracts, as consumer (or --as-provider)."""
    items = _hub_pages(
        hub,
        token,
        "query($p: Boolean!, $first: Int!, $after: String) { dataContracts(asProvider: $p, "
        f"first: $first, after: $after) {{ edges {{ node {{ {CONTRACT_FIELDS} }} }} {PAGE} }} }}",
        {"p": as_provider},
        ("dataContracts",),
        _limit(limit, every),
    )
    columns: list[Column] = [
        ("ID", "id"), ("STATE", "state"), ("PURPOSE", "purpose"),
        ("PROVIDER", "providerOrganizationId"), ("CONSUMER", "consumerOrganizationId"),
        ("EXPIRES", "expiresAt"),
    ]  # fmt: skip
    print_list(items, columns, chosen(fmt))


@contract_app.command("show")
def contract_show(
    contract_id: Annotated[str, typer.Argument(metavar="ID", help="The contract's id.")],
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """One data contract: its parties, state and terms."""
    target = hub_target(hub)
    if not _is_uuid(contract_id):
        raise _missing("contract", contract_id, target, "yunfab contract list")
    found = graphql(
        target,
        f"query($id: UUID!) {{ dataContract(id: $id) {{ {CONTRACT_FIELDS} }} }}",
        {"id": contract_id},
        token=token,
    )["dataContract"]
    fields: list[Column] = [
        ("Id", "id"), ("State", "state"), ("Purpose", "purpose"), ("Product", "productId"),
        ("Provider", "providerOrganizationId"), ("Consumer", "consumerOrganizationId"),
        ("Terms", "terms"), ("Created", "createdAt"), ("Finalized", "finalizedAt"),
        ("Expires", "expiresAt"), ("Terminated", "terminatedAt"),
        ("Reason", "terminationReason"),
    ]  # fmt: skip
    print_one(found, fields, chosen(fmt))


@listing_app.command("list")
def listing_list(
    search: Annotated[
        str | None, typer.Option(help="Words in the title, summary, tags, name.")
    ] = None,
    hub: HubOption = None,
    token: TokenOption = None,
    limit: LimitOption = 50,
    every: AllOption = False,
    fmt: FormatOption = None,
) -> None:
    """Market listings, newest first."""
    items = _hub_pages(
        hub,
        token,
        "query($search: String, $first: Int!, $after: String) { marketListings(search: $search,"
        f" first: $first, after: $after) {{ listings {{ edges {{ node {{ {LISTING_FIELDS} }} }} "
        f"{PAGE} }} }} }}",
        {"search": search},
        ("marketListings", "listings"),
        _limit(limit, every),
    )
    columns: list[Column] = [
        ("SLUG", "slug"), ("KIND", "kind"), ("TITLE", "title"), ("VERSION", "latestVersion"),
        ("VERIFIED", "verified"), ("INDUSTRY", "industry"), ("UPDATED", "updatedAt"),
    ]  # fmt: skip
    print_list(items, columns, chosen(fmt))


@listing_app.command("show")
def listing_show(
    slug: Annotated[str, typer.Argument(help="The listing's name (slug).")],
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """One listing and its releases."""
    found = graphql(
        hub_target(hub),
        f"query($slug: String!) {{ marketListing(slug: $slug) {{ {LISTING_FIELDS} "
        "releases { id version status createdAt } } }",
        {"slug": slug},
        token=token,
    )["marketListing"]
    fields: list[Column] = [
        ("Slug", "slug"), ("Title", "title"), ("Kind", "kind"), ("Summary", "summary"),
        ("Industry", "industry"), ("Tags", "tags"), ("Latest", "latestVersion"),
        ("License", "license"), ("Verified", "verified"), ("Free", "free"),
        ("Rating", "ratingAverage"), ("Updated", "updatedAt"),
    ]  # fmt: skip
    releases: list[Column] = [
        ("VERSION", "version"),
        ("STATUS", "status"),
        ("ID", "id"),
        ("CREATED", "createdAt"),
    ]
    print_one(found, fields, chosen(fmt), sections=[("Releases", "releases", releases)])


@run_app.command("list")
def run_list(
    hub: HubOption = None,
    token: TokenOption = None,
    limit: LimitOption = 50,
    every: AllOption = False,
    fmt: FormatOption = None,
) -> None:
    """Federated runs, newest first."""
    items = _hub_pages(
        hub,
        token,
        "query($first: Int!, $after: String) { federatedRuns(first: $first, after: $after) "
        f"{{ edges {{ node {{ {RUN_FIELDS} }} }} {PAGE} }} }}",
        {},
        ("federatedRuns",),
        _limit(limit, every),
    )
    columns: list[Column] = [
        ("ID", "id"), ("LABEL", "label"), ("STRATEGY", "strategy"), ("ROUNDS", "rounds"),
        ("STATUS", "status"), ("STARTED", "createdAt"), ("FINISHED", "finishedAt"),
    ]  # fmt: skip
    print_list(items, columns, chosen(fmt))


@run_app.command("show")
def run_show(
    run_id: Annotated[str, typer.Argument(metavar="ID", help="The run's id.")],
    hub: HubOption = None,
    token: TokenOption = None,
    fmt: FormatOption = None,
) -> None:
    """One federated run: its rounds, status and the model it made."""
    target = hub_target(hub)
    if not _is_uuid(run_id):
        raise _missing("run", run_id, target, "yunfab run list")
    found = graphql(
        target,
        f"query($id: UUID!) {{ federatedRun(id: $id) {{ {RUN_FIELDS} }} }}",
        {"id": run_id},
        token=token,
    )["federatedRun"]
    fields: list[Column] = [
        ("Id", "id"), ("Label", "label"), ("Strategy", "strategy"), ("Rounds", "rounds"),
        ("Min nodes", "minNodes"), ("Status", "status"), ("Model", "modelId"),
        ("Error", "error"), ("Started by", "startedBy"), ("Started", "createdAt"),
        ("Finished", "finishedAt"),
    ]  # fmt: skip
    print_one(found, fields, chosen(fmt))


NODE_APPS = {
    "factory": factory_app,
    "device": device_app,
    "order": order_app,
    "work-order": work_order_app,
    "alert": alert_app,
    "station": station_app,
    "model": model_app,
}
HUB_APPS = {"contract": contract_app, "listing": listing_app, "run": run_app}
