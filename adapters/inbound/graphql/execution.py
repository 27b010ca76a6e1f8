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
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
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
# graphql-core's String and ID return a str as it is, Boolean a bool (tested against them).
_UNCHANGED: dict[GraphQLScalarType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
}
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
    non_null = isinstance(type_, GraphQLNonNull)
    named = type_.of_type if non_null else type_  # type: ignore[union-attr]
    if is_leaf_type(named):
        return _leaf(named, non_null=non_null)  # most fields: one call, not two
    present = _value_completer(named)
    if non_null:

        def required(ctx: "PlainObjectsExecution", details: Any, value: Any) -> Any:
            if value is None:
                raise _Fallback  # graphql-core reports it, and nulls the nearest parent
            return present(ctx, details, value)

        return required

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
    assert isinstance(type_, GraphQLList)
    item = _completer(type_.of_type)

    def a_list(ctx: "PlainObjectsExecution", details: Any, value: Any) -> Any:
        if not isinstance(value, list | tuple) or any(f.node.directives for f in details):
            raise _Fallback  # other iterables, and @stream, take the standard path
        return [item(ctx, details, element) for element in value]

    return a_list


def _leaf(type_: GraphQLScalarType | GraphQLEnumType, *, non_null: bool) -> _Complete:
    serialize = type_.serialize
    # What graphql-core's own serialisers return unchanged: no call needed for those.
    unchanged = _UNCHANGED.get(type_)  # type: ignore[arg-type]

    def a_leaf(ctx: "PlainObjectsExecution", details: Any, value: Any) -> Any:
        if value.__class__ is unchanged:
            return value
        if value is None:
            if non_null:
                raise _Fallback
            return None
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


_Row = tuple[str, _Field | None, Any]


def _compile(plan: _Plan | None, grouped_field_set: Any) -> list[_Row] | None:
    """Rows of (response name, field or None for __typename, field details); None if a
    selected field is not plain."""
    if plan is None:
        return None
    rows: list[_Row] = []
    for response_name, details in grouped_field_set.items():
        name = details[0].node.name.value
        field = plan.get(name)
        if field is None and name != "__typename":
            return None
        rows.append((response_name, field, details))
    return rows


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
        rows = self._rows(type_, grouped_field_set)
        results: dict[str, Any] = {}
        for response_name, field, details in rows:
            if field is None:
                results[response_name] = type_.name  # __typename
                continue
            try:
                value = field.read(source, field.attribute)
            except Exception:
                raise _Fallback from None
            results[response_name] = field.complete(self, details, value)
        return results

    def _rows(self, type_: GraphQLObjectType, grouped_field_set: Any) -> list[_Row]:
        """What to read for this selection on this type, worked out once per execution:
        the same selection comes back for every entry of a page."""
        compiled: dict[tuple[str, int], tuple[Any, list[_Row] | None]]
        compiled = self.__dict__.setdefault("_plain_rows", {})
        key = (type_.name, id(grouped_field_set))
        found = compiled.get(key)
        if found is None:
            # The selection is kept alongside so that its id cannot be reused meanwhile.
            plan = _PLANS[self.schema].get(type_.name)
            found = compiled[key] = (grouped_field_set, _compile(plan, grouped_field_set))
        rows = found[1]
        if rows is None:
            raise _Fallback
        return rows
