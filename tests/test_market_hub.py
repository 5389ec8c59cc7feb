"""The knowledge and app market on the hub (issue #9), through its public interfaces: releases
uploaded over REST, the rest over GraphQL, nodes over the market REST, on both databases."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from hub.audit.models import AuditEntry
from hub.federated import service as federated
from hub.federated.models import FederatedRun
from hub.knowledge_market.models import Installation, Release
from hub.organizations.models import Organization, OrganizationKind
from hub.organizations.service import ensure_organization
from hub.state import hub_state
from tests.support import (
    InProcessService,
    bearer,
    client_token,
    create_client,
    create_node_client,
)
from yunfab import market
from yunfab.blobs import FileBlobStore
from yunfab.db import session_scope
from yunfab.subject import SYSTEM

pytestmark = pytest.mark.usefixtures("backend")

ROUTING = """
name = "seat-welding-routing"
version = "1.0.0"
kind = "scheduling_template"
yunfab = ">=0.1,<0.2"
license = "Apache-2.0"
permissions = ["routing:import"]
summary = "Welding routing for car seat frames"
industry = "automotive"
tags = ["welding", "seats"]

[pricing]
model = "per_node"
price_cny = 800

[content]
product = "seat-frame"
"""
ARTIFACT = json.dumps({"steps": [{"process": "welding", "minutes": 12}]}).encode()

GRAPHQL_ERRORS = "errors"
VERIFY = "mutation($id: UUID!) { verifyPublisher(organizationId: $id) { organizationId } }"
REGISTER_KEY = """
mutation($key: String!, $kind: MarketKeyKind!) {
  registerSigningKey(publicKey: $key, kind: $kind) { keyId status kind }
}
"""
REVIEW = """
mutation($id: UUID!, $key: String!, $sig: String!) {
  reviewRelease(releaseId: $id, keyId: $key, signature: $sig) {
    verified countersignatures { keyId }
  }
}
"""
GRANT = """
mutation($input: GrantEntitlementInput!) { grantEntitlement(input: $input) { id kind used } }
"""
INSTALL = """
mutation($node: String!, $release: UUID, $listing: String, $version: String, $config: JSON) {
  requestInstallation(node: $node, releaseId: $release, listing: $listing, version: $version,
                      config: $config) {
    id status pinned history { status by why } release { version status }
  }
}
"""
REMOVE = "mutation($id: UUID!) { removeInstallation(id: $id) { status } }"
YANK = "mutation($id: UUID!, $r: String!) { yankRelease(id: $id, reason: $r) { status } }"
REVOKE = "mutation($id: UUID!, $r: String!) { revokeRelease(id: $id, reason: $r) { status } }"
RATE = """
mutation($id: UUID!, $rating: Int!, $text: String!) {
  reviewListing(listingId: $id, rating: $rating, text: $text) { rating text }
}
"""
SEARCH = """
query($search: String, $kind: String, $industry: String, $license: String,
      $verified: Boolean! = false, $node: String) {
  marketListings(search: $search, kind: $kind, industry: $industry, license: $license,
                 verifiedOnly: $verified, compatibleWithNode: $node) {
    listings { totalCount edges { node { slug latestVersion verified ratingCount
                                          ratingAverage } } }
    facets { kind { value count } industry { value count } license { value count }
             verified { value count } }
  }
}
"""
INSTALLATIONS = """
query($node: String!, $status: MarketInstallationState) {
  marketInstallations(node: $node, status: $status) { totalCount edges { node { status } } }
}
"""
RELEASE = """
query($id: UUID!) {
  marketRelease(id: $id) {
    manifest
    manifestFields {
      name version kind license industry tags content
      pricing { model priceCny periodDays unit included }
    }
  }
}
"""


# --- actors -------------------------------------------------------------------------------


class Publisher:
    def __init__(self, hub: InProcessService, name: str) -> None:
        self.hub, self.name = hub, name
        pem, self.public = market.generate_key()
        self.key = market.load_private_key(pem)
        self.key_id = market.key_id(market.decode_public_key(self.public))
        self.headers: dict[str, str] = {}
        self.org_id = ""

    async def join(self, reviewer: dict[str, str] | None) -> Publisher:
        client_id, secret = await create_client(
            self.hub, org=self.name, org_kind="publisher", scopes=["market:publish"]
        )
        self.headers = bearer(await client_token(self.hub, client_id, secret, "market:publish"))
        self.org_id = await org_id(self.hub, self.name)
        if reviewer is not None:
            await self.hub.graphql(VERIFY, {"id": self.org_id}, headers=reviewer)
        await self.hub.graphql(
            REGISTER_KEY, {"key": self.public, "kind": "PUBLISHER"}, headers=self.headers
        )
        return self

    async def upload(
        self,
        manifest_text: str = ROUTING,
        artifact: bytes = ARTIFACT,
        *,
        claimed: str | None = None,
        signature: str | None = None,
        key_id: str | None = None,
        **changes: Any,
    ) -> Any:
        if changes:
            data = market.Manifest.load(manifest_text).model_dump(mode="json")
            data.update(changes)
            manifest_text = json.dumps(data)
        if signature is None:
            try:
                manifest = market.Manifest.load(manifest_text)
            except market.ManifestInvalid:
                signature = ""  # nothing valid to sign
            else:
                payload = market.signing_payload(manifest, market.sha256_hex(artifact))
                signature = market.sign(self.key, payload)
        form = {"manifest": manifest_text, "signature": signature, "key_id": key_id or self.key_id}
        if claimed is not None:
            form["artifact_sha256"] = claimed
        return await self.hub.client.post(
            "/api/v1/market/releases",
            data=form,
            files={"artifact": ("artifact.bin", artifact, "application/octet-stream")},
            headers=self.headers,
        )

    async def release(self, **changes: Any) -> dict[str, Any]:
        response = await self.upload(**changes)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


async def org_id(hub: InProcessService, name: str) -> str:
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        found = await session.scalar(select(Organization.id).where(Organization.name == name))
    assert found is not None
    return str(found)


async def reviewer_headers(hub: InProcessService, roles: tuple[str, ...] = ("reviewer",)) -> Any:
    """A hub operator's reviewer, signed in with code + PKCE (people carry roles, clients don't)."""
    from hub.identity import service

    email = f"{secrets.token_hex(4)}@hub.test"
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        await ensure_organization(session, name="Hub Operator", kind=OrganizationKind.HUB_OPERATOR)
        await service.create_user(
            session,
            SYSTEM,
            input=service.NewUser(
                organization="Hub Operator", email=email, name="Reviewer",
                password="correct horse battery", roles=list(roles),
            ),
        )  # fmt: skip
    redirect = "http://127.0.0.1:9999/callback"
    client_id, _ = await create_client(
        hub, org="Hub Operator", org_kind="hub_operator", kind="app", public=True,
        scopes=["openid", "market:review", "market:read"], redirect_uris=[redirect],
    )  # fmt: skip
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect,
        "scope": "openid market:review market:read", "state": "s", "nonce": "n",
        "code_challenge": challenge.decode().rstrip("="), "code_challenge_method": "S256",
    }  # fmt: skip
    page = await hub.client.get("/oauth/authorize", params=params)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None, page.text
    granted = await hub.client.post(
        "/oauth/authorize",
        params=params,
        data={"email": email, "password": "correct horse battery", "decision": "allow",
              "csrf_token": csrf[1]},
    )  # fmt: skip
    assert granted.status_code == 302, granted.text
    code = parse_qs(urlsplit(granted.headers["location"]).query)["code"][0]
    tokens = await hub.client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
            "client_id": client_id, "code_verifier": verifier,
        },
    )  # fmt: skip
    assert tokens.status_code == 200, tokens.text
    return bearer(tokens.json()["access_token"])


class Node:
    """A registered node: its own client (REST) and its operator organization's client."""

    def __init__(self, hub: InProcessService, name: str) -> None:
        self.hub, self.name = hub, name
        self.headers: dict[str, str] = {}
        self.operator: dict[str, str] = {}

    async def join(self, version: str | None = "0.1.0") -> Node:
        client_id, secret = await create_node_client(self.hub, self.name, "CN-ZJ")
        self.headers = bearer(await client_token(self.hub, client_id, secret, "nodes:register"))
        body: dict[str, Any] = {
            "region": "CN-ZJ", "industry": "automotive", "base_url": f"http://{self.name}.test",
        }  # fmt: skip
        if version is not None:
            body["yunfab_version"] = version
        response = await self.hub.client.put(
            f"/api/v1/nodes/{self.name}", json=body, headers=self.headers
        )
        assert response.status_code == 200, response.text
        operator_id, operator_secret = await create_client(
            self.hub, org=f"{self.name} operator", org_kind="node_operator",
            scopes=["market:install", "market:read"],
        )  # fmt: skip
        self.operator = bearer(
            await client_token(self.hub, operator_id, operator_secret, "market:install market:read")
        )
        return self

    async def install(self, expect_errors: bool = False, **variables: Any) -> dict[str, Any]:
        return await self.hub.graphql(
            INSTALL, {"node": self.name, **variables}, headers=self.operator,
            expect_errors=expect_errors,
        )  # fmt: skip

    async def installations(self) -> list[dict[str, Any]]:
        response = await self.hub.client.get(
            f"/api/v1/market/nodes/{self.name}/installations", headers=self.headers
        )
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["installations"]
        return rows

    async def report(self, installation: str, state: str, detail: str = "") -> Any:
        return await self.hub.client.post(
            f"/api/v1/market/installations/{installation}/report",
            json={"state": state, "detail": detail},
            headers=self.headers,
        )


def code_of(body: dict[str, Any]) -> str:
    code: str = body[GRAPHQL_ERRORS][0]["extensions"]["code"]
    return code.lower()


async def count(hub: InProcessService, model: Any) -> int:
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


def stored_artifacts(hub: InProcessService) -> list[Path]:
    root = hub_state(hub.app).settings.data_dir.resolve() / "market"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".pem")


# --- the whole life of a release -----------------------------------------------------------


async def test_publish_countersign_install_use_review_and_remove(hub: InProcessService) -> None:
    reviewer = await reviewer_headers(hub)
    publisher = await Publisher(hub, "Feilong Apps").join(reviewer)
    node = await Node(hub, "zj-seats").join()

    release = await publisher.release()
    assert release["status"] == "published"
    assert release["artifact_sha256"] == market.sha256_hex(ARTIFACT)
    assert release["verified"] is False
    digest = release["artifact_sha256"]
    assert stored_artifacts(hub) == [
        hub_state(hub.app).settings.data_dir.resolve() / "market" / "sha256" / digest[:2] / digest
    ]

    # A reviewer countersigns with a key of their own; the release and its listing are verified.
    pem, reviewer_public = market.generate_key()
    reviewer_key = market.load_private_key(pem)
    reviewer_key_id = market.key_id(market.decode_public_key(reviewer_public))
    await hub.graphql(REGISTER_KEY, {"key": reviewer_public, "kind": "REVIEWER"}, headers=reviewer)
    manifest = market.Manifest.load(ROUTING)
    wrong = market.sign(reviewer_key, market.signing_payload(manifest, digest))
    refused = await hub.graphql(
        REVIEW, {"id": release["id"], "key": reviewer_key_id, "sig": wrong},
        headers=reviewer, expect_errors=True,
    )  # fmt: skip
    assert code_of(refused) == "signature_invalid"
    good = market.sign(reviewer_key, market.review_payload(manifest, digest))
    reviewed = await hub.graphql(
        REVIEW, {"id": release["id"], "key": reviewer_key_id, "sig": good}, headers=reviewer
    )
    assert reviewed["reviewRelease"] == {
        "verified": True,
        "countersignatures": [{"keyId": reviewer_key_id}],
    }
    # Publishers do not countersign.
    denied = await hub.graphql(
        REVIEW, {"id": release["id"], "key": reviewer_key_id, "sig": good},
        headers=publisher.headers, expect_errors=True,
    )  # fmt: skip
    assert code_of(denied) == "forbidden"

    # Trust roots for nodes.
    trust = (await hub.client.get("/api/v1/market/trust", headers=node.headers)).json()
    assert {
        "organization_id": publisher.org_id, "key_id": publisher.key_id,
        "public_key": publisher.public, "status": "active",
    } in trust["publishers"]  # fmt: skip
    assert {"key_id": reviewer_key_id, "public_key": reviewer_public, "status": "active"} in trust[
        "reviewers"
    ]

    # Per-node pricing: no licence, no install; the publisher grants one.
    refused = await node.install(release=release["id"], expect_errors=True)
    assert code_of(refused) == "not_entitled"
    listing = (await hub.graphql(SEARCH, {"search": "welding"}, headers=node.operator))[
        "marketListings"
    ]["listings"]["edges"][0]["node"]
    assert listing == {
        "slug": "seat-welding-routing", "latestVersion": "1.0.0", "verified": True,
        "ratingCount": 0, "ratingAverage": None,
    }  # fmt: skip
    listing_id = release["manifest"]["name"]
    typed = (await hub.graphql(RELEASE, {"id": release["id"]}, headers=node.operator))[
        "marketRelease"
    ]
    assert typed["manifestFields"] == {
        "name": "seat-welding-routing", "version": "1.0.0", "kind": "scheduling_template",
        "license": "Apache-2.0", "industry": "automotive", "tags": ["welding", "seats"],
        "content": {"product": "seat-frame"},
        "pricing": {"model": "PER_NODE", "priceCny": 800, "periodDays": None, "unit": None,
                    "included": None},
    }  # fmt: skip
    assert typed["manifest"] == release["manifest"]
    listing_row = await hub.graphql(
        "query($s: String!) { marketListing(slug: $s) { id } }", {"s": listing_id},
        headers=node.operator,
    )  # fmt: skip
    listing_uuid = listing_row["marketListing"]["id"]
    await hub.graphql(
        GRANT, {"input": {"listingId": listing_uuid, "kind": "PER_NODE", "node": node.name}},
        headers=publisher.headers,
    )  # fmt: skip
    installed = (await node.install(listing="seat-welding-routing", config={"line": 2}))[
        "requestInstallation"
    ]
    assert installed["status"] == "APPROVED"
    assert installed["pinned"] is False
    assert [step["status"] for step in installed["history"]] == ["REQUESTED", "APPROVED"]
    assert installed["history"][1]["by"] == "hub"
    again = await node.install(release=release["id"], expect_errors=True)
    assert code_of(again) == "already_installed"

    # The node sees it, fetches the artifact, verifies offline, installs and reports.
    (row,) = await node.installations()
    assert row["id"] == installed["id"]
    assert row["config"] == {"line": 2}
    assert row["release"]["status"] == "published"
    assert row["release"]["reviews"] == [{"key_id": reviewer_key_id, "signature": good}]
    shipped = market.Manifest.from_data(row["release"]["manifest"])
    payload = market.signing_payload(shipped, row["release"]["artifact_sha256"])
    assert market.verify(publisher.public, row["release"]["signature"], payload)
    fetched = await hub.client.get(f"/api/v1/market/artifacts/{digest}", headers=node.headers)
    assert fetched.status_code == 200
    assert market.sha256_hex(fetched.content) == digest
    stranger = await Node(hub, "js-other").join()
    hidden = await hub.client.get(f"/api/v1/market/artifacts/{digest}", headers=stranger.headers)
    assert hidden.status_code == 404
    assert hidden.json()["error"] == "artifact_not_found"
    assert (
        await hub.client.get(f"/api/v1/market/nodes/{node.name}/installations",
                             headers=stranger.headers)
    ).status_code == 403  # fmt: skip

    not_revoked = await node.report(row["id"], "disabled")
    assert not_revoked.status_code == 409
    assert not_revoked.json()["error"] == "invalid_transition"
    done = await node.report(row["id"], "installed", "routing imported")
    assert done.json()["state"] == "installed"
    assert (await node.report(row["id"], "installed")).json()["state"] == "installed"

    # Reviews come from installers only, one per organization, updatable.
    rater = await hub.graphql(
        RATE, {"id": listing_uuid, "rating": 4, "text": "good"}, headers=node.operator
    )
    assert rater["reviewListing"] == {"rating": 4, "text": "good"}
    await hub.graphql(RATE, {"id": listing_uuid, "rating": 2, "text": "meh"}, headers=node.operator)
    outsider = await hub.graphql(
        RATE, {"id": listing_uuid, "rating": 5, "text": "great"}, headers=stranger.operator,
        expect_errors=True,
    )  # fmt: skip
    assert code_of(outsider) == "not_installed"
    listed = await hub.graphql(SEARCH, {"search": "seats"}, headers=node.operator)
    (edge,) = listed["marketListings"]["listings"]["edges"]
    assert (edge["node"]["ratingCount"], edge["node"]["ratingAverage"]) == (1, 2.0)

    # Removal: asked at the hub, done by the node.
    removing = await hub.graphql(REMOVE, {"id": row["id"]}, headers=node.operator)
    assert removing["removeInstallation"]["status"] == "REMOVING"
    (row,) = await node.installations()
    assert row["state"] == "removing"
    assert (await node.report(row["id"], "removed")).json()["state"] == "removed"
    assert await node.installations() == []
    again_removed = await hub.graphql(
        REMOVE, {"id": row["id"]}, headers=node.operator, expect_errors=True
    )
    assert code_of(again_removed) == "invalid_transition"
    seen = await hub.graphql(INSTALLATIONS, {"node": node.name}, headers=node.operator)
    assert seen["marketInstallations"]["edges"] == [{"node": {"status": "REMOVED"}}]
    for status, found in (("REMOVED", 1), ("INSTALLED", 0)):
        seen = await hub.graphql(
            INSTALLATIONS, {"node": node.name, "status": status}, headers=node.operator
        )
        assert seen["marketInstallations"]["totalCount"] == found
        assert len(seen["marketInstallations"]["edges"]) == found


# --- attacks and bad input -------------------------------------------------------------------


async def test_bad_uploads_are_refused_with_their_code_and_nothing_is_stored(
    hub: InProcessService,
) -> None:
    reviewer = await reviewer_headers(hub)
    unverified = await Publisher(hub, "Shady Apps").join(None)
    response = await unverified.upload()
    assert (response.status_code, response.json()["error"]) == (403, "publisher_not_verified")

    publisher = await Publisher(hub, "Feilong Apps").join(reviewer)
    digest = market.sha256_hex(ARTIFACT)
    tampered = ARTIFACT.replace(b"12", b"99")
    manifest = market.Manifest.load(ROUTING)
    signed_for_original = market.sign(publisher.key, market.signing_payload(manifest, digest))
    cases = [
        # The artifact changed on the way; the publisher said which digest it signed.
        (
            await publisher.upload(
                artifact=tampered, claimed=digest, signature=signed_for_original
            ),
            422, "artifact_digest_mismatch",
        ),
        # Same, without the claimed digest: the signature no longer covers the bytes.
        (
            await publisher.upload(artifact=tampered, signature=signed_for_original),
            422, "signature_invalid",
        ),
        (await publisher.upload(signature=""), 422, "signature_invalid"),
        (await publisher.upload(signature="AAAA" * 22), 422, "signature_invalid"),
        (await publisher.upload(key_id="0123456789abcdef"), 422, "signature_invalid"),
        (await publisher.upload(license="Proprietary"), 422, "manifest_invalid"),
        (await publisher.upload(manifest_text="name = "), 422, "manifest_invalid"),
    ]  # fmt: skip
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]) == (status, code), response.text
    invalid = await publisher.upload(license="Proprietary")
    assert invalid.json()["field"] == "license"

    # Another publisher's key cannot sign for this one.
    other = await Publisher(hub, "Other Apps").join(reviewer)
    forged = market.sign(other.key, market.signing_payload(manifest, digest))
    response = await publisher.upload(signature=forged)
    assert response.json()["error"] == "signature_invalid"
    assert await count(hub, Release) == 0
    assert stored_artifacts(hub) == []

    assert (await publisher.upload()).status_code == 201
    taken = await publisher.upload(summary="Same version, other content")
    assert (taken.status_code, taken.json()["error"]) == (409, "version_taken")
    squatted = await other.upload(version="2.0.0")
    assert (squatted.status_code, squatted.json()["error"]) == (409, "listing_taken")
    assert await count(hub, Release) == 1
    assert len(stored_artifacts(hub)) == 1

    retired = await hub.graphql(
        "mutation($k: String!) { retireSigningKey(keyId: $k) { status } }",
        {"k": publisher.key_id}, headers=publisher.headers,
    )  # fmt: skip
    assert retired["retireSigningKey"]["status"] == "RETIRED"
    after_retirement = await publisher.upload(version="1.0.1")
    assert after_retirement.json()["error"] == "signature_invalid"


async def test_an_artifact_over_the_size_limit_is_refused(hub_factory: Any) -> None:
    async with hub_factory(market_max_artifact_bytes=1024) as hub:
        publisher = await Publisher(hub, "Feilong Apps").join(await reviewer_headers(hub))
        response = await publisher.upload(artifact=b"x" * 5000)
        assert (response.status_code, response.json()["error"]) == (413, "artifact_too_large")
        assert await count(hub, Release) == 0
        assert stored_artifacts(hub) == []


async def test_install_refusals_leave_nothing(hub: InProcessService) -> None:
    reviewer = await reviewer_headers(hub)
    publisher = await Publisher(hub, "Feilong Apps").join(reviewer)
    free = {"pricing": {"model": "free"}}
    release = await publisher.release(**free)
    newer = await Node(hub, "zj-new").join(version="0.2.0")
    silent = await Node(hub, "zj-silent").join(version=None)
    current = await Node(hub, "zj-current").join()

    assert code_of(await newer.install(release=release["id"], expect_errors=True)) == (
        "incompatible"
    )
    # A node that never said its version takes only releases that set no range.
    assert code_of(await silent.install(release=release["id"], expect_errors=True)) == (
        "incompatible"
    )
    anyone = await publisher.release(version="1.1.0", yunfab="", **free)
    assert (await silent.install(release=anyone["id"]))["requestInstallation"]["status"] == (
        "APPROVED"
    )
    # Someone else's node is not theirs to install on.
    foreign = await hub.graphql(
        INSTALL, {"node": current.name, "release": release["id"]}, headers=newer.operator,
        expect_errors=True,
    )  # fmt: skip
    assert code_of(foreign) == "forbidden"

    await hub.graphql(REVOKE, {"id": release["id"], "r": "CVE-2026-1: bad routing"},
                      headers=publisher.headers)  # fmt: skip
    assert code_of(await current.install(release=release["id"], expect_errors=True)) == (
        "release_revoked"
    )
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        nodes = await session.scalars(select(Installation.node))
        assert list(nodes) == [silent.name]
    # The node's own client may ask for itself.
    mine = await hub.graphql(
        INSTALL, {"node": current.name, "listing": "seat-welding-routing"}, headers=current.headers
    )
    assert mine["requestInstallation"]["release"] == {"version": "1.1.0", "status": "PUBLISHED"}


async def test_yank_hides_from_search_but_a_pinned_install_resolves(hub: InProcessService) -> None:
    reviewer = await reviewer_headers(hub)
    publisher = await Publisher(hub, "Feilong Apps").join(reviewer)
    node = await Node(hub, "zj-seats").join()
    free = {"pricing": {"model": "free"}}
    first = await publisher.release(**free)
    second = await publisher.release(version="1.1.0", **free)

    async def visible() -> list[str | None]:
        data = await hub.graphql(SEARCH, {"search": "welding"}, headers=node.operator)
        return [e["node"]["latestVersion"] for e in data["marketListings"]["listings"]["edges"]]

    assert await visible() == ["1.1.0"]
    missing_reason = await hub.graphql(
        YANK, {"id": second["id"], "r": " "}, headers=publisher.headers, expect_errors=True
    )
    assert code_of(missing_reason) == "invalid_input"
    yanked = await hub.graphql(
        YANK, {"id": second["id"], "r": "wrong cycle times"}, headers=publisher.headers
    )
    assert yanked["yankRelease"]["status"] == "YANKED"
    assert await visible() == ["1.0.0"]
    await hub.graphql(YANK, {"id": first["id"], "r": "superseded"}, headers=reviewer)
    assert await visible() == []
    by_listing = await node.install(listing="seat-welding-routing", expect_errors=True)
    assert code_of(by_listing) == "release_not_found"

    pinned = (await node.install(release=second["id"]))["requestInstallation"]
    assert (pinned["status"], pinned["pinned"]) == ("APPROVED", True)
    assert pinned["release"] == {"version": "1.1.0", "status": "YANKED"}
    (row,) = await node.installations()
    assert (row["release"]["status"], row["release"]["status_reason"]) == (
        "yanked", "wrong cycle times",
    )  # fmt: skip
    assert (await node.report(row["id"], "installed")).json()["state"] == "installed"

    twice = await hub.graphql(
        YANK, {"id": second["id"], "r": "again"}, headers=publisher.headers, expect_errors=True
    )
    assert code_of(twice) == "invalid_transition"
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        audited = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "hub.market.release.yank",
                    AuditEntry.resource.like("market-release:%"),
                )
            )
        ).all()
    assert sorted(str(entry.detail["reason"]) for entry in audited) == [
        "superseded", "wrong cycle times",
    ]  # fmt: skip


async def test_a_revoked_release_is_disabled_by_the_nodes_that_have_it(
    hub: InProcessService,
) -> None:
    publisher = await Publisher(hub, "Feilong Apps").join(await reviewer_headers(hub))
    node = await Node(hub, "zj-seats").join()
    release = await publisher.release(pricing={"model": "free"})
    installation = (await node.install(release=release["id"]))["requestInstallation"]
    assert (await node.report(installation["id"], "installed")).status_code == 200

    await hub.graphql(REVOKE, {"id": release["id"], "r": "leaks recipe data"},
                      headers=publisher.headers)  # fmt: skip
    (row,) = await node.installations()
    assert row["state"] == "installed"
    assert (row["release"]["status"], row["release"]["status_reason"]) == (
        "revoked", "leaks recipe data",
    )  # fmt: skip
    reinstall = await node.report(row["id"], "installed")
    assert (reinstall.status_code, reinstall.json()["error"]) == (409, "release_revoked")
    disabled = await node.report(row["id"], "disabled", "model disabled")
    assert disabled.json() == {
        "id": row["id"], "state": "disabled", "config": {}, "detail": "model disabled",
    }  # fmt: skip
    assert await node.installations() == []
    unrevoke = await hub.graphql(
        YANK, {"id": release["id"], "r": "x"}, headers=publisher.headers, expect_errors=True
    )
    assert code_of(unrevoke) == "invalid_transition"
    search = await hub.graphql(SEARCH, {}, headers=node.operator)
    assert search["marketListings"]["listings"]["totalCount"] == 0
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        revoked = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "hub.market.release.revoke",
                AuditEntry.resource.like("market-release:%"),
            )
        )
    assert revoked is not None
    assert revoked.detail["reason"] == "leaks recipe data"


async def test_usage_is_counted_against_the_limit_once_per_key(hub: InProcessService) -> None:
    publisher = await Publisher(hub, "Vision Co").join(await reviewer_headers(hub))
    node = await Node(hub, "zj-seats").join()
    release = await publisher.release(
        name="seat-defects", kind="defect_model", permissions=["vision:model"],
        pricing={"model": "usage", "unit": "inspection", "included": 0},
        content={"sku": "seat", "format": "yunfab-vision-v2"},
    )  # fmt: skip
    listing = await hub.graphql(
        '{ marketListing(slug: "seat-defects") { id } }', headers=node.operator
    )
    listing_id = listing["marketListing"]["id"]
    operator_org = await org_id(hub, f"{node.name} operator")
    bad = await hub.graphql(
        GRANT, {"input": {"listingId": listing_id, "kind": "USAGE", "organizationId": operator_org,
                          "unit": "inspection"}},
        headers=publisher.headers, expect_errors=True,
    )  # fmt: skip
    assert code_of(bad) == "invalid_input"
    not_theirs = await hub.graphql(
        GRANT, {"input": {"listingId": listing_id, "kind": "FREE"}}, headers=node.operator,
        expect_errors=True,
    )  # fmt: skip
    assert code_of(not_theirs) == "forbidden"
    await hub.graphql(
        GRANT, {"input": {"listingId": listing_id, "kind": "USAGE", "organizationId": operator_org,
                          "unit": "inspection", "limit": 10}},
        headers=publisher.headers,
    )  # fmt: skip
    installation = (await node.install(release=release["id"]))["requestInstallation"]["id"]

    async def use(count: int, key: str) -> Any:
        return await hub.client.post(
            f"/api/v1/market/installations/{installation}/usage",
            json={"unit": "inspection", "count": count, "key": key},
            headers=node.headers,
        )

    early = await use(1, "k0")
    assert (early.status_code, early.json()["error"]) == (409, "invalid_transition")
    await node.report(installation, "installed")
    assert (await use(6, "k1")).json() == {"used": 6, "limit": 10, "exceeded": False}
    assert (await use(6, "k1")).json() == {"used": 6, "limit": 10, "exceeded": False}
    assert (await use(5, "k2")).json() == {"used": 11, "limit": 10, "exceeded": True}
    stranger = await Node(hub, "js-other").join()
    spoofed = await hub.client.post(
        f"/api/v1/market/installations/{installation}/usage",
        json={"unit": "inspection", "count": 100, "key": "k3"},
        headers=stranger.headers,
    )
    assert spoofed.status_code == 403
    # The allowance is spent: installing again is not entitled.
    await hub.graphql(REMOVE, {"id": installation}, headers=node.operator)
    await node.report(installation, "removed")
    assert code_of(await node.install(release=release["id"], expect_errors=True)) == "not_entitled"


async def test_a_subscription_entitles_until_it_expires(hub: InProcessService) -> None:
    publisher = await Publisher(hub, "Feilong Apps").join(await reviewer_headers(hub))
    node = await Node(hub, "zj-seats").join()
    release = await publisher.release(
        pricing={"model": "subscription", "period_days": 30, "price_cny": 100}
    )
    listing_id = (
        await hub.graphql(
            '{ marketListing(slug: "seat-welding-routing") { id } }', headers=node.operator
        )  # fmt: skip
    )["marketListing"]["id"]
    operator_org = await org_id(hub, f"{node.name} operator")
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    expired = await hub.graphql(
        GRANT, {"input": {"listingId": listing_id, "kind": "SUBSCRIPTION",
                          "organizationId": operator_org, "expiresAt": past}},
        headers=publisher.headers, expect_errors=True,
    )  # fmt: skip
    assert code_of(expired) == "invalid_input"
    assert code_of(await node.install(release=release["id"], expect_errors=True)) == "not_entitled"
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat()
    await hub.graphql(
        GRANT, {"input": {"listingId": listing_id, "kind": "SUBSCRIPTION",
                          "organizationId": operator_org, "expiresAt": future}},
        headers=publisher.headers,
    )  # fmt: skip
    assert (await node.install(release=release["id"]))["requestInstallation"]["status"] == (
        "APPROVED"
    )


# --- search -------------------------------------------------------------------------------


async def test_search_with_facets(hub: InProcessService) -> None:
    reviewer = await reviewer_headers(hub)
    publisher = await Publisher(hub, "Feilong Apps").join(reviewer)
    node = await Node(hub, "zj-seats").join()
    await publisher.release(pricing={"model": "free"})
    await publisher.release(
        name="loom-defects", kind="defect_model", permissions=["vision:model"],
        license="MIT", industry="textile", title="Loom defect model",
        summary="Finds broken warp threads on looms", tags=["weaving", "vision"],
        content={"sku": "denim", "format": "yunfab-vision-v2"},
    )  # fmt: skip
    future = await publisher.release(
        name="dye-recipes", kind="process_recipe", permissions=["recipe:read"],
        industry="textile", summary="Reactive dye recipes for cotton", tags=["dyeing"],
        yunfab=">=0.2", content={},
    )  # fmt: skip
    assert future["status"] == "published"

    async def search(**variables: Any) -> dict[str, Any]:
        data = await hub.graphql(SEARCH, variables, headers=node.operator)
        result: dict[str, Any] = data["marketListings"]
        return result

    everything = await search()
    assert everything["listings"]["totalCount"] == 3
    assert everything["facets"] == {
        "kind": [
            {"value": "defect_model", "count": 1},
            {"value": "process_recipe", "count": 1},
            {"value": "scheduling_template", "count": 1},
        ],
        "industry": [{"value": "automotive", "count": 1}, {"value": "textile", "count": 2}],
        "license": [{"value": "Apache-2.0", "count": 2}, {"value": "MIT", "count": 1}],
        "verified": [{"value": "false", "count": 3}],
    }
    textile = await search(industry="textile")
    assert {e["node"]["slug"] for e in textile["listings"]["edges"]} == {
        "loom-defects", "dye-recipes",
    }  # fmt: skip
    assert textile["facets"]["kind"] == [
        {"value": "defect_model", "count": 1}, {"value": "process_recipe", "count": 1},
    ]  # fmt: skip
    words = await search(search="warp looms")
    assert [e["node"]["slug"] for e in words["listings"]["edges"]] == ["loom-defects"]
    assert (await search(search="weaving"))["listings"]["totalCount"] == 1
    assert (await search(search="nothing-like-this"))["listings"]["totalCount"] == 0
    assert (await search(license="MIT", kind="defect_model"))["listings"]["totalCount"] == 1
    compatible = await search(node=node.name)
    assert {e["node"]["slug"] for e in compatible["listings"]["edges"]} == {
        "seat-welding-routing", "loom-defects",
    }  # fmt: skip
    assert (await search(verified=True))["listings"]["totalCount"] == 0
    anonymous = await hub.graphql(SEARCH, {}, expect_errors=True)
    assert code_of(anonymous) == "token_missing"


# --- federated models -----------------------------------------------------------------------


FEDERATED_SUMMARY = {
    "rounds": 3, "statistics_rounds": 1,
    "nodes": [{"node_id": "11", "name": "a"}, {"node_id": "12", "name": "b"}],
    "per_round": [
        {"round": number, "train": {"seconds": 1.0, "nodes": {
            "11": {"name": "a", "train_loss": loss, "train_examples": 30},
            "12": {"name": "b", "train_loss": loss, "train_examples": 20}}}}
        for number, loss in ((1, 0.69), (2, 0.5), (3, 0.4))
    ],
    "final": {"accuracy": 0.91},
}  # fmt: skip
"""A three-round run in which both nodes trained every round."""


async def test_a_federated_global_model_is_published_as_a_verified_release(
    hub: InProcessService,
) -> None:
    settings = hub_state(hub.app).settings
    node = await Node(hub, "zj-seats").join()
    weights = b"federated head weights"
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        run = FederatedRun(
            label="fedavg x3", strategy="fedavg", rounds=3, min_nodes=2,
            config={"strategy": "fedavg", "rounds": 3, "min_nodes": 2}, started_by="console",
        )  # fmt: skip
        session.add(run)
        await session.flush()
        run_id = run.id
    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        model = await federated.record_finished(
            session, run_id, summary=FEDERATED_SUMMARY, weights=weights,
            blobs=FileBlobStore(settings.data_dir),
        )  # fmt: skip
        version = model.version
    key_file = settings.data_dir.resolve() / "market" / "market-signing-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    listing = await hub.graphql(
        """{ marketListing(slug: "federated-defect-detector") {
             kind free verified latestVersion
             latestRelease { id artifactSha256 signature keyId manifest verified
                             countersignatures { keyId signature } } } }""",
        headers=node.operator,
    )
    found = listing["marketListing"]
    assert (found["kind"], found["free"], found["verified"]) == ("defect_model", True, True)
    assert found["latestVersion"] == f"{version}.0.0"
    release = found["latestRelease"]
    assert release["artifactSha256"] == market.sha256_hex(weights)
    assert release["manifest"]["content"]["format"] == "federated-head-v1"
    assert release["manifest"]["content"]["metrics"] == {"accuracy": 0.91}

    # Nodes verify it against the trust roots like any release.
    trust = (await hub.client.get("/api/v1/market/trust", headers=node.headers)).json()
    (publisher_key,) = [k for k in trust["publishers"] if k["key_id"] == release["keyId"]]
    manifest = market.Manifest.from_data(release["manifest"])
    assert market.verify(
        publisher_key["public_key"], release["signature"],
        market.signing_payload(manifest, release["artifactSha256"]),
    )  # fmt: skip
    (countersignature,) = release["countersignatures"]
    (reviewer_key,) = [k for k in trust["reviewers"] if k["key_id"] == countersignature["keyId"]]
    assert market.verify(
        reviewer_key["public_key"], countersignature["signature"],
        market.review_payload(manifest, release["artifactSha256"]),
    )  # fmt: skip
    installed = (await node.install(release=release["id"]))["requestInstallation"]
    assert installed["status"] == "APPROVED"

    # Publishing the same model version again changes nothing.
    from hub.federated.market_listing import publish_global_model
    from hub.federated.models import GlobalModel

    async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
        stored = await session.get(GlobalModel, model.id)
        assert stored is not None
        again = await publish_global_model(
            session, stored, weights=weights, blobs=FileBlobStore(settings.data_dir)
        )
        assert str(again.id) == release["id"]
    assert await count(hub, Release) == 1


# --- the publisher's command line ----------------------------------------------------------------


async def test_the_cli_makes_a_key_signs_uploads_and_countersigns(
    hub: InProcessService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from typer.testing import CliRunner

    from tests.support import served
    from yunfab.processes import free_port
    from yunfab_cli.main import app

    runner = CliRunner()
    reviewer = await reviewer_headers(hub)
    client_id, secret = await create_client(
        hub, org="CLI Apps", org_kind="publisher", scopes=["market:publish"]
    )
    publisher = bearer(await client_token(hub, client_id, secret, "market:publish"))
    await hub.graphql(VERIFY, {"id": await org_id(hub, "CLI Apps")}, headers=reviewer)

    made = runner.invoke(app, ["market", "keygen", "--out", str(tmp_path / "key.pem")])
    assert made.exit_code == 0, made.output
    public = json.loads(made.stdout)["public_key"]
    assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600
    await hub.graphql(REGISTER_KEY, {"key": public, "kind": "PUBLISHER"}, headers=publisher)
    (tmp_path / "m.toml").write_text(ROUTING)
    (tmp_path / "routing.json").write_bytes(ARTIFACT)
    monkeypatch.setenv("PUBLISHER_SECRET", secret or "")
    monkeypatch.setenv("REVIEWER_TOKEN", reviewer["authorization"].removeprefix("Bearer "))

    async with served(hub.app, free_port(), lifespan="off") as url:
        publish = [
            "market", "publish", "--hub", url, "--client-id", client_id,
            "--client-secret-env", "PUBLISHER_SECRET", "--manifest", str(tmp_path / "m.toml"),
            "--artifact", str(tmp_path / "routing.json"), "--key", str(tmp_path / "key.pem"),
        ]  # fmt: skip
        published = await asyncio.to_thread(runner.invoke, app, publish)
        assert published.exit_code == 0, published.output
        release = json.loads(published.stdout)
        assert release["version"] == "1.0.0"
        assert release["artifact_sha256"] == market.sha256_hex(ARTIFACT)
        again = await asyncio.to_thread(runner.invoke, app, publish)
        assert again.exit_code == 1
        assert json.loads(again.stderr)["error"] == "version_taken"

        made = runner.invoke(app, ["market", "keygen", "--out", str(tmp_path / "rev.pem")])
        await hub.graphql(
            REGISTER_KEY, {"key": json.loads(made.stdout)["public_key"], "kind": "REVIEWER"},
            headers=reviewer,
        )  # fmt: skip
        review = [
            "market", "review", "--hub", url, "--release", release["id"],
            "--key", str(tmp_path / "rev.pem"), "--token-env", "REVIEWER_TOKEN",
        ]  # fmt: skip
        reviewed = await asyncio.to_thread(runner.invoke, app, review)
        assert reviewed.exit_code == 0, reviewed.output
        assert json.loads(reviewed.stdout)["verified"] is True
