"""The gateways domain's refusals, each with a stable code."""

from __future__ import annotations

from typing import ClassVar

from yunfab.errors import Conflict, NotFound, ServiceUnavailable, YunfabError


class ClaimCodeInvalid(YunfabError):
    """No such code (or a wrong secret): the same answer either way."""

    code: ClassVar[str] = "claim_code_invalid"
    status_code: ClassVar[int] = 401


class ClaimCodeUsed(YunfabError):
    code: ClassVar[str] = "claim_code_used"
    status_code: ClassVar[int] = 410


class ClaimCodeExpired(YunfabError):
    code: ClassVar[str] = "claim_code_expired"
    status_code: ClassVar[int] = 410


class ClaimMismatch(Conflict):
    """The gateway's configuration names another factory or edge node than the code."""

    code = "claim_mismatch"


class ConfigCheckUnavailable(ServiceUnavailable):
    code = "config_check_unavailable"


class ConfigNotFound(NotFound):
    code = "config_not_found"
