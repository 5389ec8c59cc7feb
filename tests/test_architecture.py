"""The layers hold: import contracts, the picture drawn from them, and a hub without the node's
libraries (what the hub's image installs)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# A hub install has no `node` or `ml` extra: these are made unimportable in the child.
WITHOUT_NODE_LIBRARIES = textwrap.dedent(
    """
    import importlib.abc, sys
    MISSING = {"cv2", "torch", "ortools", "matplotlib", "efficientnet_lite_pytorch"}

    class Missing(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.partition(".")[0] in MISSING:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Missing())
    """
)


def _python(code: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "YUNFAB_HUB_ENV": "development"}
    env.pop("YUNFAB_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_NODE_LIBRARIES + code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_the_import_contracts_hold() -> None:
    done = subprocess.run(
        [str(BIN / "lint-imports")], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_the_architecture_picture_is_drawn_from_the_contracts() -> None:
    spec = importlib.util.spec_from_file_location("architecture", ROOT / "scripts/architecture.py")
    assert spec is not None
    assert spec.loader is not None
    architecture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(architecture)
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert architecture.block(architecture.picture()) in doc, (
        "docs/architecture.md is out of date: python3 scripts/architecture.py --write"
    )


def test_the_hub_runs_and_its_commands_work_without_the_node_libraries(tmp_path: Path) -> None:
    serve = textwrap.dedent(
        """
        from pathlib import Path
        from starlette.testclient import TestClient
        from yunfab.migrations import TREES, upgrade
        from hub.app import create_app
        from hub.settings import HubSettings

        settings = HubSettings(data_dir=Path(sys.argv[1]), public_url="http://hub.test")
        upgrade(TREES["hub"], settings.db_url)
        with TestClient(create_app(settings)) as client:
            ready = client.get("/readyz")
            query = {"query": "{ __schema { queryType { name } } }"}
            answered = client.post("/graphql", json=query)
        loaded = sorted(m for m in sys.modules if m.partition(".")[0] in MISSING)
        print("RESULT", ready.status_code, answered.status_code, loaded)
        """
    )
    done = _python(serve, str(tmp_path))
    assert done.returncode == 0, done.stderr[-4000:]
    result = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert result == ["RESULT 200 200 []"], done.stdout[-4000:]

    cli = "from yunfab_cli.main import main\nsys.argv[0] = 'yunfab'\nmain()\n"
    hub_help = _python(cli, "hub", "--help")
    assert hub_help.returncode == 0, hub_help.stderr[-4000:]
    assert "serve" in hub_help.stdout
    node = _python(cli, "node", "serve")
    assert node.returncode == 1
    assert "pip install 'yunfab[node]'" in node.stderr
    assert "Traceback" not in node.stderr


def test_every_domains_tables_are_in_its_apps_model_registry() -> None:
    """The model registry finds each domain's `models` module without importing the domain (so
    migrations and ingest do not load GraphQL, routers and libraries); what the domains declare
    in their `domain.py` must be exactly what it finds."""
    import hub.domains
    import hub.models
    import regional_node.domains
    import regional_node.models

    for registry, domains in (
        (hub.models, hub.domains.DOMAINS),
        (regional_node.models, regional_node.domains.DOMAINS),
    ):
        declared = {module.__name__ for domain in domains for module in domain.models}
        assert declared == {module.__name__ for module in registry.MODULES}
