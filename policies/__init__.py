"""Rego policies (v1) deciding every authorization question, with their Rego unit tests.

Shipped as package data so an installed Yunfab finds them; the OPA sidecar in production loads the
same files from a ConfigMap.
"""

from pathlib import Path

POLICY_DIR = Path(__file__).parent
ENTRYPOINT = "data.yunfab.authz"


def policy_files(directory: Path = POLICY_DIR) -> list[Path]:
    """The policies themselves, without their tests."""
    return sorted(p for p in directory.glob("*.rego") if not p.name.endswith("_test.rego"))


def rego_test_files(directory: Path = POLICY_DIR) -> list[Path]:
    return sorted(directory.glob("*_test.rego"))
