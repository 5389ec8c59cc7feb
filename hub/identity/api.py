"""OAuth2 and OpenID endpoints (thin glue around authlib), key discovery, the revocation feed."""

from __future__ import annotations

import asyncio
import base64
import contextvars
import html
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import AuditLog, append_entry
from hub.identity import service
from hub.identity.auth import authorizer, current_subject
from hub.identity.keys import rotate_keys
from hub.identity.oauth import (
    SCOPES,
    HubAuthorizationServer,
    OAuthStore,
    authenticate_person,
)
from hub.identity.oauth import Request as OAuthRequest
from hub.settings import HubSettings
from yunfab.authorization import Authorizer
from yunfab.ratelimit import TooManyFailures
from yunfab.service import db_session
from yunfab.subject import Subject, SubjectKind

router = APIRouter(tags=["identity"])

Session = Annotated[AsyncSession, Depends(db_session, scope="function")]
Caller = Annotated[Subject, Depends(current_subject)]
Authz = Annotated[Authorizer, Depends(authorizer)]


def _hub(request: Request) -> tuple[HubSettings, HubAuthorizationServer, OAuthStore, AuditLog]:
    state = request.app.state
    return state.settings, state.oauth, state.oauth_store, state.audit


async def _capture(request: Request) -> OAuthRequest:
    form: dict[str, str] = {}
    if request.method == "POST":
        form = {key: str(value) for key, value in (await request.form()).items()}
    # authlib insists on https. TLS ends at the ingress in production, so the URI it checks is
    # the issuer's (https, enforced by settings); a development hub on loopback is let through.
    settings: HubSettings = request.app.state.settings
    uri = f"{settings.issuer_url}{request.url.path}"
    if request.url.query:
        uri += f"?{request.url.query}"
    if settings.development and uri.startswith("http://"):
        uri = "https://" + uri.removeprefix("http://")
    return OAuthRequest(
        request.method,
        uri,
        request.headers,
        form,
        dict(request.query_params),
    )


def _respond(status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
    header_map = {key: value for key, value in headers if key.lower() != "content-type"}
    if status in (301, 302, 303):
        return RedirectResponse(header_map["Location"], status_code=302, headers=header_map)
    header_map.setdefault("Cache-Control", "no-store")
    return JSONResponse(body, status_code=status, headers=header_map)


async def _audit_events(audit: AuditLog, oauth_request: OAuthRequest) -> None:
    """Write what an OAuth call did (tokens issued, revoked) to the audit log, as its client."""
    client = oauth_request.client
    actor = Subject(kind=SubjectKind.CLIENT, id=client.get_client_id() if client else None)
    for event in oauth_request.events:
        await audit.append(
            actor=actor,
            action=event["event"],
            resource=str(event.get("client_id")),
            outcome="ok",
            detail=event,
        )


def _throttle_key(request: Request, who: str) -> str:
    return f"{who}|{request.client.host if request.client else '?'}"


def _client_id_of(oauth_request: OAuthRequest) -> str:
    """The client a token request claims to be (Basic auth or form), for throttling only."""
    authorization = oauth_request.headers.get("authorization", "")
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:]).decode()
            return unquote(decoded.partition(":")[0])
        except (ValueError, UnicodeDecodeError):
            return "?"
    return oauth_request.form.get("client_id", "?")


T = TypeVar("T")


def _throttled(request: Request, key: str) -> Response | None:
    """A 429 in OAuth's error format (RFC 6749 5.2) while `key` has failed too often; else the
    attempt is counted as pending until `throttle.end`."""
    try:
        request.app.state.throttle.begin(key)
    except TooManyFailures as exc:
        return JSONResponse(
            {"error": exc.code, "error_description": exc.detail},
            status_code=429,
            headers={"Retry-After": str(exc.extra["retry_after_s"]), "Cache-Control": "no-store"},
        )
    return None


async def _on_check_threads(request: Request, work: Callable[[], T]) -> T:
    """Run `work` on the bounded pool for introspection and revocation (a context copy each
    time, as `asyncio.to_thread` does)."""
    context = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app.state.oauth_checks, context.run, work)


@router.post(
    "/oauth/token",
    summary="Token endpoint (client credentials, authorization code)",
    responses={429: {"description": "Too many failed client authentications"}},
)
async def token(request: Request) -> Response:
    _, server, store, audit = _hub(request)
    oauth_request = await _capture(request)
    throttle_key = _throttle_key(request, _client_id_of(oauth_request))
    if (refused := _throttled(request, throttle_key)) is not None:
        return refused
    status = 500
    try:
        status, body, headers = await asyncio.to_thread(
            store.run, lambda: server.create_token_response(oauth_request)
        )
    finally:
        request.app.state.throttle.end(throttle_key, failed=status == 401, succeeded=status == 200)
    if status == 200:  # only tokens that actually left the server are recorded as issued
        await _audit_events(audit, oauth_request)
    return _respond(status, body, headers)


async def _checked_endpoint(request: Request, endpoint: str) -> tuple[OAuthRequest, Response]:
    """Introspection and revocation authenticate the client as the token endpoint does, so
    they share its failure counts (per client and address), and run on their own threads."""
    _, server, store, _ = _hub(request)
    oauth_request = await _capture(request)
    throttle_key = _throttle_key(request, _client_id_of(oauth_request))
    if (refused := _throttled(request, throttle_key)) is not None:
        return oauth_request, refused
    status = 500
    try:
        status, body, headers = await _on_check_threads(
            request,
            lambda: store.run(lambda: server.create_endpoint_response(endpoint, oauth_request)),
        )
    finally:
        request.app.state.throttle.end(throttle_key, failed=status == 401, succeeded=status == 200)
    return oauth_request, _respond(status, body, headers)


@router.post(
    "/oauth/revoke",
    summary="Token revocation (RFC 7009)",
    responses={429: {"description": "Too many failed client authentications"}},
)
async def revoke(request: Request) -> Response:
    _, _, _, audit = _hub(request)
    oauth_request, response = await _checked_endpoint(request, "revocation")
    await _audit_events(audit, oauth_request)
    for event in oauth_request.events:
        request.app.state.revocations.add(event["jti"])
    return response


@router.post(
    "/oauth/introspect",
    summary="Token introspection (RFC 7662)",
    responses={429: {"description": "Too many failed client authentications"}},
)
async def introspect(request: Request) -> Response:
    _, response = await _checked_endpoint(request, "introspection")
    return response


_LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sign in to Yunfab</title><style>
body{{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}}
label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.5rem}}
button{{margin-top:1rem;padding:.6rem 1.2rem}}.err{{color:#b00}}</style></head><body>
<h1>Sign in to Yunfab</h1><p><b>{client}</b> asks for: {scopes}</p>{error}
<form method="post">{hidden}
<label for="email">Email</label><input id="email" name="email" type="email" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<button type="submit" name="decision" value="allow">Sign in and allow</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</form></body></html>"""


def _login_page(oauth_request: OAuthRequest, client_name: str, error: str = "") -> HTMLResponse:
    keep = {
        k: v
        for k, v in oauth_request.payload.data.items()
        if k not in ("email", "password", "decision")
    }
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in keep.items()
    )
    scopes = ", ".join(html.escape(s) for s in str(keep.get("scope", "")).split()) or "sign-in"
    page = _LOGIN_PAGE.format(
        client=html.escape(client_name),
        scopes=scopes,
        hidden=hidden,
        error=f'<p class="err">{html.escape(error)}</p>' if error else "",
    )
    return HTMLResponse(
        page,
        status_code=401 if error else 200,
        headers={
            "Cache-Control": "no-store",
            # The sign-in page is never framed: no clickjacking of the "allow" button.
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "frame-ancestors 'none'; default-src 'self'; "
            "style-src 'unsafe-inline'",
        },
    )


@router.get("/oauth/authorize", summary="Authorization endpoint: the sign-in page (PKCE S256)")
async def authorize_page(request: Request) -> Response:
    return await authorize(request)


@router.post("/oauth/authorize", summary="Authorization endpoint: sign in and decide")
async def authorize_decision(request: Request) -> Response:
    return await authorize(request)


async def authorize(request: Request) -> Response:
    _, server, store, audit = _hub(request)
    oauth_request = await _capture(request)
    throttle_key = _throttle_key(request, oauth_request.form.get("email", "").strip().lower())
    if request.method == "POST":
        request.app.state.throttle.check(throttle_key)
        oauth_request.payload = type(oauth_request.payload)(
            {**oauth_request.args, **oauth_request.form}
        )

    def work() -> tuple[str, Any]:
        from authlib.oauth2 import OAuth2Error

        try:
            grant = server.get_consent_grant(oauth_request)
        except OAuth2Error as error:
            return "error", error
        client_name = grant.client.row.name
        if request.method == "GET":
            return "form", client_name
        if oauth_request.form.get("decision") != "allow":
            return "response", server.create_authorization_response(
                oauth_request, grant_user=None, grant=grant
            )
        user = authenticate_person(
            store.session(),
            oauth_request.form.get("email", ""),
            oauth_request.form.get("password", ""),
        )
        if user is None:
            return "retry", client_name
        oauth_request.user = user
        return "response", server.create_authorization_response(
            oauth_request, grant_user=user, grant=grant
        )

    kind, value = await asyncio.to_thread(store.run, work)
    if kind == "error":
        return JSONResponse(
            {"error": value.error, "detail": value.description or value.error}, status_code=400
        )
    if kind == "form":
        return _login_page(oauth_request, value)
    if kind == "retry":
        request.app.state.throttle.failed(throttle_key)
        return _login_page(oauth_request, value, "Wrong email or password.")
    user = getattr(oauth_request, "user", None)
    if user is not None:
        await audit.append(
            actor=Subject(
                kind=SubjectKind.USER, id=user.get_user_id(), org_id=str(user.row.organization_id)
            ),
            action="user.signed_in",
            resource=oauth_request.client.get_client_id(),
            outcome="ok",
        )
    return _respond(*value)


@router.get("/.well-known/jwks.json", summary="Public keys that verify hub tokens")
async def jwks(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.keyring.jwks(), headers={"Cache-Control": "max-age=60"})


def _metadata(settings: HubSettings) -> dict[str, Any]:
    issuer = settings.issuer_url
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": ["code"],
        "grant_types_supported": ["client_credentials", "authorization_code"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }


@router.get(
    "/.well-known/oauth-authorization-server", summary="Authorization server metadata (RFC 8414)"
)
async def oauth_metadata(request: Request) -> dict[str, Any]:
    return _metadata(request.app.state.settings)


@router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery")
async def openid_configuration(request: Request) -> dict[str, Any]:
    return _metadata(request.app.state.settings)


@router.get("/api/v1/revocations", summary="Revoked token ids newer than `after` (for nodes)")
async def revocations(
    session: Session,
    caller: Caller,
    authz: Authz,
    after: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    await authz.check(caller, "hub.revocations.list")
    rows = await service.revocations_after(session, after=after)
    return {
        "revocations": [
            {"seq": r.seq, "jti": r.jti, "exp": int(r.expires_at.timestamp())} for r in rows
        ],
        "last": rows[-1].seq if rows else after,
    }


@router.post("/api/v1/admin/keys/rotate", summary="Rotate the token signing key")
async def rotate(
    request: Request, session: Session, caller: Caller, authz: Authz
) -> dict[str, str]:
    await authz.check(caller, "hub.keys.rotate")
    settings: HubSettings = request.app.state.settings
    key = await rotate_keys(
        session,
        passphrase=settings.key_passphrase,
        retire_after=settings.key_retire_after,
    )
    await append_entry(session, actor=caller, action="keys.rotated", resource=key.kid, outcome="ok")
    await session.commit()
    await request.app.state.keyring.load()
    return {"kid": key.kid}
