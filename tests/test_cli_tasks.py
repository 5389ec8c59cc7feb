"""The command line people use (issue #16), through `yunfab` as they type it, against a real hub
and node on loopback ports: credentials passed one way (a token, a client, a stored session),
list and show with tables and JSON, and one-line failures with the documented exit codes."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, operator_headers, provision
from tests.support import client_token, create_client, served
from tests.test_orders import NODE_URL, PLACE, _order, _setup
from yunfab.processes import free_port
from yunfab_cli.main import app

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
"""What the command line does is the same on both databases: one is enough here."""

_ENV = (
    "YUNFAB_TOKEN", "YUNFAB_CLIENT_ID", "YUNFAB_CLIENT_SECRET", "YUNFAB_HUB_URL",
    "YUNFAB_NODE_URL", "YUNFAB_NODE_AUDIENCE", "YUNFAB_CAMERA_CLIENT_ID",
    "YUNFAB_CAMERA_CLIENT_SECRET", "YUNFAB_NODE_CLIENT_ID", "YUNFAB_NODE_CLIENT_SECRET",
    "YUNFAB_DEBUG",
)  # fmt: skip


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own credentials folder and none of the caller's credentials."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "config" / "yunfab"
    monkeypatch.setenv("YUNFAB_CONFIG_DIR", str(folder))
    return folder


def cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env, input=stdin)


async def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    """The command in a thread: the servers it calls run on this test's event loop."""
    return await asyncio.to_thread(cli, *args, env=env, stdin=stdin)


def one_line(result: Result) -> str:
    """A failure is one line on stderr, never a traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert lines[0].startswith("yunfab: ")
    return lines[0]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


@SQLITE
async def test_lists_and_shows_on_a_node_with_a_given_token(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub) as node:
        setup = await _setup(hub, node)
        operator = setup["operator"]
        placed = (await node.graphql(PLACE, _order(), headers=setup["buyer"]))["placeOrder"]
        mill = setup["factories"][0]
        device = (await provision(node.client, operator, mill["id"], key="mill-0-loom-1"))["device"]
        async with served(node.app, free_port(), lifespan="off") as node_url:
            env = {
                "YUNFAB_TOKEN": operator["authorization"].removeprefix("Bearer "),
                "YUNFAB_NODE_URL": node_url,
                "YUNFAB_NODE_AUDIENCE": NODE_URL,  # the URL its tokens name
            }

            # Piped, the list is the server's data as JSON; on request, aligned columns.
            listed = json.loads(ok(await run("factory", "list", env=env)).stdout)
            assert [f["slug"] for f in listed] == [f"mill-{i}" for i in range(5)]
            table = ok(await run("factory", "list", "--limit", "2", "-o", "table", env=env))
            lines = table.stdout.splitlines()
            assert lines[0].split() == ["SLUG", "NAME", "STATUS", "PRODUCTS", "UPDATED"]
            assert [line.split()[0] for line in lines[1:]] == ["mill-0", "mill-1"]

            shown = json.loads(
                ok(await run("factory", "show", "mill-0", "-o", "json", env=env)).stdout
            )
            assert (shown["id"], shown["status"]) == (mill["id"], "ACTIVE")
            assert shown["equipment"][0]["type"] == "air-jet-loom"
            assert shown["location"]["city"] == "Shaoxing"

            devices = json.loads(
                ok(await run("device", "list", "--factory", "mill-0", env=env)).stdout
            )
            assert [d["key"] for d in devices] == ["mill-0-loom-1"]
            every = json.loads(ok(await run("device", "list", "--all", env=env)).stdout)
            assert [d["key"] for d in every] == ["mill-0-loom-1"]
            about = ok(await run("device", "show", "mill-0-loom-1", "-o", "table", env=env))
            assert f"Id:          {device['id']}" in about.stdout
            assert "clamp_force_kn" in about.stdout  # its metrics, as a small table

            # An order by the number people quote.
            order = ok(await run("order", "show", placed["number"], "-o", "json", env=env))
            assert json.loads(order.stdout)["id"] == placed["id"]
            order_table = ok(await run("order", "show", placed["number"], "-o", "table", env=env))
            assert order_table.stdout.splitlines()[0].split() == ["Number:", placed["number"]]
            orders = json.loads(ok(await run("order", "list", "--status", "open", env=env)).stdout)
            assert [o["number"] for o in orders] == [placed["number"]]

            # Every other node list answers (empty here: nothing dispatched, trained or raised).
            for empty in (
                ("work-order", "list", "--factory", "mill-0"),
                ("station", "list", "--factory", "mill-0"),
                ("model", "list", "--factory", "mill-0", "--sku", "shirt"),
                ("alert", "list", "--status", "open", "--severity", "critical"),
                ("alert", "list", "--factory", "mill-0"),
            ):
                assert json.loads(ok(await run(*empty, env=env)).stdout) == [], empty

            # What is not there: exit 4 and one line.
            for missing in (("factory", "show", "no-such-mill"), ("order", "show", "SO-0000")):
                result = await run(*missing, env=env)
                assert result.exit_code == 4, result.output
                one_line(result)

    # The node has gone: exit 5 and one line that names it.
    gone = cli("factory", "list", env=env)
    assert gone.exit_code == 5
    assert f"cannot reach the node at {node_url}" in one_line(gone)


@SQLITE
async def test_client_credentials_a_stored_token_and_sign_out(
    hub_factory: HubFactory, node_factory: NodeFactory, config_dir: Path
) -> None:
    async with hub_factory() as hub, node_factory(hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        client_id, secret = await create_client(
            hub, org="Keqiao Weavers", org_kind="factory", scopes=["factories:write"]
        )
        hub_token = await client_token(hub, client_id, secret, "factories:write")
        viewer = await hub.graphql("{ viewer { organizationId } }", headers={
            "authorization": f"Bearer {hub_token}"})  # fmt: skip
        org = viewer["viewer"]["organizationId"]
        await active_factory(node.client, operator, slug="weavers", organization_id=org)
        await active_factory(node.client, operator, slug="someone-else")
        async with (
            served(hub.app, free_port(), lifespan="off") as hub_url,
            served(node.app, free_port(), lifespan="off") as node_url,
        ):
            where = {"YUNFAB_HUB_URL": hub_url, "YUNFAB_NODE_URL": node_url,
                     "YUNFAB_NODE_AUDIENCE": NODE_URL}  # fmt: skip

            # A client's id and secret: a token from the hub for the node; the factory's own.
            env = {**where, "YUNFAB_CLIENT_ID": client_id, "YUNFAB_CLIENT_SECRET": secret or ""}
            mine = json.loads(ok(await run("factory", "list", env=env)).stdout)
            assert [f["slug"] for f in mine] == ["weavers"]
            whoami = json.loads(ok(await run("whoami", "-o", "json", env=env)).stdout)
            assert (whoami["kind"], whoami["organizationId"]) == ("client", org)

            # The camera's older variables still work, with a notice.
            old = {**where, "YUNFAB_CAMERA_CLIENT_ID": client_id,
                   "YUNFAB_CAMERA_CLIENT_SECRET": secret or ""}  # fmt: skip
            aliased = ok(await run("factory", "list", env=old))
            assert [f["slug"] for f in json.loads(aliased.stdout)] == ["weavers"]
            assert "YUNFAB_CAMERA_CLIENT_ID/YUNFAB_CAMERA_CLIENT_SECRET is deprecated" in (
                one_line(aliased)
            )

            # A wrong secret: exit 3, one line.
            wrong = await run("factory", "list", env={**env, "YUNFAB_CLIENT_SECRET": "wrong"})
            assert wrong.exit_code == 3
            assert "refused the credentials" in one_line(wrong)

            # Not signed in at all.
            nobody = await run("factory", "list", env=where)
            assert nobody.exit_code == 3
            assert "not signed in: run `yunfab login --hub URL`" in one_line(nobody)

            # A token given on stdin is kept for its audience, in a file only the user reads.
            for_node = await client_token(hub, client_id, secret, "factories:write", NODE_URL)
            ok(await run("login", "--with-token", env=where, stdin=for_node + "\n"))
            stored = config_dir / "credentials.json"
            assert stat.S_IMODE(stored.stat().st_mode) == 0o600
            assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
            printed = ok(await run("token", "--node", node_url, env=where)).stdout.strip()
            assert printed == for_node
            mine = json.loads(ok(await run("factory", "list", env=where)).stdout)
            assert [f["slug"] for f in mine] == ["weavers"]
            # It is a token for the node: the hub needs another sign-in.
            hub_call = await run("whoami", env=where)
            assert hub_call.exit_code == 3
            assert f"run `yunfab login --hub {hub_url}` again" in one_line(hub_call)

            ok(await run("logout", env=where))
            assert json.loads(stored.read_text())["hubs"] == {}
            after = await run("factory", "list", env=where)
            assert after.exit_code == 3
            one_line(after)


@SQLITE
async def test_hub_lists_by_name_and_a_node_named_at_the_hub(hub_factory: HubFactory) -> None:
    async with hub_factory() as hub:
        client_id, secret = await create_client(
            hub, org="Hangzhou Shirts", org_kind="consumer",
            scopes=["market:read", "nodes:read", "exchange:read"],
        )  # fmt: skip
        async with served(hub.app, free_port(), lifespan="off") as hub_url:
            env = {"YUNFAB_HUB_URL": hub_url, "YUNFAB_CLIENT_ID": client_id,
                   "YUNFAB_CLIENT_SECRET": secret or ""}  # fmt: skip
            assert json.loads(ok(await run("listing", "list", env=env)).stdout) == []
            empty = ok(await run("listing", "list", "-o", "table", env=env))
            assert empty.stdout == ""
            assert json.loads(ok(await run("contract", "list", env=env)).stdout) == []
            runs = await run("run", "list", env=env)  # hub operators' alone
            assert runs.exit_code == 3
            assert "FORBIDDEN" in one_line(runs)
            missing = await run("listing", "show", "no-such-listing", env=env)
            assert missing.exit_code == 4
            assert "NOT_FOUND" in one_line(missing)
            unknown = await run("factory", "list", "--node", "no-such-node", env=env)
            assert unknown.exit_code == 4
            assert "no node named 'no-such-node'" in one_line(unknown)
    down = cli("listing", "list", env=env)
    assert down.exit_code == 5
    assert f"at {hub_url}" in one_line(down)
    usage = cli("listing", "list", "--limit", "0", env=env)
    assert usage.exit_code == 2


def test_the_camera_says_it_is_not_signed_in_before_it_opens_the_video(tmp_path: Path) -> None:
    watch = cli(
        "vision", "watch", "--node", "http://127.0.0.1:9", "--station",
        "00000000-0000-0000-0000-000000000000", "--source", str(tmp_path / "none.avi"),
    )  # fmt: skip
    assert watch.exit_code == 3
    assert "not signed in" in one_line(watch)
