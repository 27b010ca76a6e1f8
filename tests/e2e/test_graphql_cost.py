"""No GraphQL document costs more than its size, and a caller without credentials gets
nothing but introspection: over HTTP, through the real ASGI app."""

import json
import time
from typing import Any

import pytest
from graphql import get_introspection_query

from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants
from tests.e2e.test_metrics import requests, scrape

API_KEY = "alk_9f86d081884c7d65_QE9FQWK6wMY95kQareXrrzT9SJWGrCUqmvg1TLL2NgQ"
# Strawberry's limiters took 6.6 s for 21 fragments and twice as long for each one more:
# 24 took about a minute. Each request here is refused or answered in milliseconds.
FRAGMENTS = 24
BOUND_SECONDS = 5.0


def doubling_chain(n: int, *, root: str = "{ ...F0 }", on: str = "Query", leaf: str = "__typename") -> str:  # fmt: skip  # noqa: E501
    chain = " ".join(f"fragment F{i} on {on} {{ ...F{i + 1} ...F{i + 1} }}" for i in range(n))
    return f"{root} {chain} fragment F{n} on {on} {{ {leaf} }}"


async def timed(api: Api, query: str, token: str | None) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    result = await api.gql(query, token=token)
    return result.body, time.perf_counter() - started


async def test_a_doubling_fragment_chain_is_answered_at_once_when_authenticated(api: Api) -> None:
    answered, answered_in = await timed(api, doubling_chain(FRAGMENTS), OPERATOR_TOKEN)
    refused, refused_in = await timed(
        api, doubling_chain(FRAGMENTS, leaf="a: __typename"), OPERATOR_TOKEN
    )

    assert answered == {"data": {"__typename": "Query"}}
    assert refused["errors"][0]["message"] == "The document has more than 20 aliases."
    assert max(answered_in, refused_in) < BOUND_SECONDS


async def test_a_doubling_fragment_chain_without_credentials_is_refused_unvalidated(
    api: Api,
) -> None:
    refused, refused_in = await timed(api, doubling_chain(FRAGMENTS, leaf="plans { name }"), None)
    # Only `__typename` at the root: introspection, validated (linearly) and answered.
    answered, answered_in = await timed(api, doubling_chain(FRAGMENTS), None)

    assert [e["extensions"]["code"] for e in refused["errors"]] == ["UNAUTHENTICATED"]
    assert refused["data"] is None
    assert answered == {"data": {"__typename": "Query"}}
    assert max(refused_in, answered_in) < BOUND_SECONDS


async def test_a_doubling_chain_inside_introspection_is_measured_linearly_too(api: Api) -> None:
    query = doubling_chain(FRAGMENTS, root="{ __schema { ...F0 } }", on="__Schema")

    answered, answered_in = await timed(api, query, None)

    assert answered == {"data": {"__schema": {"__typename": "__Schema"}}}
    assert answered_in < BOUND_SECONDS


async def test_graphiqls_introspection_works_without_credentials(api: Api) -> None:
    full = await api.gql(get_introspection_query(descriptions=True), token=None)
    through_a_fragment = await api.gql(
        "{ ...I } fragment I on Query { __schema { queryType { name } } }", token=None
    )

    assert {t["name"] for t in full.data["__schema"]["types"]} >= {"Query", "Mutation"}
    assert through_a_fragment.data == {"__schema": {"queryType": {"name": "Query"}}}


async def test_without_credentials_any_other_document_is_unauthenticated_before_validation(
    api: Api,
) -> None:
    """Invalid documents too: validation is work the caller chose, so it waits for a key."""
    documents = [
        "{ plans { name } }",
        "{ __typename plans { name } }",
        "{ ...P } fragment P on Query { plans { name } }",
        "{ notAField }",
        "{ auditLogs { edges { node { id { deeper } } } } }",
        doubling_chain(FRAGMENTS, leaf="a: plans { name }"),
        "mutation { ... on Mutation { revokeApiKey(id: 1) { id } } }",
    ]
    for document in documents:
        for token in (None, "alk_0123456789abcdef_not-a-key-at-all"):
            result = await api.gql(document, token=token)
            assert result.code == "UNAUTHENTICATED", document
            assert result.body["data"] is None


async def test_an_unauthenticated_refusal_is_counted_under_its_root_field(api: Api) -> None:
    before = await scrape(api)
    assert (await api.gql("{ plans { name } }", token=None)).code == "UNAUTHENTICATED"
    after = await scrape(api)

    assert requests(before, after, "plans", "UNAUTHENTICATED") == 1


async def test_root_fields_inside_fragments_are_counted_by_name(api: Api, tenants: Tenants) -> None:
    variables = {"input": {"application": "portal", "action": "auth.login", "success": True}}
    spread = (
        "mutation($input: AuditEventInput!) { ...M }"
        " fragment M on Mutation { recordAuditEvent(input: $input) { id } }"
    )
    inline = (
        "mutation($input: AuditEventInput!) {"
        " ... on Mutation { recordAuditEvent(input: $input) { id } } }"
    )
    before = await scrape(api)
    assert (await api.gql(spread, variables, token=tenants.acme_rw)).data
    assert (await api.gql(inline, variables, token=tenants.acme_rw)).data
    after = await scrape(api)

    assert requests(before, after, "recordAuditEvent", "ok") == 2
    assert requests(before, after, "invalid", "ok") == 0


CREDENTIAL_NAMED = {
    "field": f"{{ {API_KEY} }}",
    "argument": f"{{ auditLogs({API_KEY}: 1) {{ edges {{ cursor }} }} }}",
    "fragment": f"{{ ...{API_KEY} }}",
    "variable": f"{{ auditLogs(first: ${API_KEY}) {{ edges {{ cursor }} }} }}",
    "type": f"query($v: {API_KEY}) {{ auditLogs(first: $v) {{ edges {{ cursor }} }} }}",
    "directive": f"{{ plans @{API_KEY} {{ name }} }}",
    "alias": f"{{ {API_KEY}: plans {{ name }} {API_KEY}: viewer {{ scopes }} }}",
    "syntax": f"{{ plans( {API_KEY}",
}


async def test_no_error_quotes_a_credential_shaped_name_or_value(
    api: Api, tenants: Tenants
) -> None:
    for kind, document in CREDENTIAL_NAMED.items():
        result = await api.gql(document, token=tenants.acme_rw)
        assert result.code in {"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"}, kind
        assert API_KEY[4:] not in json.dumps(result.body), kind
    unknown_input = await api.gql(
        "mutation($input: AuditEventInput!) { recordAuditEvent(input: $input) { id } }",
        {"input": {"application": "portal", "action": "a.b", "success": True, API_KEY: 1}},
        token=tenants.acme_rw,
    )
    assert unknown_input.code == "BAD_USER_INPUT"
    assert API_KEY[4:] not in json.dumps(unknown_input.body)


async def test_an_unknown_operation_name_is_not_quoted(api: Api, tenants: Tenants) -> None:
    response = await api.http.post(
        "/graphql",
        json={"query": "query A { plans { name } }", "operationName": API_KEY},
        headers={"Authorization": f"Bearer {tenants.acme_rw}"},
    )

    assert API_KEY[4:] not in response.text


@pytest.mark.parametrize("token", [OPERATOR_TOKEN, None])
async def test_a_document_of_several_operations_needs_an_operation_name(
    api: Api, token: str | None
) -> None:
    result = await api.gql("query A { plans { name } } query B { __typename }", token=token)

    assert result.body["data"] is None
    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == "operationName"
