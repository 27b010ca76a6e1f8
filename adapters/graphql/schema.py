"""The schema and the FastAPI router that serves it."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import MaxTokensLimiter, ParserCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from adapters.graphql.context import Context
from adapters.graphql.errors import classify
from adapters.graphql.execution import PlainObjectsExecution
from adapters.graphql.gate import AuthenticateFirst, ValidationCacheAfterGate
from adapters.graphql.limits import ValidationRules, validation_rules
from adapters.graphql.observer import OperationObserver
from adapters.graphql.resolvers import Mutation, Query
from adapters.graphql.scalars import DateTime
from adapters.observability.metrics import Metrics

# Distinct documents kept parsed and validated (least recently used go first).
DOCUMENT_CACHE_SIZE = 1_024


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphQLLimits:
    depth: int = 8
    aliases: int = 20
    tokens: int = 2_000
    field_suggestions: bool = False
    """'Did you mean ...?' hints help a developer and map the schema for anyone else."""


class AuditLogSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Every error passes here once, before the response is built.
        for error in errors:
            classify(error)


def build_schema(
    limits: GraphQLLimits | None = None, metrics: Metrics | None = None
) -> AuditLogSchema:
    limits = limits or GraphQLLimits()
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
            scalar_map={datetime: DateTime},
            disable_field_suggestions=not limits.field_suggestions,
        ),
    )


class AuditLogGraphQL(GraphQL[Context, None]):
    """Strawberry's own ASGI app, mounted as a plain route: FastAPI's router and dependency
    injection around it cost more than the rest of a small request (bench/http_bench.py).
    Batched requests (a JSON array of operations) are refused: strawberry accepts them only
    when a batching config is given, and none is."""

    def __init__(
        self,
        schema: AuditLogSchema,
        context_getter: Callable[[Request], Awaitable[Context]],
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=False)
        self._context_getter = context_getter

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        assert isinstance(request, Request)
        return await self._context_getter(request)

    def encode_json(self, data: object) -> bytes:
        # orjson: several times faster than the standard library on pages of entries.
        return orjson.dumps(data)


def graphql_app(
    context_getter: Callable[[Request], Awaitable[Context]],
    *,
    limits: GraphQLLimits | None = None,
    metrics: Metrics | None = None,
) -> AuditLogGraphQL:
    return AuditLogGraphQL(build_schema(limits, metrics), context_getter)
