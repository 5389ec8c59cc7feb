"""Registration and liveness of regional nodes.

A node registers itself on start (idempotent: the same name and place updates its URL) and then
heartbeats. The hub shows a node offline once its last heartbeat is older than the configured
window, whether or not the sweeper has run yet, and announces each change to subscribers.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.federation.events import NodeEvent, NodeEventKind, NodeEvents
from hub.federation.models import NodeStatus, RegionalNode
from hub.federation.repository import RegionalNodeRepository
from yunfab.db import after_commit, utcnow
from yunfab.errors import Conflict, NotFound
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject


class NodeNotRegistered(NotFound):
    code = "node_not_registered"


class NodeIdentityConflict(Conflict):
    code = "node_identity_conflict"


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
    event = NodeEvent(kind=kind, node=node, at=utcnow())
    after_commit(session, lambda: events.publish(event))


async def register_node(
    session: AsyncSession, subject: Subject, *, input: NodeRegistration, events: NodeEvents
) -> Registered:
    repository = RegionalNodeRepository(session)
    now = utcnow()
    node = await repository.get_by_name(input.name, for_update=True)
    if node is None:
        node = RegionalNode(
            name=input.name,
            region=input.region,
            industry=input.industry,
            base_url=input.base_url,
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
                f"node {input.name!r} was registered concurrently; retry"
            ) from exc
        _announce(session, events, NodeEventKind.REGISTERED, node)
        return Registered(node=node, created=True)
    if (node.region, node.industry) != (input.region, input.industry):
        raise NodeIdentityConflict(
            f"node {input.name!r} is registered for region {node.region} and industry "
            f"{node.industry}; a node cannot change them under the same name"
        )
    was_online = node.status is NodeStatus.ONLINE
    node.base_url = input.base_url
    if input.flower_public_key is not None:
        node.flower_public_key = input.flower_public_key
    if input.yunfab_version is not None:
        node.yunfab_version = input.yunfab_version
    node.status = NodeStatus.ONLINE
    node.last_heartbeat = now
    await session.flush()
    if not was_online:
        _announce(session, events, NodeEventKind.ONLINE, node)
    return Registered(node=node, created=False)


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
) -> Page[RegionalNode]:
    return await RegionalNodeRepository(session).page(page, region=region, industry=industry)


async def get_node(session: AsyncSession, subject: Subject, *, name: str) -> RegionalNode | None:
    return await RegionalNodeRepository(session).get_by_name(name)
