"""The audit log as GraphQL shows it, on the hub and on nodes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from yunfab.audit import AuditChain, AuditEntryColumns
from yunfab.graphql.context import ServiceContext
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
    def from_model(cls, entry: AuditEntryColumns) -> AuditEntryType:
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


def audit_query(chain: AuditChain[Any, Any], *, read_action: str, description: str) -> type:
    """The `auditLog` query type of one service, over its own chain; reading it is
    `read_action`."""

    @strawberry.type
    class AuditQuery:
        @strawberry.field(description=description, permission_classes=[allowed(read_action)])
        async def audit_log(
            self,
            info: Info[ServiceContext, None],
            first: int = 50,
            after: str | None = None,
            action: str | None = None,
        ) -> Connection[AuditEntryType]:
            context = info.context
            page = await chain.page(
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

    return AuditQuery
