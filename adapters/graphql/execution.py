"""Execution of plain objects without graphql-core's per-field machinery.

A page of 100 entries is some 1,500 fields, and graphql-core runs each one the same way:
look up the field, build a ResolveInfo, call strawberry's resolver (which reads the
attribute), then complete the value through a chain of type checks. That was 80% of a
page's cost (docs/benchmarks.md). Most of those fields are the plainest kind: an attribute
read off the source object, with no resolver, arguments, permissions, field extensions or
middleware, holding a scalar, a plain object, or a list of either.

For an object whose selected fields are all of that kind, `PlainObjectsExecution` reads and
completes them in one recursive loop. Anything else (a field with a resolver or arguments,
an interface or union, a directive on a list, @defer, a missing attribute, null where the
schema says non-null, a value the scalar refuses) sends the whole object down
graphql-core's own path, which then produces exactly the result or error it always would:
the fast path only returns what the standard one would have, never an error of its own.
Reads are attribute reads, so doing one again on the standard path changes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

# strawberry's resolver for a field without resolver, extensions or exception handlers:
# it only calls the configured default resolver (getattr) with the attribute's name.
_BASIC_RESOLVER = "_get_basic_result"


class _Fallback(Exception):
    """graphql-core's own path must complete this object."""


_Complete = Callable[["PlainObjectsExecution", Any, Any], Any]


@dataclass(frozen=True, slots=True)
class _Field:
    attribute: str
    read: Callable[[Any, str], Any]
    complete: _Complete


_Plan = dict[str, _Field]
_PLANS: "WeakKeyDictionary[GraphQLSchema, dict[str, _Plan]]" = WeakKeyDictionary()


def _completable(type_: GraphQLOutputType) -> bool:
    """A type the fast path completes: a scalar or enum, an object type that does not ask
    to check what it is given, or a list of those; each possibly non-null."""
    if isinstance(type_, GraphQLNonNull | GraphQLList):
        return _completable(type_.of_type)
    if isinstance(type_, GraphQLObjectType):
        return type_.is_type_of is None
    return is_leaf_type(type_)


def _completer(type_: GraphQLOutputType) -> _Complete:
    """How to complete a value of this type, decided once per schema, not per value."""
    if isinstance(type_, GraphQLNonNull):
        inner = _value_completer(type_.of_type)

        def non_null(ctx: "PlainObjectsExecution", details: Any, value: Any) -> Any:
            if value is None:
                raise _Fallback  # graphql-core reports it, and nulls the nearest parent
            return inner(ctx, details, value)

        return non_null
    present = _value_completer(type_)

    def nullable(ctx: "PlainObjectsExecution", details: Any, value: Any) -> Any:
        return None if value is None else present(ctx, details, value)

    return nullable


def _value_completer(type_: GraphQLOutputType) -> _Complete:
    if isinstance(type_, GraphQLObjectType):
        object_type = type_

        def an_object(ctx: "PlainObjectsExecution", details: Any, value: Any) -> Any:
            grouped_field_set, new_defer_usages, _ = ctx.collect_subfields(object_type, details)
            if new_defer_usages:
                raise _Fallback
            return ctx.plain_object(object_type, value, grouped_field_set)

        return an_object
    if isinstance(type_, GraphQLList):
        item = _completer(type_.of_type)

        def a_list(ctx: "PlainObjectsExecution", details: Any, value: Any) -> Any:
            if not isinstance(value, list | tuple) or any(f.node.directives for f in details):
                raise _Fallback  # other iterables, and @stream, take the standard path
            return [item(ctx, details, element) for element in value]

        return a_list
    serialize = type_.serialize  # type: ignore[union-attr]

    def a_leaf(ctx: "PlainObjectsExecution", details: Any, value: Any) -> Any:
        try:
            serialized = serialize(value)
        except Exception:
            raise _Fallback from None
        if serialized is None or serialized is Undefined:
            raise _Fallback
        return serialized

    return a_leaf


def plain_fields(schema: GraphQLSchema) -> dict[str, _Plan]:
    """For each object type, its fields that are plain attribute reads of completable types."""
    plans: dict[str, _Plan] = {}
    for name, type_ in schema.type_map.items():
        if not isinstance(type_, GraphQLObjectType) or name.startswith("__"):
            continue
        plan: _Plan = {}
        for field_name, field in type_.fields.items():
            definition = field.extensions.get("strawberry-definition")
            if (
                isinstance(definition, StrawberryField)
                and definition.is_basic_field
                and getattr(field.resolve, "__name__", None) == _BASIC_RESOLVER
                and not field.args
                and _completable(field.type)
            ):
                plan[field_name] = _Field(
                    definition.python_name, definition.default_resolver, _completer(field.type)
                )
        if plan:
            plans[name] = plan
    return plans


class PlainObjectsExecution(StrawberryGraphQLCoreExecutionContext):
    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        # A position context means incremental delivery (@defer) is under way.
        if position_context is None and self._plans() is not None:
            try:
                return self.plain_object(parent_type, source_value, grouped_field_set)
            except _Fallback:
                pass
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def _plans(self) -> dict[str, _Plan] | None:
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return None  # an extension wraps every resolver: each field must go through it
        plans = _PLANS.get(self.schema)
        if plans is None:
            plans = _PLANS[self.schema] = plain_fields(self.schema)
        return plans

    def plain_object(
        self, type_: GraphQLObjectType, source: Any, grouped_field_set: Any
    ) -> dict[str, Any]:
        plan = _PLANS[self.schema].get(type_.name)
        if plan is None:
            raise _Fallback
        results: dict[str, Any] = {}
        for response_name, details in grouped_field_set.items():
            name = details[0].node.name.value
            field = plan.get(name)
            if field is None:
                if name != "__typename":
                    raise _Fallback
                results[response_name] = type_.name
                continue
            try:
                value = field.read(source, field.attribute)
            except Exception:
                raise _Fallback from None
            results[response_name] = field.complete(self, details, value)
        return results
