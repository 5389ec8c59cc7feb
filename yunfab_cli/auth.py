"""`yunfab login|logout|token|whoami`: sign in to a hub as a person, as gh and flwr do.

`login` opens the hub's sign-in page in a browser and takes the answer on a one-shot HTTP server
on 127.0.0.1 (an RFC 8252 loopback redirect, any free port), with PKCE (S256) and a state that
must come back unchanged; the code is exchanged at the hub's token endpoint for an access token
and a refresh token, stored in the credentials file (`yunfab_cli.credentials`). `--with-token` takes
a token on stdin instead. `token` prints a valid token for scripts; `logout` revokes and forgets.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import sys
import threading
import time
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import typer

from yunfab.console import EXIT_AUTH, EXIT_ERROR, EXIT_UNREACHABLE, EXIT_USAGE, CommandError
from yunfab.output import FormatOption, chosen, print_one
from yunfab_cli.api_client import graphql, hub_target, node_target
from yunfab_cli.credentials import (
    CLI_CLIENT_ID,
    LOGIN_SCOPES,
    TIMEOUT_S,
    Target,
    bearer_for,
    credentials_path,
    forget_session,
    hub_url,
    normalize,
    remember_tokens,
    session_for,
    store_session,
    token_claims,
    token_request,
)

HubOption = Annotated[
    str | None,
    typer.Option("--hub", help="The hub's URL (env YUNFAB_HUB_URL; default: the signed-in hub)."),
]

_DONE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Yunfab</title>
</head><body style="font-family:system-ui,sans-serif;max-width:30rem;margin:4rem auto">
<h1>{title}</h1><p>{text}</p></body></html>"""


def discovery(hub: str) -> dict[str, Any]:
    """The hub's OpenID configuration: where to sign in, exchange, revoke."""
    try:
        response = httpx.get(f"{hub}/.well-known/openid-configuration", timeout=TIMEOUT_S)
    except httpx.TransportError as exc:
        raise CommandError(
            f"cannot reach the hub at {hub}: {exc}: check --hub and that it runs",
            EXIT_UNREACHABLE,
        ) from exc
    if response.status_code != 200:
        raise CommandError(
            f"{hub} has no OpenID configuration (HTTP {response.status_code}): is it a hub?",
            EXIT_ERROR,
        )
    config: dict[str, Any] = response.json()
    return config


class _Callback:
    """The one-shot loopback server: binds before the browser opens, takes one redirect that
    carries a code or an error, and stops."""

    def __init__(self, port: int) -> None:
        self.result: dict[str, str] = {}
        self.got = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/callback":
                    self.send_error(404)
                    return
                values = {k: v[0] for k, v in parse_qs(url.query).items()}
                ok = "code" in values
                title = "Signed in" if ok else "Not signed in"
                text = (
                    "You can close this tab and go back to the terminal."
                    if ok
                    else html.escape(values.get("error_description") or values.get("error", ""))
                )
                page = _DONE_PAGE.format(title=title, text=text).encode()
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                outer.result = values
                outer.got.set()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the terminal is the user's."""

        try:
            self.server = HTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise CommandError(
                f"cannot listen on 127.0.0.1:{port} for the sign-in: {exc.strerror}", EXIT_USAGE
            ) from exc
        self.server.timeout = 0.5
        self.port = int(self.server.server_address[1])

    def wait(self, timeout_s: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout_s
        try:
            while not self.got.is_set():
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"no sign-in within {timeout_s:.0f} s: run `yunfab login` again",
                        EXIT_AUTH,
                    )
                self.server.handle_request()
        finally:
            self.server.server_close()
        return self.result


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _browser_login(
    hub: str, config: dict[str, Any], client_id: str, port: int, browser: bool, timeout_s: float
) -> dict[str, Any]:
    callback = _Callback(port)
    redirect = f"http://127.0.0.1:{callback.port}/callback"
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(24)
    supported = set(config.get("scopes_supported") or LOGIN_SCOPES.split())
    scope = " ".join(s for s in LOGIN_SCOPES.split() if s in supported)
    authorize = str(config.get("authorization_endpoint") or f"{hub}/oauth/authorize")
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect,
             "scope": scope, "state": state, "code_challenge": challenge,
             "code_challenge_method": "S256"}  # fmt: skip
    url = f"{authorize}?{urlencode(query)}"
    opened = browser and webbrowser.open(url)
    typer.echo(
        f"{'Opened' if opened else 'Open'} this page to sign in to {hub}:\n  {url}", err=True
    )
    answer = callback.wait(timeout_s)
    if not secrets.compare_digest(answer.get("state", ""), state):
        raise CommandError(
            "the sign-in answer had the wrong state: run `yunfab login` again", EXIT_AUTH
        )
    if "code" not in answer:
        reason = answer.get("error_description") or answer.get("error") or "no code"
        raise CommandError(f"sign-in refused: {reason}", EXIT_AUTH)
    endpoint = str(config.get("token_endpoint") or f"{hub}/oauth/token")
    return token_request(
        endpoint,
        {"grant_type": "authorization_code", "code": answer["code"], "redirect_uri": redirect,
         "client_id": client_id, "code_verifier": verifier},
    )  # fmt: skip


def login_command(
    hub: HubOption = None,
    with_token: Annotated[
        bool, typer.Option("--with-token", help="Read an access token from stdin instead.")
    ] = False,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Open a browser, or only print the URL.")
    ] = True,
    client_id: Annotated[
        str, typer.Option(help="The hub's client for this command line.")
    ] = CLI_CLIENT_ID,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Loopback port for the answer (0: any free one).")
    ] = 0,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the sign-in.")] = 300.0,
) -> None:
    """Sign in to a hub in the browser; the session is kept for the commands that follow."""
    url = hub_url(hub)
    if with_token:
        given = sys.stdin.read().strip()
        if not given:
            raise CommandError("no token on stdin: `yunfab login --with-token < FILE`", EXIT_USAGE)
        audience = token_claims(given).get("aud")
        audience = audience[0] if isinstance(audience, list) and audience else audience
        session: dict[str, Any] = {"client_id": client_id, "tokens": {}}
        expires = token_claims(given).get("exp")
        session["tokens"][normalize(str(audience or url))] = {
            "access_token": given,
            "expires_at": float(expires)
            if isinstance(expires, int | float)
            else time.time() + 3600,
        }
        store_session(url, session)
        typer.echo(f"Stored the token for {audience or url} in {credentials_path()}", err=True)
        return
    config = discovery(url)
    body = _browser_login(url, config, client_id, port, browser, timeout)
    session = {
        "client_id": client_id,
        "token_endpoint": config.get("token_endpoint"),
        "revocation_endpoint": config.get("revocation_endpoint"),
        "tokens": {},
        "signed_in_at": time.time(),
    }
    remember_tokens(session, body, url)
    store_session(url, session)
    if not body.get("refresh_token"):
        typer.echo(
            "yunfab: the hub gave no refresh token: sign in again when this one expires", err=True
        )
    typer.echo(f"Signed in to {url}", err=True)


def logout_command(hub: HubOption = None) -> None:
    """Revoke the session at the hub and forget it here."""
    url = hub_url(hub)
    session = session_for(url)
    if session is None:
        raise CommandError(f"not signed in to {url}", EXIT_AUTH)
    endpoint = session.get("revocation_endpoint") or f"{url}/oauth/revoke"
    held = [str(session["refresh_token"])] if session.get("refresh_token") else []
    held += [str(t["access_token"]) for t in session.get("tokens", {}).values()]
    problem = ""
    for token in held:
        try:
            response = httpx.post(
                str(endpoint),
                data={"token": token, "client_id": str(session.get("client_id", CLI_CLIENT_ID))},
                timeout=TIMEOUT_S,
            )
            if response.status_code != 200:
                problem = f"HTTP {response.status_code}"
        except httpx.TransportError as exc:
            problem = str(exc)
            break
    forget_session(url)
    if problem:
        typer.echo(f"yunfab: the hub did not confirm the revocation ({problem})", err=True)
    typer.echo(f"Signed out of {url}", err=True)


def token_command(
    node: Annotated[
        str | None,
        typer.Option("--node", help="A token for this node (URL or name) instead of the hub."),
    ] = None,
    hub: HubOption = None,
) -> None:
    """Print a valid access token for the hub or a node, for scripts (renewed when needed)."""
    target: Target = node_target(node, hub=hub) if node else hub_target(hub)
    typer.echo(bearer_for(target))


_VIEWER = "{ viewer { kind id organizationId organizationKind region node scopes roles } }"


def whoami_command(hub: HubOption = None, fmt: FormatOption = None) -> None:
    """Who the hub takes you for: kind, organization, roles and scopes."""
    target = hub_target(hub)
    viewer: dict[str, Any] = {"hub": target.url, **graphql(target, _VIEWER)["viewer"]}
    if viewer.get("kind") == "anonymous":
        raise CommandError(f"not signed in to {target.url}: run `yunfab login`", EXIT_AUTH)
    fields = [("Hub", "hub"), ("Kind", "kind"), ("Id", "id"),
              ("Organization", "organizationId"), ("Org kind", "organizationKind"),
              ("Roles", "roles"), ("Scopes", "scopes")]  # fmt: skip
    print_one(viewer, fields, chosen(fmt))
