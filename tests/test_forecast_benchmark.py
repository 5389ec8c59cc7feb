"""`python -m benchmarks.forecast DATA.csv --quick` on seeded C2M sales written to a CSV:
the table has Yunfab's row beside the zero forecast and each single model asked for, and the
last line is JSON with the figures, the references and the goal's verdicts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks import forecast as benchmark
from demand_forecast.synthetic import Product, weekly_sales

PRODUCTS = (
    Product("tee", "apparel", ("white", "black", "navy"), ("S", "M", "L"), 240.0),
    Product("cap", "accessories", ("red", "blue"), ("std",), 60.0),
)
MODELS = "AutoTheta,SeasonalNaive,CrostonSBA"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    sales = weekly_sales(products=PRODUCTS, weeks=120, future_weeks=0, seed=3)
    path = tmp_path / "c2m.csv"
    sales.history[["unique_id", "ds", "y", "category", "product"]].to_csv(path, index=False)
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks.forecast", *argv])
    benchmark.main()
    lines = capsys.readouterr().out.strip().splitlines()
    return lines, json.loads(lines[-1])


def test_quick_run_prints_the_table_and_one_json_line(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines, result = run(
        [str(data), "--horizon", "8", "--quick", "--models", MODELS], capsys, monkeypatch
    )
    assert result["benchmark"] == "forecast"
    assert result["quick"] is True
    assert result["series"] == 11
    assert result["horizon"] == 8
    assert result["freq"] == "W-MON"
    assert result["season_length"] == 52
    methods = [row["method"] for row in result["methods"]]
    assert methods == ["Yunfab", "Zero", "AutoTheta", "SeasonalNaive", "CrostonSBA"]
    for row in result["methods"]:
        assert set(row) >= {"rmse", "mase", "rmsse", "scaled_pinball", "coverage", "bias"}
        assert row["rmse"] >= 0
        assert 0.0 <= row["coverage"] <= 1.0
    zero = result["methods"][1]
    assert zero["bias"] == -1.0  # forecasts nothing of what sold
    assert result["reference"]["best_rmse"]["method"] in {
        "AutoTheta",
        "SeasonalNaive",
        "CrostonSBA",
    }
    assert set(result["goal"]) == {
        "rmse_at_or_below_best_single",
        "scaled_pinball_at_or_below_best_single",
        "coverage_in_range",
    }
    # Yunfab beats the zero forecast on demand that sells most weeks.
    assert result["yunfab"]["rmse"] < zero["rmse"]
    assert result["yunfab"]["mase"] < zero["mase"]
    header = next(i for i, line in enumerate(lines) if line.startswith("method"))
    assert lines[header + 1].startswith("Yunfab")
    assert any(line.startswith("reference: best single RMSE") for line in lines)


def test_hierarchy_columns_are_reconciled_and_scored_on_the_bottom_series(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, result = run(
        [str(data), "--horizon", "6", "--quick", "--hierarchy", "category,product",
         "--models", "AutoTheta", "--no-holidays"],
        capsys,
        monkeypatch,
    )  # fmt: skip
    assert result["series"] == 11
    assert result["reconciliation"] is not None


def test_a_file_without_the_columns_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,date,sales\na,2024-01-01,1\n")
    monkeypatch.setattr(sys, "argv", ["benchmarks.forecast", str(path), "--horizon", "2"])
    with pytest.raises(SystemExit, match="missing column"):
        benchmark.main()
