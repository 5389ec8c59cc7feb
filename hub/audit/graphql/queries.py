from __future__ import annotations

from hub.audit.service import CHAIN
from yunfab.graphql.audit import audit_query

AuditQuery = audit_query(
    CHAIN, read_action="hub.audit.read", description="The audit log, newest first (auditors)."
)
