"""`yunfab workers post|need|match|proposals|accept|purge` as people type them, against a node
on a loopback port: an employer posts workers from a file, a factory a need, the operator
matches (a borrower may not), both answers are recorded, the purge is the operator's."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import operator_headers
from tests.support import served
from tests.test_cli_tasks import SQLITE, ok, one_line, run
from tests.test_cli_tasks import config_dir as config_dir  # each test its own credentials
from tests.test_workforce import NODE_URL, factory_headers, need, worker
from yunfab.console import EXIT_AUTH, EXIT_USAGE
from yunfab.processes import free_port


def _env(headers: dict[str, str], node_url: str) -> dict[str, str]:
    return {
        "YUNFAB_TOKEN": headers["authorization"].removeprefix("Bearer "),
        "YUNFAB_NODE_URL": node_url,
        "YUNFAB_NODE_AUDIENCE": NODE_URL,
    }


@SQLITE
async def test_post_match_and_accept_on_the_command_line(
    hub_factory: HubFactory, node_factory: NodeFactory, tmp_path: Path
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, workforce_rematch=False) as node:
        operator_headers_ = await operator_headers(hub, NODE_URL)
        lender_headers, _ = await factory_headers(hub, "Humen Knitwear Co")
        borrower_headers, _ = await factory_headers(hub, "Dalang Garments Ltd")
        workers = tmp_path / "workers.json"
        workers.write_text(json.dumps([worker("sew-01", "Wang Fang"), worker("sew-02", "Li Na")]))
        wanted = tmp_path / "need.json"
        wanted.write_text(json.dumps(need()))
        broken = tmp_path / "broken.json"
        broken.write_text("[{")
        async with served(node.app, free_port(), lifespan="off") as node_url:
            lender = _env(lender_headers, node_url)
            borrower = _env(borrower_headers, node_url)
            operator = _env(operator_headers_, node_url)

            bad = await run("workers", "post", str(broken), env=lender)
            assert bad.exit_code == EXIT_USAGE
            assert "not JSON" in one_line(bad)
            posted = json.loads(ok(await run("workers", "post", str(workers), env=lender)).stdout)
            assert [w["pseudonym"] for w in posted] == ["sew-01", "sew-02"]
            made = json.loads(ok(await run("workers", "need", str(wanted), env=borrower)).stdout)
            assert made["skill"] == "sewing_operator"

            denied = await run("workers", "match", env=borrower)
            assert denied.exit_code == EXIT_AUTH
            assert "FORBIDDEN" in one_line(denied)
            matched = json.loads(ok(await run("workers", "match", env=operator)).stdout)
            assert (matched["demanded"], matched["covered"]) == (6, 6)
            assert matched["shortfalls"] == []

            seen = json.loads(ok(await run("workers", "proposals", env=borrower)).stdout)
            assert {p["pseudonym"] for p in seen} == {"sew-01", "sew-02"}
            assert all("name" not in p for p in seen)
            table = ok(await run("workers", "proposals", "-o", "table", env=lender)).stdout
            assert table.splitlines()[0].split()[:3] == ["ID", "PSEUDONYM", "STATUS"]

            first = seen[0]["id"]
            half = json.loads(ok(await run("workers", "accept", first, env=lender)).stdout)
            assert half["status"] == "PROPOSED"
            both = json.loads(
                ok(await run("workers", "accept", first, "--as", "worker", env=lender)).stdout
            )
            assert both["status"] == "ACCEPTED"
            declined = json.loads(
                ok(await run("workers", "accept", seen[1]["id"], "--decline", env=lender)).stdout
            )
            assert declined["status"] == "DECLINED"
            closed = await run("workers", "accept", seen[1]["id"], env=lender)
            assert closed.exit_code != 0
            assert "PROPOSAL_CLOSED" in one_line(closed)

            refused = await run("workers", "purge", env=lender)
            assert refused.exit_code == EXIT_AUTH
            purged = json.loads(
                ok(await run("workers", "purge", "--retention-days", "30", env=operator)).stdout
            )
            assert purged == {"__typename": "PurgeWorkforceSuccess", "deleted": 0}
