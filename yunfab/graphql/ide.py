"""GraphiQL and Swagger UI from files inside the package: nothing from a CDN or npm at run time.

Plant networks are often offline, and a page that pulls scripts from a CDN both breaks there and
trusts a third party with the tokens it holds. The browser files are vendored, unmodified, by
`scripts/vendor-web-assets` (pinned versions, checked integrity) into `static/vendor/`; our own
glue, `static/graphiql.js`, signs in through the hub (authorization code with PKCE, as the
public client `yunfab-graphiql`) and sends the token itself: a header on queries, the
`connection_init` payload on subscriptions. The page has no inline script, so its
Content-Security-Policy allows scripts from this origin only.

GraphiQL is served (setting `graphiql`, on by default) at `/graphiql`, at its sign-in callback
`/graphiql/callback`, and to a browser opening `/graphql`. It is a public client and sends the
signed-in person's own token: what it may see is what that person may, and introspection is
the `graphql_introspection` setting's to allow.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
ASSETS = "/web-assets"
"""Where the package's browser files are served."""
CLIENT_ID = "yunfab-graphiql"
CALLBACK = "/graphiql/callback"

GRAPHIQL = "vendor/graphiql-3.8.3"
REACT = "vendor/react-18.3.1/umd/react.production.min.js"
REACT_DOM = "vendor/react-dom-18.3.1/umd/react-dom.production.min.js"
GRAPHQL_WS = "vendor/graphql-ws-5.16.2/umd/graphql-ws.min.js"
SWAGGER = "vendor/swagger-ui-dist-5.31.0"


@dataclass(frozen=True)
class SignIn:
    """Where GraphiQL on this service signs in: the hub's `issuer`, this service's public URL
    (the redirect URI's base, as registered for the built-in client) and, on a node, the
    `resource` its tokens must be for (RFC 8707)."""

    issuer: str
    public_url: str
    resource: str | None = None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(sign_in: SignIn | None) -> str:
    """Scripts, styles and fonts from this origin only; calls to it and to the hub's token
    endpoint (another origin when a node serves the page)."""
    connect = "'self'" + (f" {_origin(sign_in.issuer)}" if sign_in else "")
    return (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:; font-src 'self' data:; connect-src {connect}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def graphiql_page(sign_in: SignIn | None, title: str) -> str:
    """The page; its settings travel in data attributes, read by `graphiql.js`."""
    data = {"endpoint": "/graphql", "client-id": CLIENT_ID}
    if sign_in is not None:
        data["issuer"] = sign_in.issuer.rstrip("/")
        data["redirect-uri"] = sign_in.public_url.rstrip("/") + CALLBACK
        if sign_in.resource:
            data["resource"] = sign_in.resource
    attributes = " ".join(f'data-{key}="{html.escape(value)}"' for key, value in data.items())
    scripts = (REACT, REACT_DOM, f"{GRAPHIQL}/graphiql.min.js", GRAPHQL_WS, "graphiql.js")
    tags = "\n".join(f'<script src="{ASSETS}/{path}"></script>' for path in scripts)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL · {html.escape(title)}</title>
<link rel="stylesheet" href="{ASSETS}/{GRAPHIQL}/graphiql.min.css">
<link rel="stylesheet" href="{ASSETS}/graphiql.css">
</head>
<body>
<header id="yunfab-bar"><strong>{html.escape(title)}</strong>
<span id="yunfab-who">Not signed in</span>
<button id="yunfab-sign-in" type="button" hidden>Sign in</button>
<button id="yunfab-sign-out" type="button" hidden>Sign out</button></header>
<main id="graphiql" {attributes}>Loading GraphiQL…</main>
{tags}
</body>
</html>
"""


class GraphiQL:
    """The GraphiQL page of one service, with the headers it is served with."""

    def __init__(self, sign_in: SignIn | None, title: str) -> None:
        self.page = graphiql_page(sign_in, title)
        self.headers = {
            "Content-Security-Policy": content_security_policy(sign_in),
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        }

    def response(self) -> HTMLResponse:
        return HTMLResponse(self.page, headers=self.headers)


def mount_assets(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=STATIC_DIR), name="web-assets")


def graphiql_router(ide: GraphiQL) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def page() -> HTMLResponse:
        return ide.response()

    router.add_api_route("/graphiql", page, methods=["GET"])
    router.add_api_route(CALLBACK, page, methods=["GET"])
    return router


def docs_router(app: FastAPI) -> APIRouter:
    """Swagger UI at `/docs` from the vendored files (FastAPI's own points at a CDN)."""
    router = APIRouter(include_in_schema=False)

    async def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/{SWAGGER}/favicon-32x32.png",
        )

    router.add_api_route("/docs", docs, methods=["GET"])
    return router
