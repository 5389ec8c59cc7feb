"""One error base type with stable codes, and the one handler that renders it.

A domain subclasses `YunfabError` and sets `code` and `status_code`; REST endpoints render it as
`{"error": code, "detail": message}` and GraphQL puts the code in `extensions.code`. Codes are part
of the public API: clients branch on them, so they never change once released.
"""

from __future__ import annotations

from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class YunfabError(Exception):
    """Base of every expected failure; `code` is stable, `detail` is for people."""

    code: ClassVar[str] = "internal_error"
    status_code: ClassVar[int] = 500

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def to_body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


class InvalidInput(YunfabError):
    code = "invalid_input"
    status_code = 422


class NotFound(YunfabError):
    code = "not_found"
    status_code = 404


class Conflict(YunfabError):
    code = "conflict"
    status_code = 409


class Unauthenticated(YunfabError):
    code = "unauthenticated"
    status_code = 401


class Forbidden(YunfabError):
    code = "forbidden"
    status_code = 403


class ServiceUnavailable(YunfabError):
    code = "service_unavailable"
    status_code = 503


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}


def install_error_handlers(app: FastAPI) -> None:
    """Render every failure as `{"error": code, "detail": message}`; never leak a traceback."""

    async def on_yunfab_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, YunfabError)
        if exc.status_code >= 500:
            log.error("request_failed", code=exc.code, detail=exc.detail)
        headers = None
        if exc.status_code == 429 and "retry_after_s" in exc.extra:
            headers = {"Retry-After": str(exc.extra["retry_after_s"])}
        if exc.status_code == 401:
            # RFC 6750: say what kind of credentials are wanted and why these failed.
            headers = {
                "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{exc.code}"'
            }
        return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "msg": str(error.get("msg", "")),
            }
            for error in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(p['loc'])}: {p['msg']}" for p in problems)
        return JSONResponse(
            {"error": "invalid_input", "detail": detail, "problems": problems}, status_code=422
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": code, "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return JSONResponse(
            {"error": "internal_error", "detail": "internal server error"}, status_code=500
        )

    app.add_exception_handler(YunfabError, on_yunfab_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
