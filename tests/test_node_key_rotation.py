"""A node takes tokens signed with a key the hub has just rotated to: a burst of requests with
one, before the node has the hub's new keys, is answered (the node fetches the keys once; the
requests that arrive meanwhile wait for that fetch)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from hub.identity.keys import rotate_keys
from hub.state import hub_state
from regional_node.hub_link import auth
from tests.conftest import NodeFactory
from tests.nodes import operator_headers
from tests.support import InProcessService, bearer, client_token, create_client
from yunfab.db import session_scope

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

NODE_URL = "http://zj-textile.test"
VIEWER = "{ viewer { kind organizationId } }"


async def test_a_burst_after_a_key_rotation_is_answered_not_refused(
    hub: InProcessService, node_factory: NodeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A node asks for the hub's keys again on an unknown `kid` at most every few seconds.
    monkeypatch.setattr(auth, "MIN_JWKS_REFETCH_S", 0.2)
    client_id, secret = await create_client(
        hub, org="Hangzhou Shirts", org_kind="consumer", scopes=["orders:write"]
    )
    async with node_factory(hub) as node:
        # Once the node has registered (the hub then issues tokens for it), it has the keys.
        before = await operator_headers(hub, NODE_URL)
        assert (await node.graphql(VIEWER, headers=before))["viewer"]["kind"] == "client"
        async with session_scope(hub_state(hub.app).db.sessionmaker) as session:
            await rotate_keys(session, passphrase=None, retire_after=dt.timedelta(seconds=600))
        await hub_state(hub.app).keyring.load()
        await asyncio.sleep(0.3)
        after = bearer(await client_token(hub, client_id, secret, "orders:write", NODE_URL))
        answers = await asyncio.gather(
            *(node.client.post("/graphql", json={"query": VIEWER}, headers=after) for _ in range(8))
        )
    assert [answer.status_code for answer in answers] == [200] * 8
    assert all("errors" not in answer.json() for answer in answers)
