"""REST for the market's machines: publishers upload releases (multipart, the artifact is
binary), nodes fetch trust roots, their installations and artifacts, and report back.
Contract: /tmp/spec/market.md (kept in docs by the lead)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile

from hub.blobs import hub_blobs
from hub.identity.auth import authorizer, current_subject
from hub.knowledge_market import service
from hub.knowledge_market.errors import ArtifactNotFound, ArtifactTooLarge
from hub.knowledge_market.models import (
    Installation,
    InstallationState,
    MarketKey,
    Release,
    ReleaseReview,
)
from hub.knowledge_market.storage import ArtifactStore
from hub.settings import HubSettings
from hub.state import hub_state
from yunfab.authorization import Authorizer
from yunfab.bodies import BodyLimit, multipart_form
from yunfab.errors import InvalidInput
from yunfab.service import db_session
from yunfab.settings import Slug
from yunfab.subject import Subject

router = APIRouter(prefix="/api/v1/market", tags=["market"])

Session = Annotated[AsyncSession, Depends(db_session, scope="function")]
Caller = Annotated[Subject, Depends(current_subject)]
Authz = Annotated[Authorizer, Depends(authorizer)]
NodeName = Annotated[Slug, Path(description="The node's name")]
Digest = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The artifact's sha256")]
CHUNK = 1 << 20
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def store_of(settings: HubSettings) -> ArtifactStore:
    return ArtifactStore(hub_blobs(settings), settings.data_dir.resolve() / "market" / "tmp")


def _settings(request: Request) -> HubSettings:
    settings: HubSettings = hub_state(request.app).settings
    return settings


Settings = Annotated[HubSettings, Depends(_settings)]


class ReviewOut(BaseModel):
    key_id: str
    signature: str

    @classmethod
    def of(cls, review: ReleaseReview) -> ReviewOut:
        return cls(key_id=review.key_id, signature=review.signature)


class ReleaseOut(BaseModel):
    id: str
    listing: str
    kind: str
    version: str
    manifest: dict[str, Any]
    artifact_sha256: str
    artifact_size: int
    signature: str
    key_id: str
    publisher: str | None
    """The publishing organization's id: a node checks the signing key is one of its keys."""
    reviews: list[ReviewOut]
    status: str
    status_reason: str | None
    verified: bool

    @classmethod
    def of(
        cls,
        release: Release,
        listing: str,
        kind: str,
        reviews: list[ReleaseReview],
        publisher: uuid.UUID | str | None = None,
    ) -> ReleaseOut:
        return cls(
            id=str(release.id),
            listing=listing,
            kind=kind,
            version=release.version,
            manifest=release.manifest,
            artifact_sha256=release.artifact_sha256,
            artifact_size=release.artifact_size,
            signature=release.signature,
            key_id=release.key_id,
            publisher=str(publisher) if publisher is not None else None,
            reviews=[ReviewOut.of(r) for r in reviews],
            status=release.status.value,
            status_reason=release.status_reason,
            verified=release.verified,
        )


class InstallationOut(BaseModel):
    id: str
    state: str
    config: dict[str, Any]
    detail: str | None = None


class NodeInstallationOut(InstallationOut):
    release: ReleaseOut


class NodeInstallationsOut(BaseModel):
    installations: list[NodeInstallationOut]


class TrustedKey(BaseModel):
    key_id: str
    public_key: str
    status: str


class PublisherKey(TrustedKey):
    organization_id: str


class TrustOut(BaseModel):
    publishers: list[PublisherKey]
    reviewers: list[TrustedKey]


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["installed", "failed", "disabled", "removed"]
    detail: str = Field(default="", max_length=2000)


class UsageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str = Field(min_length=1, max_length=64)
    count: int = Field(gt=0, le=10**9)
    key: str = Field(min_length=1, max_length=128)
    """Idempotency key: an event sent again with the same key is not counted twice."""


class UsageOut(BaseModel):
    used: int
    limit: int | None
    exceeded: bool


def _installation_out(installation: Installation) -> InstallationOut:
    return InstallationOut(
        id=str(installation.id),
        state=installation.state.value,
        config=installation.config,
        detail=installation.detail,
    )


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


MANIFEST_MAX_CHARS = 256 * 1024
UPLOAD_SLACK = 512 * 1024
"""What an upload may carry besides its artifact: the manifest, the other fields, the part
headers and boundaries."""
UPLOAD_PATH = f"{router.prefix}/releases"


def upload_limit(settings: HubSettings) -> BodyLimit:
    """The cap on a whole release upload; the route checks the caller before it applies it."""
    return BodyLimit(
        UPLOAD_PATH,
        settings.market_max_artifact_bytes + UPLOAD_SLACK,
        checked_by_route=True,
        error=ArtifactTooLarge,
    )


def body_limits(settings: HubSettings) -> list[BodyLimit]:
    return [upload_limit(settings)]


_UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["manifest", "artifact", "key_id"],
                    "properties": {
                        "manifest": {
                            "type": "string",
                            "maxLength": MANIFEST_MAX_CHARS,
                            "description": "TOML or JSON",
                        },
                        "artifact": {"type": "string", "format": "binary"},
                        "key_id": {"type": "string", "maxLength": 16},
                        "signature": {
                            "type": "string",
                            "maxLength": 128,
                            "description": "Ed25519 over the signing payload, base64",
                        },
                        "artifact_sha256": {
                            "type": "string",
                            "pattern": "^[0-9a-fA-F]{64}$",
                            "description": "The digest the publisher signed",
                        },
                    },
                }
            }
        },
    }
}


def _field(form: FormData, name: str, *, max_chars: int, default: str | None = None) -> str:
    value = form.get(name)
    if value is None:
        if default is None:
            raise InvalidInput(f"{name}: required")
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: a form field, not a file")
    if len(value) > max_chars:
        raise InvalidInput(f"{name}: at most {max_chars} characters")
    return value


@router.post(
    "/releases",
    status_code=201,
    summary="Publish a release: manifest, artifact, and the publisher's Ed25519 signature",
    responses={
        401: {"description": "No or an invalid token: refused before the body is read"},
        403: {"description": "`publisher_not_verified`, or no market:publish"},
        409: {"description": "`version_taken`, `listing_taken`"},
        413: {"description": "`artifact_too_large`, by Content-Length or as the body streams"},
        422: {
            "description": "`manifest_invalid` (with `field`), `signature_invalid`, "
            "`artifact_digest_mismatch`, `invalid_input` (a missing or malformed field)"
        },
    },
    openapi_extra=_UPLOAD_FORM,
)
async def publish(
    request: Request, session: Session, caller: Caller, authz: Authz, settings: Settings
) -> ReleaseOut:
    # The form is not a parameter: FastAPI would read (and spool) it before the caller is
    # checked. Only a publisher's upload is read, and only up to the cap.
    await authz.check(caller, "hub.market.release.publish", {"org": caller.org_id})
    limit = upload_limit(settings)
    async with multipart_form(
        request, limit, max_files=1, max_fields=8, max_field_bytes=4 * MANIFEST_MAX_CHARS
    ) as form:
        manifest = _field(form, "manifest", max_chars=MANIFEST_MAX_CHARS)
        key_id = _field(form, "key_id", max_chars=16)
        signature = _field(form, "signature", max_chars=128, default="")
        claimed = _field(form, "artifact_sha256", max_chars=64, default="") or None
        if claimed is not None and not _SHA256.fullmatch(claimed):
            raise InvalidInput("artifact_sha256: 64 hexadecimal digits")
        artifact = form.get("artifact")
        if not isinstance(artifact, UploadFile):
            raise InvalidInput("artifact: attach the artifact file")
        store = store_of(settings)
        staged = await store.stage(_chunks(artifact), max_bytes=settings.market_max_artifact_bytes)
    release = await service.publish_release(
        session, caller, authorizer=authz, store=store,
        upload=service.Upload(
            manifest_text=manifest, staged=staged, signature=signature, key_id=key_id,
            claimed_sha256=claimed,
        ),
    )  # fmt: skip
    return ReleaseOut.of(
        release, release.manifest["name"], release.manifest["kind"], [], publisher=caller.org_id
    )


def _key(key: MarketKey) -> dict[str, str]:
    return {"key_id": key.key_id, "public_key": key.public_key, "status": key.status.value}


@router.get("/trust", summary="The keys releases are verified against, offline, by nodes")
async def trust(session: Session, caller: Caller, authz: Authz) -> TrustOut:
    roots = await service.trust(session, caller, authorizer=authz)
    return TrustOut(
        publishers=[
            PublisherKey(organization_id=str(k.organization_id), **_key(k))
            for k in roots.publishers
        ],
        reviewers=[TrustedKey(**_key(k)) for k in roots.reviewers],
    )


@router.get(
    "/nodes/{node}/installations",
    summary="What the node must act on: approved and installed releases (revoked ones to "
    "disable) and removals",
)
async def node_installations(
    node: NodeName, session: Session, caller: Caller, authz: Authz
) -> NodeInstallationsOut:
    rows = await service.node_installations(session, caller, authorizer=authz, node=node)
    return NodeInstallationsOut(
        installations=[
            NodeInstallationOut(
                **_installation_out(row.installation).model_dump(),
                release=ReleaseOut.of(
                    row.release,
                    row.listing.slug,
                    row.listing.kind,
                    row.reviews,
                    publisher=row.listing.publisher_org,
                ),
            )
            for row in rows
        ]
    )


@router.get(
    "/artifacts/{digest}",
    summary="An artifact's bytes, to a node with an installation of a release that has it",
    response_class=FileResponse,
    responses={404: {"description": "`artifact_not_found`"}},
)
async def artifact(
    digest: Digest, session: Session, caller: Caller, authz: Authz, settings: Settings
) -> Response:
    release = await service.artifact_for_node(session, caller, authorizer=authz, digest=digest)
    store = store_of(settings)
    path = store.path_of(digest)
    if path is not None:
        if not path.is_file():
            raise ArtifactNotFound(f"artifact {digest} is missing from the hub's store")
        return FileResponse(path, media_type="application/octet-stream")
    # From S3, streamed through this replica as it is read (a release's size is recorded).
    chunks = await asyncio.to_thread(store.read, digest)
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={"content-length": str(release.artifact_size)},
    )


@router.post(
    "/installations/{installation_id}/report",
    summary="The node reports what it did: installed, failed, disabled (a revoked release), "
    "removed",
    responses={409: {"description": "`invalid_transition`, `release_revoked`"}},
)
async def report(
    installation_id: uuid.UUID, body: ReportIn, session: Session, caller: Caller, authz: Authz
) -> InstallationOut:
    installation = await service.report(
        session, caller, authorizer=authz, installation_id=installation_id,
        state=InstallationState(body.state), detail=body.detail,
    )  # fmt: skip
    return _installation_out(installation)


@router.post(
    "/installations/{installation_id}/usage",
    summary="Count units used under an installation (idempotent by key)",
)
async def usage(
    installation_id: uuid.UUID, body: UsageIn, session: Session, caller: Caller, authz: Authz
) -> UsageOut:
    counted = await service.record_usage(
        session, caller, authorizer=authz, installation_id=installation_id,
        unit=body.unit, count=body.count, key=body.key,
    )  # fmt: skip
    return UsageOut(used=counted.used, limit=counted.limit, exceeded=counted.exceeded)
