"""OAuth2 and OpenID endpoints (thin glue around authlib), key discovery, the revocation feed."""

from __future__ import annotations

import asyncio
import base64
import contextvars
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import unquote, urlencode

from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import AuditLog, append_entry
from hub.identity import pages, service, sessions
from hub.identity.auth import authorizer, current_subject
from hub.identity.builtin import FIRST_PARTY
from hub.identity.keys import rotate_keys
from hub.identity.oauth import (
    SCOPES,
    HubAuthorizationServer,
    OAuthStore,
    OAuthUser,
    authenticate_person,
    load_client,
    load_user,
)
from hub.identity.oauth import Request as OAuthRequest
from hub.settings import HubSettings
from hub.state import hub_state
from yunfab.authorization import Authorizer
from yunfab.ratelimit import TooManyFailures
from yunfab.service import db_session
from yunfab.subject import Subject, SubjectKind
from yunfab.tokens import ALGORITHM

router = APIRouter(tags=["identity"])

Session = Annotated[AsyncSession, Depends(db_session, scope="function")]
Caller = Annotated[Subject, Depends(current_subject)]
Authz = Annotated[Authorizer, Depends(authorizer)]


def _hub(request: Request) -> tuple[HubSettings, HubAuthorizationServer, OAuthStore, AuditLog]:
    state = hub_state(request.app)
    return state.settings, state.oauth, state.oauth_store, state.audit


async def _capture(request: Request) -> OAuthRequest:
    form: dict[str, str] = {}
    if request.method == "POST":
        form = {key: str(value) for key, value in (await request.form()).items()}
    # authlib insists on https. TLS ends at the ingress in production, so the URI it checks is
    # the issuer's (https, enforced by settings); a development hub on loopback is let through.
    settings: HubSettings = hub_state(request.app).settings
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


async def _throttled(request: Request, key: str) -> Response | None:
    """A 429 in OAuth's error format (RFC 6749 5.2) while `key` has failed too often; else the
    attempt is counted as pending until `throttle.end`."""
    try:
        await hub_state(request.app).throttle.begin(key)
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
    return await loop.run_in_executor(hub_state(request.app).oauth_checks, context.run, work)


@router.post(
    "/oauth/token",
    summary="Token endpoint (client credentials, authorization code, refresh token)",
    responses={429: {"description": "Too many failed client authentications"}},
)
async def token(request: Request) -> Response:
    _, server, store, audit = _hub(request)
    oauth_request = await _capture(request)
    throttle_key = _throttle_key(request, _client_id_of(oauth_request))
    if (refused := await _throttled(request, throttle_key)) is not None:
        return refused
    status = 500
    try:
        status, body, headers = await asyncio.to_thread(
            store.run, lambda: server.create_token_response(oauth_request)
        )
    finally:
        await hub_state(request.app).throttle.end(
            throttle_key, failed=status == 401, succeeded=status == 200
        )
    if status != 200:  # only tokens that actually left the server are recorded as issued
        oauth_request.events = [e for e in oauth_request.events if e["event"] != "token.issued"]
    await _audit_events(audit, oauth_request)
    return _respond(status, body, headers)


async def _checked_endpoint(request: Request, endpoint: str) -> tuple[OAuthRequest, Response]:
    """Introspection and revocation authenticate the client as the token endpoint does, so
    they share its failure counts (per client and address), and run on their own threads."""
    _, server, store, _ = _hub(request)
    oauth_request = await _capture(request)
    throttle_key = _throttle_key(request, _client_id_of(oauth_request))
    if (refused := await _throttled(request, throttle_key)) is not None:
        return oauth_request, refused
    status = 500
    try:
        status, body, headers = await _on_check_threads(
            request,
            lambda: store.run(lambda: server.create_endpoint_response(endpoint, oauth_request)),
        )
    finally:
        await hub_state(request.app).throttle.end(
            throttle_key, failed=status == 401, succeeded=status == 200
        )
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
        await hub_state(request.app).revocations.revoke(event["jti"])
    return response


@router.post(
    "/oauth/introspect",
    summary="Token introspection (RFC 7662)",
    responses={429: {"description": "Too many failed client authentications"}},
)
async def introspect(request: Request) -> Response:
    _, response = await _checked_endpoint(request, "introspection")
    return response


_CREDENTIALS = ("email", "password", "decision", "csrf_token")


def _kept(oauth_request: OAuthRequest) -> dict[str, str]:
    """The authorization request's own parameters, to carry through a form or a language link
    (never the password, the decision or the form's token)."""
    return {
        key: str(value)
        for key, value in oauth_request.payload.data.items()
        if key not in _CREDENTIALS and isinstance(value, str)
    }


def _csrf(request: Request, settings: HubSettings) -> tuple[str, bool]:
    """The browser's form token (double-submit cookie) and whether it must be set now."""
    current = request.cookies.get(sessions.csrf_cookie_name(settings))
    if current and 20 <= len(current) <= 100:
        return current, False
    return secrets.token_urlsafe(32), True


def _csrf_ok(request: Request, settings: HubSettings, form: dict[str, str]) -> bool:
    """A form posted to the hub carries the token its page was given, matching the cookie: a
    form posted from another site cannot read the cookie, so cannot sign anyone in or out."""
    cookie = request.cookies.get(sessions.csrf_cookie_name(settings)) or ""
    sent = form.get("csrf_token", "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())


def _set_cookie(
    response: Response, settings: HubSettings, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=not settings.development,
        samesite="lax",
    )


def _locale(request: Request, oauth_request: OAuthRequest) -> str:
    return pages.choose_locale(
        oauth_request.payload.data.get("ui_locales"), request.headers.get("accept-language")
    )


@dataclass
class _Outcome:
    kind: str
    """error, form, consent, retry or response"""
    value: Any = None
    client_name: str = ""
    user: OAuthUser | None = None
    started: sessions.Started | None = None


@router.get("/oauth/authorize", summary="Authorization endpoint: the sign-in page (PKCE S256)")
async def authorize_page(request: Request) -> Response:
    return await authorize(request)


@router.post("/oauth/authorize", summary="Authorization endpoint: sign in and decide")
async def authorize_decision(request: Request) -> Response:
    return await authorize(request)


async def authorize(request: Request) -> Response:
    settings, server, store, audit = _hub(request)
    oauth_request = await _capture(request)
    throttle_key = _throttle_key(request, oauth_request.form.get("email", "").strip().lower())
    path = request.url.path
    if request.method == "POST":
        oauth_request.payload = type(oauth_request.payload)(
            {**oauth_request.args, **oauth_request.form}
        )
    locale = _locale(request, oauth_request)
    csrf, new_csrf = _csrf(request, settings)
    if request.method == "POST":
        if not _csrf_ok(request, settings, oauth_request.form):
            page = pages.form_expired(locale, request=_kept(oauth_request), path=path)
            return _with_csrf(page, settings, csrf, new_csrf)
        if "password" in oauth_request.form:
            await hub_state(request.app).throttle.check(throttle_key)
    cookie = request.cookies.get(sessions.cookie_name(settings))
    outcome = await asyncio.to_thread(
        store.run, lambda: _decide(request.method, oauth_request, server, store, settings, cookie)
    )
    if outcome.kind == "error":
        error = outcome.value
        return JSONResponse(
            {"error": error.error, "detail": error.description or error.error}, status_code=400
        )
    kept = _kept(oauth_request)
    if outcome.kind in ("form", "retry"):
        if outcome.kind == "retry":
            await hub_state(request.app).throttle.failed(throttle_key)
        page = pages.sign_in(
            locale,
            client=outcome.client_name,
            request=kept,
            csrf=csrf,
            path=path,
            error_key="wrong" if outcome.kind == "retry" else None,
            status=401 if outcome.kind == "retry" else 200,
        )
        return _with_csrf(page, settings, csrf, new_csrf)
    if outcome.kind == "consent":
        assert outcome.user is not None
        page = pages.consent(
            locale,
            client=outcome.client_name,
            name=outcome.user.row.name,
            email=outcome.user.row.email,
            request=kept,
            csrf=csrf,
            path=path,
        )
        return _with_csrf(page, settings, csrf, new_csrf)
    response = _respond(*outcome.value)
    if outcome.started is not None:
        assert outcome.user is not None
        _set_cookie(
            response,
            settings,
            sessions.cookie_name(settings),
            outcome.started.cookie,
            settings.session_lifetime_s,
        )
        await audit.append(
            actor=_person(outcome.user),
            action="user.signed_in",
            resource=oauth_request.client.get_client_id(),
            outcome="ok",
            detail={"session": str(outcome.started.row.id), "method": "password"},
        )
    elif outcome.user is not None:
        await audit.append(
            actor=_person(outcome.user),
            action="user.signed_in",
            resource=oauth_request.client.get_client_id(),
            outcome="ok",
            detail={"method": "session"},
        )
    return response


def _with_csrf(response: Response, settings: HubSettings, csrf: str, new: bool) -> Response:
    if new:
        _set_cookie(response, settings, sessions.csrf_cookie_name(settings), csrf, None)
    return response


def _person(user: OAuthUser) -> Subject:
    return Subject(
        kind=SubjectKind.USER, id=user.get_user_id(), org_id=str(user.row.organization_id)
    )


def _decide(
    method: str,
    oauth_request: OAuthRequest,
    server: HubAuthorizationServer,
    store: OAuthStore,
    settings: HubSettings,
    cookie: str | None,
) -> _Outcome:
    """In the OAuth thread: check the request (client, redirect URI, PKCE, scope) before
    anything else, then sign in by the browser's session or the password, and answer."""
    try:
        grant = server.get_consent_grant(oauth_request)
    except OAuth2Error as error:
        return _Outcome("error", error)
    session = store.session()
    client = grant.client
    name = client.row.name
    prompt = str(oauth_request.payload.data.get("prompt") or "").split()
    live = None if "login" in prompt else sessions.current(session, cookie, settings)
    person = load_user(session, live.user_id) if live is not None else None
    form = oauth_request.form
    if method == "GET":
        if person is None or live is None:
            return _Outcome("form", client_name=name)
        if client.get_client_id() not in FIRST_PARTY:
            return _Outcome("consent", client_name=name, user=person)
        return _issue(server, oauth_request, grant, person, live.id)
    if form.get("decision") != "allow":
        response = server.create_authorization_response(oauth_request, grant_user=None, grant=grant)
        return _Outcome("response", response)
    if "password" not in form:
        if person is None or live is None:  # the session ended while the consent page was open
            return _Outcome("form", client_name=name)
        return _issue(server, oauth_request, grant, person, live.id)
    user = authenticate_person(session, form.get("email", ""), form.get("password", ""))
    if user is None:
        return _Outcome("retry", client_name=name)
    if live is not None:
        sessions.end(session, live)  # one person per browser: a new sign-in replaces the old
    started = sessions.start(session, user.row.id, settings)
    outcome = _issue(server, oauth_request, grant, user, started.row.id)
    outcome.started = started
    return outcome


def _issue(
    server: HubAuthorizationServer,
    oauth_request: OAuthRequest,
    grant: Any,
    user: OAuthUser,
    session_id: uuid.UUID,
) -> _Outcome:
    oauth_request.user = user
    oauth_request.session_id = session_id
    response = server.create_authorization_response(oauth_request, grant_user=user, grant=grant)
    return _Outcome("response", response, user=user)


@router.get("/oauth/logout", summary="Sign out (OpenID Connect RP-initiated logout)")
async def logout_page(request: Request) -> Response:
    return await logout(request)


@router.post("/oauth/logout", summary="Sign out: ends the hub session and its refresh tokens")
async def logout_decision(request: Request) -> Response:
    return await logout(request)


async def logout(request: Request) -> Response:
    """A GET with an id_token_hint the hub issued signs out at once (the app asked, and proved
    it with the token); otherwise the person confirms on a page (a link on another site cannot
    sign anyone out). The browser goes back only to a post_logout_redirect_uri registered for
    the client named (client_id, or the id_token_hint's audience)."""
    settings, _, store, audit = _hub(request)
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update({k: str(v) for k, v in form.items() if isinstance(v, str)})
    params = {k: v[:2048] for k, v in params.items() if k in _LOGOUT_PARAMS}
    locale = pages.choose_locale(params.get("ui_locales"), request.headers.get("accept-language"))
    csrf, new_csrf = _csrf(request, settings)
    hinted = _hinted_client(request, params.get("id_token_hint"))
    client_id = params.get("client_id") or hinted
    if params.get("client_id") and hinted and params["client_id"] != hinted:
        return JSONResponse(
            {"error": "invalid_request", "detail": "client_id differs from the id_token_hint's"},
            status_code=400,
        )
    confirmed = (request.method == "GET" and hinted is not None) or (
        request.method == "POST" and _csrf_ok(request, settings, params)
    )
    if not confirmed:
        shown = {k: v for k, v in params.items() if k != "csrf_token"}
        page = pages.sign_out(locale, request=shown, csrf=csrf, path=request.url.path)
        return _with_csrf(page, settings, csrf, new_csrf)
    cookie = request.cookies.get(sessions.cookie_name(settings))
    redirect = params.get("post_logout_redirect_uri")

    def work() -> tuple[str | None, bool]:
        session = store.session()
        allowed = False
        if redirect and client_id:
            client = load_client(session, client_id)
            allowed = client is not None and redirect in (
                client.row.post_logout_redirect_uris or []
            )
        live = sessions.current(session, cookie, settings)
        if live is None:
            return None, allowed
        sessions.end(session, live)
        return str(live.user_id), allowed

    user_id, allowed = await asyncio.to_thread(store.run, work)
    if redirect and not allowed:
        return JSONResponse(
            {"error": "invalid_request", "detail": "post_logout_redirect_uri is not registered "
             "for this client (send client_id or id_token_hint)"},
            status_code=400,
        )  # fmt: skip
    if user_id is not None:
        await audit.append(
            actor=Subject(kind=SubjectKind.USER, id=user_id),
            action="user.signed_out",
            resource=client_id or "",
            outcome="ok",
        )
    if redirect:
        state = params.get("state")
        target = redirect + (
            ("&" if "?" in redirect else "?") + urlencode({"state": state}) if state else ""
        )
        response: Response = RedirectResponse(target, status_code=303)
    else:
        response = pages.signed_out(locale)
    response.delete_cookie(
        sessions.cookie_name(settings),
        path="/",
        httponly=True,
        secure=not settings.development,
        samesite="lax",
    )
    return response


_LOGOUT_PARAMS = {
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
    "csrf_token",
}


def _hinted_client(request: Request, hint: str | None) -> str | None:
    """The client an id_token_hint was issued to, when the hub signed it (expired is fine: the
    person may sign out long after signing in)."""
    if not hint or len(hint) > 4096:
        return None
    settings: HubSettings = hub_state(request.app).settings
    try:
        keys = hub_state(request.app).keyring.key_set()
        decoded = jwt.decode(hint, keys, algorithms=[ALGORITHM])
    except (JoseError, ValueError):
        return None
    claims = decoded.claims
    audience = claims.get("aud")
    if claims.get("iss") != settings.issuer_url or not audience:
        return None
    first = audience[0] if isinstance(audience, list) else audience
    return str(first)


@router.get("/.well-known/jwks.json", summary="Public keys that verify hub tokens")
async def jwks(request: Request) -> JSONResponse:
    return JSONResponse(
        hub_state(request.app).keyring.jwks(), headers={"Cache-Control": "max-age=60"}
    )


def _metadata(settings: HubSettings) -> dict[str, Any]:
    issuer = settings.issuer_url
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "end_session_endpoint": f"{issuer}/oauth/logout",
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": ["code"],
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "code_challenge_methods_supported": ["S256"],
        "ui_locales_supported": list(pages.LOCALES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }


@router.get(
    "/.well-known/oauth-authorization-server", summary="Authorization server metadata (RFC 8414)"
)
async def oauth_metadata(request: Request) -> dict[str, Any]:
    return _metadata(hub_state(request.app).settings)


@router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery")
async def openid_configuration(request: Request) -> dict[str, Any]:
    return _metadata(hub_state(request.app).settings)


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
    settings: HubSettings = hub_state(request.app).settings
    key = await rotate_keys(
        session,
        passphrase=settings.key_passphrase,
        retire_after=settings.key_retire_after,
    )
    await append_entry(session, actor=caller, action="keys.rotated", resource=key.kid, outcome="ok")
    await session.commit()
    await hub_state(request.app).keyring.load()
    return {"kid": key.kid}
