"""The organizations domain's refusals, each with a stable code (the identity and market domains
raise `OrganizationNotFound` too: one class, declared here)."""

from __future__ import annotations

from yunfab.errors import Conflict, NotFound


class OrganizationKindConflict(Conflict):
    code = "organization_kind_conflict"


class OrganizationExists(Conflict):
    code = "organization_exists"


class OrganizationNotFound(NotFound):
    code = "organization_not_found"
