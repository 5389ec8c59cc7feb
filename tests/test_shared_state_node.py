"""Two node replicas on one database and one NATS (issue #22): what one refuses, the other
refuses.

Bad device logins over HTTP, refused claim codes and anonymous GraphQL requests, alternating
between the replicas, are refused at the same count as on one replica: the counts live in the
node's NATS buckets, not in each process.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from regional_node.gateways import api as gateways_api
from tests.conftest import NodeFactory
from tests.support import InProcessService, forget_nats, skip_or_fail
from tests.test_event_bus import NATS_URL, nats_up

pytestmark = pytest.mark.usefixtures("_nats")


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def _nats() -> None:
    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")


@asynccontextmanager
async def two_nodes(
    node_factory: NodeFactory, tmp_path: Path, **settings: Any
) -> AsyncIterator[tuple[InProcessService, InProcessService]]:
    name = f"zj-{uuid.uuid4().hex[:8]}"
    shared = {"name": name, "nats_url": NATS_URL, **settings}
    try:
        async with (
            node_factory(data_dir=tmp_path / "a", **shared) as a,
            node_factory(data_dir=tmp_path / "b", **shared) as b,
        ):
            yield a, b
    finally:
        await forget_nats(f"node-{name}")


async def test_bad_device_logins_alternating_between_replicas_are_refused_at_the_limit(
    node_factory: NodeFactory, tmp_path: Path
) -> None:
    async with two_nodes(node_factory, tmp_path) as (a, b):
        batch: dict[str, Any] = {"devices": {"guessed-key": {"readings": []}}}
        statuses = []
        for attempt in range(22):
            replica = (a, b)[attempt % 2]
            response = await replica.client.post(
                "/api/v1/telemetry", json=batch, auth=("guessed-key", "guess")
            )
            statuses.append(response.status_code)
        assert statuses == [401] * 20 + [429, 429]  # 20 a minute for a key at an address
        assert response.json()["error"] == "rate_limited"
        # The gateways' status login is the same throttle: locked there too, on both.
        for replica in (a, b):
            refused = await replica.client.post(
                "/api/v1/gateways/status", json={}, auth=("guessed-key", "guess")
            )
            assert refused.status_code == 429


async def test_refused_claim_codes_alternating_between_replicas_are_refused_at_the_limit(
    node_factory: NodeFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Enough claim requests a minute that only the refused codes' count stops the guesser.
    monkeypatch.setattr(gateways_api, "CLAIM_BURST", 100)
    async with two_nodes(node_factory, tmp_path) as (a, b):
        gateway = {"group": "f-x", "edge_node": {"key": "f-x-gw"}, "devices": []}
        statuses = []
        for attempt in range(12):
            replica = (a, b)[attempt % 2]
            response = await replica.client.post(
                "/api/v1/gateways/claim",
                json={"code": f"{attempt:08x}-" + "y" * 24, "gateway": gateway},
            )
            statuses.append(response.status_code)
        assert statuses == [401] * 10 + [429, 429]
        assert "failed attempts" in response.json()["detail"]


async def test_anonymous_graphql_requests_alternating_between_replicas_share_one_budget(
    node_factory: NodeFactory, tmp_path: Path
) -> None:
    async with two_nodes(
        node_factory, tmp_path, graphql_anonymous_rate=0.01, graphql_anonymous_burst=4
    ) as (a, b):
        statuses = []
        for attempt in range(6):
            replica = (a, b)[attempt % 2]
            response = await replica.client.post("/graphql", json={"query": "{ __typename }"})
            statuses.append(response.status_code)
        assert statuses == [200] * 4 + [429, 429]
        assert int(response.headers["retry-after"]) >= 1
