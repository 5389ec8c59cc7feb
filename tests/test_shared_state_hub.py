"""Two hub replicas on one database and one NATS (issue #22): what one refuses, the other refuses.

Failed client-secret checks alternating between the replicas are refused at the same count as on
one replica; a token revoked through one replica is refused by the other on the next request (its
database refresh is an hour away, so only the shared deny-list can tell it). The once-per-hub
tasks run in one replica at a time, and the hub's streams keep the copies an operator gave them.
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
    eventually,
    forget_nats,
    skip_or_fail,
)
from tests.test_event_bus import NATS_URL, nats_up
from tests.test_scale_nats import _by_hand, _streams

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
    try:
        async with hub_factory(**shared) as a, hub_factory(**shared) as b:
            yield a, b
    finally:
        await forget_nats(str(shared["nats_scope"]))


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


HUB_SINGLETONS = {"offline-sweeper", "identity-expiry"}


async def held(hub: InProcessService) -> set[str]:
    body = (await hub.client.get("/readyz")).json()
    return set(body["checks"]["singleton_tasks"]["held"])


async def test_the_hubs_once_per_hub_tasks_run_in_one_replica_and_move_when_it_stops(
    hub_factory: HubFactory,
) -> None:
    """The offline sweep and the clearing of expired sign-in records run in one replica at a
    time, under leases in the shared state; the replica that runs none lists none."""
    scope = f"test-{uuid.uuid4().hex[:10]}"
    settings = {"nats_url": NATS_URL, "nats_scope": scope, "lease_ttl_s": 3.0}
    a_context = hub_factory(**settings)
    a = await a_context.__aenter__()
    a_open = True
    try:

        async def a_runs_them() -> bool:
            return HUB_SINGLETONS <= await held(a)

        await eventually(a_runs_them, timeout_s=30)
        async with hub_factory(**settings) as b:
            assert not HUB_SINGLETONS & await held(b)
            assert HUB_SINGLETONS <= await held(a)

            await a_context.__aexit__(None, None, None)  # A stops and gives its leases back
            a_open = False

            async def b_runs_them() -> bool:
                return HUB_SINGLETONS <= await held(b)

            await eventually(b_runs_them, timeout_s=30)
            from hub.state import hub_state
            from yunfab.shared_state import NatsStates

            states = hub_state(b.app).shared_state
            assert isinstance(states, NatsStates)
            leases = await states.bucket("task_leases", ttl_s=3.0, max_keys=1000)
            holders = {await leases.get(task) for task in HUB_SINGLETONS}
            assert None not in holders
            assert len({entry.value for entry in holders if entry is not None}) == 1
    finally:
        if a_open:
            await a_context.__aexit__(None, None, None)
        await forget_nats(scope)


async def test_without_nats_the_one_hub_runs_them(hub_factory: HubFactory) -> None:
    async with hub_factory() as hub:
        body = (await hub.client.get("/readyz")).json()
        assert "singleton_tasks" not in body["checks"]


async def test_a_hub_start_keeps_the_replicas_an_operator_set(hub_factory: HubFactory) -> None:
    """As the node's (tests/test_scale_nats.py): the hub makes its streams and buckets with
    `nats_replicas` copies; an operator raises them by hand; a hub restarted with the default
    leaves them raised. (One NATS server here: it records a raised count it cannot place.)"""
    scope = f"test-{uuid.uuid4().hex[:10]}"
    events, jobs = f"YUNFAB_EVENTS_{scope}", f"YUNFAB_JOBS_{scope}"
    failures = f"KV_YUNFAB_{scope}_auth_failures"
    names = [events, jobs, failures]
    settings = {"nats_url": NATS_URL, "nats_scope": scope}
    try:
        async with hub_factory(**settings):
            made = await _streams(names)
        assert {config.num_replicas for config in made.values()} == {1}
        for name in names:
            await _by_hand(name, num_replicas=3)
        async with hub_factory(**settings):
            after = await _streams(names)
        assert {name: config.num_replicas for name, config in after.items()} == dict.fromkeys(
            names, 3
        )
    finally:
        await forget_nats(scope)
