"""The hub's OAuth2 authorization server: authlib's generic server, thin glue, our storage.

authlib's server is synchronous, so each OAuth request runs in a worker thread with its own sync
database session (`OAuthStore.run`), and the FastAPI endpoints only translate requests in and
responses out. Grants: client credentials (platforms, nodes, gateways), authorization code
with PKCE, S256 only (people), with an OpenID Connect id_token, and rotating refresh tokens for
apps (people's sign-ins last beyond one access token). Introspection (RFC 7662) and
revocation (RFC 7009) understand our JWTs; revoked `jti`s go on the deny-list that the hub and
every node enforce.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Request,
    TokenMixin,
)
from authlib.oauth2.rfc6749.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.federation.models import RegionalNode
from hub.identity.builtin import LOOPBACK_ANY_PORT
from hub.identity.keys import KeyRing, access_token_claims
from hub.identity.models import ApiClient, AuthorizationCode, RefreshToken, RevokedToken, User
from hub.identity.passwords import verify_password
from hub.identity.roles import allowed_scopes
from hub.identity.secrets import code_digest, verify_secret
from hub.organizations.models import Organization
from hub.settings import HubSettings
from yunfab.db import utcnow
from yunfab.settings import normalize_url
from yunfab.tokens import ALGORITHM

SCOPES = {
    "nodes:register": "register and heartbeat as one's own node",
    "nodes:read": "read node details such as base URLs",
    "orgs:read": "read organizations",
    "factories:read": "read factories on nodes",
    "factories:write": "fill in one's own factory profile on a node and submit it",
    "devices:write": "provision and manage one's own factory's devices and alert rules on a node",
    "orders:read": "follow one's own organization's orders on nodes",
    "orders:write": "place, cancel and take delivery of one's own organization's orders on nodes",
    "node:operate": "operate a node (with the node's operator organization)",
    "federated:run": "start federated learning runs over the nodes (hub operators)",
    "federated:read": "follow federated runs and read the hub's model registry (hub operators)",
    "audit:read": "read the audit log (auditors)",
    "exchange:read": "browse the data catalog and supply-and-demand board; query data under "
    "one's agreements",
    "exchange:write": "request, agree to and terminate data contracts; post on the "
    "supply-and-demand board",
    "exchange:publish": "publish data products and offers, and decide contract requests as "
    "their provider",
    "market:read": "browse the knowledge and app market",
    "market:publish": "publish releases on the market as a verified publisher, register signing "
    "keys, grant entitlements, yank and revoke one's own releases",
    "market:install": "install market releases on one's own nodes, report usage, review "
    "listings one installed",
    "market:review": "verify publishers and countersign releases (hub reviewers)",
    "tokens:introspect": "introspect tokens issued to others",
    "hub:admin": "administer the hub (with the admin role): keys, clients, users",
    "openid": "sign in with OpenID Connect",
    "profile": "the user's name",
    "email": "the user's email",
}
CODE_LIFETIME_S = 120

T = TypeVar("T")


@dataclass
class OAuthClient(ClientMixin):  # type: ignore[misc]
    row: ApiClient
    org_kind: str

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.row.redirect_uris or []
        return uris[0] if uris else None

    def get_allowed_scope(self, scope: str) -> str:
        if not scope:
            return ""
        allowed = set(self.row.scopes.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact match; a native app named in LOOPBACK_ANY_PORT also gets its loopback URIs
        with any port (RFC 8252 7.3: the port is picked when the app starts listening)."""
        registered = self.row.redirect_uris or []
        if redirect_uri in registered:
            return True
        if self.row.client_id not in LOOPBACK_ANY_PORT:
            return False
        return any(loopback_match(uri, redirect_uri) for uri in registered)

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(client_secret, self.row.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.row.secret_hash is None:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and bool(self.row.redirect_uris)

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "client_credentials":
            return self.row.secret_hash is not None and self.row.kind.value != "app"
        if grant_type == "refresh_token":
            return self.row.kind.value == "app" and bool(self.row.redirect_uris)
        return grant_type == "authorization_code" and bool(self.row.redirect_uris)


def loopback_match(registered: str, candidate: str) -> bool:
    """`candidate` is the loopback `registered` URI on some port: same scheme (http), same
    loopback address, path and query; only the port may differ."""
    try:
        want, got = urlsplit(registered), urlsplit(candidate)
        port = got.port
    except ValueError:
        return False
    return (
        want.scheme == got.scheme == "http"
        and want.hostname == got.hostname
        and got.hostname in ("127.0.0.1", "::1")
        and (want.path, want.query, want.fragment) == (got.path, got.query, got.fragment)
        and got.username is None
        and got.password is None
        and (port is None or 0 < port < 65536)
    )


@dataclass
class OAuthUser:
    row: User
    org_kind: str

    def get_user_id(self) -> str:
        return str(self.row.id)


@dataclass
class IssuedToken(TokenMixin):  # type: ignore[misc]
    claims: dict[str, Any]
    revoked: bool

    def check_client(self, client: OAuthClient) -> bool:
        return bool(self.claims.get("client_id") == client.get_client_id())

    def get_scope(self) -> str:
        return str(self.claims.get("scope", ""))

    def get_expires_in(self) -> int:
        return int(self.claims["exp"]) - int(time.time())

    def is_expired(self) -> bool:
        return bool(int(self.claims["exp"]) < time.time())

    def is_revoked(self) -> bool:
        return self.revoked


@dataclass
class Request(OAuth2Request):  # type: ignore[misc]
    """An OAuth request captured from FastAPI, safe to hand to a worker thread."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        form: dict[str, str],
        args: dict[str, str],
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._form = form
        self._args = args
        self.payload = BasicOAuth2Payload({**args, **form} if method == "GET" else form)
        self.events = []

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


_session: contextvars.ContextVar[Session] = contextvars.ContextVar("oauth_session")
audience_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "token_audience", default=None
)
"""The resource (RFC 8707) the token being issued is for; set by the token endpoint."""


@dataclass(frozen=True)
class RefreshFamily:
    """What the refresh tokens of one sign-in share: set by the grant that issues them."""

    family_id: uuid.UUID
    session_id: uuid.UUID | None
    scope: str
    audience: str
    expires_at: dt.datetime


family_var: contextvars.ContextVar[RefreshFamily | None] = contextvars.ContextVar(
    "refresh_family", default=None
)


class OAuthStore:
    """Sync sessions for authlib's callbacks, one per OAuth request, in the worker thread."""

    def __init__(self, engine: Engine) -> None:
        self.sessionmaker = sessionmaker(engine, expire_on_commit=False)

    def run(self, work: Callable[[], T]) -> T:
        with self.sessionmaker() as session:
            token = _session.set(session)
            try:
                result = work()
                session.commit()
                return result
            except BaseException:
                session.rollback()
                raise
            finally:
                _session.reset(token)

    @staticmethod
    def session() -> Session:
        return _session.get()


def load_client(session: Session, client_id: str) -> OAuthClient | None:
    row = session.execute(
        select(ApiClient, Organization.kind)
        .join(Organization, Organization.id == ApiClient.organization_id)
        .where(ApiClient.client_id == client_id, ApiClient.disabled_at.is_(None))
    ).first()
    return OAuthClient(row=row[0], org_kind=row[1].value) if row else None


def load_user(session: Session, user_id: Any) -> OAuthUser | None:
    row = session.execute(
        select(User, Organization.kind)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.id == user_id, User.disabled_at.is_(None))
    ).first()
    return OAuthUser(row=row[0], org_kind=row[1].value) if row else None


def authenticate_person(session: Session, email: str, password: str) -> OAuthUser | None:
    """The person with this email and password, if enabled. A hash older than argon2id is
    replaced by one now that the password is at hand."""
    user = session.execute(
        select(User).where(User.email == email.strip().lower()[:320])
    ).scalar_one_or_none()
    # Hash even for an unknown email, so the answer's timing does not tell which accounts exist.
    matches, new_hash = verify_password(password, user.password_hash if user else None)
    if not matches or user is None or user.disabled_at is not None:
        return None
    if new_hash is not None:
        user.password_hash = new_hash
    return load_user(session, user.id)


class InvalidTarget(OAuth2Error):  # type: ignore[misc]
    error = "invalid_target"
    status_code = 400


class ResourceIndicator:
    """RFC 8707: a token is for one service, named by `resource`: this hub (the default) or a
    registered node. Checked after the client has authenticated, so an anonymous caller cannot
    use the answer to learn which URLs belong to nodes."""

    server: HubAuthorizationServer
    request: Request

    def validate_resource(self, default: str | None = None) -> None:
        hub_audience = self.server.settings.audience
        resource = self.request.form.get("resource") or default
        if resource is None:
            audience_var.set(hub_audience)
            return
        try:
            target = normalize_url(resource)
        except ValueError as exc:
            raise InvalidTarget("resource must be an absolute URL") from exc
        if target != hub_audience:
            known = OAuthStore.session().execute(
                select(RegionalNode.name).where(RegionalNode.base_url == target)
            )
            if known.first() is None:
                raise InvalidTarget("unknown resource")
        audience_var.set(target)


class ClientCredentials(ResourceIndicator, ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        self.validate_resource()


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client, public or confidential, and only with S256 (RFC 9700 2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: send a code_challenge with method S256")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)


class AuthorizationCodeWithPkce(ResourceIndicator, AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        self.validate_resource()

    def save_authorization_code(self, code: str, request: Request) -> None:
        payload = request.payload.data
        OAuthStore.session().add(
            AuthorizationCode(
                session_id=getattr(request, "session_id", None),
                code_hash=code_digest(code),
                client_id=request.client.get_client_id(),
                user_id=request.user.row.id,
                redirect_uri=request.payload.redirect_uri or "",
                scope=request.payload.scope or "",
                nonce=payload.get("nonce"),
                code_challenge=payload.get("code_challenge") or "",
                code_challenge_method=payload.get("code_challenge_method") or "S256",
                auth_time=int(time.time()),
                expires_at=utcnow() + dt.timedelta(seconds=CODE_LIFETIME_S),
            )
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> StoredCode | None:
        row = OAuthStore.session().get(AuthorizationCode, code_digest(code))
        if row is None or row.client_id != client.get_client_id() or row.expires_at < utcnow():
            return None
        return StoredCode(row)

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        # Delete by key and count: of two requests racing with one code, only one deletes it,
        # and the other fails here before its tokens leave the server.
        deleted = OAuthStore.session().execute(
            delete(AuthorizationCode).where(
                AuthorizationCode.code_hash == authorization_code.row.code_hash
            )
        )
        if deleted.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidGrantError("the authorization code was already used")

    def authenticate_user(self, authorization_code: StoredCode) -> OAuthUser | None:
        row = authorization_code.row
        lifetime = dt.timedelta(seconds=self.server.settings.refresh_token_lifetime_s)
        family_var.set(
            RefreshFamily(
                family_id=uuid.uuid4(),
                session_id=row.session_id,
                scope=row.scope,
                audience=audience_var.get() or self.server.settings.audience,
                expires_at=utcnow() + lifetime,
            )
        )
        return load_user(OAuthStore.session(), row.user_id)


@dataclass
class StoredRefreshToken:
    row: RefreshToken

    def check_client(self, client: OAuthClient) -> bool:
        return self.row.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.row.scope


def revoke_family(session: Session, family_id: uuid.UUID) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


class RefreshWithRotation(ResourceIndicator, RefreshTokenGrant):  # type: ignore[misc]
    """Each refresh token works once: its use returns a new one. One presented again was
    copied (a stolen token and its owner both use it), so its whole family is revoked: the
    thief's new tokens and the owner's alike; the owner signs in again."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def validate_token_request(self) -> None:
        super().validate_token_request()
        stored: StoredRefreshToken = self.request.refresh_token
        self.validate_resource(default=stored.row.audience)
        # Claimed only once the whole request is valid (a mistyped resource does not use the
        # token up), and before anything is issued: of two requests with one token, one wins.
        claimed = OAuthStore.session().execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == stored.row.token_hash, RefreshToken.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            self._reused(stored.row)
            raise InvalidGrantError("the refresh token was already used")

    def _reused(self, row: RefreshToken) -> None:
        revoke_family(OAuthStore.session(), row.family_id)
        self.request.events.append(
            {
                "event": "refresh_token.reused",
                "client_id": row.client_id,
                "user_id": str(row.user_id),
                "family": str(row.family_id),
            }
        )

    def authenticate_refresh_token(self, refresh_token: str) -> StoredRefreshToken | None:
        row = OAuthStore.session().get(RefreshToken, code_digest(refresh_token[:200]))
        now = utcnow()
        if row is None or row.revoked_at is not None:
            return None
        if row.used_at is not None:
            self._reused(row)
            return None
        if row.expires_at < now or row.family_expires_at < now:
            return None
        family_var.set(
            RefreshFamily(
                family_id=row.family_id,
                session_id=row.session_id,
                scope=row.scope,
                audience=row.audience,
                expires_at=row.family_expires_at,
            )
        )
        return StoredRefreshToken(row)

    def authenticate_user(self, refresh_token: StoredRefreshToken) -> OAuthUser | None:
        return load_user(OAuthStore.session(), refresh_token.row.user_id)

    def revoke_old_credential(self, refresh_token: StoredRefreshToken) -> None:
        """Already marked used when it was claimed."""


@dataclass
class StoredCode:
    row: AuthorizationCode

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return self.row.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None

    @property
    def code_challenge(self) -> str:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.row.code_challenge_method


class HubOpenIDCode(OpenIDCode):  # type: ignore[misc]
    def __init__(self, server: HubAuthorizationServer) -> None:
        super().__init__(require_nonce=False)
        self.hub = server

    def resolve_client_private_key(self, client: OAuthClient) -> Any:
        return self.hub.keyring.active.key

    def get_client_algorithm(self, client: OAuthClient) -> str:
        return ALGORITHM

    def get_encode_header(self, client: OAuthClient) -> dict[str, str]:
        return {"alg": ALGORITHM, "kid": self.hub.keyring.active.kid, "typ": "JWT"}

    def get_client_claims(self, client: OAuthClient) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.hub.settings.issuer_url,
            "iat": now,
            "exp": now + self.hub.settings.id_token_lifetime_s,
            "aud": [client.get_client_id()],
        }

    def exists_nonce(self, nonce: str, request: Request) -> bool:
        found = OAuthStore.session().execute(
            select(AuthorizationCode.code_hash).where(AuthorizationCode.nonce == nonce)
        )
        return found.first() is not None

    def generate_user_info(self, user: OAuthUser, scope: str) -> UserInfo:
        info = UserInfo(sub=user.get_user_id(), org=str(user.row.organization_id))
        if "profile" in scope.split():
            info["name"] = user.row.name
        if "email" in scope.split():
            info["email"] = user.row.email
        return info


class _JwtEndpointMixin:
    server: HubAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        try:
            decoded = jwt.decode(
                token_string, self.server.keyring.key_set(), algorithms=[ALGORITHM]
            )
        except (JoseError, ValueError):
            return None
        claims = decoded.claims
        if claims.get("iss") != self.server.settings.issuer_url or "jti" not in claims:
            return None
        revoked = (
            OAuthStore.session()
            .execute(select(RevokedToken.seq).where(RevokedToken.jti == claims["jti"]))
            .first()
            is not None
        )
        return IssuedToken(claims=claims, revoked=revoked)


class Revocation(_JwtEndpointMixin, RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def revoke_token(self, token: IssuedToken, request: Request) -> None:
        if token.revoked:
            return
        claims = token.claims
        OAuthStore.session().add(
            RevokedToken(
                jti=claims["jti"],
                client_id=claims.get("client_id"),
                expires_at=dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC),
            )
        )
        request.events.append(
            {"event": "token.revoked", "jti": claims["jti"], "client_id": claims.get("client_id")}
        )


class Introspection(_JwtEndpointMixin, IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def check_permission(self, token: IssuedToken, client: OAuthClient, request: Request) -> bool:
        own = token.check_client(client)
        return own or "tokens:introspect" in client.row.scopes.split()

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        claims = token.claims
        return {
            "active": True,
            "token_type": "Bearer",
            **{
                key: claims[key]
                for key in (
                    "scope",
                    "client_id",
                    "sub",
                    "aud",
                    "iss",
                    "exp",
                    "iat",
                    "nbf",
                    "jti",
                    "org",
                    "org_kind",
                    "region",
                    "node",
                    "roles",
                )
                if key in claims
            },
        }


class HubAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, *, settings: HubSettings, keyring: KeyRing, store: OAuthStore) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.settings = settings
        self.keyring = keyring
        self.store = store
        self.register_token_generator("default", self._generate_token)
        self.register_grant(ClientCredentials)
        self.register_grant(
            AuthorizationCodeWithPkce, [S256Only(required=True), HubOpenIDCode(self)]
        )
        self.register_grant(RefreshWithRotation)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)

    def query_client(self, client_id: str) -> OAuthClient | None:
        return load_client(OAuthStore.session(), client_id)

    def save_token(self, token: dict[str, Any], request: Request) -> None:
        request.events.append(
            {
                "event": "token.issued",
                "jti": token.get("jti_for_audit"),
                "client_id": request.client.get_client_id(),
                "grant_type": request.payload.grant_type,
                "scope": token.get("scope"),
            }
        )
        token.pop("jti_for_audit", None)

    def create_oauth2_request(self, request: Request) -> Request:
        return request

    def create_json_request(self, request: Request) -> Request:
        return request

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def _generate_token(
        self,
        grant_type: str,
        client: OAuthClient,
        user: OAuthUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        settings = self.settings
        row = client.row
        # Never more than the client was given, whatever it asked for (RFC 6749 3.3), and for a
        # person never more than their roles allow, whichever app they use.
        scope = client.get_allowed_scope(scope or "")
        if user is not None:
            permitted = allowed_scopes(user.row.roles)
            scope = " ".join(s for s in scope.split() if s in permitted)
        if user is None:
            claims = access_token_claims(
                issuer=settings.issuer_url,
                audience=audience_var.get() or settings.audience,
                lifetime_s=settings.token_lifetime_s,
                subject=row.client_id,
                client_id=row.client_id,
                scope=scope or "",
                org=str(row.organization_id),
                org_kind=client.org_kind,
                region=row.region,
                node=row.node_name,
            )
        else:
            claims = access_token_claims(
                issuer=settings.issuer_url,
                audience=audience_var.get() or settings.audience,
                lifetime_s=settings.token_lifetime_s,
                subject=user.get_user_id(),
                client_id=row.client_id,
                scope=scope or "",
                org=str(user.row.organization_id),
                org_kind=user.org_kind,
                roles=user.row.roles.split(),
            )
        token = {
            "access_token": self.keyring.sign(claims),
            "token_type": "Bearer",
            "expires_in": settings.token_lifetime_s,
            "scope": scope or "",
            "jti_for_audit": claims["jti"],
        }
        family = family_var.get()
        if user is not None and include_refresh_token and family is not None:
            token["refresh_token"] = self._new_refresh_token(client, user, family)
        return token

    def _new_refresh_token(
        self, client: OAuthClient, user: OAuthUser, family: RefreshFamily
    ) -> str:
        """An opaque random token of the sign-in's family; only its digest is stored."""
        value = secrets.token_urlsafe(32)
        now = utcnow()
        idle_end = now + dt.timedelta(seconds=self.settings.refresh_token_idle_s)
        OAuthStore.session().add(
            RefreshToken(
                token_hash=code_digest(value),
                family_id=family.family_id,
                client_id=client.get_client_id(),
                user_id=user.row.id,
                session_id=family.session_id,
                scope=family.scope,
                audience=family.audience,
                created_at=now,
                family_expires_at=family.expires_at,
                expires_at=min(idle_end, family.expires_at),
            )
        )
        return value
