"""recordAuditEvents: 1 to 1000 events, all or nothing, persisted with one insert_many."""

from typing import Any

import pytest

from adapters.outbound.mongo.documents import AuditLogDocument
from tests.e2e.api import ENTRY_FIELDS, OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants
from tests.loop_turns import turns_taken

RECORD_MANY = f"""mutation($inputs: [AuditEventInput!]!) {{
  recordAuditEvents(inputs: $inputs) {{ recorded entries {{ {ENTRY_FIELDS} }} }}
}}"""


def login(application: str = "portal", **fields: Any) -> dict[str, Any]:
    return {"application": application, "action": "auth.login", "success": True, **fields}


async def record_many(api: Api, token: str, inputs: list[dict[str, Any]]) -> Any:
    return await api.gql(RECORD_MANY, {"inputs": inputs}, token=token)


async def test_a_batch_is_recorded_with_each_account_taken_from_its_application(
    api: Api, tenants: Tenants
) -> None:
    inputs = [login("portal", email="A@Example.com"), login("admin"), login("shop")]

    result = await record_many(api, OPERATOR_TOKEN, inputs)

    data = result.data["recordAuditEvents"]
    assert data["recorded"] == 3
    assert [(e["application"], e["account"]) for e in data["entries"]] == [
        ("portal", "acme"),
        ("admin", "acme"),
        ("shop", "globex"),
    ]
    assert data["entries"][0]["email"] == "a@example.com"
    assert sorted(await api.all_ids(OPERATOR_TOKEN)) == sorted(e["id"] for e in data["entries"])


async def test_an_invalid_input_names_its_index_and_nothing_is_stored(
    api: Api, tenants: Tenants
) -> None:
    inputs = [login(), login(email="not-an-address"), login(userAgent="x" * 513)]

    result = await record_many(api, tenants.acme_rw, inputs)

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == "inputs[1].email"
    assert result.error["extensions"]["index"] == 1
    assert result.error["message"].startswith("inputs[1].email: ")
    assert await api.all_ids(OPERATOR_TOKEN) == []


async def test_a_forbidden_input_names_its_index_and_nothing_is_stored(
    api: Api, tenants: Tenants
) -> None:
    inputs = [login("portal"), login("admin"), login("shop")]

    result = await record_many(api, tenants.acme_rw, inputs)

    assert result.code == "FORBIDDEN"
    assert result.error["extensions"]["index"] == 2
    assert result.error["message"].startswith("inputs[2]: ")
    assert await api.all_ids(OPERATOR_TOKEN) == []


async def test_an_unknown_application_is_not_found_at_its_index_for_the_operator(
    api: Api, tenants: Tenants
) -> None:
    result = await record_many(api, OPERATOR_TOKEN, [login(), login("nowhere")])

    assert result.code == "NOT_FOUND"
    assert result.error["extensions"]["index"] == 1
    assert await api.all_ids(OPERATOR_TOKEN) == []


@pytest.mark.parametrize("count", [0, 1001])
async def test_a_batch_holds_1_to_1000_inputs(api: Api, tenants: Tenants, count: int) -> None:
    result = await record_many(api, tenants.acme_rw, [login()] * count)

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == "inputs"
    assert await api.all_ids(OPERATOR_TOKEN) == []


async def test_recording_needs_the_record_scope(api: Api, tenants: Tenants) -> None:
    result = await record_many(api, tenants.acme_read, [login()])

    assert result.code == "FORBIDDEN"


@pytest.mark.parametrize("store_kind", ["memory"])  # counts Beanie's calls
async def test_a_full_batch_is_one_insert_many_not_a_loop_of_inserts(
    api: Api, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.settle()
    collection = AuditLogDocument.get_motor_collection()
    calls: list[tuple[str, int]] = []
    insert_one, insert_many = collection.insert_one, collection.insert_many

    async def counting_insert_one(document: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(("insert_one", 1))
        return await insert_one(document, *args, **kwargs)

    async def counting_insert_many(documents: Any, *args: Any, **kwargs: Any) -> Any:
        documents = list(documents)
        calls.append(("insert_many", len(documents)))
        return await insert_many(documents, *args, **kwargs)

    monkeypatch.setattr(collection, "insert_one", counting_insert_one)
    monkeypatch.setattr(collection, "insert_many", counting_insert_many)

    result = await record_many(
        api, tenants.acme_rw, [login(requestId=f"r{i}") for i in range(1000)]
    )

    assert result.data["recordAuditEvents"]["recorded"] == 1000
    assert calls == [("insert_many", 1000)]
    assert len(await api.all_ids(OPERATOR_TOKEN, application="portal")) == 1000


async def test_a_full_batch_hands_the_event_loop_back_while_it_is_validated(
    api: Api, tenants: Tenants
) -> None:
    # Validation runs in a worker thread and ingestion yields every hundred events: other
    # requests (here, a task that only counts its turns) keep being served meanwhile.
    inputs = [login(email=f"user{n}@example.com", reason="invalid password") for n in range(1000)]
    await api.settle()
    async with turns_taken() as turns:
        result = await api.http.post(
            "/graphql",
            json={"query": RECORD_MANY, "variables": {"inputs": inputs}},
            headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        )

    assert result.json()["data"]["recordAuditEvents"]["recorded"] == 1000
    # Ingestion alone yields 9 times; the worker thread gives the loop many more turns.
    assert turns.count >= 30
