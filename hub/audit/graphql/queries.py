"""The hub's audit log in GraphQL: the shared entry type, with the filters auditors page by."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from hub.audit import service
from hub.graphql.context import HubContext
from yunfab.db import utcnow
from yunfab.errors import InvalidInput
from yunfab.graphql.audit import AuditEntryType
from yunfab.graphql.pagination import Connection
from yunfab.graphql.permissions import allowed
from yunfab.graphql.resolvers import page_request


@strawberry.type(
    name="AuditChainVerification",
    description="The whole audit chain walked from its first entry: each entry's hash, its "
    "link to the one before, and the head.",
)
class AuditChainVerificationType:
    ok: bool
    checked: int = strawberry.field(description="Entries that held, from the first.")
    problem: str | None = strawberry.field(description="What does not hold, when one does not.")
    seq: int | None = strawberry.field(description="The first entry that does not hold.")
    verified_at: dt.datetime


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="The audit log, newest first (auditors). `actor` matches exactly; `since` "
        "is inclusive and `until` exclusive. Each entry's `detail` stays JSON: what an event "
        "records depends on its action.",
        permission_classes=[allowed("hub.audit.read")],
    )
    async def audit_log(
        self,
        info: Info[HubContext, None],
        first: int = 50,
        after: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Connection[AuditEntryType]:
        context = info.context
        if len(action or "") > 200 or len(actor or "") > 200:
            raise InvalidInput("action and actor are at most 200 characters")
        page = await service.page_entries(
            context.session,
            page=page_request(context, first, after, arity=1, types=(int,)),
            filters=service.EntryFilters(action=action, actor=actor, since=since, until=until),
        )  # fmt: skip
        return Connection[AuditEntryType].from_page(
            page, key=lambda entry: (entry.seq,), node=AuditEntryType.from_model, after=after
        )

    @strawberry.field(
        description="Verify the whole audit chain, as `yunfab hub audit verify` does (auditors).",
        permission_classes=[allowed("hub.audit.read")],
    )
    async def audit_chain_verification(
        self, info: Info[HubContext, None]
    ) -> AuditChainVerificationType:
        context = info.context
        async with context.sessionmaker() as session:
            bind = session.bind
            if bind is not None and bind.dialect.name == "postgresql":
                # One snapshot: entries appended while the walk runs must not look removed.
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            result = await service.verify_chain(session)
        return AuditChainVerificationType(
            ok=result.ok,
            checked=result.checked,
            problem=result.problem,
            seq=result.seq,
            verified_at=utcnow(),
        )
