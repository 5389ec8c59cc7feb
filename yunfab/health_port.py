"""A health port for processes that serve no HTTP API (`yunfab node worker`, `yunfab node
ingest`), so that their pods can be probed like the API's.

Two paths, each answered with JSON naming every check:

- `/healthz`: the process is alive (its event loop answers) and none of its engines' connections
  is broken for good; 503 otherwise. A liveness probe restarts the process on 503.
- `/readyz`: every connection is up right now and the process is doing its work (not stopping);
  503 otherwise. A readiness probe marks the pod not ready meanwhile.

A check is an async callable returning True when it passes; one that raises or takes longer
than `check_timeout_s` fails. The server reads one request line per connection, at most
`MAX_REQUEST_BYTES`, and answers only GET and HEAD.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping

import orjson
import structlog

log = structlog.get_logger(__name__)

Check = Callable[[], Awaitable[bool]]
MAX_REQUEST_BYTES = 8 * 1024
READ_TIMEOUT_S = 5.0


class HealthPort:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        live: Mapping[str, Check],
        ready: Mapping[str, Check],
        check_timeout_s: float = 3.0,
    ) -> None:
        self.host = host
        self.port = port
        self.live = dict(live)
        self.ready = dict(ready)
        self.check_timeout_s = check_timeout_s
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, limit=MAX_REQUEST_BYTES
        )
        log.info("health_port_listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _run(self, checks: Mapping[str, Check]) -> dict[str, bool]:
        async def one(check: Check) -> bool:
            try:
                return bool(await asyncio.wait_for(check(), self.check_timeout_s))
            except Exception:
                return False

        results = await asyncio.gather(*(one(check) for check in checks.values()))
        return dict(zip(checks, results, strict=True))

    async def answer(self, path: str) -> tuple[int, dict[str, object]]:
        """Status and body for `path` (also what the tests of a process see over HTTP)."""
        if path == "/healthz":
            checks = await self._run(self.live)
        elif path == "/readyz":
            checks = await self._run({**self.live, **self.ready})
        else:
            return 404, {"error": "not_found", "detail": "GET /healthz or /readyz"}
        ok = all(checks.values())
        return (200 if ok else 503), {"status": "ok" if ok else "failing", "checks": checks}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
            except (asyncio.LimitOverrunError, asyncio.IncompleteReadError, TimeoutError):
                await self._write(writer, 400, {"error": "bad_request", "detail": "no request"})
                return
            parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            if len(parts) != 3 or parts[0] not in ("GET", "HEAD"):
                await self._write(writer, 405, {"error": "method", "detail": "GET or HEAD"})
                return
            status, body = await self.answer(parts[1].split("?", 1)[0])
            await self._write(writer, status, body, head_only=parts[0] == "HEAD")
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _write(
        writer: asyncio.StreamWriter,
        status: int,
        body: dict[str, object],
        *,
        head_only: bool = False,
    ) -> None:
        payload = orjson.dumps(body)
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
        lines = [
            f"HTTP/1.1 {status} {reason.get(status, 'Service Unavailable')}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            "Connection: close",
            "",
            "",
        ]
        writer.write("\r\n".join(lines).encode("latin-1") + (b"" if head_only else payload))
        await writer.drain()
