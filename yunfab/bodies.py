"""Request bodies are read only as far as a limit, and only once the caller is known.

Two places enforce it. `BodyLimits`, a plain ASGI middleware in each app, gives every route a cap
before anything reads the body: it refuses a declared `Content-Length` above the cap with 413
without reading a byte, and stops a chunked body with 413 once it passes the cap. Routes that take
big bodies (market artifacts, vision uploads, telemetry batches) are listed with their own cap and
`checked_by_route`: the middleware then leaves the `Content-Length` check to the route, which
authenticates and authorizes from the headers first (an anonymous 300 MB upload gets its 401
unread), calls `check_declared`, and reads with `read_body` or `multipart_form`, which count what
they read against the same cap.

A multipart form is parsed here rather than by Starlette so that the caller can be authorized
from the form's leading fields (a factory id) before a byte of any file is stored, and so that
the whole body, not only each text field, is bounded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile
from typing import TYPE_CHECKING

import python_multipart
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yunfab.errors import InvalidInput, YunfabError

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

KIB = 1024
MIB = 1024 * KIB
SPOOL_BYTES = 1 * MIB
"""An uploaded file stays in memory up to this size, then moves to a temporary file."""
FORM_OVERHEAD = 64 * KIB
"""What a multipart body adds around its files (boundaries, part headers, small fields)."""


class PayloadTooLarge(YunfabError):
    code = "payload_too_large"
    status_code = 413


TooLarge = type[YunfabError]
"""The error a route raises for a body over its cap (413; a domain may keep its own code)."""


@dataclass(frozen=True)
class BodyLimit:
    """The largest body a route accepts. `path` is a route template
    (`/api/v1/stations/{station_id}/inspections`)."""

    path: str
    max_bytes: int
    checked_by_route: bool = False
    """The route authenticates from the headers first and then calls `check_declared` itself,
    so an anonymous caller is told 401, not 413; the middleware still stops the stream."""
    error: TooLarge = PayloadTooLarge

    def refusal(self) -> YunfabError:
        return self.error(f"request bodies here are at most {self.max_bytes} bytes")


def declared_length(headers: Headers) -> int | None:
    """The body size the client announced, or None (chunked, or no body)."""
    value = headers.get("content-length")
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit():
        raise InvalidInput("Content-Length: not a number of bytes")
    return int(value)


def check_declared(request: Request, limit: BodyLimit) -> None:
    """Refuse, unread, a body whose Content-Length is over the cap (a route calls this after it
    has authorized the caller)."""
    declared = declared_length(request.headers)
    if declared is not None and declared > limit.max_bytes:
        raise limit.refusal()


async def capped_stream(request: Request, limit: BodyLimit) -> AsyncIterator[bytes]:
    """The body's chunks, stopped with the limit's error once they add up past the cap."""
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit.max_bytes:
            raise limit.refusal()
        if chunk:
            yield chunk


async def read_body(request: Request, limit: BodyLimit) -> bytes:
    """The whole body, refused with 413 by Content-Length or once it grows past the cap."""
    check_declared(request, limit)
    return b"".join([chunk async for chunk in capped_stream(request, limit)])


class BodyLimits:
    """Plain ASGI middleware: each request's body is capped before any route reads it."""

    def __init__(
        self, app: ASGIApp, *, default_max_bytes: int, routes: Sequence[BodyLimit] = ()
    ) -> None:
        self.app = app
        self.default = BodyLimit(path="", max_bytes=default_max_bytes)
        self.routes = [(compile_path(limit.path)[0], limit) for limit in routes]

    def limit_for(self, scope: Scope) -> BodyLimit:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        for pattern, limit in self.routes:
            if pattern.match(path):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        try:
            declared = declared_length(Headers(scope=scope))
        except InvalidInput as exc:
            await _refuse(exc, send, scope)
            return
        if not limit.checked_by_route and declared is not None and declared > limit.max_bytes:
            await _refuse(limit.refusal(), send, scope)
            return
        state = _Stream(limit)

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state.seen += len(message.get("body", b""))
                if state.seen > limit.max_bytes:
                    state.tripped = True
                    raise limit.refusal()
            return message

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The route (or a framework under it) may have turned the refusal into another
                # answer, such as a 400 for a body it could not parse: the caller gets the 413.
                if state.tripped and message["status"] != 413:
                    state.replaced = True
                    await _refuse(limit.refusal(), send, scope)
                    return
                state.started = True
            elif state.replaced:
                return
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not state.tripped or state.started or state.replaced:
                raise
            await _refuse(limit.refusal(), send, scope)


@dataclass
class _Stream:
    limit: BodyLimit
    seen: int = 0
    tripped: bool = False
    started: bool = False
    replaced: bool = False


async def _refuse(error: YunfabError, send: Send, scope: Scope) -> None:
    # No `Connection: close`: closing at once would reset a client still sending, and it would
    # never see this answer. The server drops the rest of the body as it arrives, unbuffered.
    response = JSONResponse(error.to_body(), status_code=error.status_code)
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


# --- multipart forms ---------------------------------------------------------------------------


@dataclass
class _Part:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    name: str = ""
    data: bytearray = field(default_factory=bytearray)
    upload: UploadFile | None = None


BeforeFiles = Callable[[FormData], Awaitable[None]]


class _MultipartReader:
    """Turns python-multipart's callbacks into form items; file bytes wait in `pending` until
    the caller has been authorized, then go to spooled files."""

    def __init__(self, *, max_files: int, max_fields: int, max_field_bytes: int) -> None:
        self.max_files = max_files
        self.max_fields = max_fields
        self.max_field_bytes = max_field_bytes
        self.items: list[tuple[str, str | UploadFile]] = []
        self.uploads: list[UploadFile] = []
        self.pending: list[tuple[UploadFile, bytes]] = []
        self.fields = 0
        self.ended = False
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_end": self.on_end,
        }

    def on_end(self) -> None:
        self.ended = True

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers.append((self.header_name.lower(), self.header_value))
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        disposition = dict(self.part.headers).get(b"content-disposition")
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            raise InvalidInput("multipart body: a part without a name")
        self.part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            if len(self.uploads) >= self.max_files:
                raise InvalidInput(f"multipart body: at most {self.max_files} files")
            upload = UploadFile(
                SpooledTemporaryFile(max_size=SPOOL_BYTES),  # type: ignore[arg-type]
                size=0,
                filename=options[b"filename"].decode("utf-8", "replace"),
                headers=Headers(raw=self.part.headers),
            )
            self.uploads.append(upload)
            self.part.upload = upload
        else:
            self.fields += 1
            if self.fields > self.max_fields:
                raise InvalidInput(f"multipart body: at most {self.max_fields} fields")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.upload is not None:
            self.pending.append((self.part.upload, data[start:end]))
            return
        self.part.data += data[start:end]
        if len(self.part.data) > self.max_field_bytes:
            raise InvalidInput(f"{self.part.name}: at most {self.max_field_bytes} bytes")

    def on_part_end(self) -> None:
        if self.part.upload is not None:
            self.items.append((self.part.name, self.part.upload))
            return
        try:
            self.items.append((self.part.name, self.part.data.decode()))
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{self.part.name}: not UTF-8 text") from exc

    def form_fields(self) -> FormData:
        return FormData([(k, v) for k, v in self.items if isinstance(v, str)])

    @property
    def saw_file(self) -> bool:
        return bool(self.uploads)


@asynccontextmanager
async def multipart_form(
    request: Request,
    limit: BodyLimit,
    *,
    max_files: int,
    max_fields: int = 32,
    max_field_bytes: int = 64 * KIB,
    before_files: BeforeFiles | None = None,
) -> AsyncIterator[FormData]:
    """Read a multipart/form-data body within `limit`; the files are closed (and their
    temporary files deleted) when the block ends.

    `before_files` is awaited with the text fields that precede the first file, before any of
    its bytes are kept (or with all fields when there is no file): it is where a route that
    learns what it authorizes from the form (a factory id) checks the caller. A client must then
    send those fields before the files, as browsers, curl and httpx do in the order given. The
    Content-Length is then checked after `before_files` (the stream is capped throughout).
    """
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise InvalidInput("send multipart/form-data")
    if before_files is None:
        check_declared(request, limit)
    reader = _MultipartReader(
        max_files=max_files, max_fields=max_fields, max_field_bytes=max_field_bytes
    )
    parser = python_multipart.MultipartParser(params[b"boundary"], reader.callbacks())
    checked = before_files is None
    try:
        async for chunk in capped_stream(request, limit):
            _feed(parser, chunk)
            if not checked and reader.saw_file:
                assert before_files is not None
                await before_files(reader.form_fields())
                # Only now: a caller who may not send this is told so, not that it is too big.
                check_declared(request, limit)
                checked = True
            for upload, data in reader.pending:
                await upload.write(data)
            reader.pending.clear()
        _finish(parser)
        if not reader.ended:
            raise InvalidInput("multipart body: it ends before its closing boundary")
        if not checked:
            assert before_files is not None
            await before_files(reader.form_fields())
        for upload in reader.uploads:
            await upload.seek(0)
        form = FormData(reader.items)
        yield form
    finally:
        reader.pending.clear()
        for upload in reader.uploads:
            await upload.close()


def _feed(parser: python_multipart.MultipartParser, chunk: bytes) -> None:
    try:
        parser.write(chunk)
    except MultipartParseError as exc:
        raise InvalidInput(f"multipart body: {exc}") from exc


def _finish(parser: python_multipart.MultipartParser) -> None:
    try:
        parser.finalize()
    except MultipartParseError as exc:
        raise InvalidInput(f"multipart body: {exc}") from exc
