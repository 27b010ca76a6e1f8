"""A schema extension that names each GraphQL operation for the request log and metrics."""

import time
from collections.abc import Iterator

from graphql import GraphQLSyntaxError
from strawberry.extensions import SchemaExtension

from adapters.error_codes import GRAPHQL_PARSE_FAILED, INTERNAL_SERVER_ERROR
from adapters.inbound.graphql.document import chosen_operation, root_fields
from adapters.observability.context import current_request
from adapters.observability.metrics import Metrics


class OperationObserver(SchemaExtension):
    def __init__(self, *, metrics: Metrics) -> None:
        self._metrics = metrics

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except GraphQLSyntaxError:
            # The parser cache parses inside an extension hook, so a syntax error comes
            # through here rather than as a result.
            self._observe(started, GRAPHQL_PARSE_FAILED)
            raise
        self._observe(started, self._outcome())

    def _observe(self, started: float, outcome: str) -> None:
        operation = self._operation()
        self._metrics.observe(operation, outcome, time.perf_counter() - started)
        request = current_request.get()
        if request is not None:
            request.operation, request.outcome = operation, outcome

    def _operation(self) -> str:
        """The root field asked for: a name from the schema, so the label set is bounded."""
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return "unparsed"
        chosen = chosen_operation(document, context.operation_name)
        if chosen is None:
            return "invalid"
        # Through fragments too: `mutation { ...M }` names the fields M holds.
        fields = root_fields(document, chosen) or frozenset()
        if fields and all(name.startswith("__") for name in fields):
            return "introspection"
        fields = frozenset(name for name in fields if not name.startswith("__"))
        if len(fields) != 1:
            return "multiple" if fields else "invalid"
        (name,) = fields
        schema = context.schema._schema
        root = schema.mutation_type if chosen.operation.value == "mutation" else schema.query_type
        return name if root is not None and name in root.fields else "invalid"

    def _outcome(self) -> str:
        context = self.execution_context
        errors = context.pre_execution_errors or (context.result.errors if context.result else None)
        if not errors:
            return "ok"
        code = (errors[0].extensions or {}).get("code")
        return str(code) if code else INTERNAL_SERVER_ERROR
