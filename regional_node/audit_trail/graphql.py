"""The node's audit log in GraphQL, narrowed to one thing (node operators)."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.types import Info

from regional_node.audit_trail import service as audit_trail
from regional_node.graphql.context import NodeContext
from yunfab.graphql.audit import AuditEntryType
from yunfab.graphql.pagination import Connection
from yunfab.graphql.permissions import allowed
from yunfab.graphql.resolvers import page_request, query


@strawberry.type
class AuditTrailQuery:
    @strawberry.field(
        description="This node's audit log, newest first (node operators). Narrowed to one "
        "thing at most: a factory (its own entries, its stations', inspection models' and "
        "devices'), an order or a device, by id or by the name people see; to a time range "
        "(`since` inclusive, `until` exclusive); and to one actor (exactly as the entries name "
        "them).",
        permission_classes=[allowed("node.audit.read")],
    )
    async def audit_log(
        self,
        info: Info[NodeContext, None],
        first: int = 50,
        after: str | None = None,
        action: str | None = None,
        factory_id: uuid.UUID | None = None,
        factory_slug: str | None = None,
        order_id: uuid.UUID | None = None,
        order_number: str | None = None,
        device_id: uuid.UUID | None = None,
        device_key: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        actor: str | None = None,
    ) -> Connection[AuditEntryType]:
        context = info.context
        page = await query(
            context,
            audit_trail.search,
            runtime=context.runtime,
            filter=audit_trail.AuditFilter(
                action=action,
                target=audit_trail.Target(
                    factory_id=factory_id,
                    factory_slug=factory_slug,
                    order_id=order_id,
                    order_number=order_number,
                    device_id=device_id,
                    device_key=device_key,
                ),
                since=since,
                until=until,
                actor=actor,
            ),
            page=page_request(context, first, after, arity=1, types=(int,)),
        )
        return Connection[AuditEntryType].from_page(
            page, key=lambda entry: (entry.seq,), node=AuditEntryType.from_model, after=after
        )
