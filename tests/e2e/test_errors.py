"""Error codes for malformed requests and failures, and what a client never sees."""

import logging

import pytest
from fastapi import FastAPI
from pymongo.errors import ServerSelectionTimeoutError

from adapters.outbound.mongo.documents import AuditLogDocument
from application.services import Services
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants

DRIVER_DETAIL = "db-7.internal:27017 replica set rs0 is not answering"


async def test_a_syntax_error_is_graphql_parse_failed(api: Api, tenants: Tenants) -> None:
    result = await api.gql("{ auditLogs( { edges }", token=tenants.acme_read)

    assert result.code == "GRAPHQL_PARSE_FAILED"


@pytest.mark.parametrize(
    "query",
    [
        "{ auditLogz { edges { cursor } } }",
        "{ auditLogs(first: 1.5) { edges { cursor } } }",
        "mutation($id: String!) { revokeApiKey(id: $id) { id } }",
    ],
)
async def test_a_query_the_schema_rejects_is_graphql_validation_failed(
    api: Api, tenants: Tenants, query: str
) -> None:
    result = await api.gql(query, {"id": "x"}, token=tenants.acme_read)

    assert result.code == "GRAPHQL_VALIDATION_FAILED"


async def test_a_variable_of_the_wrong_type_is_bad_user_input(api: Api, tenants: Tenants) -> None:
    result = await api.gql(
        "query($n: Int) { auditLogs(first: $n) { edges { cursor } } }",
        {"n": "many"},
        token=tenants.acme_read,
    )

    assert result.code == "BAD_USER_INPUT"


@pytest.mark.parametrize("store_kind", ["memory"])  # counts Beanie's calls
async def test_an_unreachable_store_is_store_unavailable_and_the_service_recovers(
    api: Api, tenants: Tenants, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    collection = AuditLogDocument.get_motor_collection()

    async def times_out(*args: object, **kwargs: object) -> None:
        raise ServerSelectionTimeoutError(DRIVER_DETAIL)

    monkeypatch.setattr(collection, "insert_one", times_out)
    with caplog.at_level(logging.INFO):
        failed = await api.record(tenants.acme_rw, application="portal", email="bob@example.com")

    assert failed.code == "STORE_UNAVAILABLE"
    assert DRIVER_DETAIL not in str(failed.body)
    assert "Traceback" not in str(failed.body)
    assert DRIVER_DETAIL not in caplog.text
    assert "bob@example.com" not in caplog.text

    monkeypatch.undo()
    recovered = await api.record(tenants.acme_rw, application="portal")
    assert recovered.data["recordAuditEvent"]["id"]


async def test_an_unexpected_failure_is_masked_for_the_client_and_logged_for_operators(
    app: FastAPI,
    api: Api,
    tenants: Tenants,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    services: Services = app.state.services

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail: key=hunter2")

    monkeypatch.setattr(services.reading.query, "execute", explode)
    result = await api.logs(tenants.acme_read)

    assert result.code == "INTERNAL_SERVER_ERROR"
    assert result.error["message"] == "Internal server error."
    assert "hunter2" not in str(result.body)
    assert "RuntimeError" in caplog.text


async def test_healthz_answers_while_the_process_is_up(api: Api) -> None:
    response = await api.http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_queries_are_not_accepted_over_get(api: Api, tenants: Tenants) -> None:
    response = await api.http.get(
        "/graphql",
        params={"query": "{ plans { name } }"},
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    )

    assert response.status_code in {400, 405}
