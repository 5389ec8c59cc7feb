from __future__ import annotations

from regional_node.audit.service import CHAIN
from yunfab.graphql.audit import audit_query

AuditQuery = audit_query(
    CHAIN,
    read_action="node.audit.read",
    description="This node's audit log, newest first (node operators).",
)
