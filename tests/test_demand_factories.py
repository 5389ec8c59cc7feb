"""A re-plan's effect on factories: the proposals' units for a product, variant and week that
already has accepted lots, before and after, shared out as the factories' work on those lots."""

from __future__ import annotations

import datetime as dt
import uuid

from regional_node.demand.models import ProductionProposal
from regional_node.demand.plans import factory_effect

WEEK = dt.date(2026, 3, 9)
PRODUCT = uuid.uuid4()
OTHER = uuid.uuid4()
NORTH, SOUTH, EAST = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def _proposal(quantity: int, *, variant: str = "", week: dt.date = WEEK) -> ProductionProposal:
    return ProductionProposal(
        product_id=PRODUCT, variant=variant, week=week, quantity=quantity, sku_id=uuid.uuid4()
    )


def test_factories_gain_or_lose_in_proportion_to_their_work_on_the_lot() -> None:
    lots = [
        # The base variant's lot of the week: North does 3/4 of its work, South 1/4.
        (PRODUCT, "", WEEK, NORTH, "North works", 300),
        (PRODUCT, "", WEEK, SOUTH, "South works", 100),
        # The red variant's lot: East alone; its proposals do not change.
        (PRODUCT, "red", WEEK, EAST, "East works", 50),
        # Another product's lot: no proposals before or after.
        (OTHER, "", WEEK, EAST, "East works", 80),
    ]
    before = [_proposal(100), _proposal(60), _proposal(40, variant="red")]
    after = [
        _proposal(200),
        _proposal(40, variant="red"),
        _proposal(500, week=WEEK + dt.timedelta(days=7)),
    ]
    effect = factory_effect(before, after, lots)
    assert effect == [
        {"factory_id": str(NORTH), "factory": "North works", "before": 120.0, "after": 150.0,
         "change": 30.0},
        {"factory_id": str(SOUTH), "factory": "South works", "before": 40.0, "after": 50.0,
         "change": 10.0},
    ]  # fmt: skip


def test_no_accepted_lots_no_factory_effect() -> None:
    assert factory_effect([_proposal(10)], [_proposal(30)], []) == []
    # A lot whose proposals lose everything: its factories lose their share.
    lots = [(PRODUCT, "", WEEK, NORTH, "North works", 10)]
    assert factory_effect([_proposal(10)], [], lots) == [
        {"factory_id": str(NORTH), "factory": "North works", "before": 10.0, "after": 0.0,
         "change": -10.0}
    ]  # fmt: skip
