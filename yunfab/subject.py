"""Who is asking: the subject every service call receives.

Services take `(session, subject, *, input)`. Until tokens exist (issue #3) the only subject is
anonymous, and only development deployments accept it; #3 builds subjects from verified token
claims and the policy engine decides what each may do.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class SubjectKind(enum.StrEnum):
    ANONYMOUS = "anonymous"
    CLIENT = "client"
    USER = "user"


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    id: str | None = None
    org_id: str | None = None
    org_kind: str | None = None
    region: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)


ANONYMOUS = Subject(kind=SubjectKind.ANONYMOUS)
