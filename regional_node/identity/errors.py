"""The node identity's refusal, with its stable code."""

from __future__ import annotations

from yunfab.errors import Conflict


class IdentityMismatch(Conflict):
    code = "node_identity_mismatch"
