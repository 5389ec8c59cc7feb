"""Automatic persisted queries, as Apollo's and urql's clients speak them.

A client first sends only `extensions.persistedQuery = {"version": 1, "sha256Hash": H}` (a GET
a CDN may cache); an unknown H is answered with the error `PersistedQueryNotFound` (code
`PERSISTED_QUERY_NOT_FOUND`), on which the client sends the document with its hash once, and
the hash alone after that. A document and a hash that disagree are refused.

A document is remembered only after it parsed and passed validation and the limits (depth,
aliases, tokens, selections): the store never holds what the endpoint would refuse. It is
bounded by count and by bytes and forgets the least recently used first; each process keeps its
own, so a replica that has not seen a hash answers "not found" and the client resends.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
BAD_REQUEST = "BAD_REQUEST"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PersistedQueryError(Exception):
    """A persisted-query request that cannot run; answered as a request error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Pending:
    """A document sent with its hash, to remember once it has validated."""

    sha256: str
    query: str


class PersistedQueries:
    """Documents by their SHA-256, least recently used first out."""

    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._documents: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and self.max_bytes > 0

    def get(self, sha256: str) -> str | None:
        query = self._documents.get(sha256)
        if query is not None:
            self._documents.move_to_end(sha256)
        return query

    def put(self, sha256: str, query: str) -> None:
        size = len(query.encode())
        if not self.enabled or size > self.max_bytes or sha256 in self._documents:
            return
        self._documents[sha256] = query
        self._bytes += size
        while len(self._documents) > self.max_entries or self._bytes > self.max_bytes:
            _, dropped = self._documents.popitem(last=False)
            self._bytes -= len(dropped.encode())

    def __len__(self) -> int:
        return len(self._documents)

    def resolve(
        self, query: str | None, extensions: dict[str, Any] | None
    ) -> tuple[str | None, Pending | None]:
        """The document to run for a request, and what to remember once it validates.

        Raises PersistedQueryError for an unknown hash, a mismatch, or a malformed entry."""
        entry = (extensions or {}).get("persistedQuery")
        if entry is None:
            return query, None
        if not self.enabled:
            raise PersistedQueryError(NOT_SUPPORTED, "PersistedQueryNotSupported")
        if not isinstance(entry, dict) or entry.get("version") != 1:
            raise PersistedQueryError(
                BAD_REQUEST, "extensions.persistedQuery must be {version: 1, sha256Hash}"
            )
        sha256 = entry.get("sha256Hash")
        if not isinstance(sha256, str) or not _SHA256.match(sha256):
            raise PersistedQueryError(
                BAD_REQUEST, "persistedQuery.sha256Hash must be 64 lower-case hex digits"
            )
        if query is None:
            known = self.get(sha256)
            if known is None:
                raise PersistedQueryError(NOT_FOUND, "PersistedQueryNotFound")
            return known, None
        if hashlib.sha256(query.encode()).hexdigest() != sha256:
            raise PersistedQueryError(HASH_MISMATCH, "provided sha does not match query")
        return query, Pending(sha256, query)
