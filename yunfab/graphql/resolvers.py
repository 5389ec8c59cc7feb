"""The one way a GraphQL resolver calls its service.

A resolver converts its input, makes one service call and maps the result (saleor's
`BaseMutation.mutate` is the model). A mutation's call runs in its own unit of work (`mutate`):
committed when the service returns, rolled back when it raises, so a failing mutation leaves
nothing half-written and an earlier one in the same document stays committed. A query's call
(`query`) reads through the request's read session; `page_request` turns a connection's
`first`/`after` into the page a service reads; `service_input` builds a service's input dataclass
from a Strawberry input, field by field of the same name. Permissions are declared on the field
(`yunfab.graphql.permissions`); a service's `YunfabError` reaches the client with its code through
`yunfab.graphql.errors`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from yunfab.db import session_scope
from yunfab.graphql.context import ServiceContext
from yunfab.graphql.pagination import PageRequest
from yunfab.subject import Subject

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


async def mutate(
    context: ServiceContext,
    call: Callable[Concatenate[AsyncSession, Subject, P], Awaitable[R]],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """`call(session, context.subject, ...)` in a unit of work of its own; its result."""
    async with session_scope(context.sessionmaker) as session:
        return await call(session, context.subject, *args, **kwargs)


async def mutate_then(
    context: ServiceContext,
    call: Callable[Concatenate[AsyncSession, Subject, P], Awaitable[R]],
    then: Callable[[AsyncSession, R], Awaitable[T]],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> tuple[R, T]:
    """`mutate`, with a second step in the same unit of work: `then(session, result)` (the call's
    audit line, a read of what it wrote) commits or rolls back with the call; both results."""
    async with session_scope(context.sessionmaker) as session:
        result = await call(session, context.subject, *args, **kwargs)
        return result, await then(session, result)


async def read(
    context: ServiceContext,
    call: Callable[Concatenate[AsyncSession, P], Awaitable[R]],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """`call(session, ...)` in a read session of its own, nothing committed: what a subscription
    reads when it opens and for each event (the request's session does not last that long)."""
    async with context.sessionmaker() as session:
        return await call(session, *args, **kwargs)


async def query(
    context: ServiceContext,
    call: Callable[Concatenate[AsyncSession, Subject, P], Awaitable[R]],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """`call(context.session, context.subject, ...)`: a query's service call, in the request's
    read session (shared by the document's fields, closed with the request)."""
    return await call(context.session, context.subject, *args, **kwargs)


def page_request(
    context: ServiceContext,
    first: int,
    after: str | None,
    *,
    arity: int,
    types: tuple[type, ...] | None = None,
) -> PageRequest:
    """A connection's `first` and `after` as a page request, `first` capped by the service's
    `graphql_max_page_size` (InvalidInput beyond); `arity` and `types` describe the cursor."""
    return PageRequest.from_args(
        first, after, max_size=context.settings.graphql_max_page_size, arity=arity, types=types
    )


def service_input(target: type[T], source: object, /, **overrides: object) -> T:
    """`target` (a service's input dataclass) built from `source` (a Strawberry input): each of
    its fields from `overrides` when named there (an enum's value, a nested input, a renamed
    field, a list copied), else from `source`'s field of the same name, as it is (None and
    `strawberry.UNSET` pass through), else left to its default. TypeError when a field without a
    default is in neither (nothing is dropped in silence), or an override names no field."""
    if not dataclasses.is_dataclass(target) or not dataclasses.is_dataclass(source):
        raise TypeError(f"service_input: {target!r} and {type(source)!r} must be dataclasses")
    given = {field.name for field in dataclasses.fields(source)}
    fields = [field for field in dataclasses.fields(target) if field.init]
    unknown = set(overrides) - {field.name for field in fields}
    if unknown:
        raise TypeError(
            f"service_input: {target.__name__} has no field {', '.join(sorted(unknown))}"
        )
    values: dict[str, Any] = {}
    for field in fields:
        if field.name in overrides:
            values[field.name] = overrides[field.name]
        elif field.name in given:
            values[field.name] = getattr(source, field.name)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise TypeError(
                f"service_input: {target.__name__}.{field.name} is not on "
                f"{type(source).__name__}, has no default and is not overridden"
            )
    return target(**values)
