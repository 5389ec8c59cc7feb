"""What a GraphQL document may cost the server before it is run.

Validation is the expensive step a caller controls without a token: graphql-core's overlapping
fields rule compares fields that share a response name pairwise, through every fragment, so a
document well under the token limit (400 copies of one small selection) took over a second of
event loop. So, in order:

1. The parsed document (cached) is measured: its fields counted with fragments expanded (every
   spread counts its fragment's fields again, as often as it is spread, since validation walks
   each spread; a spread in a cycle counts nothing, and each fragment is sized once). Above
   `graphql_max_selections` it is refused with `GRAPHQL_QUERY_TOO_COMPLEX` and never validated.
2. A document with several operations must name the one to run (the spec's GetOperation);
   strawberry would otherwise run the first.
3. Validation results are cached; a document large enough to take noticeable time is validated
   in a worker thread, a few at a time, so health checks and other requests keep being served.

Introspection (`__schema`, `__type`) and "Did you mean ...?" suggestions follow the settings,
off in production unless enabled: both map the schema for someone who has no access to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterable
from functools import lru_cache

import anyio
from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from yunfab.graphql.errors import VALIDATION_FAILED

TOO_COMPLEX = "GRAPHQL_QUERY_TOO_COMPLEX"

OFFLOAD_ABOVE = 100
"""Documents with more fields than this are validated in a worker thread (a few milliseconds
and more); smaller ones on the event loop, where a thread hop would cost more than it saves."""

_VALIDATION_THREADS = 2
"""Validation holds the GIL, so more threads only queue; two keep one slow document from
holding up the next while leaving the loop its share."""

_limiter: anyio.CapacityLimiter | None = None


def _validation_limiter() -> anyio.CapacityLimiter:
    global _limiter
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(_VALIDATION_THREADS)
    return _limiter


def _own_fields(selection_set: SelectionSetNode | None) -> tuple[int, Counter[str]]:
    """Fields under a selection set, not following fragment spreads, and the spreads met."""
    fields = 0
    spreads: Counter[str] = Counter()
    pending = [selection_set] if selection_set is not None else []
    while pending:
        current = pending.pop()
        for selection in current.selections:
            if isinstance(selection, FieldNode):
                fields += 1
                if selection.selection_set is not None:
                    pending.append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                spreads[selection.name.value] += 1
    return fields, spreads


def selection_count(document: DocumentNode, ceiling: int) -> int:
    """The fields `document` selects with its fragments expanded, at most `ceiling + 1`.

    Linear in the document: each fragment's size is worked out once (iteratively, so a deeply
    nested document cannot exhaust the stack). A spread of a fragment still being sized (a cycle,
    which validation reports) counts nothing; a spread of an unknown fragment likewise.
    """
    cap = ceiling + 1
    own: dict[str, tuple[int, Counter[str]]] = {}
    operations: list[tuple[int, Counter[str]]] = []
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            own[definition.name.value] = _own_fields(definition.selection_set)
        elif isinstance(definition, OperationDefinitionNode):
            operations.append(_own_fields(definition.selection_set))

    sizes: dict[str, int] = {}
    for root in own:
        stack = [root]
        sizing: set[str] = set()
        while stack:
            name = stack[-1]
            if name in sizes:
                stack.pop()
                continue
            fields, spreads = own[name]
            if name not in sizing:
                sizing.add(name)
                unsized = [s for s in spreads if s in own and s not in sizes and s not in sizing]
                if unsized:
                    stack.extend(unsized)
                    continue
            sizes[name] = min(cap, fields + sum(n * sizes.get(s, 0) for s, n in spreads.items()))
            sizing.discard(name)
            stack.pop()

    def expanded(fields: int, spreads: Counter[str]) -> int:
        return min(cap, fields + sum(n * sizes.get(s, 0) for s, n in spreads.items()))

    # Every definition is validated, so fragments count on their own as well as where spread.
    total = sum(expanded(*operation) for operation in operations)
    total += sum(fields for fields, _ in own.values())
    return min(cap, total)


@lru_cache(maxsize=512)
def _validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    return validate(
        schema,
        document,
        (*rules, MaybeNullValidationRule, OneOfInputValidationRule),
        hide_suggestions=hide_suggestions,
    )


def _refusal(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


class BoundedValidation(SchemaExtension):
    """Measure, then validate (cached; in a thread when large). Replaces strawberry's
    `ValidationCache`, whose validation always runs on the event loop."""

    def __init__(
        self,
        *,
        max_selections: int,
        introspection: bool,
        suggestions: bool,
        extra_rules: Iterable[type[ASTValidationRule]] = (),
    ) -> None:
        super().__init__()
        self.max_selections = max_selections
        self.hide_suggestions = not suggestions
        rules = list(extra_rules)
        if not introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.extra_rules = tuple(rules)

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        context.pre_execution_errors = await self._check(
            context.schema._schema,
            document,
            (*context.validation_rules, *self.extra_rules),
            # Set by the caller (strawberry keeps it apart from the name it falls back to).
            provided_operation_name=context._provided_operation_name,
        )
        yield

    async def _check(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
        *,
        provided_operation_name: str | None,
    ) -> list[GraphQLError]:
        fields = selection_count(document, self.max_selections)
        if fields > self.max_selections:
            return [
                _refusal(
                    f"The document selects more than {self.max_selections} fields (fragments "
                    "counted where they are spread); split it into smaller requests.",
                    TOO_COMPLEX,
                )
            ]
        operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
        if operations > 1 and provided_operation_name is None:
            # An anonymous one among them is reported by validation (Lone Anonymous Operation).
            if all(
                d.name is not None
                for d in document.definitions
                if isinstance(d, OperationDefinitionNode)
            ):
                return [
                    _refusal(
                        "Must provide operation name if query contains multiple operations.",
                        VALIDATION_FAILED,
                    )
                ]
        if fields <= OFFLOAD_ABOVE:
            return _validate(schema, document, rules, self.hide_suggestions)
        return await anyio.to_thread.run_sync(
            _validate,
            schema,
            document,
            rules,
            self.hide_suggestions,
            limiter=_validation_limiter(),
        )
