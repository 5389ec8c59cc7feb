"""The shared market contract (issue #9): manifest schema, signed payloads, keys, compatibility."""

from __future__ import annotations

import json
import random

import pytest

from yunfab import market
from yunfab.market import Manifest, ManifestInvalid

TOML = """
name = "seat-routing"
version = "1.2.0"
kind = "scheduling_template"
yunfab = ">=0.1,<0.2"
license = "Apache-2.0"
permissions = ["routing:import"]
summary = "Routing for car seats"
industry = "automotive"
tags = ["seats", "welding"]

[pricing]
model = "per_node"
price_cny = 1200

[content]
product = "seat"
"""


def manifest_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "seat-defects",
        "version": "0.3.1",
        "kind": "defect_model",
        "yunfab": ">=0.1",
        "license": "MIT",
        "permissions": ["vision:model"],
        "pricing": {"model": "free"},
        "summary": "Seat defects",
        "industry": "automotive",
        "content": {"sku": "seat", "format": "yunfab-vision-v2"},
    }
    data.update(changes)
    return data


def test_loads_toml_and_json_to_the_same_manifest() -> None:
    from_toml = Manifest.load(TOML)
    from_json = Manifest.load(json.dumps(from_toml.model_dump(mode="json")))
    assert from_toml == from_json
    assert from_toml.pricing.model == "per_node"
    assert from_toml.display_title == "seat-routing"
    assert not from_toml.is_free
    assert Manifest.from_data(manifest_data()).is_free


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"version": "1.2"}, "version"),
        ({"version": "01.2.3"}, "version"),
        ({"name": "Seat Defects"}, "name"),
        ({"kind": "plugin"}, "kind"),
        ({"license": "Proprietary"}, "license"),
        ({"yunfab": "at least 0.1"}, "yunfab"),
        ({"permissions": ["root"]}, "permissions"),
        ({"permissions": ["routing:import"]}, "permissions"),
        ({"pricing": {"model": "per_node"}}, "pricing.per_node.price_cny"),
        ({"pricing": {"model": "barter"}}, "pricing"),
        ({"pricing": {"model": "free", "price_cny": 1}}, "pricing.free.price_cny"),
        ({"content": {"sku": "seat", "format": "onnx"}}, "content.format"),
        ({"content": {"format": "yunfab-vision-v2"}}, "content.sku"),
        ({"content": {"sku": "seat", "format": "federated-head-v1", "x": "y" * 70_000}}, "content"),
        ({"surprise": 1}, "surprise"),
        ({"summary": ""}, "summary"),
    ],
)
def test_schema_failures_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ManifestInvalid) as caught:
        Manifest.from_data(manifest_data(**changes))
    assert caught.value.code == "manifest_invalid"
    assert caught.value.extra["field"] == field


def test_unparseable_text_is_manifest_invalid() -> None:
    with pytest.raises(ManifestInvalid):
        Manifest.load("name = ")
    with pytest.raises(ManifestInvalid):
        Manifest.load("{not json")
    with pytest.raises(ManifestInvalid) as caught:
        Manifest.load('name = "x"')
    assert caught.value.extra["field"] in {"version", "kind", "license", "pricing"}


def test_scheduling_template_needs_a_product() -> None:
    with pytest.raises(ManifestInvalid) as caught:
        Manifest.load(TOML.replace('product = "seat"', 'product = "Not A Slug"'))
    assert caught.value.extra["field"] == "content.product"


def test_semver_precedence() -> None:
    ordered = [
        "0.9.9",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.10.0",
    ]
    shuffled = ordered.copy()
    random.Random(9).shuffle(shuffled)
    assert shuffled != ordered
    assert sorted(shuffled, key=market.semver_key) == ordered
    with pytest.raises(ValueError, match="semantic"):
        market.semver_key("1.0")


def test_signing_payload_is_canonical_and_bound_to_the_digest() -> None:
    manifest = Manifest.load(TOML)
    digest = market.sha256_hex(b"routing")
    payload = market.signing_payload(manifest, digest)
    assert (
        payload
        == json.dumps(
            {"artifact_sha256": digest, "manifest": manifest.model_dump(mode="json")},
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
    )
    assert b" " not in payload.replace(b"Routing for car seats", b"")
    assert market.signing_payload(manifest, market.sha256_hex(b"other")) != payload
    assert market.review_payload(manifest, digest) == b"yunfab-review\n" + payload


def test_sign_and_verify_round_trip_and_refusals() -> None:
    pem, public = market.generate_key()
    key = market.load_private_key(pem)
    assert market.public_key_b64(key) == public
    assert len(market.key_id(market.decode_public_key(public))) == 16
    manifest = Manifest.load(TOML)
    payload = market.signing_payload(manifest, "0" * 64)
    signature = market.sign(key, payload)
    assert market.verify(public, signature, payload)
    assert not market.verify(public, signature, payload + b" ")
    assert not market.verify(public, "not base64!", payload)
    assert not market.verify(public, "", payload)
    _, other = market.generate_key()
    assert not market.verify(other, signature, payload)
    # The publisher's signature is no countersignature.
    assert not market.verify(public, signature, market.review_payload(manifest, "0" * 64))
    with pytest.raises(market.KeyInvalid):
        market.load_private_key(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(market.KeyInvalid):
        market.decode_public_key("AAAA")


def test_compatibility_against_the_running_and_a_given_version() -> None:
    manifest = Manifest.load(TOML)
    assert market.compatible(manifest)  # this checkout is 0.1.x
    assert not market.compatible(manifest, "0.2.0")
    assert market.compatible(manifest, "0.1.5rc1")
    assert not market.compatible(manifest, None)
    assert not market.compatible(manifest, "garbage")
    anything = Manifest.from_data(manifest_data(yunfab=""))
    assert market.compatible(anything, None)
    assert market.compatible(anything, "9.0.0")
