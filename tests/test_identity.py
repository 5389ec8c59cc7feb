"""Tokens, keys, revocation, OAuth2/OIDC flows and the audit chain, through the public endpoints."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import text

from hub.organizations.models import OrganizationKind
from hub.organizations.service import ensure_organization
from hub.state import hub_state
from tests.conftest import HubFactory, NodeFactory
from tests.support import (
    InProcessService,
    bearer,
    client_token,
    create_client,
    eventually,
    node_token,
    token_for,
)
from yunfab.db import create_engine

PROTECTED = "/api/v1/revocations"


def claims_for(hub: InProcessService, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "http://hub.test",
        "sub": "yf_test",
        "aud": "http://hub.test",
        "exp": now + 600,
        "iat": now,
        "nbf": now,
        "jti": secrets.token_hex(8),
        "client_id": "yf_test",
        "scope": "nodes:register",
        "org": None,
        "org_kind": "node_operator",
        **overrides,
    }


def segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def status_and_code(hub: InProcessService, token: str) -> tuple[int, str]:
    response = await hub.client.get(PROTECTED, headers=bearer(token))
    return response.status_code, response.json().get("error", "")


async def test_every_bad_token_is_a_401_with_its_own_code(hub: InProcessService) -> None:
    ring = hub_state(hub.app).keyring
    good = ring.sign(claims_for(hub))
    header, payload, signature = good.split(".")
    tampered_claims = {
        **json.loads(base64.urlsafe_b64decode(payload + "==")),
        "scope": "audit:read",
    }
    cases = {
        "token_malformed": "abc.def",
        "token_expired": ring.sign(claims_for(hub, exp=int(time.time()) - 3600)),
        "token_bad_signature": f"{header}.{segment(tampered_claims)}.{signature}",
        "token_algorithm_refused": f"{segment({'alg': 'none', 'typ': 'at+jwt'})}.{payload}.",
        "token_wrong_audience": ring.sign(claims_for(hub, aud="another-platform")),
        "token_wrong_type": ring.sign(claims_for(hub), typ="JWT"),
        "token_wrong_issuer": ring.sign(claims_for(hub, iss="https://evil.test")),
        "token_not_yet_valid": ring.sign(claims_for(hub, nbf=int(time.time()) + 3600)),
        "token_unknown_key": ".".join(
            [segment({"alg": "ES256", "typ": "at+jwt", "kid": "gone"}), payload, signature]
        ),
    }
    for code, token in cases.items():
        assert await status_and_code(hub, token) == (401, code), code

    response = await hub.client.get(PROTECTED)
    assert (response.status_code, response.json()["error"]) == (401, "token_missing")
    response = await hub.client.get(PROTECTED, headers={"authorization": "Basic abc"})
    assert (response.status_code, response.json()["error"]) == (401, "token_malformed")
    # The well-formed token itself passes authentication (and the policy decides the rest).
    assert (await status_and_code(hub, good))[0] == 200


async def test_bad_tokens_on_graphql_are_401_and_denials_are_forbidden(
    hub: InProcessService,
) -> None:
    ring = hub_state(hub.app).keyring
    expired = ring.sign(claims_for(hub, exp=int(time.time()) - 3600))
    response = await hub.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers=bearer(expired)
    )
    assert response.status_code == 401
    assert response.json()["error"] == "token_expired"

    token = await token_for(hub, org="Buyer Co", org_kind="consumer", scopes=["orgs:read"])
    body = await hub.graphql(
        "{ auditLog { edges { node { action } } } }", headers=bearer(token), expect_errors=True
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None
    body = await hub.graphql("{ auditLog { edges { node { action } } } }", expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_access_tokens_are_rfc9068_jwts_with_short_lifetimes(hub: InProcessService) -> None:
    client_id, secret = await create_client(
        hub, org="Buyer Co", org_kind="consumer", scopes=["orgs:read"]
    )
    response = await hub.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "orgs:read audit:read"},
        auth=(client_id, secret or ""),
    )
    body = response.json()
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert body["expires_in"] == 600
    assert body["scope"] == "orgs:read"  # what the client may have, not what it asked for
    token = body["access_token"]
    jwks = (await hub.client.get("/.well-known/jwks.json")).json()
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.header["kid"] in {key["kid"] for key in jwks["keys"]}
    claims = decoded.claims
    assert claims["exp"] - claims["iat"] == 600
    assert claims["aud"] == "http://hub.test"
    assert claims["org_kind"] == "consumer"
    assert claims["client_id"] == client_id

    wrong = await hub.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "wrong")
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


async def test_metadata_describes_the_server(hub: InProcessService) -> None:
    metadata = (await hub.client.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == "http://hub.test"
    assert metadata["jwks_uri"] == "http://hub.test/.well-known/jwks.json"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "client_credentials" in metadata["grant_types_supported"]
    assert (await hub.client.get("/.well-known/openid-configuration")).json()[
        "issuer"
    ] == "http://hub.test"


async def test_keys_rotate_and_old_tokens_verify_until_their_key_retires(
    hub: InProcessService, hub_db_url: str
) -> None:
    old_token = await node_token(hub, "zj-textile", "CN-ZJ")
    admin = await token_for(hub, org="Hub Operator", org_kind="hub_operator", scopes=[])
    # Only an admin of the hub operator may rotate: a client has no roles.
    assert (
        await hub.client.post("/api/v1/admin/keys/rotate", headers=bearer(admin))
    ).status_code == 403

    from hub.identity.keys import rotate_keys
    from yunfab.db import session_scope

    async def rotate() -> None:
        async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
            await rotate_keys(session, passphrase=None, retire_after=dt.timedelta(seconds=600))
        await hub_state(hub.app).keyring.load()

    await rotate()
    kids = [key["kid"] for key in (await hub.client.get("/.well-known/jwks.json")).json()["keys"]]
    assert len(kids) == 2
    assert (await status_and_code(hub, old_token))[0] == 200
    new_token = await node_token(hub, "gd-injection-moulding", "CN-GD")
    assert (
        jwt.decode(new_token, hub_state(hub.app).keyring.key_set()).header["kid"]
        == hub_state(hub.app).keyring.active.kid
    )

    # A second rotation keeps the first key while tokens it signed may still be live...
    await rotate()
    assert (await status_and_code(hub, old_token))[0] == 200
    # ...and retires it once a token lifetime has passed since it stopped signing.
    engine = create_engine(hub_db_url)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE signing_keys SET rotated_at = :at WHERE kid = :kid"),
            {
                "at": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
                "kid": jwt.decode(old_token, hub_state(hub.app).keyring.key_set()).header["kid"],
            },
        )
    await engine.dispose()
    await rotate()
    assert await status_and_code(hub, old_token) == (401, "token_unknown_key")
    assert (await status_and_code(hub, new_token))[0] == 200


async def test_revoked_tokens_are_refused_by_the_hub_and_soon_by_nodes(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, heartbeat_interval_s=0.1) as node:
        client_id, secret = await create_client(
            hub, org="Hub Operator", org_kind="hub_operator", scopes=["factories:read"]
        )

        async def registered() -> bool:
            ready = (await node.client.get("/readyz")).json()
            return bool(ready["checks"]["hub"]["state"] == "online")

        await eventually(registered)
        token = await client_token(
            hub, client_id, secret, "factories:read", "http://zj-textile.test"
        )
        query = "{ factories { edges { node { slug } } } }"
        assert (await node.graphql(query, headers=bearer(token)))["factories"]["edges"] == []

        introspected = await hub.client.post(
            "/oauth/introspect", data={"token": token}, auth=(client_id, secret or "")
        )
        assert introspected.json()["active"] is True
        assert introspected.json()["client_id"] == client_id

        revoked = await hub.client.post(
            "/oauth/revoke", data={"token": token}, auth=(client_id, secret or "")
        )
        assert revoked.status_code == 200
        hub_token = await client_token(hub, client_id, secret, "factories:read")
        await hub.client.post(
            "/oauth/revoke", data={"token": hub_token}, auth=(client_id, secret or "")
        )
        assert await status_and_code(hub, hub_token) == (401, "token_revoked")
        introspected = await hub.client.post(
            "/oauth/introspect", data={"token": token}, auth=(client_id, secret or "")
        )
        assert introspected.json() == {"active": False}

        async def refused_at_node() -> bool:
            response = await node.client.post(
                "/graphql", json={"query": query}, headers=bearer(token)
            )
            return response.status_code == 401 and response.json()["error"] == "token_revoked"

        await eventually(refused_at_node, timeout_s=10)


async def test_a_client_cannot_revoke_or_introspect_anothers_token(hub: InProcessService) -> None:
    victim = await node_token(hub, "zj-textile", "CN-ZJ")
    other_id, other_secret = await create_client(
        hub, org="Buyer Co", org_kind="consumer", scopes=[]
    )
    response = await hub.client.post(
        "/oauth/revoke", data={"token": victim}, auth=(other_id, other_secret or "")
    )
    assert response.status_code == 400
    assert (await status_and_code(hub, victim))[0] == 200
    response = await hub.client.post(
        "/oauth/introspect", data={"token": victim}, auth=(other_id, other_secret or "")
    )
    assert response.json() == {"active": False}


async def test_people_sign_in_with_code_and_pkce_and_get_an_id_token(hub: InProcessService) -> None:
    from hub.identity import service
    from yunfab.db import session_scope
    from yunfab.subject import SYSTEM

    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        await ensure_organization(session, name="Hub Operator", kind=OrganizationKind.HUB_OPERATOR)
        await service.create_user(
            session,
            SYSTEM,
            input=service.NewUser(
                organization="Hub Operator",
                email="li.na@hub.test",
                name="Li Na",
                password="correct horse battery",
                roles=["auditor"],
            ),
        )
    redirect = "http://127.0.0.1:9999/callback"
    client_id, _ = await create_client(
        hub,
        org="Hub Operator",
        org_kind="hub_operator",
        kind="app",
        public=True,
        scopes=["openid", "profile", "email", "audit:read"],
        redirect_uris=[redirect],
    )
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect,
        "scope": "openid profile email audit:read",
        "state": "s-1",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = await hub.client.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    assert "Sign in to Yunfab" in page.text
    # The form's token (CSRF, matching the cookie the page set) goes with each sign-in.
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None

    plain = await hub.client.get(
        "/oauth/authorize", params={**params, "code_challenge_method": "plain"}
    )
    assert plain.status_code == 400
    no_pkce = {k: v for k, v in params.items() if not k.startswith("code_challenge")}
    assert (await hub.client.get("/oauth/authorize", params=no_pkce)).status_code == 400

    wrong = await hub.client.post(
        "/oauth/authorize",
        params=params,
        data={
            "email": "li.na@hub.test",
            "password": "nope",
            "decision": "allow",
            "csrf_token": csrf[1],
        },
    )
    assert wrong.status_code == 401

    granted = await hub.client.post(
        "/oauth/authorize",
        params=params,
        data={
            "email": "li.na@hub.test",
            "password": "correct horse battery",
            "decision": "allow",
            "csrf_token": csrf[1],
        },
    )
    assert granted.status_code == 302
    query = parse_qs(urlsplit(granted.headers["location"]).query)
    assert query["state"] == ["s-1"]
    code = query["code"][0]

    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect,
        "client_id": client_id,
    }
    bad = await hub.client.post("/oauth/token", data={**exchange, "code_verifier": "x" * 50})
    assert bad.status_code == 400
    tokens = await hub.client.post("/oauth/token", data={**exchange, "code_verifier": verifier})
    # A code is single use: the failed attempt above did not consume it, this one does.
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    keys = hub_state(hub.app).keyring.key_set()
    id_token = jwt.decode(body["id_token"], keys, algorithms=["ES256"]).claims
    assert client_id in id_token["aud"]
    assert id_token["nonce"] == "n-1"
    assert id_token["email"] == "li.na@hub.test"
    assert id_token["iss"] == "http://hub.test"
    again = await hub.client.post("/oauth/token", data={**exchange, "code_verifier": verifier})
    assert again.status_code == 400

    # The person's access token carries their roles: the auditor reads the audit log.
    audit = await hub.graphql(
        "{ auditLog(first: 5) { edges { node { action actor } } } }",
        headers=bearer(body["access_token"]),
    )
    actions = [edge["node"]["action"] for edge in audit["auditLog"]["edges"]]
    assert "token.issued" in actions
    assert "user.signed_in" in actions


async def test_organizations_are_filtered_row_by_row(hub: InProcessService) -> None:
    from yunfab.db import session_scope

    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        for name, kind in [
            ("Haining Knit", "factory"),
            ("Keqiao Dye", "factory"),
            ("Textile Cloud", "publisher"),
            ("Hub Operator", "hub_operator"),
        ]:
            await ensure_organization(session, name=name, kind=OrganizationKind(kind))
    factory = await token_for(hub, org="Haining Knit", org_kind="factory", scopes=["orgs:read"])
    operator = await token_for(
        hub, org="Hub Operator", org_kind="hub_operator", scopes=["orgs:read"]
    )
    query = """
    { organizations(first: 2) { totalCount pageInfo { hasNextPage } edges { node { name } } } }
    """

    seen = await hub.graphql(query, headers=bearer(factory))
    assert [e["node"]["name"] for e in seen["organizations"]["edges"]] == [
        "Haining Knit",
        "Hub Operator",
    ]
    assert seen["organizations"]["totalCount"] is None
    everything = await hub.graphql(query.replace("first: 2", "first: 10"), headers=bearer(operator))
    assert [e["node"]["name"] for e in everything["organizations"]["edges"]] == [
        "Haining Knit",
        "Hub Operator",
        "Keqiao Dye",
        "Textile Cloud",
    ]
    anonymous = await hub.graphql(query, expect_errors=True)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    no_scope = await token_for(hub, org="Keqiao Dye", org_kind="factory", scopes=[])
    denied = await hub.graphql(query, headers=bearer(no_scope), expect_errors=True)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("tamper", ["edit", "delete_middle", "delete_tail"])
async def test_audit_chain_detects_tampering(
    hub: InProcessService, hub_db_url: str, tamper: str
) -> None:
    from hub.audit.service import verify_chain
    from yunfab.db import session_scope
    from yunfab.subject import SYSTEM

    for index in range(5):
        await hub_state(hub.app).audit.append(
            actor=SYSTEM, action="test.event", resource=f"r{index}", outcome="ok"
        )
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        result = await verify_chain(session)
    assert result.ok
    assert result.checked == 5

    statements = {
        "edit": "UPDATE audit_log SET outcome = 'deny' WHERE seq = 3",
        "delete_middle": "DELETE FROM audit_log WHERE seq = 2",
        "delete_tail": "DELETE FROM audit_log WHERE seq = 5",
    }
    engine = create_engine(hub_db_url)
    async with engine.begin() as connection:
        await connection.execute(text(statements[tamper]))
    await engine.dispose()
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        result = await verify_chain(session)
    assert not result.ok
    assert result.seq == {"edit": 3, "delete_middle": 2, "delete_tail": 5}[tamper]


async def test_redirect_uris_must_be_https_or_exactly_loopback(hub: InProcessService) -> None:
    from yunfab.errors import InvalidInput

    for bad in ["http://localhost.evil.test/cb", "http://example.test/cb", "https://a.test/cb#x"]:
        with pytest.raises(InvalidInput):
            await create_client(
                hub,
                org="Apps",
                org_kind="publisher",
                kind="app",
                public=True,
                scopes=["openid"],
                redirect_uris=[bad],
            )
    client_id, _ = await create_client(
        hub,
        org="Apps",
        org_kind="publisher",
        kind="app",
        public=True,
        scopes=["openid"],
        redirect_uris=["http://127.0.0.1:8123/cb", "https://app.test/cb"],
    )
    assert client_id.startswith("yf_")


async def test_a_plain_key_is_never_added_beside_encrypted_ones(hub_factory: HubFactory) -> None:
    from hub.identity.keys import rotate_keys
    from yunfab.db import session_scope
    from yunfab.errors import Conflict

    async with hub_factory(signing_key_passphrase="a passphrase from the secret store") as hub:
        with pytest.raises(Conflict, match="encrypted"):
            async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
                await rotate_keys(session, passphrase=None, retire_after=dt.timedelta(minutes=10))
        jwks = (await hub.client.get("/.well-known/jwks.json")).json()
        assert len(jwks["keys"]) == 1


async def test_guessing_client_secrets_is_throttled(hub: InProcessService) -> None:
    client_id, secret = await create_client(hub, org="Buyer Co", org_kind="consumer", scopes=[])
    form = {"grant_type": "client_credentials"}
    for _ in range(10):
        wrong = await hub.client.post("/oauth/token", data=form, auth=(client_id, "guess"))
        assert wrong.status_code == 401
    # Over the limit even the right secret waits: the guesser learns nothing more.
    limited = await hub.client.post("/oauth/token", data=form, auth=(client_id, secret or ""))
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert int(limited.headers["retry-after"]) > 0
    other_id, other_secret = await create_client(
        hub, org="Other Co", org_kind="consumer", scopes=[]
    )
    ok = await hub.client.post("/oauth/token", data=form, auth=(other_id, other_secret or ""))
    assert ok.status_code == 200


async def test_a_concurrent_burst_of_bad_secrets_gets_no_more_checks_than_the_limit(
    hub: InProcessService,
) -> None:
    """A client that has not succeeded lately has at most the limit (10) secret checks in
    flight or failed: 50 concurrent guesses get 10 answers of 401 at most, the rest 429."""
    client_id, _ = await create_client(hub, org="Buyer Co", org_kind="consumer", scopes=[])
    form = {"grant_type": "client_credentials"}
    answers = await asyncio.gather(
        *(hub.client.post("/oauth/token", data=form, auth=(client_id, "guess")) for _ in range(50))
    )
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {401, 429}
    assert 0 < statuses.count(401) <= 10


async def test_a_client_that_knows_its_secret_fetches_tokens_concurrently(
    hub: InProcessService,
) -> None:
    """Replicas behind one address: once the client has succeeded, 30 token requests at once
    all pass (more in flight than the failure limit)."""
    client_id, secret = await create_client(hub, org="Buyer Co", org_kind="consumer", scopes=[])
    await client_token(hub, client_id, secret, "")
    form = {"grant_type": "client_credentials"}
    answers = await asyncio.gather(
        *(
            hub.client.post("/oauth/token", data=form, auth=(client_id, secret or ""))
            for _ in range(30)
        )
    )
    assert [answer.status_code for answer in answers] == [200] * 30


async def test_floods_of_bad_secrets_at_introspection_and_revocation_are_throttled(
    hub: InProcessService,
) -> None:
    """The probe: introspection and revocation had no failure limit, and a flood of bad
    secrets there slowed every token request. Failures count per client and address across
    the three endpoints that check a client's secret; another client is not held up."""
    import httpx

    victim_id, victim_secret = await create_client(
        hub, org="Buyer Co", org_kind="consumer", scopes=["orgs:read"]
    )
    issued = await client_token(hub, victim_id, victim_secret, "orgs:read")
    for attempt in range(10):
        path = "/oauth/introspect" if attempt % 2 else "/oauth/revoke"
        wrong = await hub.client.post(path, data={"token": issued}, auth=(victim_id, "guess"))
        assert wrong.status_code == 401, (path, wrong.text)
    for path in ("/oauth/introspect", "/oauth/revoke"):
        limited = await hub.client.post(
            path, data={"token": issued}, auth=(victim_id, victim_secret or "")
        )
        assert limited.status_code == 429, (path, limited.text)
        assert int(limited.headers["retry-after"]) > 0
        body = limited.json()
        assert body["error"] == "rate_limited"
        assert "try again later" in body["error_description"]
    form = {"grant_type": "client_credentials"}
    token_limited = await hub.client.post(
        "/oauth/token", data=form, auth=(victim_id, victim_secret or "")
    )
    assert token_limited.status_code == 429
    assert token_limited.json()["error"] == "rate_limited"
    # The token was not revoked by any of it.
    assert (await hub.graphql("{ viewer { id } }", headers=bearer(issued)))["viewer"]

    other_id, other_secret = await create_client(
        hub, org="Other Co", org_kind="consumer", scopes=[]
    )
    ok = await hub.client.post("/oauth/token", data=form, auth=(other_id, other_secret or ""))
    assert ok.status_code == 200
    own = await hub.client.post(
        "/oauth/introspect",
        data={"token": ok.json()["access_token"]},
        auth=(other_id, other_secret or ""),
    )
    assert own.status_code == 200
    assert own.json()["active"] is True
    # The same client from another address is not locked out by the guesser's failures.
    elsewhere = httpx.ASGITransport(app=hub.app, client=("10.20.30.40", 5000))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://hub.test") as client:
        fine = await client.post(
            "/oauth/introspect", data={"token": issued}, auth=(victim_id, victim_secret or "")
        )
        assert fine.status_code == 200, fine.text


async def test_organizations_keep_their_kind_and_need_a_name(hub: InProcessService) -> None:
    from yunfab.errors import Conflict, InvalidInput

    await create_client(hub, org="Keqiao Dye", org_kind="factory", scopes=[])
    with pytest.raises(Conflict, match="exists with kind factory"):
        await create_client(hub, org="Keqiao Dye", org_kind="publisher", scopes=[])
    with pytest.raises(InvalidInput, match="organization name"):
        await create_client(hub, org="   ", org_kind="consumer", scopes=[])


async def test_concurrent_audit_entries_are_group_committed_into_one_unbroken_chain(
    hub: InProcessService,
) -> None:
    """Entries that arrive while a transaction is written go together in the next one; each
    caller still gets back its own entry, committed, and the chain holds."""
    import asyncio

    from hub.audit.service import verify_chain
    from yunfab.db import session_scope
    from yunfab.subject import SYSTEM

    entries = await asyncio.gather(
        *(
            hub_state(hub.app).audit.append(
                actor=SYSTEM, action="test.burst", resource=f"r{index}", outcome="ok"
            )
            for index in range(24)
        )
    )
    assert [entry.resource for entry in entries] == [f"r{index}" for index in range(24)]
    assert len({entry.seq for entry in entries}) == 24
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        result = await verify_chain(session)
    assert result.ok
    assert result.checked >= 24


async def test_audit_logs_writing_the_same_chain_in_turns_keep_it_unbroken(
    hub: InProcessService,
) -> None:
    """Two writers of one chain (as a console beside the service): each takes the head it wrote
    last as the head still, and finds out by the head row when the other moved it since."""
    from hub.audit.service import AuditLog, verify_chain
    from yunfab.db import session_scope
    from yunfab.subject import SYSTEM

    sessionmaker = hub_state(hub.app).db.sessionmaker
    first, second = AuditLog(sessionmaker), AuditLog(sessionmaker)
    written = []
    for index in range(6):
        log = first if index % 3 else second
        entry = await log.append(
            actor=SYSTEM, action="test.turns", resource=f"r{index}", outcome="ok"
        )
        written.append(entry.seq)
    assert written == sorted(written)
    assert len(set(written)) == 6
    async with session_scope(sessionmaker) as session:
        result = await verify_chain(session)
        resources = (
            (
                await session.execute(
                    text("SELECT resource FROM audit_log WHERE action = 'test.turns' ORDER BY seq")
                )
            )
            .scalars()
            .all()
        )
    assert result.ok
    assert resources == [f"r{index}" for index in range(6)]
