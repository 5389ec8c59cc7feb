"""What the hub's web console needs of the market beyond issue #9's API, through the public
interfaces: the nodes a person may install to (`marketNodes`), which organizations are verified
publishers (`marketPublishers`), and `yunfab market sign`, whose file the console uploads."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support import InProcessService, bearer, client_token, create_client
from tests.test_market_hub import (
    ARTIFACT,
    REGISTER_KEY,
    REVIEW,
    ROUTING,
    VERIFY,
    Node,
    code_of,
    org_id,
    reviewer_headers,
)
from yunfab import market
from yunfab_cli.main import app

pytestmark = pytest.mark.usefixtures("backend")

NODES = "{ marketNodes { name region industry online yunfabVersion } }"
PUBLISHERS = """
query($ids: [UUID!]!) { marketPublishers(organizationIds: $ids) { organizationId verifiedBy } }
"""


async def test_market_nodes_are_the_callers_own_nodes(hub: InProcessService) -> None:
    mine = await Node(hub, "zj-moulding").join(version="0.1.0")
    other = await Node(hub, "gd-stamping").join(version=None)

    body = await hub.graphql(NODES, headers=mine.operator)
    assert body["marketNodes"] == [
        {
            "name": "zj-moulding",
            "region": "CN-ZJ",
            "industry": "automotive",
            "online": True,
            "yunfabVersion": "0.1.0",
        }
    ]
    body = await hub.graphql(NODES, headers=other.operator)
    assert [n["name"] for n in body["marketNodes"]] == ["gd-stamping"]
    assert body["marketNodes"][0]["yunfabVersion"] is None

    # A publisher runs no node: none to install to, and no refusal either.
    client_id, secret = await create_client(
        hub, org="Someone's Apps", org_kind="publisher", scopes=["market:publish"]
    )
    publisher = bearer(await client_token(hub, client_id, secret, "market:publish"))
    assert (await hub.graphql(NODES, headers=publisher))["marketNodes"] == []

    refused = await hub.graphql(NODES, expect_errors=True)
    assert code_of(refused) == "token_missing"


async def test_market_publishers_says_who_is_verified(hub: InProcessService) -> None:
    reviewer = await reviewer_headers(hub)
    for name in ("Verified Apps", "Unverified Apps"):
        await create_client(hub, org=name, org_kind="publisher", scopes=["market:publish"])
    verified, unverified = await org_id(hub, "Verified Apps"), await org_id(hub, "Unverified Apps")
    await hub.graphql(VERIFY, {"id": verified}, headers=reviewer)

    body = await hub.graphql(
        PUBLISHERS, {"ids": [verified, unverified, str(uuid.uuid4())]}, headers=reviewer
    )
    assert [p["organizationId"] for p in body["marketPublishers"]] == [verified]
    assert body["marketPublishers"][0]["verifiedBy"]

    too_many = [str(uuid.uuid4()) for _ in range(101)]
    refused = await hub.graphql(PUBLISHERS, {"ids": too_many}, headers=reviewer, expect_errors=True)
    assert code_of(refused) == "invalid_input"
    assert code_of(await hub.graphql(PUBLISHERS, {"ids": []}, expect_errors=True)) == (
        "token_missing"
    )


async def test_the_signature_file_of_yunfab_market_sign_is_accepted_as_uploaded(
    hub: InProcessService, tmp_path: Path
) -> None:
    runner = CliRunner()
    reviewer = await reviewer_headers(hub)
    client_id, secret = await create_client(
        hub, org="Signing Apps", org_kind="publisher", scopes=["market:publish"]
    )
    publisher = bearer(await client_token(hub, client_id, secret, "market:publish"))
    await hub.graphql(VERIFY, {"id": await org_id(hub, "Signing Apps")}, headers=reviewer)

    def keygen(name: str) -> str:
        made = runner.invoke(app, ["market", "keygen", "--out", str(tmp_path / name)])
        assert made.exit_code == 0, made.output
        public: str = json.loads(made.stdout)["public_key"]
        return public

    await hub.graphql(
        REGISTER_KEY, {"key": keygen("pub.pem"), "kind": "PUBLISHER"}, headers=publisher
    )
    await hub.graphql(
        REGISTER_KEY, {"key": keygen("rev.pem"), "kind": "REVIEWER"}, headers=reviewer
    )
    (tmp_path / "m.toml").write_text(ROUTING)
    (tmp_path / "routing.json").write_bytes(ARTIFACT)

    def sign(key: str, out: str, *extra: str) -> dict[str, Any]:
        args = [
            "market", "sign", "--manifest", str(tmp_path / "m.toml"),
            "--artifact", str(tmp_path / "routing.json"), "--key", str(tmp_path / key),
            "--out", str(tmp_path / out), *extra,
        ]  # fmt: skip
        signed = runner.invoke(app, args)
        assert signed.exit_code == 0, signed.output
        written: dict[str, Any] = json.loads((tmp_path / out).read_text())
        assert written == json.loads(signed.stdout)
        return written

    signed = sign("pub.pem", "release.sig.json")
    assert signed["kind"] == "publisher"
    assert (signed["name"], signed["version"]) == ("seat-welding-routing", "1.0.0")
    assert signed["artifact_sha256"] == market.sha256_hex(ARTIFACT)
    again = runner.invoke(
        app,
        ["market", "sign", "--manifest", str(tmp_path / "m.toml"), "--artifact",
         str(tmp_path / "routing.json"), "--key", str(tmp_path / "pub.pem"), "--out",
         str(tmp_path / "release.sig.json")],
    )  # fmt: skip
    assert again.exit_code != 0  # an existing file is never overwritten

    # What the console sends: the manifest's text, the artifact, and the file's fields.
    response = await hub.client.post(
        "/api/v1/market/releases",
        data={
            "manifest": ROUTING,
            "key_id": signed["key_id"],
            "signature": signed["signature"],
            "artifact_sha256": signed["artifact_sha256"],
        },
        files={"artifact": ("routing.json", ARTIFACT, "application/octet-stream")},
        headers=publisher,
    )
    assert response.status_code == 201, response.text
    release = response.json()
    assert release["verified"] is False

    # A publisher's signature is no countersignature; a reviewer's file (--review) is.
    refused = await hub.graphql(
        REVIEW,
        {"id": release["id"], "key": signed["key_id"], "sig": signed["signature"]},
        headers=reviewer,
        expect_errors=True,
    )
    assert code_of(refused) in {"signature_invalid", "key_not_found"}
    countersigned = sign("rev.pem", "review.sig.json", "--review")
    assert countersigned["kind"] == "reviewer"
    body = await hub.graphql(
        REVIEW,
        {"id": release["id"], "key": countersigned["key_id"], "sig": countersigned["signature"]},
        headers=reviewer,
    )
    assert body["reviewRelease"]["verified"] is True
