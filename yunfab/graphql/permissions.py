"""Permission classes for GraphQL fields.

Until the policy engine exists (issue #3) the rule is the deny-by-default floor: anonymous callers
are served by development deployments only. #3 replaces this with classes that ask the policy.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from yunfab.graphql.context import ServiceContext
from yunfab.subject import SubjectKind


class SignedInOrDevelopment(BasePermission):
    message = "authentication required"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info[ServiceContext, Any], **kwargs: Any) -> bool:
        context = info.context
        return context.subject.kind is not SubjectKind.ANONYMOUS or context.settings.development
