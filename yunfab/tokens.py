"""Access tokens: RFC 9068 JWTs (`typ: at+jwt`, ES256, `kid`), validated the same way everywhere.

The hub validates its own tokens against its key ring; a node validates them offline against a
cached copy of the hub's JWKS, fetched again when a token names a key it has not seen. Every
failure is a 401 with its own stable code; nothing about the token's contents is echoed back.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from yunfab.errors import Forbidden, Unauthenticated
from yunfab.subject import Subject, SubjectKind

ACCESS_TOKEN_TYPE = "at+jwt"
ALGORITHM = "ES256"
LEEWAY_S = 30


class TokenError(Unauthenticated):
    code = "invalid_token"


class TokenMissing(TokenError):
    code = "token_missing"


class TokenMalformed(TokenError):
    code = "token_malformed"


class TokenAlgorithmRefused(TokenError):
    code = "token_algorithm_refused"


class TokenWrongType(TokenError):
    code = "token_wrong_type"


class TokenUnknownKey(TokenError):
    code = "token_unknown_key"


class TokenBadSignature(TokenError):
    code = "token_bad_signature"


class TokenExpired(TokenError):
    code = "token_expired"


class TokenNotYetValid(TokenError):
    code = "token_not_yet_valid"


class TokenWrongAudience(TokenError):
    code = "token_wrong_audience"


class TokenWrongIssuer(TokenError):
    code = "token_wrong_issuer"


class TokenRevoked(TokenError):
    code = "token_revoked"


class InsufficientScope(Forbidden):
    code = "insufficient_scope"


class KeySource(Protocol):
    def key_set(self) -> KeySet: ...

    async def refresh(self) -> None:
        """Fetch the keys again (called when a token names an unknown `kid`)."""


class RevocationSource(Protocol):
    def is_revoked(self, jti: str) -> bool:
        """From what this process holds (cheap, synchronous)."""
        ...

    async def revoked(self, jti: str) -> bool:
        """From every replica's revocations (each token check)."""
        ...


def _segment(part: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise TokenMalformed("the token is not a JWT") from exc
    if not isinstance(value, dict):
        raise TokenMalformed("the token is not a JWT")
    return value


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header; None when there is no header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMalformed("use an Authorization: Bearer <token> header")
    return token.strip()


@dataclass(frozen=True)
class AccessClaims:
    claims: dict[str, Any]

    @property
    def jti(self) -> str:
        return str(self.claims["jti"])

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(str(self.claims.get("scope", "")).split())

    def subject(self) -> Subject:
        claims = self.claims
        kind = (
            SubjectKind.USER if claims.get("client_id") != claims.get("sub") else SubjectKind.CLIENT
        )
        return Subject(
            kind=kind,
            id=str(claims["sub"]),
            org_id=claims.get("org"),
            org_kind=claims.get("org_kind"),
            region=claims.get("region"),
            node=claims.get("node"),
            client_id=claims.get("client_id"),
            scopes=self.scopes,
            roles=frozenset(claims.get("roles", [])),
            token_id=self.jti,
            expires_at=float(claims["exp"]),
            name=_text_claim(claims, "name"),
            email=_text_claim(claims, "email"),
        )


def _text_claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value[:320] if isinstance(value, str) and value else None


VERIFIED_TOKENS = 4096
"""Tokens whose signature a validator remembers having verified, the oldest forgotten first.

A caller sends the same token with every request until it expires, and checking its ES256
signature (with decoding it) was the largest part of authenticating one. A remembered token is
taken as verified only while the key set still holds the very key that verified it (a reloaded
or rotated set has new key objects); its claims (expiry, issuer, audience) and its revocation
are checked on every request as before."""


class TokenValidator:
    def __init__(
        self,
        *,
        keys: KeySource,
        revocations: RevocationSource,
        issuer: str,
        audience: str,
        leeway_s: int = LEEWAY_S,
    ) -> None:
        self.keys = keys
        self.revocations = revocations
        self.issuer = issuer
        self.audience = audience
        self.leeway_s = leeway_s
        self._verified: dict[str, tuple[Any, dict[str, Any]]] = {}

    async def validate(self, token: str) -> AccessClaims:
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenMalformed("the token is not a JWT")
        header = _segment(parts[0])
        if header.get("alg") != ALGORITHM:
            raise TokenAlgorithmRefused(f"only {ALGORITHM} tokens are accepted")
        if str(header.get("typ", "")).lower() not in (
            ACCESS_TOKEN_TYPE,
            f"application/{ACCESS_TOKEN_TYPE}",
        ):
            raise TokenWrongType(f"not an access token (typ must be {ACCESS_TOKEN_TYPE})")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenUnknownKey("the token names no signing key")
        keys = self.keys.key_set()
        if not _has_kid(keys, kid):
            await self.keys.refresh()
            keys = self.keys.key_set()
            if not _has_kid(keys, kid):
                raise TokenUnknownKey("the token was signed by an unknown key")
        key = keys.get_by_kid(kid)
        verified = self._verified.get(token)
        if verified is not None and verified[0] is key:
            claims = dict(verified[1])
        else:
            try:
                decoded = jwt.decode(token, keys, algorithms=[ALGORITHM])
            except BadSignatureError as exc:
                raise TokenBadSignature("the token's signature does not verify") from exc
            except (JoseError, ValueError) as exc:
                raise TokenMalformed("the token could not be decoded") from exc
            claims = decoded.claims
            self._remember(token, key, claims)
        self._check_claims(claims)
        access = AccessClaims(claims=claims)
        if await self.revocations.revoked(access.jti):
            raise TokenRevoked("the token has been revoked")
        return access

    def _remember(self, token: str, key: Any, claims: dict[str, Any]) -> None:
        if len(self._verified) >= VERIFIED_TOKENS:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (key, dict(claims))

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = time.time()
        for required in ("iss", "sub", "aud", "exp", "iat", "jti"):
            if required not in claims:
                raise TokenMalformed(f"the token lacks the {required} claim")
        if claims["iss"] != self.issuer:
            raise TokenWrongIssuer("the token was issued by someone else")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if self.audience not in audiences:
            raise TokenWrongAudience("the token is not meant for this service")
        if not isinstance(claims["exp"], int | float) or claims["exp"] < now - self.leeway_s:
            raise TokenExpired("the token has expired")
        not_before = claims.get("nbf", claims["iat"])
        if not isinstance(not_before, int | float) or not_before > now + self.leeway_s:
            raise TokenNotYetValid("the token is not valid yet")


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def require_scope(subject: Subject, scope: str) -> None:
    if scope not in subject.scopes:
        raise InsufficientScope(f"this needs the {scope} scope")
