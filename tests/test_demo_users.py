"""The demo's named people: one for every role, made by the demo's set-up at its hub, each
signing in on the hub's sign-in page with the password in `<data>/demo-users.json` (0600), and
the same passwords after a rerun."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import shutil
import stat
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from sqlalchemy.engine import make_url

from hub.app import create_app as create_hub_app
from hub.identity.roles import PEOPLE_SCOPES
from hub.settings import HubSettings
from tests.support import HUB_TREE, Databases, InProcessService, in_process
from yunfab_cli.demo import DEMO_NODES, DemoLayout, demo_sign_in, setup_demo_users
from yunfab_demo.users import PASSWORDS_FILE, ensure_demo_users, sign_in_table

REDIRECT = "http://127.0.0.1:9/callback"
"""The command line's loopback redirect (any port)."""
ROLE_SCOPE = {
    "hub operator": "federated:run",
    "node operator": "node:operate",
    "factory staff": "devices:write",
    "buyer": "orders:write",
    "brand": "orders:write",
    "data consumer": "exchange:write",
    "publisher": "market:publish",
}
"""A scope each role's work needs."""


@pytest.fixture
def layout(tmp_path: Path, databases: Databases) -> DemoLayout:
    """A demo data folder whose hub database is migrated, as after the hub's first start."""
    hub_dir = tmp_path / "demo" / "hub"
    hub_dir.mkdir(parents=True)
    template = make_url(databases.fresh(HUB_TREE, "sqlite")).database
    assert template is not None
    shutil.move(template, hub_dir / "hub.db")
    return DemoLayout.plan(tmp_path / "demo", "127.0.0.1", 8700)


@pytest.fixture
async def demo_hub(layout: DemoLayout) -> AsyncIterator[InProcessService]:
    settings = HubSettings(data_dir=layout.data_dir / "hub", public_url="http://hub.test")
    async with in_process(create_hub_app(settings), "http://hub.test") as hub:
        yield hub


class _Form(HTMLParser):
    """The sign-in page's form: where it posts and its hidden fields (state, PKCE, CSRF...)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = values.get("action") or ""
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


async def sign_in(hub: InProcessService, client_id: str, email: str, password: str) -> Any:
    """Sign in the way a person does: the hub's page, its form filled in, code+PKCE; returns
    the access token's claims, or None when the page refuses the password. A fresh browser
    (cookie jar) each time, so no earlier sign-in's session answers for this one."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": " ".join(sorted(PEOPLE_SCOPES)),
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    async with httpx.AsyncClient(transport=hub.transport, base_url="http://hub.test") as browser:
        page = await browser.get("/oauth/authorize", params=params)
        # The sign-in form, then a consent form if the hub shows one; a wrong password is
        # answered with the form again and 401.
        for _ in range(3):
            assert page.status_code == 200, page.text
            form = _Form()
            form.feed(page.text)
            target = urljoin(str(page.url), form.action or str(page.url))
            answer = {**form.fields, "email": email, "password": password, "decision": "allow"}
            page = await browser.post(target, data=answer)
            if page.status_code != 200:
                break
        if page.status_code not in (302, 303):
            return None
        location = urlsplit(page.headers["location"])
        code = parse_qs(location.query)["code"][0]
        tokens = await browser.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "client_id": client_id,
                "code_verifier": verifier,
            },
        )
    assert tokens.status_code == 200, tokens.text
    payload = tokens.json()["access_token"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def test_every_role_has_a_person_who_signs_in_with_the_kept_password(
    layout: DemoLayout, demo_hub: InProcessService
) -> None:
    users = await asyncio.to_thread(setup_demo_users, layout)
    file = layout.data_dir / PASSWORDS_FILE
    assert users.file == file
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    listed = json.loads(file.read_text())["users"]
    roles = [user["role"] for user in listed]
    for role in ("hub operator", "buyer", "brand", "data consumer", "publisher"):
        assert roles.count(role) == 1, roles
    # An operator for each node, the staff of one factory on each node.
    assert roles.count("node operator") == roles.count("factory staff") == len(DEMO_NODES)
    sign_in_at = {user["email"]: user["sign_in"] for user in listed}
    for node, port in zip(DEMO_NODES, layout.node_ports, strict=True):
        assert sign_in_at[f"operator@{node.name}.demo.example"] == layout.url(port)
    assert sign_in_at["admin@hub.demo.example"] == layout.hub_url

    # Through the hub's own command-line app (which the demo registers), asking for every
    # scope: each person gets what their role gives, in their own organization.
    client_id = "yunfab-cli"
    by_email = {account.person.email: account for account in users.accounts}
    for user in listed:
        claims = await sign_in(demo_hub, client_id, user["email"], user["password"])
        assert claims is not None, user["email"]
        account = by_email[user["email"]]
        assert claims["org"] == account.organization_id
        assert set(claims["roles"]) == set(user["roles"])
        scopes = set(claims["scope"].split())
        assert ROLE_SCOPE[user["role"]] in scopes, (user["role"], scopes)
        assert ("node:operate" in scopes) == (user["role"] == "node operator")
        assert ("hub:admin" in scopes) == (user["role"] == "hub operator")

    # The passwords are printed once, when they are made; a rerun keeps every password.
    printed = "\n".join(sign_in_table(users, demo_sign_in(layout)))
    assert all(user["password"] in printed for user in listed)
    again = await asyncio.to_thread(setup_demo_users, layout)
    assert json.loads(file.read_text())["users"] == listed
    assert not again.new_passwords
    reprinted = "\n".join(sign_in_table(again, demo_sign_in(layout)))
    assert not any(user["password"] in reprinted for user in listed)
    assert str(file) in reprinted
    first = listed[0]
    assert await sign_in(demo_hub, client_id, first["email"], first["password"]) is not None

    # --reset-passwords: a new one (for one person here: each new hash costs time), and the
    # old one no longer signs in.
    hub_operator = (users.accounts[0].person,)
    settings = HubSettings(data_dir=layout.data_dir / "hub", env="development")
    reset = await ensure_demo_users(
        settings, hub_operator, file, hub_url=layout.hub_url, reset_passwords=True
    )
    (fresh,) = reset.accounts
    assert fresh.new
    assert fresh.person.email == first["email"]
    assert fresh.password != first["password"]
    assert await sign_in(demo_hub, client_id, first["email"], first["password"]) is None
    assert await sign_in(demo_hub, client_id, first["email"], fresh.password) is not None
