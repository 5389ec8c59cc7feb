"""The audit log as GraphQL shows it, on the hub and on nodes."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON

from yunfab.audit import AuditEntryColumns


@strawberry.type(name="AuditEntry", description="One entry of the hash-chained audit log.")
class AuditEntryType:
    seq: int
    at: dt.datetime
    actor: str
    actor_org: str | None
    action: str
    resource: str
    outcome: str
    detail: JSON
    hash: str
    prev_hash: str

    @classmethod
    def from_model(cls, entry: AuditEntryColumns) -> AuditEntryType:
        return cls(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            actor_org=entry.actor_org,
            action=entry.action,
            resource=entry.resource,
            outcome=entry.outcome,
            detail=entry.detail,  # type: ignore[arg-type]
            hash=entry.hash,
            prev_hash=entry.prev_hash,
        )
