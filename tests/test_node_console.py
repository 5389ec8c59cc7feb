"""The node operator's console (`yunfab node ...`) run in-process through typer's CliRunner, beside
a running node on the same database."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from regional_node.audit.models import AuditEntry
from regional_node.audit.service import CHAIN, AuditLog, verify_chain
from tests.conftest import NodeFactory
from tests.nodes import COMPLETE_PROFILE
from tests.support import NODE_TREE, Databases
from yunfab.db import session_scope
from yunfab.processes import yunfab_argv
from yunfab.service import Database
from yunfab.subject import Subject, SubjectKind
from yunfab_cli.main import app

NODE = ["--node-name", "zj-textile", "--region", "CN-ZJ", "--industry", "textile"]


async def invoke(*argv: str) -> Result:
    """Run `yunfab ARGV` in a thread (the command runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(argv))


async def test_factory_add_for_an_organization_commits_beside_a_running_node_and_other_writers(
    node_factory: NodeFactory, node_db_url: str, tmp_path: Path
) -> None:
    """The cross-organization decisions of onboarding are audited in the console's own
    transaction: a second connection would wait on the console's locks (SQLite's writer, the
    chain's advisory lock) until it gave up with "database is locked", or for ever."""
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(COMPLETE_PROFILE))
    org = str(uuid.uuid4())
    db = Database.open(node_db_url)
    other_writer = AuditLog(db.sessionmaker)
    someone = Subject(kind=SubjectKind.CLIENT, id="elsewhere", org_id=str(uuid.uuid4()))
    try:
        async with node_factory():
            command = asyncio.create_task(
                invoke(
                    "node", "factory", "add", "--slug", "keqiao-weaving-03",
                    "--name", "Keqiao Weaving 3", "--organization-id", org,
                    "--profile", str(profile), "--activate", *NODE,
                    "--database-url", node_db_url,
                )
            )  # fmt: skip
            written = 0
            while not command.done() or written < 3:
                await other_writer.append(
                    actor=someone, action="test.write", resource=str(written), outcome="ok"
                )
                written += 1
                await asyncio.sleep(0.01)
            result = await command
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["status"] == "active"
        async with session_scope(db.sessionmaker) as session:
            verification = await verify_chain(session)
            entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.seq))).all()
        assert verification.ok, verification
        assert verification.checked == len(entries)
        assert sum(1 for e in entries if e.action == "test.write") == written
        crossing = [e for e in entries if e.resource == json.dumps([org])]
        # Each decision on the other organization's factory is on the record, once.
        assert {e.action for e in crossing} == {
            "node.factory.edit", "node.factory.submit", "node.factory.review",
        }  # fmt: skip
        assert {e.outcome for e in crossing} == {"allow"}
    finally:
        await db.close()


async def test_a_decision_audited_inside_work_that_rolls_back_stays_on_the_record(
    node_db_url: str,
) -> None:
    """A decision joins the caller's transaction when that one holds the chain; should the work
    roll back (a denial usually does), the decision is written again on its own."""
    db = Database.open(node_db_url)
    log = AuditLog(db.sessionmaker)
    someone = Subject(kind=SubjectKind.USER, id="u1", org_id=str(uuid.uuid4()))
    try:
        try:
            async with session_scope(db.sessionmaker) as session:
                await CHAIN.append(
                    session, actor=someone, action="test.work", resource="w", outcome="ok"
                )
                await log.append(actor=someone, action="test.decide", resource="r", outcome="deny")
                raise RuntimeError("the work fails")
        except RuntimeError:
            pass
        async with session_scope(db.sessionmaker) as session:
            assert (await verify_chain(session)).ok
            actions = (await session.scalars(select(AuditEntry.action))).all()
        assert actions == ["test.decide"]
    finally:
        await db.close()


def run_cli(*argv: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(argv), env=env)


def one_line(result: Result) -> str:
    """The failure was told in one line on stderr, with no traceback."""
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert isinstance(result.exception, SystemExit)  # exited, did not crash
    return lines[0]


def test_console_commands_before_db_upgrade_say_to_run_it(tmp_path: Path) -> None:
    hub = run_cli("hub", "org", "create", "--name", "X", "--kind", "consumer",
                  "--data-dir", str(tmp_path / "hub"))  # fmt: skip
    assert hub.exit_code == 2
    assert "run `yunfab db upgrade hub`" in one_line(hub)
    (tmp_path / "node").mkdir()
    (tmp_path / "node" / "node.db").touch()  # there, but never migrated
    node = run_cli("node", "factory", "add", "--slug", "a", "--name", "A", *NODE,
                   "--data-dir", str(tmp_path / "node"))  # fmt: skip
    assert node.exit_code == 1
    assert "run `yunfab db upgrade node`" in one_line(node)
    debug = run_cli("--debug", "node", "factory", "add", "--slug", "a", "--name", "A", *NODE,
                    "--data-dir", str(tmp_path / "node"))  # fmt: skip
    assert "no such table" in str(debug.exception)  # the error itself, for its traceback


def test_console_commands_with_a_wrong_data_dir_or_bad_profile_say_so_in_one_line(
    databases: Databases, tmp_path: Path
) -> None:
    url = databases.fresh(NODE_TREE, "sqlite")
    wrong = run_cli("node", "factory", "add", "--slug", "a", "--name", "A", *NODE,
                    "--data-dir", str(tmp_path / "no" / "such" / "dir"))  # fmt: skip
    assert wrong.exit_code == 2
    assert "check --data-dir" in one_line(wrong)
    assert not (tmp_path / "no").exists()  # nothing created where it was pointed by mistake

    profile = tmp_path / "profile.json"
    profile.write_text('{"location": {"city": "Shaoxing"},')
    broken = run_cli("node", "factory", "add", "--slug", "a", "--name", "A",
                     "--profile", str(profile), *NODE, "--database-url", url)  # fmt: skip
    assert broken.exit_code == 2
    assert f"{profile}: not JSON" in one_line(broken)
    profile.write_text(json.dumps({**COMPLETE_PROFILE, "colour": "blue"}))
    unknown = run_cli("node", "factory", "add", "--slug", "a", "--name", "A",
                      "--profile", str(profile), *NODE, "--database-url", url)  # fmt: skip
    assert unknown.exit_code == 1
    assert "invalid_input: profile: unknown field(s) colour" in one_line(unknown)


def test_the_node_console_refuses_another_nodes_name_region_or_industry(
    databases: Databases,
) -> None:
    url = databases.fresh(NODE_TREE, "sqlite")
    first = run_cli("node", "factory", "add", "--slug", "a", "--name", "A", *NODE,
                    "--database-url", url)  # fmt: skip
    assert first.exit_code == 0, first.output
    for option, value in (("--node-name", "gd-plastics"), ("--region", "CN-GD"),
                          ("--industry", "plastics")):  # fmt: skip
        options = list(NODE)
        options[options.index(option) + 1] = value
        refused = run_cli("node", "factory", "add", "--slug", "b", "--name", "B", *options,
                          "--database-url", url)  # fmt: skip
        assert refused.exit_code == 1
        assert "node_identity_mismatch: this database belongs to node zj-textile" in one_line(
            refused
        )
    again = run_cli("node", "factory", "add", "--slug", "b", "--name", "B", *NODE,
                    "--database-url", url)  # fmt: skip
    assert again.exit_code == 0, again.output


@pytest.mark.slow
def test_a_real_console_process_prints_one_line_not_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        yunfab_argv("hub", "org", "create", "--name", "X", "--kind", "consumer",
                    "--data-dir", str(tmp_path)),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"yunfab: no hub database at {tmp_path / 'hub.db'}: check --data-dir "
        "(YUNFAB_HUB_DATA_DIR), or run `yunfab db upgrade hub` with it first"
    ]
