"""Request bodies are read only from callers allowed to send them, and only up to a limit
(issue 15, items 2 and 6): an anonymous upload is refused before a byte of it is read, an allowed
one over its cap is refused with 413 by its Content-Length unread or, sent chunked, as soon as it
passes the cap; nothing is left in temporary files. Bodies here are generated as the server asks
for them, so `pulled` is exactly what the server read.

Also (item 7): bad device logins at the HTTP telemetry endpoint lock out that device at that
address, not every device behind the same address."""

from __future__ import annotations

import base64
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hub.knowledge_market.models import Release
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, factory_client, operator_headers, provision, with_device
from tests.support import InProcessService, bearer, client_token, create_client
from tests.test_market_hub import count, stored_artifacts
from tests.test_vision_api import STATION

# What is read of a body does not depend on the database: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

MIB = 1024 * 1024
CHUNK = 256 * 1024
NODE_URL = "http://zj-textile.test"


class Streamed:
    """A request body made while it is sent: bytes as given, ints as that many filler bytes.
    `pulled` counts the bytes the server has asked for so far."""

    def __init__(self, *segments: bytes | int, filler: bytes = b"\0") -> None:
        self.segments = segments
        self.filler = filler * CHUNK
        self.pulled = 0

    def __len__(self) -> int:
        return self.length_of(*range(len(self.segments)))

    def length_of(self, *indexes: int) -> int:
        """The bytes in the segments at `indexes`."""
        return sum(s if isinstance(s, int) else len(s) for s in (self.segments[i] for i in indexes))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for segment in self.segments:
            if isinstance(segment, bytes):
                self.pulled += len(segment)
                yield segment
                continue
            left = segment
            while left:
                chunk = self.filler[: min(left, CHUNK)]
                left -= len(chunk)
                self.pulled += len(chunk)
                yield chunk


BOUNDARY = "yunfab-limits-test"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def multipart(fields: dict[str, str], files: list[tuple[str, int]]) -> Streamed:
    """Fields first (one chunk), then each file's part header and its bytes."""
    head = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ).encode()
    segments: list[bytes | int] = [head]
    for name, size in files:
        segments.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{name}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        )
        segments += [size, b"\r\n"]
    segments.append(f"--{BOUNDARY}--\r\n".encode())
    return Streamed(*segments)


async def post(
    client: httpx.AsyncClient,
    path: str,
    body: Streamed,
    headers: dict[str, str],
    *,
    declared: bool,
) -> httpx.Response:
    """POST `body` with its Content-Length (declared) or chunked, without one."""
    if declared:
        headers = {**headers, "content-length": str(len(body))}
    return await client.post(path, content=body, headers=headers)


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the app's temporary files go during the test."""
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def spooled(folder: Path) -> list[str]:
    """Temporary files in `folder`, listed or still open (an unlinked file is only an fd)."""
    files = [p.name for p in folder.iterdir()]
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            files.append(target)
    return files


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["error"]) == (status, code), response.text
    assert response.json()["detail"]


# --- the hub: market uploads and GraphQL -------------------------------------------------------


async def test_an_anonymous_market_upload_is_refused_before_it_is_read(
    hub: InProcessService, spool: Path
) -> None:
    for declared in (True, False):
        body = multipart({"manifest": "x", "key_id": "k"}, [("artifact", 300 * MIB)])
        response = await post(
            hub.client, "/api/v1/market/releases", body, MULTIPART, declared=declared
        )
        refused(response, 401, "token_missing")
        assert body.pulled == 0
    assert spooled(spool) == []


async def test_a_publishers_upload_over_the_cap_is_refused_unread_or_as_it_streams(
    hub_factory: HubFactory, spool: Path
) -> None:
    async with hub_factory(market_max_artifact_bytes=MIB) as hub:
        client_id, secret = await create_client(
            hub, org="Feilong Apps", org_kind="publisher", scopes=["market:publish"]
        )
        headers = {
            **MULTIPART,
            **bearer(await client_token(hub, client_id, secret, "market:publish")),
        }
        fields = {"manifest": "x", "key_id": "k"}
        declared = multipart(fields, [("artifact", 300 * MIB)])
        response = await post(
            hub.client, "/api/v1/market/releases", declared, headers, declared=True
        )
        refused(response, 413, "artifact_too_large")
        assert declared.pulled == 0
        chunked = multipart(fields, [("artifact", 300 * MIB)])
        response = await post(
            hub.client, "/api/v1/market/releases", chunked, headers, declared=False
        )
        refused(response, 413, "artifact_too_large")
        # The cap is the artifact limit plus room for the manifest and the form's framing.
        assert chunked.pulled <= 2 * MIB
        assert spooled(spool) == []
        assert stored_artifacts(hub) == []
        assert await count(hub, Release) == 0
        # A form that fits is read, and the release judged (this publisher is not verified yet).
        small = multipart(fields, [("artifact", 1000)])
        response = await post(hub.client, "/api/v1/market/releases", small, headers, declared=True)
        refused(response, 403, "publisher_not_verified")
        assert small.pulled == len(small)


async def test_an_oversized_graphql_body_is_refused_with_413(hub: InProcessService) -> None:
    query = b'{"query": "{ __typename }", "padding": "'
    declared = Streamed(query, 100 * MIB, b'"}', filler=b" ")
    response = await post(
        hub.client, "/graphql", declared, {"content-type": "application/json"}, declared=True
    )
    refused(response, 413, "payload_too_large")
    assert declared.pulled == 0
    chunked = Streamed(query, 100 * MIB, b'"}', filler=b" ")
    response = await post(
        hub.client, "/graphql", chunked, {"content-type": "application/json"}, declared=False
    )
    refused(response, 413, "payload_too_large")
    assert chunked.pulled <= MIB + CHUNK
    # A body under the cap is still served.
    fits = Streamed(query, 100_000, b'"}', filler=b" ")
    response = await post(
        hub.client, "/graphql", fits, {"content-type": "application/json"}, declared=False
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"__typename": "Query"}


async def test_every_other_route_has_a_cap_too(hub_factory: HubFactory) -> None:
    async with hub_factory(max_body_bytes=64 * 1024) as hub:
        form = {"content-type": "application/x-www-form-urlencoded"}
        for declared in (True, False):
            # A form FastAPI parses before the route runs: its parse error is still a 413.
            body = Streamed(b"grant_type=client_credentials&scope=", MIB, filler=b"a")
            response = await post(hub.client, "/oauth/token", body, form, declared=declared)
            refused(response, 413, "payload_too_large")
            assert body.pulled <= (64 * 1024 + CHUNK if not declared else 0)


# --- the node: vision uploads, telemetry -------------------------------------------------------


async def test_vision_uploads_are_read_only_from_who_may_send_them_and_within_the_cap(
    hub_factory: HubFactory, node_factory: NodeFactory, spool: Path
) -> None:
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, vision_max_upload_mb=1, vision_max_image_mb=1) as node,
    ):
        operator = await operator_headers(hub, NODE_URL)
        client_id, secret, org = await factory_client(hub, "Mill One")
        factory = await active_factory(node.client, operator, organization_id=org)
        staff = bearer(await client_token(hub, client_id, secret, "factories:write", NODE_URL))
        other_id, other_secret, other_org = await factory_client(hub, "Mill Two")
        await active_factory(node.client, operator, organization_id=other_org)
        stranger = bearer(
            await client_token(hub, other_id, other_secret, "factories:write", NODE_URL)
        )
        station = (
            await node.graphql(
                STATION,
                {"input": {"factoryId": factory["id"], "slug": "exit", "name": "Exit"}},
                headers=staff,
            )
        )["createStation"]
        training = {"factory_id": factory["id"], "sku": "bracket"}
        uploads = [
            ("/api/v1/vision/models", training, "good"),
            (f"/api/v1/stations/{station['id']}/inspections", {}, "image"),
            (
                f"/api/v1/stations/{station['id']}/clips",
                {"started_at": "2026-01-01T00:00Z"},
                "video",
            ),
        ]
        for path, fields, name in uploads:
            # Anonymous (the 760 MB): 401, and nothing read.
            for declared in (True, False):
                body = multipart(fields, [(name, 760 * MIB)])
                response = await post(node.client, path, body, MULTIPART, declared=declared)
                refused(response, 401, "token_missing")
                assert body.pulled == 0, path
            # Signed in, but of another factory: refused before any file byte is kept, as if the
            # factory or station were not there (they may not see it). A station's upload is
            # judged by the station in its path, unread; a training set by its factory_id, read
            # up to the first file's part header.
            body = multipart(fields, [(name, 760 * MIB)])
            prelude = body.length_of(0, 1) if name == "good" else 0
            response = await post(node.client, path, body, {**MULTIPART, **stranger}, declared=True)
            refused(response, 404, "factory_not_found" if name == "good" else "station_not_found")
            assert body.pulled == prelude, path
            # The factory's own staff, over the cap: 413, unread or stopped as it streams.
            headers = {**MULTIPART, **staff}
            body = multipart(fields, [(name, 760 * MIB)])
            response = await post(node.client, path, body, headers, declared=True)
            refused(response, 413, "payload_too_large")
            assert body.pulled == prelude, path
            if name != "video":  # a clip's cap is the clip limit (200 MB): not streamed here
                body = multipart(fields, [(name, 760 * MIB)])
                response = await post(node.client, path, body, headers, declared=False)
                refused(response, 413, "payload_too_large")
                assert body.pulled <= 2 * MIB, path
        assert spooled(spool) == []
        # Fields after the files: the caller cannot be checked before the files, so nothing is.
        late = multipart({}, [("good", 100_000)])
        late.segments = (*late.segments[:-1], *multipart(training, []).segments)
        response = await post(node.client, "/api/v1/vision/models", late, {**MULTIPART, **staff},
                              declared=True)  # fmt: skip
        refused(response, 422, "invalid_input")
        assert "factory_id" in response.json()["detail"]
        assert late.pulled < 100_000
        # An unknown station is answered before its upload is read.
        body = multipart({}, [("image", 100_000)])
        response = await post(node.client, f"/api/v1/stations/{uuid.uuid4()}/inspections", body,
                              {**MULTIPART, **staff}, declared=True)  # fmt: skip
        refused(response, 404, "station_not_found")
        assert body.pulled == 0


async def test_a_chunked_telemetry_body_over_the_cap_is_stopped_with_413(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, telemetry_max_body_bytes=64 * 1024) as node,
    ):
        _, _, device = await with_device(hub, node, NODE_URL)
        credentials = base64.b64encode(f"{device['username']}:{device['password']}".encode())
        headers = {"content-type": "application/json"}
        signed = {**headers, "authorization": f"Basic {credentials.decode()}"}
        for who, declared, status, code, most in (
            (headers, False, 401, "device_auth_failed", 0),
            (signed, True, 413, "payload_too_large", 0),
            (signed, False, 413, "payload_too_large", 64 * 1024 + CHUNK),
        ):
            body = Streamed(b'{"devices": {}, "padding": "', 100 * MIB, b'"}', filler=b" ")
            response = await post(node.client, "/api/v1/telemetry", body, who, declared=declared)
            refused(response, status, code)
            assert body.pulled <= most
        # The node goes on taking batches under the cap.
        reading = {"ts": 1_700_000_000_000, "metrics": {"clamp_force_kn": 800}}
        batch = {"devices": {device["username"]: {"readings": [reading]}}}
        response = await node.client.post(
            "/api/v1/telemetry", json=batch, auth=(device["username"], device["password"])
        )
        assert response.status_code == 200, response.text


# --- item 7: the telemetry login throttle ------------------------------------------------------


async def test_one_devices_bad_logins_do_not_lock_out_another_behind_the_same_address(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)
        other = await provision(node.client, operator, factory["id"])

        async def send(key: str, secret: str) -> httpx.Response:
            reading = {"ts": 1_700_000_000_000, "metrics": {"clamp_force_kn": 800}}
            return await node.client.post(
                "/api/v1/telemetry",
                json={"devices": {key: {"readings": [reading]}}},
                auth=(key, secret),
            )

        for _ in range(20):
            refused(await send(device["username"], "guess"), 401, "device_auth_failed")
        # That device is locked out at this address, even with its right secret ...
        refused(await send(device["username"], device["password"]), 429, "rate_limited")
        # ... the other device behind the same address is not.
        answer = await send(other["username"], other["password"])
        assert answer.status_code == 200, answer.text
        # A guesser trying many keys from one address is still stopped, for every key but
        # those at work there (`other` logged in above: see the next test).
        for i in range(180):
            refused(await send(f"guess-{i}", "guess"), 401, "device_auth_failed")
        unseen = await provision(node.client, operator, factory["id"])
        refused(await send(unseen["username"], unseen["password"]), 429, "rate_limited")


async def test_keys_sprayed_from_a_nat_address_do_not_lock_out_a_device_at_work_there(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    """The review of #15 item 7: 200 bad logins with any keys from one NAT address locked every
    device behind it out. A device that logged in from that address lately goes on, held to
    its own count only; a key not seen there is refused."""
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator, factory, device = await with_device(hub, node, NODE_URL)

        async def send(key: str, secret: str) -> httpx.Response:
            reading = {"ts": 1_700_000_000_000, "metrics": {"clamp_force_kn": 800}}
            return await node.client.post(
                "/api/v1/telemetry",
                json={"devices": {key: {"readings": [reading]}}},
                auth=(key, secret),
            )

        first = await send(device["username"], device["password"])
        assert first.status_code == 200, first.text
        statuses = [
            (await send(f"guess-{i}-" + "k" * 200, "guess")).status_code for i in range(250)
        ]
        assert statuses == [401] * 200 + [429] * 50
        again = await send(device["username"], device["password"])
        assert again.status_code == 200, again.text
        unknown = await provision(node.client, operator, factory["id"])
        refused(await send(unknown["username"], unknown["password"]), 429, "rate_limited")
        refused(await send("never-seen", "guess"), 429, "rate_limited")
