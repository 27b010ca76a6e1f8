"""The schema and the FastAPI router that serves it."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.fastapi import GraphQLRouter
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from adapters.graphql.context import Context
from adapters.graphql.errors import classify
from adapters.graphql.resolvers import Mutation, Query
from adapters.graphql.scalars import DateTime


class AuditLogSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Every error passes here once, before the response is built.
        for error in errors:
            classify(error)


def build_schema() -> AuditLogSchema:
    return AuditLogSchema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(scalar_map={datetime: DateTime}),
    )


def graphql_router(context_getter: Callable[..., Awaitable[Context]]) -> GraphQLRouter[Any, Any]:
    return GraphQLRouter(
        build_schema(),
        context_getter=context_getter,
        graphql_ide="graphiql",
        allow_queries_via_get=False,
    )
