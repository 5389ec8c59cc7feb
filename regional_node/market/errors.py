"""Why an installation was refused or could not be activated: stable codes, reported to the hub
in the installation's `failed` report and kept in the node's record."""

from __future__ import annotations

from typing import Literal

FailureCode = Literal[
    "artifact_digest_mismatch",
    "signature_invalid",
    "untrusted_key",
    "not_verified",
    "manifest_invalid",
    "incompatible",
    "activation_failed",
]


class InstallRefused(Exception):
    """The release is not installed; the node is left as it was."""

    def __init__(self, code: FailureCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code: FailureCode = code
        self.detail = detail
