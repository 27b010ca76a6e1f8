"""Who may have a document validated: authentication comes before any work a document asks.

Parsing is bounded by the token limit; validation is the first step whose cost a document
chooses. A caller without valid credentials may have introspection validated and run (the
schema is public: GraphiQL needs it before anyone has typed a secret); any other document
is refused UNAUTHENTICATED before it is validated. Authentication is the context's, done
once per request, so resolvers asking again cost nothing and the refusal is counted once.
"""

from collections.abc import AsyncIterator, Iterator

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension, ValidationCache

from adapters.inbound.graphql.context import Context
from adapters.inbound.graphql.document import introspection_only
from application.errors import Unauthenticated
from domain.errors import InvalidField


class AuthenticateFirst(SchemaExtension):
    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # `operation_name` falls back to the first operation's; only the one sent counts here.
        sent_name = getattr(context, "_provided_operation_name", None)
        if document is not None and sent_name is None and _operations(document) > 1:
            # GraphQL says so; strawberry would otherwise run the first operation quietly.
            refused = InvalidField("operationName", "is needed to choose one of the operations")
            context.pre_execution_errors = [GraphQLError(str(refused), original_error=refused)]
        if (
            document is not None
            and context.pre_execution_errors is None
            and not introspection_only(document)
        ):
            caller = context.context
            try:
                if not isinstance(caller, Context):
                    raise Unauthenticated()
                await caller.principal()
            except Exception as refused:  # classify() gives each its code, or masks it
                context.pre_execution_errors = [GraphQLError(str(refused), original_error=refused)]
        yield


def _operations(document: DocumentNode) -> int:
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


class ValidationCacheAfterGate(ValidationCache):
    """Strawberry's validation cache, which validates unless the gate already refused."""

    def on_validate(self) -> Iterator[None]:
        if self.execution_context.pre_execution_errors is not None:
            yield
            return
        yield from super().on_validate()
