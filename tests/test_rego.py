"""Every Rego unit test in policies/ runs as its own pytest case through the embedded engine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import regorus

from policies import POLICY_DIR, policy_files, rego_test_files

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_TEST = re.compile(r"^(test_\w+)\s+if\b", re.MULTILINE)


def rego_tests() -> list[tuple[Path, str, str]]:
    found = []
    for path in rego_test_files(POLICY_DIR):
        text = path.read_text()
        package = _PACKAGE.search(text)
        assert package, f"{path} has no package"
        found += [(path, package.group(1), name) for name in dict.fromkeys(_TEST.findall(text))]
    return found


TESTS = rego_tests()


def test_rego_tests_are_found() -> None:
    assert len(TESTS) >= 10


@pytest.fixture(scope="module")
def engine() -> regorus.Engine:
    engine = regorus.Engine()
    for path in [*policy_files(POLICY_DIR), *rego_test_files(POLICY_DIR)]:
        engine.add_policy(path.name, path.read_text())
    return engine


@pytest.mark.parametrize(
    ("path", "package", "name"), TESTS, ids=[f"{p.stem}::{n}" for p, _, n in TESTS]
)
def test_rego(engine: regorus.Engine, path: Path, package: str, name: str) -> None:
    engine.set_input({})
    assert engine.eval_rule(f"data.{package}.{name}") is True, f"{path.name}: {name} failed"
