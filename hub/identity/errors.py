"""The identity domain's refusals (people and API clients), each with a stable code."""

from __future__ import annotations

from yunfab.errors import Conflict, NotFound


class UserExists(Conflict):
    code = "user_exists"


class UserNotFound(NotFound):
    code = "user_not_found"


class ClientNotFound(NotFound):
    code = "client_not_found"


class PublicClientHasNoSecret(Conflict):
    code = "public_client_has_no_secret"
