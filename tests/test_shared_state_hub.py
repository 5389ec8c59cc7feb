"""Two hub replicas on one database and one NATS (issue #22): what one refuses, the other refuses.

Failed client-secret checks alternating between the replicas are refused at the same count as on
one replica; a token revoked through one replica is refused by the other on the next request (its
database refresh is an hour away, so only the shared deny-list can tell it).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tests.conftest import HubFactory
from tests.support import (
    InProcessService,
    bearer,
    client_token,
    create_node_client,
    skip_or_fail,
)
from tests.test_event_bus import NATS_URL, nats_up

pytestmark = [
    pytest.mark.usefixtures("_nats"),
    pytest.mark.parametrize("backend", ["postgresql"]),
]


@pytest.fixture
def _nats() -> None:
    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")


LIMIT = 4


@asynccontextmanager
async def two_hubs(hub_factory: HubFactory) -> AsyncIterator[tuple[InProcessService, ...]]:
    shared = {
        "nats_url": NATS_URL,
        "nats_scope": f"test-{uuid.uuid4().hex[:10]}",
        "auth_failure_limit": LIMIT,
        "key_refresh_interval_s": 3600,
    }
    async with hub_factory(**shared) as a, hub_factory(**shared) as b:
        try:
            yield a, b
        finally:
            from hub.state import hub_state
            from yunfab.shared_state import NatsStates

            states = hub_state(a.app).shared_state
            assert isinstance(states, NatsStates)
            await states.delete_buckets()


async def test_failed_secrets_alternating_between_replicas_are_refused_at_the_limit(
    hub_factory: HubFactory,
) -> None:
    async with two_hubs(hub_factory) as (a, b):
        client_id, secret = await create_node_client(a, "zj-textile", "CN-ZJ")
        data = {"grant_type": "client_credentials", "scope": "nodes:register"}
        statuses = []
        for attempt in range(LIMIT + 2):
            replica = (a, b)[attempt % 2]
            response = await replica.client.post(
                "/oauth/token", data=data, auth=(client_id, "wrong secret")
            )
            statuses.append(response.status_code)
        assert statuses == [401] * LIMIT + [429, 429]
        refused = await a.client.post("/oauth/token", data=data, auth=(client_id, secret or ""))
        assert refused.status_code == 429  # the right secret waits too, on either replica
        assert int(refused.headers["retry-after"]) >= 1


async def test_a_token_revoked_through_one_replica_is_refused_by_the_other_at_once(
    hub_factory: HubFactory,
) -> None:
    async with two_hubs(hub_factory) as (a, b):
        client_id, secret = await create_node_client(a, "zj-textile", "CN-ZJ")
        token = await client_token(a, client_id, secret, "nodes:register")
        before = await b.client.get("/api/v1/revocations", headers=bearer(token))
        assert before.status_code == 200, before.text

        revoked = await a.client.post(
            "/oauth/revoke", data={"token": token}, auth=(client_id, secret or "")
        )
        assert revoked.status_code == 200

        after = await b.client.get("/api/v1/revocations", headers=bearer(token))
        assert after.status_code == 401
        assert after.json()["error"] == "token_revoked"
