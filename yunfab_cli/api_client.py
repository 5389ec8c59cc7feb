"""A small GraphQL-over-HTTP client for the command line: which server (`hub_target`,
`node_target`), with which token (`yunfab_cli.credentials.bearer_for`), and every failure as one
line with the error's code, what to do, and the documented exit code.

    data = graphql(node_target("zj-textile"), "{ factories { edges { node { slug } } } }")
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import typer

from yunfab.console import (
    EXIT_AUTH,
    EXIT_ERROR,
    EXIT_NOT_FOUND,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CommandError,
    error_exit_code,
)
from yunfab_cli.credentials import (
    NODE_AUDIENCE_ENV,
    NODE_URL_ENV,
    TIMEOUT_S,
    Target,
    bearer_for,
    hub_url,
    normalize,
)

MAX_PAGE = 100
"""Items asked for per page when paging through a connection."""


class ApiError(CommandError):
    """A GraphQL error from the server, with its `extensions.code`."""

    def __init__(self, message: str, exit_code: int, code: str) -> None:
        super().__init__(message, exit_code)
        self.code = code


_HINTS = {
    EXIT_AUTH: "sign in with `yunfab login`, or check YUNFAB_TOKEN / the client's scopes",
    EXIT_NOT_FOUND: "check the name or id (`list` shows what you may see)",
}


def hub_target(hub: str | None = None) -> Target:
    """The hub: --hub, else YUNFAB_HUB_URL, else the hub last signed in to."""
    return Target.hub(hub_url(hub))


def node_target(
    node: str | None = None,
    *,
    hub: str | None = None,
    token: str | None = None,
    audience: str | None = None,
) -> Target:
    """A node by URL or by its registered name (looked up at the hub, which needs nodes:read)."""
    chosen = node or os.environ.get(NODE_URL_ENV)
    audience = audience or os.environ.get(NODE_AUDIENCE_ENV)
    if not chosen:
        raise CommandError(f"which node? give --node URL|NAME or set {NODE_URL_ENV}", EXIT_USAGE)
    try:
        issuer: str | None = hub_url(hub)
    except CommandError:
        issuer = None
    if "://" in chosen:
        return Target.node(chosen, issuer, audience)
    if issuer is None:
        raise CommandError(
            f"node {chosen!r} is a name: give its URL, or --hub so the hub can look it up",
            EXIT_USAGE,
        )
    found = graphql(
        Target.hub(issuer),
        "query($name: String!) { regionalNode(name: $name) { name baseUrl } }",
        {"name": chosen},
        token=token,
    )["regionalNode"]
    if found is None:
        raise CommandError(
            f"no node named {chosen!r} at {issuer}: check the name, or give the node's URL",
            EXIT_NOT_FOUND,
        )
    if not found.get("baseUrl"):
        raise CommandError(
            f"the hub does not tell you where node {chosen!r} is (nodes:read): give its URL",
            EXIT_AUTH,
        )
    return Target.node(str(found["baseUrl"]), issuer, audience)


def graphql(
    target: Target,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    scope: str | None = None,
) -> dict[str, Any]:
    """Run one operation at `target` and return its `data`; raises `CommandError` with one line
    and an exit code. Errors on nested fields (a field one may not see) are warned about on
    stderr and their fields left null; an error on a top-level field fails the call."""
    bearer = bearer_for(target, token=token, scope=scope)
    try:
        with httpx.Client(timeout=TIMEOUT_S) as client:
            response = client.post(
                f"{target.url}/graphql",
                json={"query": query, "variables": variables or {}},
                headers={"authorization": f"Bearer {bearer}", "accept": "application/json"},
            )
    except httpx.TransportError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        option = "--hub / YUNFAB_HUB_URL" if target.kind == "hub" else "--node / YUNFAB_NODE_URL"
        raise CommandError(
            f"cannot reach the {target.kind} at {target.url}: {reason}: check {option} and "
            "that it runs",
            EXIT_UNREACHABLE,
        ) from exc
    return _data(target, response)


def _data(target: Target, response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise CommandError(
            f"the {target.kind} at {target.url} answered HTTP {response.status_code} without "
            "GraphQL: is that its URL?",
            EXIT_ERROR,
        )
    if response.status_code in (401, 403) and "errors" not in body:
        code = str(body.get("error", "unauthenticated"))
        raise CommandError(
            f"{code}: {body.get('detail', 'the token was refused')}: {_HINTS[EXIT_AUTH]}",
            EXIT_AUTH,
        )
    errors = body.get("errors") or []
    data = body.get("data")
    fatal = [e for e in errors if not isinstance(e, dict) or len(e.get("path") or []) <= 1]
    if fatal or not isinstance(data, dict):
        first = (fatal or errors or [{}])[0]
        if not isinstance(first, dict):
            first = {"message": str(first)}
        code = str((first.get("extensions") or {}).get("code", f"HTTP_{response.status_code}"))
        exit_code = error_exit_code(code)
        hint = _HINTS.get(exit_code)
        if code == "GRAPHQL_VALIDATION_FAILED":
            hint = "this server may run another version of Yunfab than this command line"
        message = f"{code}: {first.get('message', 'failed')}"
        raise ApiError(f"{message}: {hint}" if hint else message, exit_code, code)
    for error in errors:
        path = ".".join(str(part) for part in error.get("path") or [])
        code = (error.get("extensions") or {}).get("code", "ERROR")
        typer.echo(f"yunfab: warning: {path}: {code}: {error.get('message')}", err=True)
    return data


def paginate(
    target: Target,
    query: str,
    variables: dict[str, Any],
    path: tuple[str, ...],
    *,
    limit: int | None,
    token: str | None = None,
) -> Iterator[dict[str, Any]]:
    """The nodes of a Relay connection at `path` in the answer, page after page, until `limit`
    (None: all of them). The query takes `$first: Int!` and `$after: String`."""
    after: str | None = None
    given = 0
    while limit is None or given < limit:
        first = MAX_PAGE if limit is None else min(MAX_PAGE, limit - given)
        data: Any = graphql(
            target, query, {**variables, "first": first, "after": after}, token=token
        )
        for key in path:
            data = data[key] if isinstance(data, dict) else None
        if not isinstance(data, dict):
            return
        for edge in data.get("edges") or []:
            yield edge["node"]
            given += 1
            if limit is not None and given >= limit:
                return
        page = data.get("pageInfo") or {}
        if not page.get("hasNextPage") or not page.get("endCursor"):
            return
        after = str(page["endCursor"])


__all__ = [
    "ApiError",
    "Target",
    "graphql",
    "hub_target",
    "node_target",
    "normalize",
    "paginate",
    "bearer_for",
]
