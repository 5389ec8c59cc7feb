"""People sign in at the hub: the sign-in page, sessions, refresh tokens, the built-in apps,
passwords and user management, through HTTP and GraphQL as browsers and apps use them."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from sqlalchemy import select

from hub.identity import service
from hub.identity.builtin import ensure_builtin_clients
from hub.identity.models import User
from hub.identity.secrets import hash_secret
from hub.organizations.models import OrganizationKind
from hub.organizations.service import ensure_organization
from hub.state import hub_state
from tests.support import InProcessService, bearer, create_client, node_token
from yunfab.db import session_scope
from yunfab.subject import SYSTEM

HUB = "http://hub.test"
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
"""For what does not depend on the database: the storage itself runs on both in the others."""
CONSOLE_CALLBACK = f"{HUB}/auth/callback"
PASSWORD = "correct horse battery"


class _Forms(HTMLParser):
    """The first form of a page: its action and inputs (what a browser would submit)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
        elif tag == "input" and values.get("type") == "hidden":
            self.fields[values["name"]] = values.get("value", "")
        elif tag == "a":
            self.links.append(values.get("href", ""))


def parse_form(page: str) -> _Forms:
    forms = _Forms()
    forms.feed(page)
    return forms


@dataclass
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).decode().rstrip("="))


def authorization(client_id: str, redirect: str, pkce: Pkce, scope: str) -> dict[str, str]:
    return {
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect,
        "scope": scope, "state": "st", "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }  # fmt: skip


async def setup_hub(hub: InProcessService, roles: tuple[str, ...] = ("admin",)) -> str:
    """The hub operator's organization, the built-in apps and one person; their email."""
    email = f"{secrets.token_hex(4)}@hub.test"
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        org = await ensure_organization(
            session, name="Hub Operator", kind=OrganizationKind.HUB_OPERATOR
        )
        await ensure_builtin_clients(session, hub_url=HUB, organization_id=org.id)
        await service.create_user(
            session, SYSTEM,
            input=service.NewUser(
                organization="Hub Operator", email=email, name="Li Na", password=PASSWORD,
                roles=list(roles),
            ),
        )  # fmt: skip
    return email


async def sign_in(
    hub: InProcessService, email: str, params: dict[str, str], password: str = PASSWORD
) -> Any:
    """Open the sign-in page and submit its form as a browser does (a browser signed in
    already is sent straight back to the app)."""
    page = await hub.client.get("/oauth/authorize", params=params)
    if page.status_code == 302:
        return page
    assert page.status_code == 200, page.text
    form = parse_form(page.text)
    assert form.action is not None
    return await hub.client.post(
        form.action,
        data={**form.fields, "email": email, "password": password, "decision": "allow"},
    )


def code_of(response: Any) -> str:
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["state"] == ["st"]
    code: str = query["code"][0]
    return code


async def exchange(
    hub: InProcessService, client_id: str, redirect: str, code: str, pkce: Pkce
) -> dict[str, Any]:
    response = await hub.client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
            "client_id": client_id, "code_verifier": pkce.verifier,
        },
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(hub: InProcessService, token: str, **extra: str) -> Any:
    return await hub.client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token", "refresh_token": token,
            "client_id": "yunfab-console", **extra,
        },
    )  # fmt: skip


async def console_tokens(hub: InProcessService, email: str, scope: str) -> dict[str, Any]:
    pkce = Pkce.new()
    params = authorization("yunfab-console", CONSOLE_CALLBACK, pkce, scope)
    code = code_of(await sign_in(hub, email, params))
    return await exchange(hub, "yunfab-console", CONSOLE_CALLBACK, code, pkce)


async def test_sign_in_refresh_rotation_and_reuse_revokes_the_family(
    hub: InProcessService,
) -> None:
    email = await setup_hub(hub, roles=("auditor",))
    tokens = await console_tokens(hub, email, "openid audit:read hub:admin")
    # The auditor asked for hub:admin too: roles bound what a person gets, whatever the app.
    assert tokens["scope"] == "openid audit:read"
    first = tokens["refresh_token"]

    rotated = await refresh(hub, first)
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refresh_token"]
    assert second != first
    # Reuse of a rotated token revokes the whole family, the newest token included.
    reused = await refresh(hub, first)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert (await refresh(hub, second)).status_code == 400
    audit = await hub.graphql(
        "{ auditLog(first: 50) { edges { node { action } } } }",
        headers=bearer(rotated.json()["access_token"]),
    )
    actions = {edge["node"]["action"] for edge in audit["auditLog"]["edges"]}
    assert {"refresh_token.reused", "user.signed_in", "token.issued"} <= actions


async def test_a_refresh_gets_a_token_for_a_registered_node(hub: InProcessService) -> None:
    email = await setup_hub(hub)
    await hub.client.put(
        "/api/v1/nodes/zj-textile",
        json={"region": "CN-ZJ", "industry": "textile", "base_url": "http://zj-textile.test"},
        headers=bearer(await node_token(hub, "zj-textile", "CN-ZJ")),
    )
    tokens = await console_tokens(hub, email, "openid nodes:read")
    unknown = await refresh(hub, tokens["refresh_token"], resource="http://nowhere.test")
    assert unknown.json()["error"] == "invalid_target"
    # The refused request did not use the token up.
    at_node = await refresh(hub, tokens["refresh_token"], resource="http://zj-textile.test")
    assert at_node.status_code == 200, at_node.text
    claims = jwt.decode(at_node.json()["access_token"], hub_state(hub.app).keyring.key_set()).claims
    assert claims["aud"] == "http://zj-textile.test"
    # The node's console and GraphiQL were registered when it enrolled.
    pkce = Pkce.new()
    params = authorization(
        "yunfab-graphiql", "http://zj-textile.test/graphiql/callback", pkce, "openid"
    )
    assert (await hub.client.get("/oauth/authorize", params=params)).status_code == 302
    # A hub operator moves the node: its apps' redirect URIs move with it.
    admin = await console_tokens(hub, email, "openid hub:admin nodes:read")
    await hub.graphql(
        'mutation { changeRegionalNodeUrl(name: "zj-textile", baseUrl: "http://zj2.test")'
        " { baseUrl } }",
        headers=bearer(admin["access_token"]),
    )
    assert (await hub.client.get("/oauth/authorize", params=params)).status_code == 400
    moved = {**params, "redirect_uri": "http://zj2.test/graphiql/callback"}
    assert (await hub.client.get("/oauth/authorize", params=moved)).status_code == 302


@SQLITE_ONLY
async def test_the_page_speaks_the_browsers_language(hub: InProcessService) -> None:
    email = await setup_hub(hub)
    params = authorization("yunfab-console", CONSOLE_CALLBACK, Pkce.new(), "openid")
    zh = await hub.client.get(
        "/oauth/authorize", params=params, headers={"accept-language": "zh-TW,zh;q=0.9,en;q=0.5"}
    )
    assert zh.status_code == 200
    assert '<html lang="zh-CN">' in zh.text
    assert "登录云纺" in zh.text
    assert "<script" not in zh.text
    csp = zh.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    en = await hub.client.get(
        "/oauth/authorize", params=params, headers={"accept-language": "en-US"}
    )
    assert '<html lang="en">' in en.text
    assert "Sign in to Yunfab" in en.text
    # The switch keeps the request and changes the language.
    switch = next(link for link in parse_form(en.text).links if "ui_locales=zh-CN" in link)
    switched = await hub.client.get(switch.replace("&amp;", "&"))
    assert "登录云纺" in switched.text
    form = parse_form(switched.text)
    wrong = await hub.client.post(
        form.action or "", data={**form.fields, "email": email, "password": "nope" * 4,
                                 "decision": "allow"},
    )  # fmt: skip
    assert wrong.status_code == 401
    assert "电子邮箱或密码错误" in wrong.text
    # A form without the page's token (posted from another site) is refused.
    fields = {k: v for k, v in form.fields.items() if k != "csrf_token"}
    forged = await hub.client.post(
        "/oauth/authorize",
        data={**fields, "email": email, "password": PASSWORD, "decision": "allow"},
    )
    assert forged.status_code == 403
    assert "重新打开登录页面" in forged.text


async def test_a_session_signs_in_other_apps_until_sign_out(hub: InProcessService) -> None:
    email = await setup_hub(hub)
    tokens = await console_tokens(hub, email, "openid")
    # GraphiQL, another first-party app: no password, no consent, same checks.
    pkce = Pkce.new()
    params = authorization("yunfab-graphiql", f"{HUB}/graphiql/callback", pkce, "openid")
    silent = await hub.client.get("/oauth/authorize", params=params)
    graphiql = await exchange(
        hub, "yunfab-graphiql", f"{HUB}/graphiql/callback", code_of(silent), pkce
    )
    assert graphiql["access_token"]
    bad_redirect = {**params, "redirect_uri": f"{HUB}/elsewhere"}
    assert (await hub.client.get("/oauth/authorize", params=bad_redirect)).status_code == 400
    no_pkce = {k: v for k, v in params.items() if not k.startswith("code_challenge")}
    assert (await hub.client.get("/oauth/authorize", params=no_pkce)).status_code == 400
    # An app that is not the hub's own asks the signed-in person to consent.
    other_redirect = "https://partner.test/cb"
    other, _ = await create_client(
        hub, org="Hub Operator", org_kind="hub_operator", kind="app", public=True,
        scopes=["openid"], redirect_uris=[other_redirect],
    )  # fmt: skip
    consent = await hub.client.get(
        "/oauth/authorize", params=authorization(other, other_redirect, Pkce.new(), "openid")
    )
    assert consent.status_code == 200
    assert "Signed in as Li Na" in consent.text
    assert 'name="password"' not in consent.text

    # Sign out: a confirmation page, then the session and its refresh tokens end.
    confirm = await hub.client.get("/oauth/logout", params={"client_id": "yunfab-console"})
    form = parse_form(confirm.text)
    out = await hub.client.post(
        "/oauth/logout",
        data={**form.fields, "post_logout_redirect_uri": "https://evil.test/"},
    )
    assert out.status_code == 400  # only a URI registered for the client
    out = await hub.client.post(
        "/oauth/logout", data={**form.fields, "post_logout_redirect_uri": f"{HUB}/"}
    )
    assert out.status_code == 303
    assert out.headers["location"] == f"{HUB}/"
    assert (await refresh(hub, tokens["refresh_token"])).status_code == 400
    again = await hub.client.get("/oauth/authorize", params=params)
    assert again.status_code == 200
    assert 'name="password"' in again.text
    metadata = (await hub.client.get("/.well-known/openid-configuration")).json()
    assert metadata["end_session_endpoint"] == f"{HUB}/oauth/logout"
    assert "refresh_token" in metadata["grant_types_supported"]


@SQLITE_ONLY
async def test_only_the_cli_gets_any_loopback_port(hub: InProcessService) -> None:
    await setup_hub(hub)

    async def status(client_id: str, redirect: str) -> int:
        params = authorization(client_id, redirect, Pkce.new(), "openid")
        return (await hub.client.get("/oauth/authorize", params=params)).status_code

    assert await status("yunfab-cli", "http://127.0.0.1:53124/callback") == 200
    assert await status("yunfab-cli", "http://127.0.0.1/callback") == 200
    assert await status("yunfab-cli", "http://127.0.0.1:53124/other") == 400
    assert await status("yunfab-cli", "http://localhost:53124/callback") == 400
    assert await status("yunfab-cli", "http://evil.test:53124/callback") == 400
    loopback = "http://127.0.0.1:9999/callback"
    other, _ = await create_client(
        hub, org="Hub Operator", org_kind="hub_operator", kind="app", public=True,
        scopes=["openid"], redirect_uris=[loopback],
    )  # fmt: skip
    assert await status(other, loopback) == 200
    assert await status(other, "http://127.0.0.1:9998/callback") == 400
    assert await status("yunfab-console", "http://hub.test:8080/auth/callback") == 400


USERS = """query($f: UserFilter) {
  users(filter: $f, first: 10) { totalCount edges { node { email roles } } } }"""
CREATE = """mutation($input: CreateUserInput!) {
  createUser(input: $input) { oneTimePassword user { id email roles disabledAt } } }"""


async def test_hub_admins_manage_people_and_others_are_forbidden(hub: InProcessService) -> None:
    admin_email = await setup_hub(hub)
    admin = bearer((await console_tokens(hub, admin_email, "openid hub:admin"))["access_token"])
    me = await hub.graphql(
        "{ me { user { email } organization { name } roles scopes } }", headers=admin
    )
    assert me["me"]["user"]["email"] == admin_email
    assert me["me"]["roles"] == ["ADMIN"]
    created = await hub.graphql(
        CREATE,
        {"input": {"email": "Wang.Fang@hub.test", "name": "Wang Fang",
                   "organization": "Hub Operator", "roles": ["AUDITOR"]}},
        headers=admin,
    )  # fmt: skip
    person = created["createUser"]
    assert person["user"]["email"] == "wang.fang@hub.test"
    assert person["oneTimePassword"]
    found = await hub.graphql(USERS, {"f": {"role": "AUDITOR"}}, headers=admin)
    assert found["users"]["totalCount"] == 1
    # The new person signs in (another browser) with the one-time password.
    hub.client.cookies.clear()
    pkce = Pkce.new()
    params = authorization("yunfab-console", CONSOLE_CALLBACK, pkce, "openid audit:read hub:admin")
    signed_in = await sign_in(hub, "wang.fang@hub.test", params, person["oneTimePassword"])
    theirs = await exchange(hub, "yunfab-console", CONSOLE_CALLBACK, code_of(signed_in), pkce)
    assert theirs["scope"] == "openid audit:read"

    auditor = bearer(theirs["access_token"])
    for query, variables in (
        (USERS, {}),
        (CREATE, {"input": {"email": "x@hub.test", "name": "X", "organization": "Hub Operator",
                            "roles": ["ADMIN"]}}),
        ("mutation($id: UUID!) { disableUser(id: $id) { id } }", {"id": person["user"]["id"]}),
    ):  # fmt: skip
        refused = await hub.graphql(query, variables, headers=auditor, expect_errors=True)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    updated = await hub.graphql(
        "mutation($id: UUID!) {"
        " updateUser(id: $id, input: {roles: [AUDITOR, PUBLISHER]}) { roles } }",
        {"id": person["user"]["id"]}, headers=admin,
    )  # fmt: skip
    assert updated["updateUser"]["roles"] == ["AUDITOR", "PUBLISHER"]
    disabled = await hub.graphql(
        "mutation($id: UUID!) { disableUser(id: $id) { disabledAt } }",
        {"id": person["user"]["id"]}, headers=admin,
    )  # fmt: skip
    assert disabled["disableUser"]["disabledAt"]
    # Disabling revoked their refresh tokens.
    assert (await refresh(hub, theirs["refresh_token"])).status_code == 400


@SQLITE_ONLY
async def test_passwords_are_argon2id_and_scrypt_is_upgraded_at_sign_in(
    hub: InProcessService,
) -> None:
    email = await setup_hub(hub)
    sessions = hub_state(hub.app).db.sessionmaker
    async with session_scope(sessions) as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        user.password_hash = hash_secret(PASSWORD)  # as the hub stored passwords before
    await console_tokens(hub, email, "openid")
    async with session_scope(sessions) as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")


@SQLITE_ONLY
def test_the_hub_console_manages_people(hub_db_url: str, backend: str) -> None:
    """`yunfab hub user ...`: one-time passwords printed once, roles checked, changes audited."""
    import json

    from typer.testing import CliRunner

    from yunfab_cli.main import app

    runner = CliRunner()
    db = ["--database-url", hub_db_url]

    def run(*args: str, stdin: str | None = None) -> Any:
        return runner.invoke(app, ["hub", *args, *db], input=stdin)

    boot = run(
        "bootstrap", "--org", "Hub Op", "--email", "ops@hub.test", "--name", "Ops",
        "--password-stdin", stdin=f"{PASSWORD}\n",
    )  # fmt: skip
    assert boot.exit_code == 0, boot.output
    assert json.loads(boot.output)["clients"] == ["yunfab-cli", "yunfab-console", "yunfab-graphiql"]
    created = run("user", "create", "--org", "Hub Op", "--email", "li@hub.test", "--name", "Li",
                  "--role", "buyer")  # fmt: skip
    assert created.exit_code == 0, created.output
    assert len(json.loads(created.output)["one_time_password"]) >= 12
    unknown = run("user", "create", "--org", "Hub Op", "--email", "x@hub.test", "--name", "X",
                  "--role", "boss")  # fmt: skip
    assert unknown.exit_code == 1
    assert "unknown roles: boss" in unknown.output
    updated = run("user", "update", "li@hub.test", "--role", "publisher")
    assert json.loads(updated.output)["roles"] == ["publisher"]
    assert json.loads(run("user", "disable", "li@hub.test").output)["disabled_at"]
    listed = json.loads(run("user", "list", "--disabled").output)["users"]
    assert [user["email"] for user in listed] == ["li@hub.test"]
    reset = run("user", "reset-password", "li@hub.test", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert json.loads(reset.output)["one_time_password"] is None
    verified = run("audit", "verify")
    assert json.loads(verified.output)["checked"] >= 5
