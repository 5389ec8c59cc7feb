"""The federation domain's refusals (node registration and node URLs), each with a stable code."""

from __future__ import annotations

from yunfab.errors import Conflict, InvalidInput, NotFound


class NodeNotRegistered(NotFound):
    code = "node_not_registered"


class NodeIdentityConflict(Conflict):
    code = "node_identity_conflict"


class NodeUrlFixed(Conflict):
    code = "node_url_fixed"


class NodeUrlTaken(Conflict):
    code = "node_url_taken"


class NodeUrlRefused(InvalidInput):
    code = "node_url_refused"
