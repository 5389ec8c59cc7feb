"""Who the command line is, to the hub and the nodes: one precedence for every command that calls
a server, and the signed-in session kept between commands.

Precedence, first found wins (docs/cli.md):

1. `--token` / YUNFAB_TOKEN: a bearer token used as given (scripts, CI).
2. YUNFAB_CLIENT_ID + YUNFAB_CLIENT_SECRET: the client-credentials grant at the hub, with
   `resource` naming the node for node calls (services, cameras). The older
   YUNFAB_CAMERA_CLIENT_* and YUNFAB_NODE_CLIENT_* still work, with a one-line notice.
3. The session `yunfab login` stored: access tokens per audience, renewed with the refresh token.

The session file holds refresh tokens, so it is the user's alone: the folder 0700, the file 0600,
written whole to a temporary file and renamed so a crash never leaves half a file.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import typer

from yunfab.console import EXIT_AUTH, EXIT_USAGE, CommandError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent renewals are then the user's risk
    fcntl = None  # type: ignore[assignment]

TOKEN_ENV = "YUNFAB_TOKEN"
CLIENT_ID_ENV = "YUNFAB_CLIENT_ID"
CLIENT_SECRET_ENV = "YUNFAB_CLIENT_SECRET"
HUB_URL_ENV = "YUNFAB_HUB_URL"
NODE_URL_ENV = "YUNFAB_NODE_URL"
NODE_AUDIENCE_ENV = "YUNFAB_NODE_AUDIENCE"
"""The node's registered URL, which its tokens name, when YUNFAB_NODE_URL reaches it another way
(a proxy, a tunnel)."""
CONFIG_DIR_ENV = "YUNFAB_CONFIG_DIR"
DEPRECATED_CLIENT_ENVS = (
    ("YUNFAB_CAMERA_CLIENT_ID", "YUNFAB_CAMERA_CLIENT_SECRET"),
    ("YUNFAB_NODE_CLIENT_ID", "YUNFAB_NODE_CLIENT_SECRET"),
)
CLI_CLIENT_ID = "yunfab-cli"
"""The hub's built-in public client for people signing in from the command line."""
READ_SCOPES = (
    "nodes:read orgs:read factories:read factories:write devices:write orders:read "
    "node:operate federated:read exchange:read market:read"
)
"""What the list and show commands may need; the hub grants only what the client or person
holds, so asking for all of them is asking for 'whatever I may read'."""
LOGIN_SCOPES = f"openid profile email {READ_SCOPES} orders:write"
EXPIRY_MARGIN_S = 60
"""A token this close to its expiry is renewed first: it could expire on the way."""
TIMEOUT_S = 30.0

_issued: dict[tuple[str, ...], tuple[str, float]] = {}
"""Client-credentials tokens of this process, by hub, client, secret's digest, audience, scope."""
_warned: set[str] = set()


def normalize(url: str) -> str:
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class Target:
    """A server to call: `url` is where requests go, `audience` what its tokens must name (the
    node's registered URL, when it is reached another way), `hub_url` who issues them."""

    kind: str  # "hub" or "node"
    url: str
    hub_url: str | None
    audience: str

    @classmethod
    def hub(cls, url: str) -> Target:
        return cls("hub", normalize(url), normalize(url), normalize(url))

    @classmethod
    def node(cls, url: str, hub_url: str | None, audience: str | None = None) -> Target:
        return cls(
            "node",
            normalize(url),
            normalize(hub_url) if hub_url else None,
            normalize(audience or url),
        )


# --- where the session lives ----------------------------------------------------------------


def config_dir() -> Path:
    """$YUNFAB_CONFIG_DIR, else $XDG_CONFIG_HOME/yunfab, else ~/.config/yunfab."""
    if explicit := os.environ.get(CONFIG_DIR_ENV):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "yunfab"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def load_sessions() -> dict[str, Any]:
    path = credentials_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {"hubs": {}}
    except (OSError, ValueError) as exc:
        raise CommandError(
            f"cannot read {path}: {exc}: remove it and run `yunfab login` again", EXIT_USAGE
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("hubs"), dict):
        return {"hubs": {}}
    return data


def save_sessions(data: dict[str, Any]) -> None:
    path = credentials_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        path.parent.chmod(0o700)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        os.chmod(scratch, 0o600)  # an existing scratch file keeps its mode under O_CREAT
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise


def session_for(hub_url: str) -> dict[str, Any] | None:
    found = load_sessions()["hubs"].get(normalize(hub_url))
    return found if isinstance(found, dict) else None


def store_session(hub_url: str, session: dict[str, Any], *, current: bool = True) -> None:
    """Keep a hub's session; `current` makes it the default hub (a sign-in does, a renewal
    does not)."""
    data = load_sessions()
    data["hubs"][normalize(hub_url)] = session
    if current or "current_hub" not in data:
        data["current_hub"] = normalize(hub_url)
    save_sessions(data)


def forget_session(hub_url: str) -> dict[str, Any] | None:
    data = load_sessions()
    removed = data["hubs"].pop(normalize(hub_url), None)
    if data.get("current_hub") == normalize(hub_url):
        data.pop("current_hub")
        if data["hubs"]:
            data["current_hub"] = sorted(data["hubs"])[0]
    save_sessions(data)
    return removed if isinstance(removed, dict) else None


def hub_url(explicit: str | None = None) -> str:
    """--hub, else YUNFAB_HUB_URL, else the hub last signed in to."""
    chosen = explicit or os.environ.get(HUB_URL_ENV) or load_sessions().get("current_hub")
    if not chosen:
        raise CommandError(
            f"which hub? give --hub URL, set {HUB_URL_ENV}, or run `yunfab login --hub URL`",
            EXIT_USAGE,
        )
    return normalize(str(chosen))


# --- tokens -----------------------------------------------------------------------------------


def token_claims(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified: only to file a given token under its audience and know when
    it expires. The server verifies every token; nothing here trusts these claims."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _notice(name: str, instead: str) -> None:
    if name not in _warned:
        _warned.add(name)
        typer.echo(f"yunfab: {name} is deprecated: set {instead} instead", err=True)


def client_credentials() -> tuple[str, str] | None:
    """YUNFAB_CLIENT_ID and YUNFAB_CLIENT_SECRET, or an older pair with a notice."""
    client_id, secret = os.environ.get(CLIENT_ID_ENV), os.environ.get(CLIENT_SECRET_ENV)
    if client_id and secret:
        return client_id, secret
    if client_id or secret:
        missing = CLIENT_SECRET_ENV if client_id else CLIENT_ID_ENV
        raise CommandError(f"{missing} is not set: set both or neither", EXIT_USAGE)
    for id_env, secret_env in DEPRECATED_CLIENT_ENVS:
        old_id, old_secret = os.environ.get(id_env), os.environ.get(secret_env)
        if old_id and old_secret:
            _notice(f"{id_env}/{secret_env}", f"{CLIENT_ID_ENV}/{CLIENT_SECRET_ENV}")
            return old_id, old_secret
    return None


def bearer_for(target: Target, *, token: str | None = None, scope: str | None = None) -> str:
    """The bearer token to call `target` with, by the precedence in this module's docstring.
    `token` is a --token option's value; `scope` what a client-credentials token is asked for."""
    given = token or os.environ.get(TOKEN_ENV)
    if given:
        return given.strip()
    if (pair := client_credentials()) is not None:
        return client_token(_issuer(target), *pair, audience=target.audience, scope=scope)
    issuer = _issuer(target, required=False)
    session = session_for(issuer) if issuer else None
    if session is None:
        raise CommandError(
            f"not signed in: run `yunfab login --hub URL`, or set {TOKEN_ENV} or "
            f"{CLIENT_ID_ENV}/{CLIENT_SECRET_ENV}",
            EXIT_AUTH,
        )
    assert issuer is not None
    return session_token(issuer, session, target.audience)


def _issuer(target: Target, *, required: bool = True) -> str:
    if target.hub_url:
        return target.hub_url
    try:
        return hub_url()
    except CommandError:
        if required:
            raise CommandError(
                f"a token for {target.url} comes from the hub: give --hub URL or set {HUB_URL_ENV}",
                EXIT_USAGE,
            ) from None
        return ""


def client_token(
    hub: str, client_id: str, secret: str, *, audience: str, scope: str | None = None
) -> str:
    """A client-credentials token for `audience` (the hub or a node), reused while it lasts."""
    scope = scope or READ_SCOPES
    key = (hub, client_id, hashlib.sha256(secret.encode()).hexdigest(), audience, scope)
    cached = _issued.get(key)
    if cached and cached[1] > time.time() + EXPIRY_MARGIN_S:
        return cached[0]
    data = {"grant_type": "client_credentials", "scope": scope}
    if audience != normalize(hub):
        data["resource"] = audience
    body = token_request(f"{hub}/oauth/token", data, auth=(client_id, secret))
    issued = str(body["access_token"])
    _issued[key] = (issued, time.time() + float(body.get("expires_in", 300)))
    return issued


def _fresh(session: dict[str, Any], audience: str) -> str | None:
    held = session.get("tokens", {}).get(audience)
    if isinstance(held, dict) and float(held.get("expires_at", 0)) > time.time() + EXPIRY_MARGIN_S:
        return str(held["access_token"])
    return None


@contextlib.contextmanager
def _refreshing() -> Iterator[None]:
    """One process at a time renews tokens: the hub rotates refresh tokens and takes a rotated
    one used twice for a stolen one (it ends the whole sign-in), so two commands run at once
    must not both spend the same refresh token."""
    path = credentials_path().with_name(".credentials.lock")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def session_token(hub: str, session: dict[str, Any], audience: str) -> str:
    """The signed-in session's token for `audience`, renewed with the refresh token (which the
    hub may rotate: the new one replaces the old in the file)."""
    if (token := _fresh(session, audience)) is not None:
        return token
    with _refreshing():
        session = session_for(hub) or session  # another command may have renewed it meanwhile
        if (token := _fresh(session, audience)) is not None:
            return token
        refresh = session.get("refresh_token")
        if not refresh:
            what = (
                "has expired" if audience in session.get("tokens", {}) else f"is not for {audience}"
            )
            raise CommandError(
                f"the stored token {what}: run `yunfab login --hub {hub}` again, or set "
                f"{TOKEN_ENV}",
                EXIT_AUTH,
            )
        data = {
            "grant_type": "refresh_token",
            "refresh_token": str(refresh),
            "client_id": str(session.get("client_id") or CLI_CLIENT_ID),
        }
        if audience != normalize(hub):
            data["resource"] = audience
        endpoint = str(session.get("token_endpoint") or f"{hub}/oauth/token")
        try:
            body = token_request(endpoint, data)
        except CommandError as exc:
            if exc.exit_code == EXIT_AUTH:
                raise CommandError(
                    f"the sign-in at {hub} has ended ({exc.message}): run "
                    f"`yunfab login --hub {hub}`",
                    EXIT_AUTH,
                ) from exc
            raise
        remember_tokens(session, body, audience)
        store_session(hub, session, current=False)
    return str(body["access_token"])


def remember_tokens(session: dict[str, Any], body: dict[str, Any], audience: str) -> None:
    """File a token response in the session: the access token under its audience, a rotated
    refresh token in place of the old one."""
    expires = time.time() + float(body.get("expires_in", 300))
    session.setdefault("tokens", {})[audience] = {
        "access_token": str(body["access_token"]),
        "expires_at": expires,
    }
    if body.get("refresh_token"):
        session["refresh_token"] = str(body["refresh_token"])


def token_request(
    endpoint: str, data: dict[str, str], auth: tuple[str, str] | None = None
) -> dict[str, Any]:
    """POST to a token endpoint; a refusal is one line with the hub's reason."""
    with httpx.Client(timeout=TIMEOUT_S) as client:
        response = (
            client.post(endpoint, data=data, auth=auth)
            if auth
            else client.post(endpoint, data=data)
        )
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
        return body
    error = str(body.get("error", f"HTTP {response.status_code}")) if isinstance(body, dict) else ""
    detail = body.get("error_description") or body.get("detail") if isinstance(body, dict) else ""
    reason = f"{error}: {detail}" if detail else error
    if response.status_code in (400, 401) and error in (
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unauthenticated",
    ):
        raise CommandError(f"the hub refused the credentials ({reason})", EXIT_AUTH)
    raise CommandError(f"the hub's token endpoint refused: {reason}")
