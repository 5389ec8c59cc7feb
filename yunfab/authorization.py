"""Ask the policy, and act on the answer: deny with 403, filter lists in one batch, audit.

Services and resolvers never hold authorization `if`s: they name an action and a resource and
let the policy decide. Decisions that cross organizations (the subject's organization is not the
resource's) are written to the audit trail, allowed or denied.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import structlog

from yunfab.errors import Forbidden, YunfabError
from yunfab.policy import PolicyEngine, PolicyInput
from yunfab.subject import Subject, SubjectKind
from yunfab.tokens import TokenMissing

log = structlog.get_logger(__name__)

_SEND_TOKEN = "authentication required: send a Bearer access token"

T = TypeVar("T")

AuditSink = Callable[..., Awaitable[Any]]
"""Called as sink(actor=, action=, resource=, outcome=, detail=)."""


class Denied(Forbidden):
    """The policy said no (its code is `Forbidden`'s, inherited)."""


class Authorizer:
    def __init__(
        self,
        engine: PolicyEngine,
        *,
        context: Mapping[str, Any],
        audit: AuditSink | None = None,
    ) -> None:
        self.engine = engine
        self.context = dict(context)
        self.audit = audit

    def _input(
        self, subject: Subject, action: str, resource: Mapping[str, Any] | None
    ) -> PolicyInput:
        return PolicyInput(
            subject=subject.policy_input(),
            action=action,
            resource=dict(resource or {}),
            context=self.context,
        )

    async def allows(
        self, subject: Subject, action: str, resource: Mapping[str, Any] | None = None
    ) -> bool:
        allowed = await self.engine.allows(self._input(subject, action, resource))
        await self._audit_if_cross_org(subject, action, [resource or {}], [allowed])
        return allowed

    async def check(
        self, subject: Subject, action: str, resource: Mapping[str, Any] | None = None
    ) -> None:
        """Raise a 403 that says nothing about the resource when the policy denies."""
        if not await self.allows(subject, action, resource):
            log.info("denied", action=action, subject=subject.label)
            if subject.kind is SubjectKind.ANONYMOUS:
                raise TokenMissing(_SEND_TOKEN)
            raise Denied("not allowed")

    async def check_found(
        self,
        subject: Subject,
        action: str,
        resource: Mapping[str, Any] | None,
        *,
        read: str,
        missing: YunfabError,
    ) -> None:
        """`check` for a thing looked up by id, without telling what exists: who may not even
        `read` it gets `missing`, the same answer as for an id that is not there (`resource`
        None), so ids of others' things cannot be probed. Who may read it but not do `action`
        is told 403, as before."""
        if resource is not None and await self.allows(subject, action, resource):
            return
        if subject.kind is SubjectKind.ANONYMOUS:
            raise TokenMissing(_SEND_TOKEN)
        if resource is not None and action != read and await self.allows(subject, read, resource):
            log.info("denied", action=action, subject=subject.label)
            raise Denied("not allowed")
        raise missing

    async def check_found_each(
        self,
        subject: Subject,
        action: str,
        resources: Sequence[Mapping[str, Any] | None],
        *,
        read: str,
        missing: Callable[[int], YunfabError],
    ) -> list[YunfabError | None]:
        """`check_found` for each of several things at once: None for each the policy allows
        `action` on, else the error `check_found` would raise for it (`missing(i)` for the i-th
        when it is not there, or may not be read). One evaluation for the list, and one more for
        those refused when `action` is not `read`; cross-organization decisions audited as
        `filter` audits them."""
        present = [i for i, resource in enumerate(resources) if resource is not None]
        decided = await self._decide_each(
            subject, action, [dict(resources[i] or {}) for i in present]
        )
        errors: list[YunfabError | None] = [missing(i) for i in range(len(resources))]
        for i, allowed in zip(present, decided, strict=True):
            if allowed:
                errors[i] = None
        refused = [i for i in present if errors[i] is not None]
        if not refused and len(present) == len(resources):
            return errors
        if subject.kind is SubjectKind.ANONYMOUS:
            return [None if e is None else TokenMissing(_SEND_TOKEN) for e in errors]
        if refused and action != read:
            readable = await self._decide_each(
                subject, read, [dict(resources[i] or {}) for i in refused]
            )
            for i, allowed in zip(refused, readable, strict=True):
                if allowed:
                    log.info("denied", action=action, subject=subject.label)
                    errors[i] = Denied("not allowed")
        return errors

    async def _decide_each(
        self, subject: Subject, action: str, resources: list[dict[str, Any]]
    ) -> list[bool]:
        decisions = await self.engine.allows_each(self._input(subject, action, None), resources)
        await self._audit_if_cross_org(subject, action, resources, decisions)
        return decisions

    async def filter(
        self,
        subject: Subject,
        action: str,
        items: Sequence[T],
        resource: Callable[[T], Mapping[str, Any]],
    ) -> list[T]:
        """Keep the items the policy allows, decided in one evaluation for the whole list."""
        resources = [dict(resource(item)) for item in items]
        decisions = await self._decide_each(subject, action, resources)
        return [item for item, allowed in zip(items, decisions, strict=True) if allowed]

    async def _audit_if_cross_org(
        self,
        subject: Subject,
        action: str,
        resources: Sequence[Mapping[str, Any]],
        decisions: Sequence[bool],
    ) -> None:
        if self.audit is None or subject.kind is SubjectKind.ANONYMOUS:
            return
        crossing = [
            (resource, allowed)
            for resource, allowed in zip(resources, decisions, strict=True)
            if resource.get("org") is not None and resource.get("org") != subject.org_id
        ]
        if not crossing:
            return
        allowed_count = sum(1 for _, allowed in crossing if allowed)
        await self.audit(
            actor=subject,
            action=action,
            resource=json.dumps(sorted({str(r.get("org")) for r, _ in crossing}))[:512],
            outcome="allow"
            if allowed_count == len(crossing)
            else ("deny" if not allowed_count else "partial"),
            detail={"resources": len(crossing), "allowed": allowed_count, **self.context},
        )
