"""The market's refusals on the hub, each with a stable code. Those a node also raises (digest,
signature, manifest, version, entitlement, compatibility, revocation) live in `yunfab.market`."""

from __future__ import annotations

from hub.organizations.errors import OrganizationNotFound
from yunfab.errors import Conflict, Forbidden, NotFound, YunfabError
from yunfab.market import (
    ArtifactDigestMismatch,
    Incompatible,
    KeyInvalid,
    ManifestInvalid,
    NotEntitled,
    ReleaseRevoked,
    SignatureInvalid,
    VersionTaken,
)

__all__ = [
    "AlreadyInstalled",
    "ArtifactDigestMismatch",
    "ArtifactNotFound",
    "ArtifactTooLarge",
    "Incompatible",
    "InstallationNotFound",
    "InvalidTransition",
    "KeyInvalid",
    "KeyNotFound",
    "KeyTaken",
    "ListingNotFound",
    "ListingTaken",
    "ManifestInvalid",
    "NodeNotFound",
    "NotEntitled",
    "NotInstalled",
    "OrganizationNotFound",
    "PublisherNotVerified",
    "ReleaseNotFound",
    "ReleaseRevoked",
    "SignatureInvalid",
    "VersionTaken",
]


class PublisherNotVerified(Forbidden):
    code = "publisher_not_verified"


class ListingNotFound(NotFound):
    code = "listing_not_found"


class ReleaseNotFound(NotFound):
    code = "release_not_found"


class InstallationNotFound(NotFound):
    code = "installation_not_found"


class ArtifactNotFound(NotFound):
    code = "artifact_not_found"


class NodeNotFound(NotFound):
    code = "node_not_found"


class KeyNotFound(NotFound):
    code = "key_not_found"


class KeyTaken(Conflict):
    code = "key_taken"


class ListingTaken(Conflict):
    """The name belongs to another publisher's listing, or to a listing of another kind."""

    code = "listing_taken"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class AlreadyInstalled(Conflict):
    """The node already has a release of this listing: remove it before installing another."""

    code = "already_installed"


class NotInstalled(Forbidden):
    """Reviews come only from organizations that installed the listing on one of their nodes."""

    code = "not_installed"


class ArtifactTooLarge(YunfabError):
    code = "artifact_too_large"
    status_code = 413
