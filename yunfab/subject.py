"""Who is asking: the subject every service call receives.

Services take `(session, subject, *, input)`. A subject comes from verified access-token claims,
or is anonymous (no token), or is the operator at the hub's own console (`system`). The policy
engine sees it as `subject` in its input.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Any


def canonical_org_id(value: object) -> str | None:
    """An organization id as the hub writes it: a UUID, lower case with dashes. The same
    organization spelled another way (no dashes, upper case, braces, `urn:uuid:`) must compare
    equal wherever ids meet (the policy's `subject.org == resource.org`, stored factories)."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text


class SubjectKind(enum.StrEnum):
    ANONYMOUS = "anonymous"
    CLIENT = "client"
    USER = "user"
    SYSTEM = "system"


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    id: str | None = None
    org_id: str | None = None
    org_kind: str | None = None
    region: str | None = None
    node: str | None = None
    """For a node's own client: the node it speaks for."""
    client_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)
    token_id: str | None = None
    expires_at: float | None = None
    """When the token this subject came from expires (epoch seconds)."""
    name: str | None = None
    email: str | None = None
    """A person's name and email, when their token carries them (OpenID's `name` and `email`
    claims): for showing who is signed in, never for deciding anything (not in `policy_input`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "org_id", canonical_org_id(self.org_id))

    def policy_input(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "id": self.id,
            "org": self.org_id,
            "org_kind": self.org_kind,
            "region": self.region,
            "node": self.node,
            "client_id": self.client_id,
            "scopes": sorted(self.scopes),
            "roles": sorted(self.roles),
        }

    @property
    def label(self) -> str:
        """How audit lines name this subject."""
        return f"{self.kind.value}:{self.id}" if self.id else self.kind.value


ANONYMOUS = Subject(kind=SubjectKind.ANONYMOUS)
SYSTEM = Subject(kind=SubjectKind.SYSTEM, id="console")
