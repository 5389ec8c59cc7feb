"""`yunfab login` end to end: the hub's sign-in page driven as a browser would, the loopback
redirect with PKCE, then tokens for the hub and, by refresh, for a node; `logout` ends it."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import operator_headers
from tests.support import served
from tests.test_cli_tasks import config_dir, ok, run
from tests.test_orders import NODE_URL
from yunfab.processes import free_port

pytestmark = [pytest.mark.parametrize("backend", ["sqlite"], indirect=True), pytest.mark.slow]
__all__ = ["config_dir"]  # the fixture: a credentials folder of the test's own


def _browser(
    monkeypatch: pytest.MonkeyPatch, email: str, password: str
) -> tuple[list[str], list[BaseException]]:
    """A browser that signs in on the hub's page as a person would, in its own thread."""
    import threading
    from urllib.parse import urljoin

    import httpx

    from tests.test_signin import parse_form

    opened: list[str] = []
    failed: list[BaseException] = []

    def sign_in(url: str) -> None:
        try:
            browse(url)
        except BaseException as exc:
            failed.append(exc)

    def browse(url: str) -> None:
        with httpx.Client(timeout=30) as browser:
            page = browser.get(url)
            form = parse_form(page.text)
            answer = browser.post(
                urljoin(str(page.url), form.action or ""),
                data={**form.fields, "email": email, "password": password, "decision": "allow"},
            )
            assert answer.status_code in (302, 303), answer.text
            browser.get(answer.headers["location"])  # the loopback redirect to the CLI

    def open_page(url: str, *args: Any, **kwargs: Any) -> bool:
        opened.append(url)
        threading.Thread(target=sign_in, args=(url,), daemon=True).start()
        return True

    monkeypatch.setattr("webbrowser.open", open_page)
    return opened, failed


async def test_login_in_the_browser_then_tokens_for_the_hub_and_a_node(
    hub_factory: HubFactory,
    node_factory: NodeFactory,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.test_signin import PASSWORD, setup_hub

    port = free_port()
    issuer = f"http://127.0.0.1:{port}"  # the browser follows the hub's own URLs
    async with hub_factory(public_url=issuer) as hub, node_factory(hub, hub_url=issuer) as node:
        await operator_headers(hub, NODE_URL)  # the node has registered
        email = await setup_hub(hub)
        opened, failed = _browser(monkeypatch, email, PASSWORD)
        async with served(hub.app, port, lifespan="off") as hub_url:
            result = await run("login", "--hub", hub_url, "--timeout", "30")
            assert not failed, failed
            ok(result)
            assert opened
            assert "code_challenge_method=S256" in opened[0]
            assert f"Signed in to {hub_url}" in result.stderr
            assert stat.S_IMODE((config_dir / "credentials.json").stat().st_mode) == 0o600

            whoami = json.loads(ok(await run("whoami", "-o", "json")).stdout)
            assert whoami["kind"] == "user"
            # A token for the node, from the refresh token (resource = the node's URL).
            node_token = ok(await run("token", "--node", NODE_URL)).stdout.strip()
            answer = await node.client.post(
                "/graphql",
                json={"query": "{ routings { product } }"},  # for anyone signed in
                headers={"authorization": f"Bearer {node_token}"},
            )
            assert "errors" not in answer.json(), answer.json()
            hub_token = ok(await run("token")).stdout.strip()
            signed_out = ok(await run("logout"))
            assert "did not confirm" not in signed_out.stderr  # the hub revoked them
            still = await hub.client.post(
                "/graphql",
                json={"query": "{ viewer { kind } }"},
                headers={"authorization": f"Bearer {hub_token}"},
            )
            assert still.status_code == 401  # the hub refuses a revoked token at once
            refused = await run("whoami", "--hub", hub_url)
            assert refused.exit_code == 3
