"""`yunfab demand import|forecast|plan` as people type them, against a node on a loopback
port: a file with a bad row refused in one line that names it, sales imported, a forecast, a
plan listed, and the operator (not the brand) accepting a proposal into an order."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import HubFactory, NodeFactory
from tests.support import served
from tests.test_cli_tasks import SQLITE, ok, one_line, run
from tests.test_cli_tasks import config_dir as config_dir  # each test its own credentials
from tests.test_demand import NODE_URL, as_csv, c2m_setup, weekly_sales
from yunfab.console import EXIT_AUTH, EXIT_ERROR
from yunfab.processes import free_port


def _env(headers: dict[str, str], node_url: str) -> dict[str, str]:
    return {
        "YUNFAB_TOKEN": headers["authorization"].removeprefix("Bearer "),
        "YUNFAB_NODE_URL": node_url,
        "YUNFAB_NODE_AUDIENCE": NODE_URL,
    }


@SQLITE
async def test_import_forecast_plan_and_accept_on_the_command_line(
    hub_factory: HubFactory, node_factory: NodeFactory, tmp_path: Path
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        setup = await c2m_setup(hub, node)
        rows = weekly_sales(weeks=30)
        bad = tmp_path / "bad.csv"
        bad.write_bytes(
            as_csv([*rows[:4], {"sku": "BELL-BLK", "date": "next week", "quantity": 1}])
        )
        good = tmp_path / "sales.csv"
        good.write_bytes(as_csv(rows))
        async with served(node.app, free_port(), lifespan="off") as node_url:
            brand = _env(setup["brand"], node_url)
            operator = _env(setup["operator"], node_url)

            refused = await run("demand", "import", str(bad), env=brand)
            assert refused.exit_code == EXIT_ERROR
            line = one_line(refused)
            assert "sales_invalid" in line
            assert "row 6 date: 'next week' is not a date" in line

            imported = json.loads(ok(await run("demand", "import", str(good), env=brand)).stdout)
            assert imported["rows"] == len(rows)
            assert imported["source"] == "sales.csv"

            made = json.loads(
                ok(await run("demand", "forecast", "--horizon", "4", "--windows", "1", env=brand))
                .stdout
            )  # fmt: skip
            assert made["horizon"] == 4
            assert {s["name"] for s in made["series"]} >= {"total", "bell", "bell/BELL-BLK"}

            table = ok(await run("demand", "plan", "-o", "table", env=brand)).stdout
            assert table.splitlines()[0].split()[:4] == ["ID", "SKU", "WEEK", "QUANTITY"]
            # Planned again: the weeks beyond the frozen horizon are proposed anew.
            proposals = json.loads(ok(await run("demand", "plan", env=brand)).stdout)
            assert proposals
            assert {p["sku"]["code"] for p in proposals} <= {
                "BELL-BLK", "BELL-RED", "BELL-CHR", "GRIP-S", "GRIP-L",
            }  # fmt: skip

            # Only the operator accepts; the brand is told so in one line.
            latest = max(proposals, key=lambda p: p["week"])
            denied = await run("demand", "plan", "--accept", latest["id"], env=brand)
            assert denied.exit_code == EXIT_AUTH
            assert "FORBIDDEN" in one_line(denied)
            lots = json.loads(
                ok(await run("demand", "plan", "--brand", setup["brand_id"], "--accept",
                             latest["id"], env=operator)).stdout
            )  # fmt: skip
            assert len(lots) == 1
            assert lots[0]["quantity"] == latest["quantity"]
            assert lots[0]["order"]["number"].startswith("SO-")
            assert lots[0]["planned"] is True
