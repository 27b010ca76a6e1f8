"""The depth and alias limits measured linearly, the field-merging budget, what a document
asks for at its root, and error messages that quote only the schema's names."""

import pytest
from graphql import (
    GraphQLError,
    GraphQLSyntaxError,
    SelectionSetNode,
    get_introspection_query,
    parse,
    specified_rules,
    validate,
)
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from adapters.inbound.graphql import limits
from adapters.inbound.graphql.document import chosen_operation, introspection_only, root_fields
from adapters.inbound.graphql.errors import classify, schema_names
from adapters.inbound.graphql.limits import measure, validation_rules
from adapters.inbound.graphql.schema import build_schema
from tests import configs

SCHEMA = build_schema(configs.graphql_limits())._schema
RULES = validation_rules(max_depth=8, max_aliases=20)
API_KEY = "alk_9f86d081884c7d65_QE9FQWK6wMY95kQareXrrzT9SJWGrCUqmvg1TLL2NgQ"


def doubling_chain(n: int, *, leaf: str = "__typename") -> str:
    """`n` fragments that each spread the next twice: 2^n uses of the last one."""
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(n))
    return f"{{ ...F0 }} {chain} fragment F{n} on Query {{ {leaf} }}"


def messages(query: str, rules: tuple[type, ...] = RULES) -> list[str]:
    return [error.message for error in validate(SCHEMA, parse(query), rules)]


# --- the same limits as strawberry's limiters, measured linearly ---------------------------

SMALL_DOCUMENTS = [
    "{ auditLogs { edges { node { id } } } }",
    "{ auditLogs { edges { cursor } } }",
    "{ ...A } fragment A on Query { auditLogs { ...E } }"
    " fragment E on AuditLogConnection { edges { node { id } } }",
    "{ ...A } fragment A on Query { auditLogs { edges { cursor } } }",
    "{ ... on Query { auditLogs { ... on AuditLogConnection { edges { node { id } } } } } }",
    "{ __schema { types { fields { type { ofType { name } } } } } }",
    "{ auditLogs { edges { __typename } } }",
    "{ auditLogs { edges { node { __typename } } } }",
    "{ a: plans { name } b: plans { name } c: plans { name } }",
    "{ a: plans { ...F } } fragment F on Plan { x: name }",
    "{ a: plans { ...F } b: plans { ...F } } fragment F on Plan { x: name }",
    "{ plans { ...F ...F } } fragment F on Plan { x: name y: name }",
    "query A { a: plans { name } } query B { b: plans { name } c: plans { name } }",
    "{ __schema { a: types { b: name } } }",
    "{ plans { name } }",
]


@pytest.mark.parametrize("query", SMALL_DOCUMENTS)
def test_depth_and_aliases_refuse_what_strawberrys_limiters_refused(query: str) -> None:
    ours = messages(query, validation_rules(max_depth=2, max_aliases=2))
    theirs = messages(
        query,
        (
            *specified_rules,
            *QueryDepthLimiter(max_depth=2).validation_rules,
            *MaxAliasesLimiter(max_alias_count=2).validation_rules,
        ),
    )

    assert any("depth" in m for m in ours) == any("depth" in m for m in theirs)
    assert any("aliases" in m for m in ours) == any("aliases" in m for m in theirs)


def test_a_fragments_aliases_count_once_per_use() -> None:
    document = parse(
        "{ a: plans { ...F } b: plans { ...F } } fragment F on Plan { x: name y: name }"
    )

    ((_, cost),) = measure(document, alias_cap=100)

    assert cost.aliases == 2 + 2 * 2


def test_depth_counts_through_fragments_and_stops_at_introspection() -> None:
    through = parse(SMALL_DOCUMENTS[2])
    introspection = parse('{ plans { __type(name: "Plan") { fields { type { name } } } } }')

    assert [cost.depth for _, cost in measure(through, alias_cap=1)] == [3]
    assert [cost.depth for _, cost in measure(introspection, alias_cap=1)] == [1]


def test_each_definition_is_walked_once_however_often_it_is_spread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walked: list[SelectionSetNode] = []
    summarise = limits._summarise

    def counting(selection_set: SelectionSetNode) -> limits._Summary:
        walked.append(selection_set)
        return summarise(selection_set)

    monkeypatch.setattr(limits, "_summarise", counting)
    document = parse(doubling_chain(40, leaf="a: __typename"), max_tokens=2_000)

    ((_, cost),) = measure(document, alias_cap=21)

    assert len(walked) == 42  # 41 fragments and the operation; 2^40 uses of F40
    assert cost == limits.Cost(depth=0, aliases=21)  # saturated at the cap


def test_the_longest_doubling_chain_within_the_token_limit_is_refused_for_its_aliases() -> None:
    refused = messages(doubling_chain(190, leaf="a: __typename"))
    answered = messages(doubling_chain(190))

    assert refused == ["The document has more than 20 aliases."]
    assert answered == []


def test_a_fragment_cycle_ends_and_is_refused_by_graphql_core() -> None:
    cycle = "{ ...A } fragment A on Query { ...B plans { name } } fragment B on Query { ...A }"

    assert [cost.depth for _, cost in measure(parse(cycle), alias_cap=1)] == [1]
    assert any("within itself" in m for m in messages(cycle))


def test_a_chain_longer_than_the_recursion_limit_is_measured() -> None:
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(5_000))
    document = parse(f"{{ ...F0 }} {chain} fragment F5000 on Query {{ plans {{ name }} }}")

    assert [cost.depth for _, cost in measure(document, alias_cap=1)] == [1]


# --- graphql-core's quadratic rule, budgeted ----------------------------------------------


def test_many_fields_of_one_response_name_exhaust_the_field_merging_budget() -> None:
    # 300 x `plans { name }`: 1,002 tokens, about 225,000 units and 0.5 s at graphql-core's
    # default budget of 500,000, on this project's 2-core machine.
    repeated = "{" + " plans { name }" * 300 + "}"

    assert messages(repeated) == ["Validation aborted."]


def test_real_documents_stay_well_within_the_field_merging_budget() -> None:
    spreads = "{ plans { name " + "...F " * 990 + "} } fragment F on Plan { name }"
    introspection = get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True,
        schema_description=True, input_value_deprecation=True,
    )  # fmt: skip

    assert messages(spreads) == []
    assert messages(introspection) == []
    assert messages("{" + " plans { name }" * 60 + "}") == []


# --- what a document asks for at its root ---------------------------------------------------


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("{ plans { name } }", {"plans"}),
        ("mutation { ...M } fragment M on Mutation { a: createAccount { id } }", {"createAccount"}),
        ("mutation { ... on Mutation { revokeApiKey { id } } }", {"revokeApiKey"}),
        ("{ ...A ...A } fragment A on Query { ...B __typename }"
         " fragment B on Query { ...A viewer }", {"__typename", "viewer"}),
        ("{ ...Missing }", None),
    ],
)  # fmt: skip
def test_root_fields_are_read_through_fragments(query: str, fields: set[str] | None) -> None:
    document = parse(query)
    operation = chosen_operation(document, None)
    assert operation is not None

    assert root_fields(document, operation) == (None if fields is None else frozenset(fields))


@pytest.mark.parametrize(
    ("query", "only"),
    [
        (get_introspection_query(), True),
        ("{ __typename }", True),
        ("{ ...I } fragment I on Query { __schema { queryType { name } } }", True),
        ("{ __typename plans { name } }", False),
        ("{ ...I } fragment I on Query { __typename plans { name } }", False),
        ("query A { __typename } query B { plans { name } }", False),
        ("{ ...Missing }", False),
        ("fragment I on Query { __typename }", False),
    ],
)
def test_only_documents_asking_only_for_introspection_at_the_root_are_introspection(
    query: str, only: bool
) -> None:
    assert introspection_only(parse(query)) is only


# --- error messages quote the schema's names only ------------------------------------------

K = API_KEY
LOGS = "auditLogs(first: $v) { edges { cursor } }".replace("$v", f"${K}")
QUOTING = {
    "unknown field": f"{{ {K} }}",
    "unknown argument": f"{{ auditLogs({K}: 1) {{ edges {{ cursor }} }} }}",
    "unknown input field": f"{{ auditLogs(filter: {{ {K}: 1 }}) {{ edges {{ cursor }} }} }}",
    "unknown fragment": f"{{ ...{K} }}",
    "unused fragment": f"{{ __typename }} fragment {K} on Query {{ __typename }}",
    "fragment cycle": f"{{ ...{K} }} fragment {K} on Query {{ ...{K} }}",
    "unknown type": f"{{ ... on {K} {{ __typename }} }}",
    "unknown variable type": f"query($v: {K}) {{ auditLogs(first: $v) {{ edges {{ cursor }} }} }}",
    "undefined variable": f"query Q{K} {{ {LOGS} }}",
    "unused variable": f"query(${K}: Int) {{ __typename }}",
    "repeated variable": f"query(${K}: Int, ${K}: Int) {{ {LOGS} }}",
    "repeated operation": f"query {K} {{ __typename }} query {K} {{ __typename }}",
    "repeated fragment": f"{{ ...{K} }}" + f" fragment {K} on Query {{ __typename }}" * 2,
    "unknown directive": f"{{ __typename @{K} }}",
    "alias conflict": f"{{ {K}: plans {{ name }} {K}: __typename }}",
    "variable position": f"query(${K}: String) {{ {LOGS} }}",
    "unknown enum value": f'mutation {{ issueApiKey(account: "a", scopes: [{K}]) {{ secret }} }}',
    "string for an int": f'{{ auditLogs(first: "{K}") {{ edges {{ cursor }} }} }}',
    "misplaced fragment": f"{{ ...{K} }} fragment {K} on Plan {{ name }}",
}  # fmt: skip


@pytest.mark.parametrize("query", QUOTING.values(), ids=QUOTING.keys())
def test_a_validation_message_never_quotes_a_name_the_client_chose(query: str) -> None:
    errors = validate(SCHEMA, parse(query), RULES)
    assert errors
    for error in errors:
        classify(error, schema_names(SCHEMA))

    assert all(API_KEY not in e.message and API_KEY[4:20] not in e.message for e in errors)


@pytest.mark.parametrize(
    "query", [f"{{ a( }} {K}", f'{{ "{K}" }}', f"{{ a(x: 0{K}) }}", f'{{ a(x: "\\q{K}") }}']
)
def test_a_syntax_message_never_quotes_the_clients_text(query: str) -> None:
    with pytest.raises(GraphQLSyntaxError) as raised:
        parse(query)
    error: GraphQLError = raised.value

    classify(error, schema_names(SCHEMA))

    assert error.message.startswith("Syntax Error: ")
    assert "alk_" not in error.message


def test_a_message_keeps_the_schemas_names() -> None:
    (error,) = validate(SCHEMA, parse(f"{{ auditLogs({K}: 1) {{ edges {{ cursor }} }} }}"), RULES)
    classify(error, schema_names(SCHEMA))

    assert error.message == "Unknown argument on field 'Query.auditLogs'."
