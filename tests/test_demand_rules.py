"""The demand domain's rules on their own: net requirements and lots, lead times, routing
variants from option values, and sales rows read and checked (rows named, gaps found)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from regional_node.demand import configuration, sales
from regional_node.demand.errors import ProductInvalid, SalesInvalid
from regional_node.demand.requirements import Lots, WeekDemand, lead_time_days, net_requirements
from regional_node.orders.routings import parse

MONDAY = dt.date(2026, 3, 2)
WEEK = dt.timedelta(days=7)

ROUTING = parse(
    """
product = "plate"
name = "Plate"
[[steps]]
id = "mould"
process = "moulding"
hours_per_unit = 0.01
[[steps]]
id = "print"
process = "printing"
after = ["mould"]
hours_per_unit = 0.01
lag_days = 2
[[steps]]
id = "pack"
process = "packing"
after = ["print"]
hours_per_unit = 0.01
lag_days = 1
"""
)


def weeks(*values: tuple[float, float]) -> list[WeekDemand]:
    return [
        WeekDemand(week=MONDAY + WEEK * i, mean=mean, quantile=q)
        for i, (mean, q) in enumerate(values)
    ]


def test_the_first_week_needs_its_quantile_less_stock_and_open_production() -> None:
    found = net_requirements(weeks((100, 130)), on_hand=20, arriving={MONDAY: 30}, lots=Lots(1, 1))
    assert found[0].short == pytest.approx(130 - 20 - 30)
    assert found[0].quantity == 80
    assert found[0].safety == pytest.approx(30)


def test_later_weeks_net_the_mean_demand_before_them_and_lots_carry_over() -> None:
    # Week 1: needs 130, makes a lot of 200 (minimum); 100 are sold, 100 carry over.
    # Week 2: needs 100 + 30 safety with 100 in stock: 30 short, a lot of 200 again.
    # Week 3: 200 carried over covers 150 + 10.
    found = net_requirements(
        weeks((100, 130), (100, 130), (150, 160)), on_hand=0, arriving={}, lots=Lots(200, 50)
    )
    assert [r.quantity for r in found] == [200, 200, 0]
    assert [r.stock for r in found] == [0, 100, 200]
    assert found[2].short == 0


def test_lots_are_the_minimum_and_then_multiples() -> None:
    lots = Lots(minimum=50, multiple=20)
    assert [lots.size(x) for x in (0.2, 50, 51, 60.5, 121)] == [60, 60, 60, 80, 140]


def test_frozen_weeks_get_no_new_lot_but_count_what_arrives() -> None:
    found = net_requirements(
        weeks((100, 120), (100, 120)),
        on_hand=0,
        arriving={MONDAY: 40},
        lots=Lots(1, 1),
        frozen=frozenset({MONDAY}),
    )
    assert found[0].frozen
    assert found[0].quantity == 0
    assert found[0].short == pytest.approx(80)
    # The frozen week's mean was 60 more than arrived: the next week's lot makes up that backlog.
    assert found[1].stock == pytest.approx(40 - 100)
    assert found[1].quantity == 120 + 60


def test_supply_due_before_the_first_week_is_stock() -> None:
    found = net_requirements(
        weeks((10, 12)), on_hand=0, arriving={MONDAY - WEEK: 12}, lots=Lots(1, 1)
    )
    assert found[0].quantity == 0


def test_lead_time_is_the_longest_chain_of_days_and_lags() -> None:
    assert lead_time_days(ROUTING.steps) == 1 + (2 + 1) + (1 + 1)


OPTIONS = [
    {"name": "finish", "kind": "material", "values": [
        {"value": "plain"},
        {"value": "laminated", "routing": [
            {"op": "add", "step": {"id": "laminate", "process": "laminating",
                                   "after": ["print"], "hours_per_unit": 0.02}},
            {"op": "change", "step": "pack", "set": {"after": ["laminate"]}},
        ], "bom": [{"item": "film", "quantity": 0.1, "unit": "m2"}]},
        {"value": "blank", "routing": [{"op": "remove", "step": "print"}]},
    ]},
    {"name": "colour", "kind": "colour", "values": [
        {"value": "white"}, {"value": "yellow", "bom": [{"item": "ink", "quantity": 0}]},
    ]},
]  # fmt: skip


def test_a_choice_changes_the_routing_and_the_bill() -> None:
    config = configuration.parse(OPTIONS, [{"item": "ink", "quantity": 0.01, "unit": "l"}])
    laminated = configuration.choose(config, {"finish": "laminated", "colour": "yellow"})
    spec = configuration.variant_routing(ROUTING.steps, "pcs", "plate", laminated, name="P")
    assert spec.product == f"c2m-plate-{laminated.variant}"
    after = {s.id: s.after for s in spec.steps}
    assert after["laminate"] == ("print",)
    assert after["pack"] == ("laminate",)
    # Yellow drops the ink line (quantity 0); laminated adds film.
    assert [line.item for line in configuration.bill(config, laminated)] == ["film"]
    # Colour does not change the routing: white and yellow laminated are one variant.
    white = configuration.choose(config, {"finish": "laminated", "colour": "white"})
    assert white.variant == laminated.variant
    assert configuration.choose(config, {"finish": "plain", "colour": "white"}).variant == ""


def test_a_removed_step_hands_its_predecessors_to_its_successors() -> None:
    config = configuration.parse(OPTIONS)
    blank = configuration.choose(config, {"finish": "blank", "colour": "white"})
    spec = configuration.variant_routing(ROUTING.steps, "pcs", "plate", blank, name="P")
    assert {s.id: s.after for s in spec.steps} == {"mould": (), "pack": ("mould",)}


@pytest.mark.parametrize(
    ("options", "chosen", "says"),
    [
        (OPTIONS, {"finish": "plain"}, "choose a value for colour"),
        (OPTIONS, {"finish": "gold", "colour": "white"}, "'gold' is not one of"),
        (OPTIONS, {"finish": "plain", "colour": "white", "size": "xl"}, "no option size"),
    ],
)
def test_a_choice_must_name_a_value_of_every_option(
    options: list[dict[str, object]], chosen: dict[str, str], says: str
) -> None:
    with pytest.raises(ProductInvalid, match=says):
        configuration.choose(configuration.parse(options), chosen)


def test_changes_that_break_the_routing_are_refused() -> None:
    cycle = [{"name": "f", "kind": "material", "values": [{"value": "x", "routing": [
        {"op": "change", "step": "mould", "set": {"after": ["pack"]}}]}]}]  # fmt: skip
    config = configuration.parse(cycle)
    choice = configuration.choose(config, {"f": "x"})
    with pytest.raises(ProductInvalid, match="cycle|before"):
        configuration.variant_routing(ROUTING.steps, "pcs", "plate", choice, name="P")
    with pytest.raises(ProductInvalid, match="kind"):
        configuration.parse([{"name": "f", "kind": "flavour", "values": [{"value": "x"}]}])


def test_csv_rows_are_named_by_their_line_even_across_quoted_newlines() -> None:
    data = b'sku,date,quantity,channel\nA,2026-03-02,1,"tm\nall"\nB,2026-03-02,x,jd\n'
    rows = sales.read_csv(data)
    assert [r.row for r in rows] == [2, 4]
    sku = uuid.uuid4()
    with pytest.raises(SalesInvalid) as refused:
        sales.check(rows, {"A": sku, "B": sku}, set(), today=MONDAY)
    assert refused.value.extra["problems"] == [
        {"row": 4, "column": "quantity", "message": "'x' is not a number"}
    ]


def test_every_problem_is_named_and_missing_values_say_so() -> None:
    rows = sales.read_csv(b"SKU,Week,Units\nA,,1\nA,2026-03-09,\n,2026-03-09,1\nA,2099-01-05,1\n")
    with pytest.raises(SalesInvalid) as refused:
        sales.check(rows, {"A": uuid.uuid4()}, set(), today=MONDAY + 2 * WEEK)
    assert [(p["row"], p["column"], p["message"]) for p in refused.value.extra["problems"]] == [
        (2, "date", "missing"),
        (3, "quantity", "missing"),
        (4, "sku", "missing"),
        (5, "date", "2099-01-05 is ahead"),
    ]


def test_gaps_are_runs_of_weeks_without_rows() -> None:
    sku = uuid.uuid4()
    days = [(sku, MONDAY), (sku, MONDAY + WEEK + dt.timedelta(days=3)), (sku, MONDAY + 4 * WEEK)]
    (gap,) = sales.gaps(days, {sku: "A"})
    assert (gap["from"], gap["to"], gap["weeks"]) == (
        (MONDAY + 2 * WEEK).isoformat(), (MONDAY + 3 * WEEK).isoformat(), 2,
    )  # fmt: skip
