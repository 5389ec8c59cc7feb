"""The node operator's console (`yunfab node ...`) run in-process through typer's CliRunner, beside
a running node on the same database."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner, Result

from regional_node.audit.models import AuditEntry
from regional_node.audit.service import CHAIN, AuditLog, verify_chain
from tests.conftest import NodeFactory
from tests.nodes import COMPLETE_PROFILE
from yunfab.cli import app
from yunfab.db import session_scope
from yunfab.service import Database
from yunfab.subject import Subject, SubjectKind

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
