"""The embedded engine answers `allow` and `allowed` from the policy compiled into a regorus
program; these tests hold it to the interpreter's answers (the Rego unit tests run on the
interpreter), on every input the Rego unit tests decide and on a generated grid of subjects,
actions and resources."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import regorus

from policies import ENTRYPOINT, POLICY_DIR, policy_files, rego_test_files
from yunfab.policy import EmbeddedEngine, PolicyInput

_ACTION_SETS = (
    "federation_actions",
    "federated_actions",
    "exchange_actions",
    "board_actions",
    "identity_actions",
    "market_actions",
    "node_actions",
    "workforce_actions",
)


def interpreter(*, seen: bool = False) -> regorus.Engine:
    """The reference: regorus's interpreter over the same files. With `seen`, every input that
    `allow` is evaluated on is printed, so the Rego unit tests tell us what they decide."""
    engine = regorus.Engine()
    for path in policy_files(POLICY_DIR):
        text = path.read_text()
        if seen and path.name == "authz.rego":
            text += '\nallow if {\n\tprint("INPUT", json.marshal(input))\n\tfalse\n}\n'
        engine.add_policy(path.name, text)
    if seen:
        engine.set_gather_prints(True)
        for path in rego_test_files(POLICY_DIR):
            engine.add_policy(path.name, path.read_text())
    return engine


def inputs_of_rego_tests() -> list[dict[str, Any]]:
    engine = interpreter(seen=True)
    found: dict[str, dict[str, Any]] = {}
    for path in rego_test_files(POLICY_DIR):
        package = path.read_text().split("package ", 1)[1].split()[0]
        for line in path.read_text().splitlines():
            if line.startswith("test_") and " if" in line:
                name = line.split()[0]
                engine.set_input({})
                engine.eval_rule(f"data.{package}.{name}")
                for printed in engine.take_prints():
                    if "INPUT" in printed:
                        text = printed.split("INPUT", 1)[1].strip()
                        found[text] = json.loads(text)
    return list(found.values())


def actions() -> list[str]:
    engine = interpreter()
    engine.set_input({})
    named: set[str] = set()
    for rule in _ACTION_SETS:
        named |= set(engine.eval_rule(f"{ENTRYPOINT}.{rule}"))
    return sorted(named)


def subjects() -> Iterator[dict[str, Any]]:
    yield {"kind": "anonymous", "scopes": []}
    yield {"kind": "system", "id": "console", "scopes": []}
    scopes = [
        "audit:read", "devices:write", "exchange:live", "exchange:publish", "exchange:read",
        "exchange:write", "factories:read", "factories:write", "federated:run", "hub:admin",
        "market:install", "market:publish", "market:review", "node:operate", "nodes:read",
        "nodes:register", "orders:write", "orgs:read",
    ]  # fmt: skip
    kinds = ["factory", "publisher", "consumer", "node_operator", "hub_operator"]
    for kind, org_kind, roles, some in itertools.product(
        ["client", "user"], kinds, [[], ["admin"], ["auditor"]], [scopes, []]
    ):
        yield {
            "kind": kind, "id": f"{kind}-1", "org": "org-a", "org_kind": org_kind,
            "region": "CN-ZJ", "node": "zj-textile", "client_id": "yf_app",
            "scopes": some, "roles": roles,
        }  # fmt: skip


RESOURCES = [
    {},
    {"org": "org-a"},
    {"org": "org-b"},
    {"org": "org-a", "region": "CN-ZJ", "name": "zj-textile"},
    {"org": "org-b", "region": "CN-GD", "name": "gd-moulding", "publisher_org": "org-a"},
    {"id": "org-a", "kind": "factory", "org": "org-a", "node": "zj-textile"},
    {"consumer_org": "org-a", "provider_org": "org-b", "state": "finalized"},
]
CONTEXT = {
    "service": "hub",
    "env": "development",
    "node_name": "zj-textile",
    "node_region": "CN-ZJ",
}


@pytest.fixture(scope="module")
def compiled() -> EmbeddedEngine:
    engine = EmbeddedEngine()
    assert engine.compiled_rules == ("allow", "allowed")
    return engine


def decided_by_interpreter(engine: regorus.Engine, document: dict[str, Any], rule: str) -> Any:
    engine.set_input(document)
    return engine.eval_rule(f"{ENTRYPOINT}.{rule}")


def test_the_rego_tests_inputs_are_decided_as_the_interpreter_decides_them(
    compiled: EmbeddedEngine,
) -> None:
    reference = interpreter()
    documents = inputs_of_rego_tests()
    assert len(documents) > 100
    differ = [
        document
        for document in documents
        if compiled.evaluate(document, "allow")
        != decided_by_interpreter(reference, document, "allow")
    ]
    assert differ == []
    assert any(compiled.evaluate(document, "allow") is True for document in documents)
    assert any(compiled.evaluate(document, "allow") is False for document in documents)


def test_a_grid_of_subjects_actions_and_resources_is_decided_as_the_interpreter_decides_it(
    compiled: EmbeddedEngine,
) -> None:
    reference = interpreter()
    named = actions()
    assert len(named) > 50
    allowed = differ = checked = 0
    for subject in subjects():
        for action in named:
            document = {"subject": subject, "action": action, "context": CONTEXT}
            batch = {**document, "resource": {}, "resources": RESOURCES}
            ours = compiled.evaluate(batch, "allowed")
            if ours != decided_by_interpreter(reference, batch, "allowed"):
                differ += 1
            for resource in RESOURCES[:3]:
                single = {**document, "resource": resource}
                answer = compiled.evaluate(single, "allow")
                if answer != decided_by_interpreter(reference, single, "allow"):
                    differ += 1
                allowed += answer is True
            checked += 1
    assert checked > 5_000
    assert allowed > 100
    assert differ == 0


async def test_an_input_json_cannot_carry_is_decided_by_the_interpreter(
    compiled: EmbeddedEngine,
) -> None:
    """A set (Rego has sets; JSON has none) goes to the interpreter, which takes it as is."""
    subject = {
        "kind": "client", "id": "yf_node", "org": "o-zj", "org_kind": "node_operator",
        "region": "CN-ZJ", "node": "zj-textile", "scopes": frozenset({"nodes:register"}),
        "roles": [],
    }  # fmt: skip
    resource = {"name": "zj-textile", "region": "CN-ZJ"}
    assert await compiled.allows(PolicyInput(subject, "hub.node.register", resource)) is True
    elsewhere = {"name": "zj-textile", "region": "CN-GD"}
    assert await compiled.allows(PolicyInput(subject, "hub.node.register", elsewhere)) is False
    assert await compiled.allows_each(
        PolicyInput(subject, "hub.node.register"), [resource, elsewhere]
    ) == [True, False]


async def test_a_policy_the_compiler_does_not_take_is_decided_by_the_interpreter(
    tmp_path: Path,
) -> None:
    """regorus's compiler does not take `with` yet; such a policy still decides, interpreted."""
    (tmp_path / "authz.rego").write_text(
        "package yunfab.authz\nimport rego.v1\n"
        "default allow := false\n"
        'allow if _operator with input.subject.roles as ["operator"]\n'
        '_operator if "operator" in input.subject.roles\n'
        "allowed := [r.ok | some r in input.resources]\n"
    )
    engine = EmbeddedEngine(tmp_path)
    assert engine.compiled_rules == ()
    assert await engine.allows(PolicyInput({"roles": []}, "x")) is True
    assert await engine.allows_each(PolicyInput({}, "x"), [{"ok": True}, {"ok": 1}]) == [
        True,
        False,
    ]
