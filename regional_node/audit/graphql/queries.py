from __future__ import annotations

import strawberry
from strawberry.types import Info

from regional_node.audit.service import page_entries
from regional_node.graphql.context import NodeContext
from yunfab.graphql.audit import AuditEntryType
from yunfab.graphql.pagination import Connection, PageRequest
from yunfab.graphql.permissions import allowed


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="This node's audit log, newest first (node operators).",
        permission_classes=[allowed("node.audit.read")],
    )
    async def audit_log(
        self,
        info: Info[NodeContext, None],
        first: int = 50,
        after: str | None = None,
        action: str | None = None,
    ) -> Connection[AuditEntryType]:
        context = info.context
        page = await page_entries(
            context.session,
            page=PageRequest.from_args(
                first,
                after,
                max_size=context.settings.graphql_max_page_size,
                arity=1,
                types=(int,),
            ),
            action=action,
        )
        return Connection[AuditEntryType].from_page(
            page, key=lambda entry: (entry.seq,), node=AuditEntryType.from_model, after=after
        )
