"""The audit trail's GraphQL (a read model: no tables of its own)."""

from __future__ import annotations

from regional_node.audit_trail.graphql import AuditTrailQuery
from regional_node.state import NodeDomain

DOMAIN = NodeDomain(name="audit_trail", queries=(AuditTrailQuery,))
