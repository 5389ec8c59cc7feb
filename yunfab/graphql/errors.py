"""Every GraphQL error carries `extensions.code`; unexpected ones are masked.

Expected failures raise a `YunfabError`; its code goes out upper-cased (`NOT_FOUND`). Requests
that fail to parse or validate get `GRAPHQL_PARSE_FAILED` / `GRAPHQL_VALIDATION_FAILED`. Anything
else is a bug: it is logged once with its traceback and the client sees `INTERNAL_SERVER_ERROR`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import strawberry
import structlog
from graphql.error import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext

from yunfab.errors import YunfabError

log = structlog.get_logger(__name__)

INTERNAL = "INTERNAL_SERVER_ERROR"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
RATE_LIMITED = "RATE_LIMITED"


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    error.extensions = {**(error.extensions or {}), "code": code}
    return error


def with_request_error_code(error: GraphQLError) -> GraphQLError:
    """Code an error raised before execution: the document did not parse, or did not validate."""
    if error.extensions and "code" in error.extensions:
        return error
    return _with_code(
        error, PARSE_FAILED if isinstance(error, GraphQLSyntaxError) else VALIDATION_FAILED
    )


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _from_graphql_core(error: GraphQLError) -> bool:
    """graphql-core's own error about a request (a variable's value), wrapping another."""
    return error.path is None and isinstance(error.original_error, GraphQLError)


class ErrorCodes(MaskErrors):
    def __init__(self, *, suggestions: bool = True) -> None:
        super().__init__(error_message="Internal server error.")
        self._executing = False
        self._suggestions = suggestions

    def on_execute(self) -> Iterator[None]:
        self._executing = True
        yield

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        classified = [self._classify(error) for error in errors]
        if not self._suggestions:
            # Validation leaves them out itself; this catches graphql-core's own made while
            # executing (a variable's enum value, an input field's name), not our domain errors.
            for error in classified:
                if error.original_error is None or _from_graphql_core(error):
                    error.message = _SUGGESTION.sub("", error.message)
        return classified

    def _classify(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, YunfabError):
            error = _with_code(error, original.code.upper())
            if original.extra:
                # Details a client branches on, e.g. the constraint that makes an order
                # infeasible.
                error.extensions = {**original.extra, **(error.extensions or {})}
            return error
        if error.extensions and "code" in error.extensions:
            return error
        if not self._executing:
            return with_request_error_code(error)
        if original is None or _from_graphql_core(error):
            # Raised by graphql-core itself: bad variables before any field ran (an unknown
            # input field comes wrapped in a second GraphQLError), or a null in a non-null
            # field (our bug) during execution.
            return _with_code(error, BAD_USER_INPUT if error.path is None else INTERNAL)
        log.error(
            "graphql_resolver_failed",
            path=error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        return _with_code(self.anonymise_error(error), INTERNAL)


class Schema(strawberry.Schema):
    """A strawberry schema whose errors `ErrorCodes` logs: once, and only when unexpected."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None
