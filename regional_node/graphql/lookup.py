"""Lookups by either of a thing's identifiers: its id, or the name people see (`SO-...`, a slug,
a device key)."""

from __future__ import annotations

from typing import TypeVar

from yunfab.errors import InvalidInput

T = TypeVar("T")


class AmbiguousLookup(InvalidInput):
    """Neither or both identifiers given: the request itself is wrong, as GraphQL's own input
    errors are, so it carries their code."""

    code = "bad_user_input"


def exactly_one(**named: T | None) -> tuple[str, T]:
    """The one argument given, by name: a lookup takes one identifier, never a guess between
    two that might name different things."""
    given = [(name, value) for name, value in named.items() if value is not None]
    if len(given) != 1:
        raise AmbiguousLookup("give exactly one of " + ", ".join(named))
    return given[0]
