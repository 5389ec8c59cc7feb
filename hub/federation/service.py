"""Registration and liveness of regional nodes.

A node registers itself on start (idempotent) and then heartbeats. Its first registration enrols
its URL, which the hub calls and mints tokens for: a node cannot move it afterwards (with a node's
credentials, its URL could be pointed at another node's, or anywhere the hub can reach), only a
hub operator can, and no two nodes share one. The hub shows a node offline once its last heartbeat
is older than the configured window, whether or not the sweeper has run yet, and announces each
change to subscribers.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import append_entry
from hub.federation.errors import (
    NodeIdentityConflict,
    NodeNotRegistered,
    NodeUrlFixed,
    NodeUrlTaken,
)
from hub.federation.events import NodeEvent, NodeEventKind, NodeEvents, NodeSnapshot
from hub.federation.models import NodeStatus, RegionalNode
from hub.federation.repository import RegionalNodeRepository
from hub.federation.urls import NodeUrlRules, check_node_url
from hub.identity.builtin import node_url_changed
from yunfab.authorization import Authorizer
from yunfab.db import after_commit, utcnow
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject


@dataclass(frozen=True)
class NodeRegistration:
    name: str
    region: str
    industry: str
    base_url: str
    flower_public_key: str | None = None
    yunfab_version: str | None = None


@dataclass(frozen=True)
class Registered:
    node: RegionalNode
    created: bool


def effective_status(
    node: RegionalNode, *, now: dt.datetime, offline_after: dt.timedelta
) -> NodeStatus:
    if node.status is NodeStatus.ONLINE and (
        node.last_heartbeat is None or now - node.last_heartbeat > offline_after
    ):
        return NodeStatus.OFFLINE
    return node.status


def _announce(
    session: AsyncSession, events: NodeEvents, kind: NodeEventKind, node: RegionalNode
) -> None:
    at = utcnow()
    # The node's fields as committed (after the commit, they are what the transaction wrote).
    after_commit(
        session, lambda: events.publish(NodeEvent(kind=kind, node=NodeSnapshot.of(node), at=at))
    )


async def _claim_url(
    repository: RegionalNodeRepository, node: RegionalNode | None, base_url: str
) -> None:
    """Refuse a URL another node is enrolled at (the unique index catches a race)."""
    holder = await repository.get_by_url(base_url)
    if holder is not None and holder is not node:
        raise NodeUrlTaken("another node is enrolled at this URL; each node has its own")


async def register_node(
    session: AsyncSession,
    subject: Subject,
    *,
    input: NodeRegistration,
    events: NodeEvents,
    rules: NodeUrlRules,
) -> Registered:
    repository = RegionalNodeRepository(session)
    now = utcnow()
    base_url = check_node_url(input.base_url, rules)
    node = await repository.get_by_name(input.name, for_update=True)
    if node is None:
        await _claim_url(repository, None, base_url)
        node = RegionalNode(
            name=input.name,
            region=input.region,
            industry=input.industry,
            base_url=base_url,
            status=NodeStatus.ONLINE,
            last_heartbeat=now,
            registered_at=now,
            operator_id=uuid.UUID(subject.org_id) if subject.org_id else None,
            flower_public_key=input.flower_public_key,
            yunfab_version=input.yunfab_version,
        )
        repository.add(node)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise NodeIdentityConflict(
                f"node {input.name!r} or its URL was registered concurrently; retry"
            ) from exc
        await node_url_changed(session, None, base_url)
        _announce(session, events, NodeEventKind.REGISTERED, node)
        return Registered(node=node, created=True)
    if (node.region, node.industry) != (input.region, input.industry):
        raise NodeIdentityConflict(
            f"node {input.name!r} is registered for region {node.region} and industry "
            f"{node.industry}; a node cannot change them under the same name"
        )
    enrolled = node.base_url is None
    if enrolled:
        await _claim_url(repository, node, base_url)
        node.base_url = base_url
    elif node.base_url != base_url:
        raise NodeUrlFixed(
            f"node {input.name!r} is enrolled at {node.base_url}; a node cannot move its URL "
            "itself: a hub operator changes it (changeRegionalNodeUrl)"
        )
    was_online = node.status is NodeStatus.ONLINE
    if input.flower_public_key is not None:
        node.flower_public_key = input.flower_public_key
    if input.yunfab_version is not None:
        node.yunfab_version = input.yunfab_version
    node.status = NodeStatus.ONLINE
    node.last_heartbeat = now
    try:
        await session.flush()
    except IntegrityError as exc:
        raise NodeUrlTaken("another node was enrolled at this URL meanwhile") from exc
    if enrolled:
        await node_url_changed(session, None, base_url)
    if not was_online:
        _announce(session, events, NodeEventKind.ONLINE, node)
    return Registered(node=node, created=False)


async def change_node_url(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    name: str,
    base_url: str,
    rules: NodeUrlRules,
) -> RegionalNode:
    """A hub operator moves a node to a new URL (the node cannot): same rules as enrolment."""
    await authorizer.check(subject, "hub.node.change_url", {"name": name})
    repository = RegionalNodeRepository(session)
    node = await repository.get_by_name(name, for_update=True)
    if node is None:
        raise NodeNotRegistered(f"no node named {name!r} is registered")
    url = check_node_url(base_url, rules)
    previous = node.base_url
    if url != previous:
        await _claim_url(repository, node, url)
        node.base_url = url
        try:
            await session.flush()
        except IntegrityError as exc:
            raise NodeUrlTaken("another node was enrolled at this URL meanwhile") from exc
        await node_url_changed(session, previous, url)
        await append_entry(
            session,
            actor=subject,
            action="hub.node.url_changed",
            resource=f"regional-node:{node.name}",
            outcome="ok",
            detail={"from": previous, "to": url},
        )
    return node


async def record_heartbeat(
    session: AsyncSession, subject: Subject, *, name: str, stopping: bool, events: NodeEvents
) -> RegionalNode:
    """A heartbeat keeps a node online; `stopping` is a node's last word on a clean shutdown."""
    node = await RegionalNodeRepository(session).get_by_name(name, for_update=True)
    if node is None:
        raise NodeNotRegistered(f"no node named {name!r} is registered; register first")
    previous = node.status
    node.last_heartbeat = utcnow()
    node.status = NodeStatus.OFFLINE if stopping else NodeStatus.ONLINE
    await session.flush()
    if node.status is not previous:
        kind = NodeEventKind.OFFLINE if stopping else NodeEventKind.ONLINE
        _announce(session, events, kind, node)
    return node


async def sweep_offline(
    session: AsyncSession, *, offline_after: dt.timedelta, events: NodeEvents
) -> list[RegionalNode]:
    """Mark online nodes whose heartbeats stopped as offline; returns those changed."""
    stale = await RegionalNodeRepository(session).stale_online(utcnow() - offline_after)
    for node in stale:
        node.status = NodeStatus.OFFLINE
        _announce(session, events, NodeEventKind.OFFLINE, node)
    await session.flush()
    return stale


async def list_nodes(
    session: AsyncSession,
    subject: Subject,
    *,
    page: PageRequest,
    region: str | None = None,
    industry: str | None = None,
    status: NodeStatus | None = None,
    offline_after: dt.timedelta | None = None,
) -> Page[RegionalNode]:
    """`status` as `effective_status` gives it, which needs the hub's `offline_after`."""
    online_since = utcnow() - offline_after if offline_after is not None else None
    return await RegionalNodeRepository(session).page(
        page, region=region, industry=industry, status=status, online_since=online_since
    )


async def get_node(session: AsyncSession, subject: Subject, *, name: str) -> RegionalNode | None:
    return await RegionalNodeRepository(session).get_by_name(name)
