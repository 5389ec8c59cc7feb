"""The hub's audit log: its chain of entries and who may read it. (The log itself is part of
the hub's state: the authorizer writes to it from the first request.)"""

from __future__ import annotations

from hub.audit import models
from hub.audit.graphql.queries import AuditQuery
from hub.state import HubDomain

DOMAIN = HubDomain(name="audit", models=(models,), queries=(AuditQuery,))
