"""GraphQL permission classes that ask the policy engine.

`allowed(action)` makes a permission for an operation; `allowed(action, field=...)` one for a
single field, so a caller may see some fields of an object and get FORBIDDEN (and null) for
others. Decisions are memoized per request: a field denied on one row of a list is decided once,
not once per row.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from yunfab.errors import Unauthenticated
from yunfab.graphql.context import ServiceContext
from yunfab.subject import SubjectKind


class PolicyPermission(BasePermission):
    action: str = ""
    field: str | None = None
    message = "not allowed"
    error_extensions = {"code": "FORBIDDEN"}

    async def has_permission(
        self, source: Any, info: Info[ServiceContext, Any], **kwargs: Any
    ) -> bool:
        resource = {"field": self.field} if self.field else {}
        if await info.context.allows(self.action, resource):
            return True
        if info.context.subject.kind is SubjectKind.ANONYMOUS:
            # Raised, not flagged on self: permission instances are shared by all requests.
            raise Unauthenticated("authentication required")
        return False


def allowed(action: str, *, field: str | None = None) -> type[PolicyPermission]:
    name = "Allowed_" + action.replace(".", "_") + (f"_{field}" if field else "")
    return type(name, (PolicyPermission,), {"action": action, "field": field})
