"""The GraphQL endpoint's HTTP behaviour, per the GraphQL-over-HTTP specification.

- Media type negotiation: `application/graphql-response+json` when the client names it;
  `application/json` for a missing Accept, `*/*` or `application/json` (the spec's two SHOULDs
  for clients that do not say); 406 when the client takes neither.
- A request that fails to parse or validate is answered with 400 and no `data` entry under
  `application/graphql-response+json`; under legacy `application/json` the spec asks for 200.
- Automatic persisted queries (`persisted.py`), over GET and POST.
- GraphiQL from files inside the package (`ide.py`) when the `graphiql` setting is on;
  subscriptions over graphql-transport-ws only, signed in as `subscriptions.py` says.
- Parser and validation caches, and depth, alias, token and selection limits (`limits.py`);
  anonymous requests rate-limited per address (429 with Retry-After), across the service's
  replicas when they share state (`anonymous_limit`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from graphql import ASTValidationRule
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.websockets import WebSocket
from strawberry.extensions import MaxTokensLimiter, ParserCache, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.unset import UNSET

from yunfab.graphql.errors import RATE_LIMITED, ErrorCodes, with_request_error_code
from yunfab.graphql.ide import GraphiQL
from yunfab.graphql.limits import BoundedValidation
from yunfab.graphql.persisted import PersistedQueries, PersistedQueryError
from yunfab.graphql.subscriptions import AuthenticatingHandler
from yunfab.ratelimit import SharedTokenBucket
from yunfab.settings import ServiceSettings
from yunfab.shared_state import MemoryStates, SharedStates
from yunfab.state import service_state

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
LEGACY_JSON = "application/json"


def negotiate(accept: str | None) -> str | None:
    """Pick the response media type for an Accept header; None when nothing we offer fits."""
    if not accept or not accept.strip():
        return LEGACY_JSON
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        fields = [field.strip() for field in part.split(";")]
        media = fields[0].lower()
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media == GRAPHQL_RESPONSE_JSON:
            candidate = (quality, 1, GRAPHQL_RESPONSE_JSON)
        elif media in (LEGACY_JSON, "*/*", "application/*"):
            candidate = (quality, 0, LEGACY_JSON)
        else:
            continue
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best else None


def schema_extensions(settings: ServiceSettings) -> list[Callable[[], SchemaExtension]]:
    """Factories: strawberry builds extensions per request (the caches behind them are shared).

    The depth and alias rules are built once: strawberry's limiter extensions make new rule
    classes on every construction, which would make every request miss the validation cache.
    """
    limits: list[type[ASTValidationRule]] = [
        depth_rule(settings.graphql_max_depth, None, None),
        alias_rule(settings.graphql_max_aliases),
    ]
    return [
        lambda: ErrorCodes(suggestions=bool(settings.graphql_suggestions)),
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: ParserCache(maxsize=512),
        lambda: BoundedValidation(
            max_selections=settings.graphql_max_selections,
            introspection=bool(settings.graphql_introspection),
            suggestions=bool(settings.graphql_suggestions),
            extra_rules=limits,
        ),
    ]


class SpecGraphQLRouter(GraphQLRouter[Any, None]):
    graphql_transport_ws_handler_class = AuthenticatingHandler
    ide: GraphiQL | None = None
    persisted = PersistedQueries(max_entries=0, max_bytes=0)

    async def _anonymous_wait(self, connection: Request | WebSocket) -> float:
        """Seconds an anonymous caller must wait before this request; 0 to serve it now. The
        service's `anonymous_requests` count them per address, before the body is read; the
        address is the client's own only behind a proxy listed in `FORWARDED_ALLOW_IPS`."""
        if "authorization" in connection.headers:
            return 0.0
        limit = service_state(connection.app).anonymous_requests
        if limit is None:
            return 0.0
        address = connection.client.host if connection.client else "unknown"
        return await limit.take(address)

    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Any,
        root_value: Any,
        sub_response: Response,
    ) -> Any:
        """Persisted queries: the hash's document in, and a new document remembered once it
        has parsed and validated (a PreExecutionError means it did not)."""
        pending = None
        if isinstance(request_data, GraphQLRequestData):
            query, pending = self.persisted.resolve(request_data.query, request_data.extensions)
            request_data = dataclasses.replace(request_data, query=query)
        result = await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )
        if (
            pending is not None
            and isinstance(result, ExecutionResult)
            and not isinstance(result, PreExecutionError)
        ):
            self.persisted.put(pending.sha256, pending.query)
        return result

    def should_render_graphql_ide(self, request: Any) -> bool:
        """A browser opening the endpoint: GET, no operation (neither a document nor a persisted
        query's hash), asking for HTML. Tools asking for `*/*` get JSON."""
        params = request.query_params
        return (
            request.method == "GET"
            and params.get("query") is None
            and params.get("extensions") is None
            and "text/html" in request.headers.get("accept", "")
        )

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        if self.ide is None:
            return HTMLResponse("Not Found", status_code=404)
        return self.ide.response()

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if not isinstance(result, PreExecutionError):
            return await super().process_result(request, result)
        # A request error: the spec's response carries `errors` and no `data` entry. Codes are
        # set here too: a parse failure inside strawberry's ParserCache skips the operation
        # hooks where `ErrorCodes` would have set them.
        result.errors = [with_request_error_code(error) for error in result.errors or []]
        response = await super().process_result(request, result)
        response.pop("data", None)
        request.state.graphql_request_error = True
        return response

    async def run(  # type: ignore[override]
        self,
        request: Request | WebSocket,
        context: Any = UNSET,
        root_value: Any = UNSET,
    ) -> Response | WebSocket:
        wait = await self._anonymous_wait(request)
        if isinstance(request, WebSocket):
            if wait:
                # Closing before the handshake is accepted answers the upgrade with 403.
                await request.close(code=1008, reason="too many anonymous requests")
                return request
            return await super().run(request, context, root_value)
        if wait:
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Too many requests without a token from this address; "
                            f"retry in {math.ceil(wait)} s, or authenticate.",
                            "extensions": {"code": RATE_LIMITED},
                        }
                    ]
                },
                status_code=429,
                headers={"Retry-After": str(math.ceil(wait))},
            )
        media_type = negotiate(request.headers.get("accept"))
        wants_ide = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if media_type is None and not wants_ide:
            return JSONResponse(
                {
                    "errors": [
                        {"message": f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {LEGACY_JSON}"}
                    ]
                },
                status_code=406,
            )
        try:
            response = await super().run(request, context, root_value)
        except PersistedQueryError as exc:
            return JSONResponse(
                {"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
                status_code=400 if media_type == GRAPHQL_RESPONSE_JSON else 200,
                media_type=media_type or LEGACY_JSON,
            )
        if isinstance(response, HTMLResponse | StreamingResponse) or media_type is None:
            return response
        if response.headers.get("content-type", "").startswith(LEGACY_JSON):
            response.headers["content-type"] = f"{media_type}; charset=utf-8"
            if media_type == GRAPHQL_RESPONSE_JSON and getattr(
                request.state, "graphql_request_error", False
            ):
                response.status_code = 400
        return response


def graphql_router(
    schema: strawberry.Schema,
    settings: ServiceSettings,
    context_getter: Callable[..., Awaitable[Any]],
    ide: GraphiQL | None = None,
) -> SpecGraphQLRouter:
    router = SpecGraphQLRouter(
        schema,
        path="/graphql",
        graphql_ide="graphiql" if ide is not None else None,
        context_getter=context_getter,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        include_in_schema=True,
    )
    router.ide = ide
    router.persisted = PersistedQueries(
        max_entries=settings.graphql_apq_max_entries, max_bytes=settings.graphql_apq_max_bytes
    )
    return router


async def anonymous_limit(
    settings: ServiceSettings, states: SharedStates | None
) -> SharedTokenBucket | None:
    """The service's limit on anonymous GraphQL requests (None when `graphql_anonymous_rate`
    is 0), counted in `states` (the replicas' NATS buckets) or, without them, in this process."""
    rate, burst = settings.graphql_anonymous_rate, settings.graphql_anonymous_burst
    if rate <= 0:
        return None
    bucket = await (states or MemoryStates()).bucket(
        "graphql_anonymous", ttl_s=SharedTokenBucket.refill_s(rate, burst)
    )
    return SharedTokenBucket(bucket, rate=rate, burst=burst)
