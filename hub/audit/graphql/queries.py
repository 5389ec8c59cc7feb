from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.audit.models import AuditEntry
from hub.audit.service import page_entries
from hub.graphql.context import HubContext
from yunfab.graphql.pagination import Connection, PageRequest
from yunfab.graphql.permissions import allowed


@strawberry.type(name="AuditEntry", description="One entry of the hash-chained audit log.")
class AuditEntryType:
    seq: int
    at: dt.datetime
    actor: str
    actor_org: str | None
    action: str
    resource: str
    outcome: str
    detail: JSON
    hash: str
    prev_hash: str

    @classmethod
    def from_model(cls, entry: AuditEntry) -> AuditEntryType:
        return cls(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            actor_org=entry.actor_org,
            action=entry.action,
            resource=entry.resource,
            outcome=entry.outcome,
            detail=entry.detail,  # type: ignore[arg-type]
            hash=entry.hash,
            prev_hash=entry.prev_hash,
        )


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="The audit log, newest first (auditors).",
        permission_classes=[allowed("hub.audit.read")],
    )
    async def audit_log(
        self,
        info: Info[HubContext, None],
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
