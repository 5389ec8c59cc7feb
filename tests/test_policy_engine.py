"""The policy engine denies by default and answers the same through both backends."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from yunfab.policy import EmbeddedEngine, OpaEngine, PolicyInput

CLIENT = {
    "kind": "client",
    "id": "c",
    "org": "o",
    "org_kind": "node_operator",
    "region": "CN-ZJ",
    "node": "zj-textile",
    "scopes": ["nodes:register", "orgs:read"],
    "roles": [],
}
ORGS = [
    {"id": "o", "kind": "factory"},
    {"id": "x", "kind": "factory"},
    {"id": "p", "kind": "publisher"},
]


class OpaDataApi(BaseHTTPRequestHandler):
    """OPA's REST data API (`POST /v1/data/<path>`), evaluated by regorus: OPA's server binary
    cannot be installed here, so the wire protocol is served by the other engine."""

    engine = EmbeddedEngine()

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.removeprefix("/v1/data/").replace("/", ".")
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        rule = path.rsplit(".", 1)[1]
        result = self.engine.evaluate(body["input"], rule)
        payload = json.dumps({} if result is None else {"result": result}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def opa_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), OpaDataApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(params=["embedded", "opa"])
def engine(request: pytest.FixtureRequest, opa_url: str) -> EmbeddedEngine | OpaEngine:
    return EmbeddedEngine() if request.param == "embedded" else OpaEngine(opa_url)


async def test_allows_what_a_policy_permits(engine: EmbeddedEngine | OpaEngine) -> None:
    request = PolicyInput(CLIENT, "hub.node.register", {"name": "zj-textile", "region": "CN-ZJ"})
    assert await engine.allows(request) is True


async def test_denies_by_default(engine: EmbeddedEngine | OpaEngine) -> None:
    assert await engine.allows(PolicyInput(CLIENT, "hub.no.such.action")) is False
    assert await engine.allows(PolicyInput({"kind": "anonymous"}, "hub.node.register")) is False


async def test_lists_are_decided_in_one_batch(engine: EmbeddedEngine | OpaEngine) -> None:
    request = PolicyInput(CLIENT, "hub.organization.read")
    assert await engine.allows_each(request, ORGS) == [True, False, True]
    assert await engine.allows_each(request, []) == []


async def test_an_unreachable_opa_denies() -> None:
    from yunfab.processes import free_port

    engine = OpaEngine(f"http://127.0.0.1:{free_port()}", timeout_s=0.5)
    request = PolicyInput(CLIENT, "hub.node.register", {"name": "zj-textile"})
    assert await engine.allows(request) is False
    assert (
        await engine.allows_each(PolicyInput(CLIENT, "hub.organization.read"), ORGS) == [False] * 3
    )


async def test_a_broken_policy_denies(tmp_path: Path) -> None:
    (tmp_path / "authz.rego").write_text(
        "package yunfab.authz\nimport rego.v1\nallow := 1 / input.zero\nallowed := 3\n"
    )
    engine = EmbeddedEngine(tmp_path)
    assert await engine.allows(PolicyInput(CLIENT, "x")) is False
    assert await engine.allows_each(PolicyInput(CLIENT, "x"), ORGS) == [False] * 3


def test_engines_are_per_thread() -> None:
    engine = EmbeddedEngine()
    request = PolicyInput(CLIENT, "hub.node.register", {"name": "zj-textile", "region": "CN-ZJ"})
    results: list[bool] = []

    def work() -> None:
        results.extend(engine.allows_sync(request) for _ in range(200))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 800
