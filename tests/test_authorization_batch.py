"""`Authorizer.check_found_each` answers each thing of a batch as `check_found` answers it alone:
allowed, FORBIDDEN for a thing one may read but not act on, the caller's own not-found error for a
thing one may not read or that is not there, a missing token for anonymous callers; decisions
across organizations audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from yunfab.authorization import Authorizer, Denied
from yunfab.errors import NotFound, YunfabError
from yunfab.policy import EmbeddedEngine
from yunfab.subject import Subject, SubjectKind
from yunfab.tokens import TokenMissing

POLICY = """
package batch.authz

import rego.v1

default allow := false

allow if permit(input.subject, input.action, object.get(input, "resource", {}))

allowed := [decide(input.subject, input.action, r) | some r in input.resources]

decide(subject, action, resource) := count([1 | permit(subject, action, resource)]) > 0

permit(subject, action, resource) if {
    action == "thing.read"
    resource.org in {subject.org, "public"}
}

permit(subject, action, resource) if {
    action == "thing.edit"
    resource.org == subject.org
    "editor" in subject.roles
}
"""

RESOURCES: list[dict[str, Any] | None] = [
    {"thing": "mine", "org": "org-a"},
    {"thing": "public", "org": "public"},
    {"thing": "theirs", "org": "org-b"},
    None,
]


def outcome(error: BaseException | None) -> str:
    return "ok" if error is None else f"{type(error).__name__}: {error}"


@pytest.mark.parametrize("action", ["thing.read", "thing.edit"])
@pytest.mark.parametrize(
    "subject",
    [
        Subject(kind=SubjectKind.USER, id="u1", org_id="org-a", roles=frozenset({"editor"})),
        Subject(kind=SubjectKind.USER, id="u2", org_id="org-a"),
        Subject(kind=SubjectKind.ANONYMOUS),
    ],
    ids=["editor", "reader", "anonymous"],
)
async def test_a_batch_is_answered_as_each_thing_alone(
    tmp_path: Path, subject: Subject, action: str
) -> None:
    (tmp_path / "batch.rego").write_text(POLICY)
    audited: list[dict[str, Any]] = []

    async def audit(**entry: Any) -> None:
        audited.append(entry)

    authorizer = Authorizer(
        EmbeddedEngine(tmp_path, entrypoint="data.batch.authz"), context={}, audit=audit
    )

    def missing(i: int) -> YunfabError:
        return NotFound(f"no thing {i}")

    alone: list[str] = []
    for i, resource in enumerate(RESOURCES):
        try:
            await authorizer.check_found(
                subject, action, resource, read="thing.read", missing=missing(i)
            )
        except YunfabError as exc:
            alone.append(outcome(exc))
        else:
            alone.append("ok")
    audited_alone, audited[:] = list(audited), []

    batch = await authorizer.check_found_each(
        subject, action, RESOURCES, read="thing.read", missing=missing
    )
    assert [outcome(error) for error in batch] == alone
    # Cross-organization decisions are audited in the batch too (once per evaluation).
    assert bool(audited) == bool(audited_alone)
    if subject.kind is SubjectKind.ANONYMOUS:
        assert (batch[1] is None) is (action == "thing.read")  # public
        assert all(isinstance(error, TokenMissing) for error in batch[2:])
    elif action == "thing.edit" and "editor" not in subject.roles:
        assert isinstance(batch[0], Denied)
