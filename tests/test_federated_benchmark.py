"""The node layouts `benchmarks.federated` trains on (issue #24): the 10-node split is non-IID in
the ways the benchmark claims (one-SKU nodes, few-image nodes, defect kinds differing by node),
and a SKU made on several nodes is made of other parts on each."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks import federated
from federated_learning.client_app import NODE_NAME
from yunfab_demo.synthetic import DEFECTS


def test_the_ten_node_split_is_non_iid() -> None:
    plans = federated.layout(10)
    assert len(plans) == 10
    assert all(NODE_NAME.fullmatch(name) for name in plans)
    assert sum(len(plan.skus) == 1 for plan in plans.values()) >= 5
    assert 2 <= sum(plan.few for plan in plans.values()) < 5
    made_on = Counter(sku.name for plan in plans.values() for sku in plan.skus)
    assert set(made_on) == set(federated.SKUS)
    assert min(made_on.values()) >= 2
    assert all(plan.defects and set(plan.defects) <= set(DEFECTS) for plan in plans.values())
    assert len({plan.defects for plan in plans.values()}) >= 8
    fabric_dents = [
        name
        for name, plan in plans.items()
        if "dent" in plan.defects and any(sku.surface == "fabric" for sku in plan.skus)
    ]
    assert len(fabric_dents) == 1


def test_only_known_layouts() -> None:
    assert len(federated.layout(3)) == 3
    with pytest.raises(ValueError, match="layouts exist"):
        federated.layout(4)


def test_nodes_making_one_sku_hold_other_parts_and_few_image_nodes_fewer(tmp_path: Path) -> None:
    args = argparse.Namespace(good=3, defective=2, few_good=1, few_defective=1, size=32, seed=0)
    stores = federated.write_nodes(tmp_path, federated.layout(10), args)
    assert sorted(stores) == sorted(federated.layout(10))
    first = cv2.imread(str(stores["n01"] / "bracket" / "good" / "0000.png"))
    again = cv2.imread(str(stores["n06"] / "bracket" / "good" / "0000.png"))
    assert first is not None
    assert again is not None
    assert first.shape == again.shape
    assert not np.array_equal(first, again)
    assert len(list((stores["n01"] / "bracket").glob("*/*.png"))) == 5
    assert len(list((stores["n06"] / "bracket").glob("*/*.png"))) == 2
