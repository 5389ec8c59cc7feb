"""The node's side of the hub's workforce relay, a round every `workforce_relay_interval_s`:

1. its factories' requests for other nodes' workers go to the hub (`remote.pending`);
2. requests for its own workers come from the hub and become proposals (`remote.take_request`);
3. what became of those proposals goes back, an acceptance with the worker's contact sealed to
   the borrower's key (`remote.answer_for`: the release audited once the hub has it);
4. answers to its own factories' requests come in, the contact opened and kept
   (`remote.receive_answer`), and the hub is told it may drop them.

Each step is a unit of work of its own; the hub being away ends the round, the next one tries
again (every call is idempotent at the hub)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import structlog

from regional_node.hub_link.client import HubClient, HubError
from regional_node.state import NodeState
from regional_node.workforce import remote
from regional_node.workforce.repository import WorkforceRepository
from yunfab.db import session_scope

log = structlog.get_logger(__name__)

BATCH = 50


@dataclass
class RelayRound:
    sent: int = 0
    """Requests handed to the hub."""
    taken: int = 0
    """Requests from other nodes taken in (a proposal each, or a refusal)."""
    answered: int = 0
    """Answers sent back."""
    received: int = 0
    """Answers to this node's requests taken."""


async def relay_once(state: NodeState) -> RelayRound:
    """One round of the four steps; HubError when the hub could not be used."""
    client: HubClient = state.hub_link.client
    node = state.settings.name
    sessionmaker = state.db.sessionmaker
    done = RelayRound()

    async with sessionmaker() as session:
        outgoing = await remote.pending(session, BATCH)
    for request_id, body in outgoing:
        try:
            await client.relay_request(str(request_id), body)
            refused = None
        except HubError as exc:
            if exc.retryable:
                raise
            refused = str(exc)
        async with session_scope(sessionmaker) as session:
            await remote.sent(session, request_id, refused=refused)
        done.sent += 1

    inbox = (await client.relay_inbox(node)).get("requests") or []
    for request in inbox[:BATCH]:
        async with session_scope(sessionmaker) as session:
            taken = await remote.take_request(session, node_name=node, request=request)
        done.taken += taken is not None

    async with sessionmaker() as session:
        waiting = [row.id for row in await WorkforceRepository(session).inbound_to_report(BATCH)]
    for inbound_id in waiting:
        done.answered += await _answer(client, state, inbound_id)

    outbox = (await client.relay_outbox(node)).get("requests") or []
    for answer in outbox[:BATCH]:
        async with session_scope(sessionmaker) as session:
            status = await remote.receive_answer(session, answer)
        if status is not None:
            await client.relay_taken(str(answer["id"]), status)
            done.received += 1
    return done


async def _answer(client: HubClient, state: NodeState, inbound_id: uuid.UUID) -> bool:
    async with session_scope(state.db.sessionmaker) as session:
        inbound = await WorkforceRepository(session).inbound(inbound_id)
        if inbound is None:
            return False
        body = await remote.answer_for(session, inbound)
        if body is None:
            return False
        try:
            await client.relay_answer(str(inbound_id), body)
        except HubError as exc:
            if exc.retryable:
                raise
            # The hub holds another answer as final: nothing more to tell it of this one.
            log.warning("workforce_relay_answer_refused", request=str(inbound_id), error=str(exc))
            failed = exc
        else:
            await remote.answered(session, inbound, body["status"])
            return True
    async with session_scope(state.db.sessionmaker) as session:
        inbound = await WorkforceRepository(session).inbound(inbound_id)
        if inbound is not None:
            inbound.refused = (inbound.refused or str(failed))[:300]
            await remote.answered(session, inbound, "refused")
    return False


async def _rounds(state: NodeState, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            done = await relay_once(state)
            if done.sent or done.taken or done.answered or done.received:
                log.info("workforce_relayed", **vars(done))
        except HubError as exc:
            log.info("workforce_relay_waits", error=str(exc))
        except Exception:  # a database hiccup must not end the relay; the next round retries
            log.exception("workforce_relay_failed")


def relay(state: NodeState) -> Coroutine[Any, Any, None] | None:
    """The background task."""
    return _rounds(state, state.settings.workforce_relay_interval_s)
