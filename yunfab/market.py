"""What the hub and its nodes agree on about market releases (issue #9).

The manifest schema, the exact bytes a publisher and a reviewer sign, Ed25519 keys and the
compatibility check live here once: the hub verifies on upload and a node verifies again offline,
so both must compute the same payload from the same manifest, byte for byte.

A signature covers `signing_payload(manifest, digest)`: canonical JSON (sorted keys, no spaces,
UTF-8, non-ASCII kept as is) of the normalised manifest and the artifact's sha256. A reviewer signs
`review_payload`, the same bytes behind a fixed prefix, so a publisher's signature can never be
replayed as a countersignature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

import yunfab
from yunfab.errors import Conflict, Forbidden, InvalidInput

KINDS = (
    "app",
    "scheduling_template",
    "defect_model",
    "process_recipe",
    "data_connector",
    "machine_profile",
)
Kind = Literal[
    "app",
    "scheduling_template",
    "defect_model",
    "process_recipe",
    "data_connector",
    "machine_profile",
]

# Each permission a release may request, and the kinds allowed to request it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "routing:import": frozenset({"scheduling_template"}),
    "vision:model": frozenset({"defect_model"}),
    "recipe:read": frozenset({"process_recipe"}),
    "data:connect": frozenset({"data_connector"}),
    "gateway:profile": frozenset({"machine_profile"}),
    "app:ui": frozenset({"app"}),
    "app:api": frozenset({"app"}),
}

# Common SPDX licence ids; anything else must be a `LicenseRef-...`.
SPDX_LICENSES = frozenset(
    {
        "0BSD",
        "AGPL-3.0-only",
        "AGPL-3.0-or-later",
        "Apache-2.0",
        "Artistic-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "BSL-1.0",
        "CC-BY-4.0",
        "CC-BY-NC-4.0",
        "CC-BY-NC-SA-4.0",
        "CC-BY-SA-4.0",
        "CC0-1.0",
        "CDDL-1.0",
        "EPL-2.0",
        "EUPL-1.2",
        "GPL-2.0-only",
        "GPL-2.0-or-later",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "ISC",
        "LGPL-2.1-only",
        "LGPL-2.1-or-later",
        "LGPL-3.0-only",
        "LGPL-3.0-or-later",
        "MIT",
        "MPL-2.0",
        "MulanPSL-2.0",
        "ODbL-1.0",
        "OpenRAIL",
        "Unlicense",
        "Zlib",
    }
)

DEFECT_MODEL_FORMATS = ("yunfab-vision-v2", "federated-head-v1")
MAX_CONTENT_BYTES = 64 * 1024
MAX_PERMISSIONS = 8
MAX_TAGS = 16

SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?$"
)
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
Slug = Annotated[str, Field(pattern=SLUG)]


class ManifestInvalid(InvalidInput):
    """The manifest fails its schema; `field` names the first offending field."""

    code = "manifest_invalid"


class ArtifactDigestMismatch(InvalidInput):
    code = "artifact_digest_mismatch"


class SignatureInvalid(InvalidInput):
    code = "signature_invalid"


class KeyInvalid(InvalidInput):
    code = "key_invalid"


class VersionTaken(Conflict):
    code = "version_taken"


class NotEntitled(Forbidden):
    code = "not_entitled"


class Incompatible(Conflict):
    code = "incompatible"


class ReleaseRevoked(Conflict):
    code = "release_revoked"


# -- semver ---------------------------------------------------------------------------------------


def semver_key(version: str) -> tuple[Any, ...]:
    """Sort key with semver 2.0 precedence: a release outranks its pre-releases, numeric
    identifiers compare as numbers and rank below alphanumeric ones."""
    match = SEMVER.match(version)
    if match is None:
        raise ValueError(f"not a semantic version: {version!r}")
    major, minor, patch, pre = match.groups()
    core = (int(major), int(minor), int(patch))
    if pre is None:
        return (*core, 1, ())
    ids = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split("."))
    return (*core, 0, ids)


# -- manifest -------------------------------------------------------------------------------------


class _Pricing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FreePricing(_Pricing):
    model: Literal["free"]


class PerNodePricing(_Pricing):
    model: Literal["per_node"]
    price_cny: int = Field(ge=0, le=100_000_000)


class SubscriptionPricing(_Pricing):
    model: Literal["subscription"]
    period_days: int = Field(ge=1, le=3660)
    price_cny: int = Field(ge=0, le=100_000_000)


class UsagePricing(_Pricing):
    model: Literal["usage"]
    unit: Slug
    included: int = Field(ge=0)


Pricing = Annotated[
    FreePricing | PerNodePricing | SubscriptionPricing | UsagePricing,
    Field(discriminator="model"),
]


class Manifest(BaseModel):
    """A release's manifest; immutable once signed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Slug
    version: str
    kind: Kind
    yunfab: str = ""
    license: str
    permissions: tuple[str, ...] = ()
    pricing: Pricing
    summary: str = Field(min_length=1, max_length=280)
    description: str = Field(default="", max_length=20_000)
    industry: Slug
    content: dict[str, Any] = Field(default_factory=dict)
    title: str | None = Field(default=None, min_length=1, max_length=120)
    tags: tuple[Slug, ...] = Field(default=(), max_length=MAX_TAGS)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if SEMVER.match(value) is None:
            raise ValueError("must be a semantic version MAJOR.MINOR.PATCH[-prerelease]")
        return value

    @field_validator("yunfab")
    @classmethod
    def _specifier(cls, value: str) -> str:
        try:
            SpecifierSet(value)
        except InvalidSpecifier as exc:
            raise ValueError(f"not a version specifier set: {exc}") from None
        return value

    @field_validator("license")
    @classmethod
    def _license(cls, value: str) -> str:
        if value in SPDX_LICENSES or re.fullmatch(r"LicenseRef-[A-Za-z0-9.-]+", value):
            return value
        raise ValueError("must be a known SPDX licence id or LicenseRef-...")

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("tags repeat")
        return value

    @field_validator("permissions")
    @classmethod
    def _known_permissions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(value) > MAX_PERMISSIONS or len(set(value)) != len(value):
            raise ValueError("permissions repeat or are too many")
        unknown = [p for p in value if p not in PERMISSIONS]
        if unknown:
            raise ValueError(f"unknown permission {unknown[0]!r}")
        return value

    @field_validator("content")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(canonical_json(value)) > MAX_CONTENT_BYTES:
            raise ValueError(f"larger than {MAX_CONTENT_BYTES} bytes")
        return value

    @model_validator(mode="after")
    def _kind_rules(self) -> Manifest:
        for permission in self.permissions:
            if self.kind not in PERMISSIONS[permission]:
                raise ValueError(f"permissions: {permission!r} is not allowed for kind {self.kind}")
        if self.kind == "scheduling_template":
            _content_slug(self.content, "product")
        elif self.kind == "defect_model":
            sku = self.content.get("sku")
            if not isinstance(sku, str) or not sku or len(sku) > 120:
                raise ValueError("content.sku: required, a non-empty string")
            if self.content.get("format") not in DEFECT_MODEL_FORMATS:
                raise ValueError(
                    f"content.format: must be one of {', '.join(DEFECT_MODEL_FORMATS)}"
                )
        return self

    @classmethod
    def load(cls, text: str) -> Manifest:
        """Parse TOML or JSON (a document starting with `{`); `ManifestInvalid` names the field."""
        try:
            data = json.loads(text) if text.lstrip().startswith("{") else tomllib.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ManifestInvalid(f"manifest is not valid TOML or JSON: {exc}", field="") from None
        if not isinstance(data, dict):
            raise ManifestInvalid("manifest must be a table/object", field="")
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Manifest:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            if not field and ":" in message:
                field, _, message = message.partition(": ")
            raise ManifestInvalid(f"{field or 'manifest'}: {message}", field=field) from None

    @property
    def display_title(self) -> str:
        return self.title or self.name

    @property
    def is_free(self) -> bool:
        return isinstance(self.pricing, FreePricing)


def _content_slug(content: dict[str, Any], key: str) -> None:
    value = content.get(key)
    if not isinstance(value, str) or re.fullmatch(SLUG, value) is None:
        raise ValueError(f"content.{key}: required, a slug")


# -- payloads -------------------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signing_payload(manifest: Manifest, digest: str) -> bytes:
    """The bytes a publisher signs: the normalised manifest bound to the artifact's digest."""
    return canonical_json({"artifact_sha256": digest, "manifest": manifest.model_dump(mode="json")})


def review_payload(manifest: Manifest, digest: str) -> bytes:
    return b"yunfab-review\n" + signing_payload(manifest, digest)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- Ed25519 --------------------------------------------------------------------------------------


def key_id(public_key_bytes: bytes) -> str:
    """First 16 hex digits of the sha256 of the raw 32-byte public key."""
    return hashlib.sha256(public_key_bytes).hexdigest()[:16]


def decode_public_key(public_b64: str) -> bytes:
    """The raw 32-byte key from its base64 form; `KeyInvalid` if it is not one."""
    try:
        raw = base64.b64decode(public_b64, validate=True)
    except (binascii.Error, ValueError):
        raise KeyInvalid("public key is not base64") from None
    if len(raw) != 32:
        raise KeyInvalid("an Ed25519 public key is 32 bytes")
    return raw


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode()


def sign(private_key: Ed25519PrivateKey, payload: bytes) -> str:
    return base64.b64encode(private_key.sign(payload)).decode()


def verify(public_b64: str, signature_b64: str, payload: bytes) -> bool:
    """True only for a well-formed signature by that key over exactly these bytes."""
    try:
        public = Ed25519PublicKey.from_public_bytes(decode_public_key(public_b64))
        signature = base64.b64decode(signature_b64, validate=True)
        public.verify(signature, payload)
    except (KeyInvalid, binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def generate_key() -> tuple[bytes, str]:
    """A new key: (private key as unencrypted PKCS#8 PEM, public key as raw base64)."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, public_key_b64(private)


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise KeyInvalid("not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyInvalid("not an Ed25519 private key")
    return key


# -- compatibility --------------------------------------------------------------------------------


def compatible(manifest: Manifest, version: str | None = yunfab.__version__) -> bool:
    """Whether a Yunfab `version` satisfies the manifest's range (pre-releases included).

    An unknown version (None: a node that never reported one) is compatible only with a release
    that sets no range at all.
    """
    return compatible_range(manifest.yunfab, version)


def compatible_range(specifier: str, version: str | None) -> bool:
    spec = SpecifierSet(specifier)
    if not str(spec):
        return True
    if version is None:
        return False
    try:
        return spec.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


ERROR_CODES = (
    ManifestInvalid.code,
    ArtifactDigestMismatch.code,
    SignatureInvalid.code,
    KeyInvalid.code,
    VersionTaken.code,
    NotEntitled.code,
    Incompatible.code,
    ReleaseRevoked.code,
)
