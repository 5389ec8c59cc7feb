from __future__ import annotations

import strawberry
from strawberry.types import Info

from hub.graphql.context import HubContext
from hub.organizations import service
from hub.organizations.graphql.types import OrganizationType
from hub.organizations.models import Organization
from yunfab.graphql.pagination import Connection, Page, PageRequest, encode_cursor
from yunfab.graphql.permissions import allowed

CHUNK = 200
MAX_CHUNKS = 5


def _resource(organization: Organization) -> dict[str, str]:
    return {
        "id": str(organization.id),
        "kind": organization.kind.value,
        "org": str(organization.id),
    }


@strawberry.type
class OrganizationQuery:
    @strawberry.field(
        description="Organizations you may see, ordered by name.",
        permission_classes=[allowed("hub.organizations.list")],
    )
    async def organizations(
        self, info: Info[HubContext, None], first: int = 50, after: str | None = None
    ) -> Connection[OrganizationType]:
        context = info.context
        request = PageRequest.from_args(
            first, after, max_size=context.settings.graphql_max_page_size, arity=1
        )
        visible: list[Organization] = []
        cursor, more = request.after, True
        # Read in chunks and let the policy decide each chunk in one call, until a page is full;
        # a few chunks at most, so a sparse view cannot turn into a scan of the whole table.
        for _ in range(MAX_CHUNKS):
            if not more or len(visible) > request.limit:
                break
            chunk = await service.list_organizations(
                context.session, context.subject, page=PageRequest(limit=CHUNK, after=cursor)
            )
            visible += await context.authorizer.filter(
                context.subject, "hub.organization.read", chunk.rows, _resource
            )
            more = chunk.has_next
            cursor = [chunk.rows[-1].name] if chunk.rows else cursor
        page = Page(
            rows=visible[: request.limit], has_next=len(visible) > request.limit or more, count=None
        )
        connection = Connection[OrganizationType].from_page(
            page,
            key=lambda organization: (organization.name,),
            node=OrganizationType.from_model,
            after=after,
        )
        if more and len(visible) <= request.limit and cursor is not None:
            # Stopped at the chunk cap with a short page: continue after the last row *read*,
            # not the last row shown, or a run of hidden rows would be read again forever.
            connection.page_info.end_cursor = encode_cursor(cursor)
        return connection
