"""The fast path for plain objects answers exactly what graphql-core's own execution does.

Each document runs through the same schema twice, once with `PlainObjectsExecution` and once
with strawberry's stock execution context, and the two results (data, error messages and
paths) must be equal: on the happy path, and on every way a plain read can go wrong.
"""

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult
from graphql.execution import executor
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from adapters.inbound.graphql.execution import PlainObjectsExecution, plain_fields
from adapters.inbound.graphql.scalars import DateTime
from adapters.inbound.graphql.schema import build_schema
from tests import configs

MOMENT = datetime(2026, 11, 27, 12, 30, 15, 123456, tzinfo=UTC)


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leafy:
    id: strawberry.ID
    name: str
    count: int
    ratio: float
    flag: bool
    when: datetime
    colour: Colour
    note: str | None
    tags: list[str]
    maybe_tags: list[str | None] | None


@strawberry.type
class Holder:
    label: str
    leafy: Leafy
    optional_leafy: Leafy | None
    leaves: list[Leafy]
    optional_leaves: list[Leafy | None] | None

    @strawberry.field
    def computed(self) -> str:
        return f"computed:{self.label}"

    @strawberry.field
    def shout(self, word: str) -> str:
        return word.upper()


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Person(Named):
    age: int


@dataclass
class LooseLeafy:
    """Not a strawberry type: what a resolver may hand back; read by attribute."""

    id: Any = "l-1"
    name: Any = "loose"
    count: Any = 1
    ratio: Any = 0.5
    flag: Any = True
    when: Any = MOMENT
    colour: Any = Colour.RED
    note: Any = None
    tags: Any = ()
    maybe_tags: Any = None


def leafy(i: int, **changes: Any) -> Leafy:
    values: dict[str, Any] = {
        "id": strawberry.ID(f"id-{i}"), "name": f"n{i}", "count": i, "ratio": i / 3,
        "flag": i % 2 == 0, "when": MOMENT, "colour": Colour.BLUE, "note": None if i % 2 else "x",
        "tags": ["a", f"t{i}"], "maybe_tags": None if i % 3 == 0 else ["m", None],
    }  # fmt: skip
    values.update(changes)
    return Leafy(**values)


def holder(**changes: Any) -> Holder:
    values: dict[str, Any] = {
        "label": "h", "leafy": leafy(0), "optional_leafy": None,
        "leaves": [leafy(i) for i in range(5)], "optional_leaves": [leafy(7), None],
    }  # fmt: skip
    values.update(changes)
    return Holder(**values)


def schema_for(
    source: Callable[[], Any], context: type, extensions: tuple[Any, ...] = ()
) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def holder(self) -> Holder:
            return source()  # type: ignore[no-any-return]

        @strawberry.field
        def holders(self) -> list[Holder]:
            return [source(), source()]

        @strawberry.field
        def named(self) -> Named:
            return Person(name="p", age=3)

    return strawberry.Schema(
        query=Query,
        types=[Person],
        extensions=list(extensions),
        execution_context_class=context,
        config=StrawberryConfig(scalar_map={datetime: DateTime}),
    )


def both(document: str, source: Callable[[], Any]) -> tuple[ExecutionResult, ExecutionResult]:
    fast = schema_for(source, PlainObjectsExecution).execute_sync(document)
    stock = schema_for(source, StrawberryGraphQLCoreExecutionContext).execute_sync(document)
    return fast, stock


def as_comparable(result: ExecutionResult) -> tuple[Any, list[tuple[str, Any]]]:
    errors = [(e.message, e.path) for e in result.errors or []]
    return result.data, errors


EVERYTHING = """
fragment Leaves on Leafy { id name count ratio flag when colour note tags maybeTags }
query {
  holder {
    __typename label computed shout(word: "hey")
    leafy { ...Leaves }
    optionalLeafy { name }
    leaves { ...Leaves alias: name __typename }
    optionalLeaves { id ... on Leafy { when } }
  }
  holders { label leaves { id } }
  named { name ... on Person { age } }
}
"""

DOCUMENTS = {
    "everything": EVERYTHING,
    "aliases and repeats": "{ holder { a: label b: label leafy { n: name name } } }",
    "skip and include": """{ holder { label @skip(if: true) leafy { name @include(if: false)
        count @include(if: true) } leaves @skip(if: false) { id } } }""",
    "merged selections": "{ holder { leafy { name } leafy { count } } }",
    "typename only": "{ holder { leafy { __typename } } }",
}

SOURCES: dict[str, Callable[[], Any]] = {
    "well formed": holder,
    "non-null leaf is null": lambda: holder(leafy=leafy(0, name=None)),
    "non-null leaf in a list item is null": lambda: holder(leaves=[leafy(0), leafy(1, count=None)]),
    "null inside a nullable list": lambda: holder(optional_leaves=[None, leafy(2)]),
    "null item in a non-null list": lambda: holder(leaves=[leafy(0), None]),
    "non-null object is null": lambda: holder(leafy=None),
    "scalar refuses the value": lambda: holder(leafy=leafy(0, count="not a number")),
    "enum refuses the value": lambda: holder(leafy=leafy(0, colour="green")),
    "datetime refuses the value": lambda: holder(leafy=leafy(0, when="yesterday")),
    "float is not finite": lambda: holder(leafy=leafy(0, ratio=float("nan"))),
    "attribute missing": lambda: holder(leafy=object()),
    "a plain object as source": lambda: holder(leafy=LooseLeafy(), leaves=[LooseLeafy()]),
    "a tuple as the list": lambda: holder(leaves=(leafy(0), leafy(1))),
    "a generator as the list": lambda: holder(leaves=(leafy(i) for i in range(2))),
    "not a list at all": lambda: holder(leaves=leafy(0)),
    "string where a list goes": lambda: holder(leafy=leafy(0, tags="abc")),
}


@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
@pytest.mark.parametrize("source", SOURCES.values(), ids=SOURCES.keys())
def test_the_fast_path_answers_what_graphql_core_answers(
    document: str, source: Callable[[], Any]
) -> None:
    fast, stock = both(document, source)

    assert as_comparable(fast) == as_comparable(stock)


def test_the_comparison_sees_data_and_errors() -> None:
    fast, _ = both(EVERYTHING, SOURCES["non-null leaf is null"])
    clean, _ = both(EVERYTHING, holder)

    assert fast.errors
    assert fast.errors[0].path == ["holder", "leafy", "name"]
    assert clean.errors is None
    assert clean.data is not None
    assert clean.data["holder"]["leafy"]["when"] == "2026-11-27T12:30:15.123+00:00"
    assert clean.data["holder"]["leaves"][1]["colour"] == "BLUE"


@pytest.fixture
def field_executions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The parent type of every field graphql-core executes itself."""
    seen: list[str] = []
    original = executor.Executor.execute_field

    def counting(self: Any, parent_type: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(parent_type.name)
        return original(self, parent_type, *args, **kwargs)

    monkeypatch.setattr(executor.Executor, "execute_field", counting)
    return seen


def test_plain_fields_skip_graphql_core_field_execution(field_executions: list[str]) -> None:
    result = schema_for(holder, PlainObjectsExecution).execute_sync(EVERYTHING)

    assert result.errors is None
    # Only objects with a field that has a resolver went through graphql-core field by
    # field; a Person behind an interface is plain once graphql-core has resolved its type.
    assert sorted(set(field_executions)) == ["Holder", "Query"]


def test_an_extension_that_wraps_resolvers_sees_every_field(
    field_executions: list[str],
) -> None:
    resolved: list[str] = []

    class Watch(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            resolved.append(f"{info.parent_type.name}.{info.field_name}")
            return _next(root, info, *args, **kwargs)

    schema = schema_for(holder, PlainObjectsExecution, extensions=(Watch,))
    result = schema.execute_sync("{ holder { leafy { name } } }")

    assert result.errors is None
    assert resolved == ["Query.holder", "Holder.leafy", "Leafy.name"]


def test_the_service_schema_pages_entries_on_the_fast_path() -> None:
    plans = plain_fields(build_schema(configs.graphql_limits())._schema)

    for type_name, fields in {
        "AuditLogConnection": {"edges", "pageInfo"},
        "AuditLogEdge": {"cursor", "node"},
        "PageInfo": {"hasNextPage", "endCursor"},
        "AuditLogEntry": {"id", "action", "email", "createdAt", "digest", "userAgent"},
    }.items():
        assert fields <= set(plans[type_name]), type_name
    assert "auditLogs" not in plans.get("Query", {})  # it has a resolver
