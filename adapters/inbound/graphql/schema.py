"""The schema and the FastAPI router that serves it."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import MaxTokensLimiter, ParserCache
from strawberry.http import GraphQLRequestData
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from adapters.inbound.graphql.context import Context
from adapters.inbound.graphql.errors import classify, schema_names
from adapters.inbound.graphql.execution import PlainObjectsExecution
from adapters.inbound.graphql.gate import AuthenticateFirst, ValidationCacheAfterGate
from adapters.inbound.graphql.limits import ValidationRules, validation_rules
from adapters.inbound.graphql.observer import OperationObserver
from adapters.inbound.graphql.resolvers import Mutation, Query
from adapters.inbound.graphql.scalars import JSON, DateTime, JsonValue
from adapters.inbound.graphql.transport import GraphiQLPage, read_operation, refusal
from adapters.observability.metrics import Metrics

# Distinct documents kept parsed and validated (least recently used go first).
DOCUMENT_CACHE_SIZE = 1_024


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphQLLimits:
    """Every value is given: the service's come from its AUDITLOG_LIMIT_GRAPHQL_* settings
    and AUDITLOG_ENVIRONMENT."""

    depth: int
    aliases: int
    tokens: int
    field_suggestions: bool
    """'Did you mean ...?' hints help a developer and map the schema for anyone else."""


class AuditLogSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Every error passes here once, before the response is built.
        names = schema_names(self._schema)
        for error in errors:
            classify(error, names)


def build_schema(limits: GraphQLLimits, metrics: Metrics | None = None) -> AuditLogSchema:
    # Factories, not instances: strawberry 0.341 deprecates shared extension instances.
    # The rule classes are made once: the validation cache below is keyed by the rules.
    # Strawberry's depth and alias limiters walked every fragment spread again at each use
    # (2^n walks for n fragments that each spread the next twice); these measure linearly.
    rules = validation_rules(max_depth=limits.depth, max_aliases=limits.aliases)
    extensions: list[Any] = [
        partial(ValidationRules, rules),
        partial(MaxTokensLimiter, max_token_count=limits.tokens),
        # Clients send the same few documents over and over: parsing and validating each
        # once, not per request, was most of a small request's cost (bench/http_bench.py).
        # The caches live at module level, keyed by size, shared by every request.
        partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
        # Before validation, which comes next: only introspection runs unauthenticated.
        AuthenticateFirst,
        partial(ValidationCacheAfterGate, maxsize=DOCUMENT_CACHE_SIZE),
    ]
    if metrics is not None:
        extensions.append(partial(OperationObserver, metrics=metrics))
    return AuditLogSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        execution_context_class=PlainObjectsExecution,
        config=StrawberryConfig(
            scalar_map={datetime: DateTime, JsonValue: JSON},
            disable_field_suggestions=not limits.field_suggestions,
        ),
    )


class AuditLogGraphQL(GraphQL[Context, None]):
    """Strawberry's own ASGI app, mounted as a plain route: FastAPI's router and dependency
    injection around it cost more than the rest of a small request (bench/http_bench.py).
    A POST body is read by `transport.read_operation`: one JSON object, or a JSON refusal.
    GraphiQL is served only when asked for (development), without persisted headers."""

    def __init__(
        self,
        schema: AuditLogSchema,
        context_getter: Callable[[Request], Awaitable[Context]],
        *,
        graphiql: bool = False,
    ) -> None:
        super().__init__(
            schema, graphql_ide="graphiql" if graphiql else None, allow_queries_via_get=False
        )
        self._context_getter = context_getter
        self._graphiql = GraphiQLPage.load() if graphiql else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # As strawberry's, but a refusal is a JSON GraphQL error instead of plain text.
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as refused:
            response = refusal(refused)
        await response(scope, receive, send)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        body = await request.get_body() if request.method == "POST" else b""
        return read_operation(request.method, request.content_type or "", body)

    async def render_graphql_ide(self, request: Request) -> Response:
        assert self._graphiql is not None  # strawberry asks only when graphql_ide is set
        return self._graphiql.response()

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        assert isinstance(request, Request)
        return await self._context_getter(request)

    def encode_json(self, data: object) -> bytes:
        # orjson: several times faster than the standard library on pages of entries.
        return orjson.dumps(data)


def graphql_app(
    context_getter: Callable[[Request], Awaitable[Context]],
    *,
    limits: GraphQLLimits,
    metrics: Metrics | None = None,
    graphiql: bool,
) -> AuditLogGraphQL:
    return AuditLogGraphQL(build_schema(limits, metrics), context_getter, graphiql=graphiql)
