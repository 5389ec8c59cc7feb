"""The hub console's people pages through the public GraphQL API: organizations, OAuth2 clients
(secrets shown once, rotation, disabling), signing keys and their rotation, revocations, ending
a person's sessions, and the audit chain's verification."""

from __future__ import annotations

import secrets
from typing import Any

from tests.support import InProcessService, bearer
from tests.test_signin import console_tokens, refresh, setup_hub

ADMIN_SCOPE = "openid hub:admin orgs:read audit:read"

CREATE_ORG = """mutation($input: CreateOrganizationInput!) {
  createOrganization(input: $input) { id name kind createdAt } }"""
CREATE_CLIENT = """mutation($input: CreateApiClientInput!) {
  createApiClient(input: $input) { secret client { id clientId scopes public disabledAt
    organization { name } } } }"""
CLIENTS = """query($f: ApiClientFilter) {
  apiClients(filter: $f, first: 10) { totalCount edges { node { clientId name kind } } } }"""


async def _admin(hub: InProcessService, roles: tuple[str, ...] = ("admin", "auditor")) -> Any:
    email = await setup_hub(hub, roles=roles)
    return bearer((await console_tokens(hub, email, ADMIN_SCOPE))["access_token"])


async def _token(hub: InProcessService, client_id: str, secret: str, scope: str) -> int:
    response = await hub.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
    )
    return response.status_code


async def test_admins_create_organizations_and_clients_with_secrets_shown_once(
    hub: InProcessService,
) -> None:
    admin = await _admin(hub)
    name = f"Acme {secrets.token_hex(3)}"
    org = (
        await hub.graphql(CREATE_ORG, {"input": {"name": name, "kind": "CONSUMER"}}, headers=admin)
    )["createOrganization"]
    assert org["kind"] == "CONSUMER"
    again = await hub.graphql(
        CREATE_ORG, {"input": {"name": name, "kind": "FACTORY"}}, headers=admin, expect_errors=True
    )
    assert again["errors"][0]["extensions"]["code"] == "ORGANIZATION_EXISTS"
    one = await hub.graphql(
        "query($id: UUID!) { organization(id: $id) { name kind } }",
        {"id": org["id"]},
        headers=admin,
    )
    assert one["organization"] == {"name": name, "kind": "CONSUMER"}

    created = (
        await hub.graphql(
            CREATE_CLIENT,
            {
                "input": {
                    "organization": name,
                    "name": "ERP link",
                    "kind": "PLATFORM",
                    "scopes": ["exchange:read", "orgs:read"],
                }
            },
            headers=admin,
        )  # fmt: skip
    )["createApiClient"]
    client, secret = created["client"], created["secret"]
    assert secret
    assert not client["public"]
    assert client["scopes"] == ["exchange:read", "orgs:read"]
    assert client["organization"]["name"] == name
    assert await _token(hub, client["clientId"], secret, "orgs:read") == 200
    person = await hub.graphql(
        """mutation($input: CreateUserInput!) {
          createUser(input: $input) { oneTimePassword user { organization { id name } } } }""",
        {"input": {"email": f"p-{secrets.token_hex(3)}@acme.test", "name": "P",
                   "organization": name, "roles": ["BUYER"]}},
        headers=admin,
    )  # fmt: skip
    assert person["createUser"]["user"]["organization"] == {"id": org["id"], "name": name}
    assert person["createUser"]["oneTimePassword"]
    listed = await hub.graphql(CLIENTS, {"f": {"organizationId": org["id"]}}, headers=admin)
    assert listed["apiClients"]["totalCount"] == 1
    assert listed["apiClients"]["edges"][0]["node"]["clientId"] == client["clientId"]
    # The secret is in no other answer.
    assert "secret" not in str(listed)

    bad = await hub.graphql(
        CREATE_CLIENT,
        {"input": {"organization": name, "name": "x", "kind": "PLATFORM", "scopes": ["nope"]}},
        headers=admin, expect_errors=True,
    )  # fmt: skip
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"

    rotated = (
        await hub.graphql(
            "mutation($id: UUID!) { rotateApiClientSecret(id: $id) { secret } }",
            {"id": client["id"]},
            headers=admin,
        )  # fmt: skip
    )["rotateApiClientSecret"]["secret"]
    assert rotated
    assert rotated != secret
    assert await _token(hub, client["clientId"], secret, "orgs:read") == 401
    assert await _token(hub, client["clientId"], rotated, "orgs:read") == 200

    disabled = await hub.graphql(
        "mutation($id: UUID!) { disableApiClient(id: $id) { disabledAt } }",
        {"id": client["id"]}, headers=admin,
    )  # fmt: skip
    assert disabled["disableApiClient"]["disabledAt"]
    assert await _token(hub, client["clientId"], rotated, "orgs:read") == 401
    await hub.graphql(
        "mutation($id: UUID!) { enableApiClient(id: $id) { disabledAt } }",
        {"id": client["id"]}, headers=admin,
    )  # fmt: skip
    assert await _token(hub, client["clientId"], rotated, "orgs:read") == 200

    audit = await hub.graphql(
        '{ auditLog(first: 20, action: "client.secret_rotated") { edges { node { resource } } } }',
        headers=admin,
    )
    assert audit["auditLog"]["edges"][0]["node"]["resource"] == f"client:{client['clientId']}"


async def test_keys_rotate_and_revocations_are_listed(hub: InProcessService) -> None:
    admin = await _admin(hub)
    keys_query = "{ signingKeys { kid status } }"
    before = (await hub.graphql(keys_query, headers=admin))["signingKeys"]
    active = [key["kid"] for key in before if key["status"] == "ACTIVE"]
    assert len(active) == 1
    fresh = (await hub.graphql("mutation { rotateSigningKey { kid status } }", headers=admin))[
        "rotateSigningKey"
    ]
    assert fresh["status"] == "ACTIVE"
    after = {
        key["kid"]: key["status"]
        for key in (await hub.graphql(keys_query, headers=admin))["signingKeys"]
    }
    assert after[fresh["kid"]] == "ACTIVE"
    assert after[active[0]] == "PREVIOUS"
    jwks = (await hub.client.get("/.well-known/jwks.json")).json()
    assert fresh["kid"] in {key["kid"] for key in jwks["keys"]}
    # The admin's own token (signed by the previous key) still works.
    assert (await hub.graphql("{ viewer { kind } }", headers=admin))["viewer"]["kind"] == "user"

    # A person's refresh tokens end with "sign out everywhere".
    email = await setup_hub(hub, roles=("auditor",))
    hub.client.cookies.clear()  # another browser
    theirs = await console_tokens(hub, email, "openid audit:read")
    users = await hub.graphql(
        "query($f: UserFilter) { users(filter: $f) { edges { node { id } } } }",
        {"f": {"search": email}}, headers=admin,
    )  # fmt: skip
    user_id = users["users"]["edges"][0]["node"]["id"]
    ended = await hub.graphql(
        "mutation($id: UUID!) { revokeUserSessions(id: $id) { sessions refreshTokens } }",
        {"id": user_id}, headers=admin,
    )  # fmt: skip
    assert ended["revokeUserSessions"]["refreshTokens"] >= 1
    assert (await refresh(hub, theirs["refresh_token"])).status_code == 400

    # A revoked access token shows on the list.
    response = await hub.client.post(
        "/oauth/revoke", data={"token": theirs["access_token"], "client_id": "yunfab-console"}
    )
    assert response.status_code == 200, response.text
    listed = await hub.graphql(
        "{ revokedTokens(first: 5) { totalCount edges { node { jti clientId revokedAt } } } }",
        headers=admin,
    )
    assert listed["revokedTokens"]["totalCount"] >= 1
    assert listed["revokedTokens"]["edges"][0]["node"]["clientId"] == "yunfab-console"


async def test_the_audit_chain_verifies_and_only_the_allowed_may(hub: InProcessService) -> None:
    admin = await _admin(hub)
    await hub.graphql(
        CREATE_ORG, {"input": {"name": f"V {secrets.token_hex(3)}", "kind": "FACTORY"}},
        headers=admin,
    )  # fmt: skip
    verified = await hub.graphql(
        "{ auditChainVerification { ok checked problem seq verifiedAt } }", headers=admin
    )
    result = verified["auditChainVerification"]
    assert result["ok"] is True
    assert result["checked"] >= 2
    assert result["problem"] is None
    assert result["seq"] is None

    auditor_email = await setup_hub(hub, roles=("auditor",))
    hub.client.cookies.clear()  # another browser
    auditor = bearer((await console_tokens(hub, auditor_email, ADMIN_SCOPE))["access_token"])
    can = (await hub.graphql("{ viewer { can { readClients manageClients readAudit } } }",
                             headers=auditor))["viewer"]["can"]  # fmt: skip
    assert can == {"readClients": False, "manageClients": False, "readAudit": True}
    assert (await hub.graphql("{ auditChainVerification { ok } }", headers=auditor))[
        "auditChainVerification"
    ]["ok"]
    for query in (
        "{ apiClients { totalCount } }",
        "{ signingKeys { kid } }",
        "{ revokedTokens { totalCount } }",
        "mutation { rotateSigningKey { kid } }",
        'mutation { createOrganization(input: {name: "X", kind: FACTORY}) { id } }',
    ):
        refused = await hub.graphql(query, headers=auditor, expect_errors=True)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", query
