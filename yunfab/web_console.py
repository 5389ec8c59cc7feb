"""The web console (`console/`, built into `console/dist`) served by the service at `/`.

The console is a single-page app: `index.html` and hashed files under `/assets/`. The service
answers `/` and any deep link (`/orders/SO-...`) with `index.html`, but only where no route of its
own answered: a request that reaches no route ends in a 404, and `install` turns that 404 into the
console for GET and HEAD outside the API's paths (`RESERVED`). So the console can never shadow an
API path, and a wrong API path still answers its JSON 404.

Caching: `index.html` is revalidated on every load (`no-cache`), so a new release is picked up at
once; the hashed assets never change under their names and are cached for a year (`immutable`).

The page signs in at the hub and calls this service's GraphQL API over HTTP and websockets; its
Content-Security-Policy allows exactly that: scripts, styles and images from this origin, calls
to this origin (http and ws) and to the hub (discovery and the token endpoint).

`GET /console/config.json` tells the page where all that is: the hub (`issuer`), the built-in
public client `yunfab-console`, its redirect URIs (this service's public URL, as registered for
that client), the token `resource` (this service's audience) and the GraphQL URLs.
"""

from __future__ import annotations

import html
import inspect
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

CLIENT_ID = "yunfab-console"
"""The hub's built-in public client for the console (hub/identity/builtin.py)."""
CALLBACK = "/auth/callback"
CONFIG_PATH = "/console/config.json"
REPOSITORY_DIST = Path(__file__).resolve().parent.parent / "console" / "dist"
"""Where `npm run build` leaves the console in a checkout of the repository."""

RESERVED = frozenset(
    {
        "graphql",
        "api",
        "docs",
        "redoc",
        "graphiql",
        "oauth",
        ".well-known",
        "health",
        "healthz",
        "readyz",
        "metrics",
        "web-assets",
        "console",
        "openapi.json",
    }
)
"""First path segments that belong to the service: never answered with the console."""

FILE_SUFFIXES = frozenset(
    {".js", ".mjs", ".css", ".map", ".json", ".txt", ".ico", ".png", ".svg", ".jpg", ".webp"}
    | {".woff", ".woff2", ".ttf", ".wasm"}
)
"""A missing path ending so is a missing file (404), not a deep link into the app."""

INDEX_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
ASSET_CACHE = "public, max-age=31536000, immutable"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _ws_origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"


@dataclass(frozen=True)
class ConsoleConfig:
    """What `/console/config.json` tells the page."""

    issuer: str
    public_url: str
    resource: str
    name: str
    service: str = "node"
    """`hub` or `node`: which service's pages the console shows."""
    client_id: str = CLIENT_ID

    @property
    def base(self) -> str:
        return self.public_url.rstrip("/")

    def as_json(self) -> dict[str, str]:
        return {
            "issuer": self.issuer.rstrip("/"),
            "clientId": self.client_id,
            "redirectUri": self.base + CALLBACK,
            "postLogoutRedirectUri": self.base + "/",
            "resource": self.resource,
            "graphqlUrl": self.base + "/graphql",
            "graphqlWsUrl": _ws_origin(self.base) + urlsplit(self.base).path + "/graphql",
            "nodeName": self.name,
            "service": self.service,
        }

    def content_security_policy(self, request: Request) -> str:
        """This origin (as requested and as public), its websockets, and the hub."""
        here = f"{request.url.scheme}://{request.url.netloc}"
        connect = dict.fromkeys(
            [
                "'self'",
                _ws_origin(here),
                _origin(self.base),
                _ws_origin(self.base),
                _origin(self.issuer),
            ]
        )
        return (
            "default-src 'self'; script-src 'self'; "
            # Ant Design writes its styles into <style> elements at run time.
            "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
            f"connect-src {' '.join(connect)}; worker-src 'self' blob:; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        )


def default_console_dir() -> Path | None:
    """The repository's `console/dist` when this package runs from a checkout that has one."""
    return REPOSITORY_DIST if REPOSITORY_DIST.is_dir() else None


def not_built_page(directory: Path | None) -> str:
    where = html.escape(str(directory)) if directory else "console/dist"
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Yunfab console not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<main>
<h1>The web console is not built</h1>
<p>This service serves the console from <code>{where}</code>, which has no
<code>index.html</code>. Build it with Node.js 20 or later:</p>
<pre>./scripts/bootstrap          # or, by hand:
cd console &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>or point the <code>..._CONSOLE_DIR</code> setting (e.g. <code>YUNFAB_NODE_CONSOLE_DIR</code>)
at a built console. The API is served as usual: <a href="/graphql">/graphql</a>,
<a href="/docs">/docs</a>.</p>
<h1 lang="zh-CN">Web 控制台尚未构建</h1>
<p lang="zh-CN">请安装 Node.js 20 或更高版本后运行 <code>./scripts/bootstrap</code>，
或在 <code>console/</code> 中运行 <code>npm ci &amp;&amp; npm run build</code>。</p>
</main>
</body>
</html>
"""


class WebConsole:
    """The built console of one service (`directory`, None: not built) and its settings."""

    def __init__(self, directory: Path | None, config: ConsoleConfig) -> None:
        self.directory = directory.resolve() if directory else None
        self.config = config

    def claims(self, path: str) -> bool:
        """Whether a path no route answered is the console's to answer."""
        first = path.lstrip("/").split("/", 1)[0]
        return first not in RESERVED

    def _file(self, path: str) -> Path | None:
        if self.directory is None:
            return None
        relative = PurePosixPath(path.lstrip("/"))
        if any(part in ("..", "") for part in relative.parts) or not relative.parts:
            return None
        candidate = (self.directory / relative).resolve()
        if self.directory not in candidate.parents or not candidate.is_file():
            return None
        return candidate

    def _index(self, request: Request) -> Response:
        index = self._file("index.html")
        headers = {
            **INDEX_HEADERS,
            "Content-Security-Policy": self.config.content_security_policy(request),
        }
        if index is None:
            return HTMLResponse(not_built_page(self.directory), status_code=503, headers=headers)
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=headers)

    def respond(self, request: Request) -> Response | None:
        """The console's answer to a GET no route took; None: a missing file (a real 404)."""
        path = request.url.path
        if path in ("/", "/index.html"):
            return self._index(request)
        found = self._file(path)
        if found is not None:
            hashed = path.startswith("/assets/")
            cache = ASSET_CACHE if hashed else "no-cache"
            return FileResponse(
                found, headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
            )
        if path.startswith("/assets/") or PurePosixPath(path).suffix.lower() in FILE_SUFFIXES:
            return None
        return self._index(request)

    def router(self) -> APIRouter:
        router = APIRouter(include_in_schema=False)

        async def config() -> JSONResponse:
            return JSONResponse(self.config.as_json(), headers={"Cache-Control": "no-cache"})

        router.add_api_route(CONFIG_PATH, config, methods=["GET"])
        return router

    def install(self, app: FastAPI) -> None:
        """Serve `/console/config.json`, and the console where no route answers (after
        `install_error_handlers`, whose 404 it falls back to)."""
        app.include_router(self.router())
        previous = app.exception_handlers.get(StarletteHTTPException)

        async def not_found(request: Request, exc: Exception) -> Any:
            assert isinstance(exc, StarletteHTTPException)
            if (
                exc.status_code == 404
                and request.method in ("GET", "HEAD")
                and self.claims(request.url.path)
            ):
                page = self.respond(request)
                if page is not None:
                    return page
            if previous is None:
                return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
            answer = previous(request, exc)
            return await answer if inspect.isawaitable(answer) else answer

        app.add_exception_handler(StarletteHTTPException, not_found)
