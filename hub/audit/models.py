from __future__ import annotations

from hub.db import Base
from yunfab.audit import AuditEntryColumns, AuditHeadColumns


class AuditEntry(AuditEntryColumns, Base):
    __tablename__ = "audit_log"


class AuditHead(AuditHeadColumns, Base):
    __tablename__ = "audit_head"
