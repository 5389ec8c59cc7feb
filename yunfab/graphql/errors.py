"""Every GraphQL error carries `extensions.code`; unexpected ones are masked.

Expected failures raise a `YunfabError`; its code goes out upper-cased (`NOT_FOUND`). Requests
that fail to parse or validate get `GRAPHQL_PARSE_FAILED` / `GRAPHQL_VALIDATION_FAILED`. Anything
else is a bug: it is logged with its traceback and the client sees `INTERNAL_SERVER_ERROR` only.
"""

from __future__ import annotations

import structlog
from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from yunfab.errors import YunfabError

log = structlog.get_logger(__name__)

INTERNAL = "INTERNAL_SERVER_ERROR"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    error.extensions = {**(error.extensions or {}), "code": code}
    return error


class ErrorCodes(MaskErrors):
    def __init__(self) -> None:
        super().__init__(error_message="Internal server error.")

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        context = self.execution_context
        before_execution = context.pre_execution_errors is not None
        processed: list[GraphQLError] = []
        for error in errors:
            original = error.original_error
            if isinstance(original, YunfabError):
                processed.append(_with_code(error, original.code.upper()))
            elif error.extensions and "code" in error.extensions:
                processed.append(error)
            elif before_execution:
                code = PARSE_FAILED if context.graphql_document is None else VALIDATION_FAILED
                processed.append(_with_code(error, code))
            elif original is None:
                # Raised by graphql-core itself (variable coercion, a null in a non-null field).
                code = BAD_USER_INPUT if error.path is None else INTERNAL
                processed.append(_with_code(error, code))
            else:
                log.error(
                    "graphql_resolver_failed",
                    path=error.path,
                    exc_info=(type(original), original, original.__traceback__),
                )
                processed.append(_with_code(self.anonymise_error(error), INTERNAL))
        return processed
