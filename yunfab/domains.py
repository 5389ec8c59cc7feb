"""What a domain brings to its app, declared once in the domain's own `domain.py`.

An app (hub or node) is a list of domains. Its factory loops over the list: routers are
mounted, the GraphQL root types are merged in list order (so the schema file is stable), body
limits are installed, and the lifespan enters each domain's `start` in order and leaves them in
reverse, then runs every domain's background tasks until shutdown. A new domain touches its
folder, a migration and a policy file; the app learns of it by one line in its list.

`S` is the app's typed runtime state (a dataclass the lifespan builds); `C` its settings.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Generic, Protocol, TypeVar

import structlog
from fastapi import APIRouter

from yunfab.bodies import BodyLimit

S = TypeVar("S")
C = TypeVar("C")

log = structlog.get_logger(__name__)

CANCEL_AGAIN_S = 1.0
"""How long a stop waits on a cancelled task before cancelling it again."""


@dataclass(frozen=True)
class Task(Generic[S]):
    """A background loop the lifespan starts once the domains are up and cancels at shutdown.
    `run` returns None when the task does not apply with the state's settings."""

    name: str
    run: Callable[[S], Coroutine[Any, Any, None] | None]
    singleton: bool = False
    """Runs in one replica of the service at a time: under a lease when `running` is given
    leases (the replicas share state), else in this process as any task."""


class Leases(Protocol):
    """What holds singleton tasks' leases (`yunfab.shared_state.Leases`)."""

    async def hold(self, name: str, start: Callable[[], Awaitable[None] | None]) -> None: ...


@dataclass(frozen=True)
class Domain(Generic[S, C]):
    name: str
    models: Sequence[ModuleType] = ()
    """The modules declaring the domain's ORM tables (imported for the metadata registry)."""
    routers: Sequence[APIRouter] = ()
    queries: Sequence[type] = ()
    mutations: Sequence[type] = ()
    subscriptions: Sequence[type] = ()
    body_limits: Callable[[C], Sequence[BodyLimit]] | None = None
    """Routes taking more than the default body size (given the app's settings)."""
    start: Callable[[S], AbstractAsyncContextManager[None]] | None = None
    """Set up what the domain needs at start-up (on the state) and tear it down at shutdown."""
    tasks: Sequence[Task[S]] = ()
    drain: Callable[[S], Awaitable[None]] | None = None
    """At shutdown, before the tasks are cancelled: stop taking work in (a message consumer)."""


def merged(
    domains: Sequence[Domain[Any, Any]], kind: str, order: Sequence[str] | None = None
) -> tuple[type, ...]:
    """The GraphQL root types of one kind (`queries`, `mutations`, `subscriptions`), in the
    domains' order, or in `order` (domain names) where a root type's fields were merged in
    another order than the domains start in (fields print in merge order: the committed schema
    file keeps them)."""
    if order is not None:
        named = {d.name: d for d in domains if getattr(d, kind)}
        if set(named) != set(order):
            raise ValueError(f"the {kind} order names {sorted(order)}, not {sorted(named)}")
        domains = [named[name] for name in order]
    return tuple(t for d in domains for t in getattr(d, kind))


def routers(domains: Sequence[Domain[Any, Any]]) -> list[APIRouter]:
    return [r for d in domains for r in d.routers]


def body_limits(domains: Sequence[Domain[Any, C]], settings: C) -> list[BodyLimit]:
    return [limit for d in domains if d.body_limits for limit in d.body_limits(settings)]


@asynccontextmanager
async def running(
    domains: Sequence[Domain[S, Any]],
    state: S,
    *,
    leases: Callable[[S], Leases | None] | None = None,
) -> AsyncIterator[None]:
    """Start the domains in order, then their tasks; at exit drain the domains, cancel the
    tasks and stop the domains in reverse order (a failed start stops those already started).
    `leases` gives, once the domains are up, what singleton tasks run under (None: they run
    here like the others)."""
    async with AsyncExitStack() as stack:
        for domain in domains:
            if domain.start is not None:
                await stack.enter_async_context(domain.start(state))
        held = leases(state) if leases is not None else None
        tasks: list[asyncio.Task[None]] = []
        for domain in domains:
            for task in domain.tasks:
                if task.singleton and held is not None:
                    run = functools.partial(task.run, state)
                    tasks.append(asyncio.create_task(held.hold(task.name, run), name=task.name))
                    continue
                coroutine = task.run(state)
                if coroutine is not None:
                    tasks.append(asyncio.create_task(coroutine, name=task.name))
        try:
            yield
        finally:
            for domain in domains:
                if domain.drain is not None:
                    await domain.drain(state)
            for t in tasks:
                t.cancel()
            running_on = {t for t in tasks if not t.done()}
            while running_on:
                # A task whose cancellation a library swallowed (nats-py's flush does) is asked
                # again each second, rather than holding the stop up for good.
                _, running_on = await asyncio.wait(running_on, timeout=CANCEL_AGAIN_S)
                for t in running_on:
                    log.warning("task_cancelled_again", task=t.get_name())
                    t.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for t, result in zip(tasks, results, strict=True):
                if isinstance(result, Exception):
                    log.error("task_failed", task=t.get_name(), error=repr(result))
