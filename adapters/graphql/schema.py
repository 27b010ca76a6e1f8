"""The schema and the FastAPI router that serves it."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.fastapi import GraphQLRouter
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from adapters.graphql.context import Context
from adapters.graphql.errors import classify
from adapters.graphql.observer import OperationObserver
from adapters.graphql.resolvers import Mutation, Query
from adapters.graphql.scalars import DateTime
from adapters.observability.metrics import Metrics


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
    extensions: list[Any] = [
        partial(QueryDepthLimiter, max_depth=limits.depth),
        partial(MaxAliasesLimiter, max_alias_count=limits.aliases),
        partial(MaxTokensLimiter, max_token_count=limits.tokens),
    ]
    if metrics is not None:
        extensions.append(partial(OperationObserver, metrics=metrics))
    return AuditLogSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(
            scalar_map={datetime: DateTime},
            disable_field_suggestions=not limits.field_suggestions,
        ),
    )


def graphql_router(
    context_getter: Callable[..., Awaitable[Context]],
    *,
    limits: GraphQLLimits | None = None,
    metrics: Metrics | None = None,
) -> GraphQLRouter[Any, Any]:
    # Batched requests (a JSON array of operations) are refused: strawberry accepts them
    # only when a batching config is given, and none is.
    return GraphQLRouter(
        build_schema(limits, metrics),
        context_getter=context_getter,
        graphql_ide="graphiql",
        allow_queries_via_get=False,
    )
