"""Faults of the store, end to end: the service answers STORE_UNAVAILABLE within its bound,
stays up, keeps its own audit events queued, and recovers once the database is back.

The embedded store's collections are broken in place (Beanie's documents go through
`insert_one`, `insert_many`, `find`, `find_one` and `find_one_and_update`); readiness pings
through the client's `admin.command`. Every call that could hang is bounded by
`asyncio.wait_for(..., 10)`, so a regression fails the test instead of hanging the suite.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any, NoReturn, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from pymongo.errors import AutoReconnect, PyMongoError, ServerSelectionTimeoutError

from adapters.outbound.mongo.documents import (
    AccountDocument,
    ApiKeyDocument,
    ApplicationDocument,
    AuditLogDocument,
)
from application.services import Services
from entrypoints.app import Overrides, create_app
from entrypoints.settings import InterceptorSettings, StoreSettings
from tests.e2e.api import OPERATOR_TOKEN, Api, Result
from tests.e2e.conftest import Tenants, settings
from tests.fakes import FakeClock
from tests.telemetry import scraped

BOUND = 10.0
"""Seconds a call may take before the test calls it hung (the store's own bound is 0.2 s)."""
DRIVER_DETAIL = "db-host-7.internal:27017 replicaSet=rs0 secret-detail"
UNAVAILABLE_MESSAGE = "the audit log store is unavailable; retry later"
COLLECTION_METHODS = ("insert_one", "insert_many", "find", "find_one", "find_one_and_update")
DIRECTORY = (AccountDocument, ApplicationDocument, ApiKeyDocument)
EVERYTHING = (AuditLogDocument, *DIRECTORY)

RECORD_MANY = """mutation($inputs: [AuditEventInput!]!) {
  recordAuditEvents(inputs: $inputs) { recorded }
}"""
EXPORT = """query { exportAuditLogs(format: NDJSON) { url } }"""
CREATE_BILLING = """mutation {
  createApplication(account: "acme", id: "billing", name: "Billing") { id }
}"""

T = TypeVar("T")


def bounded(call: Awaitable[T]) -> Awaitable[T]:
    return asyncio.wait_for(call, BOUND)


async def hang(*args: Any, **kwargs: Any) -> NoReturn:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


class BrokenCursor:
    """Like Motor's: lazy, and failing (or hanging) only when rows are fetched."""

    def __init__(self, fetch: Callable[[], Awaitable[NoReturn]]) -> None:
        self._fetch = fetch

    def __aiter__(self) -> "BrokenCursor":
        return self

    async def __anext__(self) -> NoReturn:
        await self._fetch()

    async def to_list(self, *args: Any, **kwargs: Any) -> NoReturn:
        await self._fetch()

    def __getattr__(self, name: str) -> Callable[..., "BrokenCursor"]:
        return lambda *args, **kwargs: self  # sort, limit, batch_size...


class Faults:
    """Breaks the store the app runs on, and mends it."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._patch = pytest.MonkeyPatch()
        self.waiting = 0
        """Calls waiting on a hung collection right now."""

    def _break(self, documents: tuple[Any, ...], fetch: Callable[[], Awaitable[NoReturn]]) -> None:
        async def call(*args: Any, **kwargs: Any) -> NoReturn:
            await fetch()

        def find(*args: Any, **kwargs: Any) -> BrokenCursor:
            return BrokenCursor(fetch)

        for document in documents:
            collection = document.get_motor_collection()
            for method in COLLECTION_METHODS:
                self._patch.setattr(collection, method, find if method == "find" else call)

    def hang(self, *documents: Any) -> None:
        """Every read and write of these collections waits forever."""

        async def counted() -> NoReturn:
            self.waiting += 1
            try:
                await hang()
            finally:
                self.waiting -= 1

        self._break(documents, counted)

    def fail(self, error: Callable[[], PyMongoError], *documents: Any) -> None:
        """Every read and write of these collections raises the driver error."""

        async def raise_error() -> NoReturn:
            raise error()

        self._break(documents, raise_error)

    def ping(self, answer: Callable[..., Awaitable[Any]]) -> None:
        """Replace the database's answer to a ping (other commands are left alone)."""
        admin = type(self._app.state.store.client.admin)
        original = admin.command

        async def command(database: Any, name: Any, *args: Any, **kwargs: Any) -> Any:
            if name == "ping":
                return await answer()
            return await original(database, name, *args, **kwargs)

        self._patch.setattr(admin, "command", command)

    def mend(self) -> None:
        self._patch.undo()


@pytest.fixture
async def app(clock: FakeClock) -> AsyncIterator[FastAPI]:
    """The e2e app (overriding conftest's) with a 200 ms bound on store calls and an
    interceptor that retries fast and long enough to outlast a short outage."""
    base = settings(store="memory")
    faulty = replace(
        base,
        store=StoreSettings(
            store="memory", embedded_ttl_sweep_seconds=3600, mongodb_operation_timeout_ms=200
        ),
        interceptor=InterceptorSettings(
            linger_ms=0,
            backoff_base_ms=1,
            backoff_max_ms=10,
            max_attempts=100,
            shutdown_grace_seconds=5,
        ),
    )
    application = create_app(faulty, Overrides(clock=clock))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[Api]:
    """Without waiting for the service's own events before each request: while the store is
    down that wait would last as long as the outage. Tests call `delivered` instead."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
        yield Api(http)


@pytest.fixture
async def store(app: FastAPI, tenants: Tenants) -> AsyncIterator[Faults]:
    """Faults of the app's store, after the tenants' own events are stored; mended at the
    end of the test even if it failed, before the app stops."""
    await bounded(services(app).emitter.drain())
    faults = Faults(app)
    yield faults
    faults.mend()


def services(app: FastAPI) -> Services:
    return app.state.services  # type: ignore[no-any-return]


async def delivered(app: FastAPI) -> None:
    """Wait until every event the service emitted so far is stored (or given up)."""
    await bounded(services(app).emitter.drain())


async def until(condition: Callable[[], bool]) -> None:
    """Poll: what is waited for is a counter, with no event to wait on."""
    while True:
        if condition():
            return
        await asyncio.sleep(0.005)


async def retried(api: Api) -> None:
    """Wait until the interceptor has tried to store an event, failed, and will try again."""

    async def polled() -> None:
        while not await interceptor_events(api, "retried"):  # noqa: ASYNC110 (a count, no event)
            await asyncio.sleep(0.005)

    await bounded(polled())


async def interceptor_events(api: Api, result: str) -> float:
    return await scraped(api.http, "auditlog_interceptor_events_total", result=result)


async def stored(api: Api, **filter: Any) -> list[dict[str, Any]]:
    return await bounded(api.all_entries(OPERATOR_TOKEN, **filter))


def assert_unavailable(result: Result, *secrets: str) -> None:
    assert result.code == "STORE_UNAVAILABLE", result.body
    assert result.error["message"] == UNAVAILABLE_MESSAGE
    text = str(result.body)
    for secret in (DRIVER_DETAIL, "db-host-7", "secret-detail", *secrets):
        assert secret not in text


async def healthy(api: Api) -> None:
    response = await bounded(api.http.get("/healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def driver_errors() -> list[Any]:
    return [
        pytest.param(lambda: ServerSelectionTimeoutError(DRIVER_DETAIL), id="server-selection"),
        pytest.param(lambda: AutoReconnect(DRIVER_DETAIL), id="auto-reconnect"),
    ]


class TestAHangingStore:
    async def test_recording_answers_store_unavailable_and_works_once_the_store_is_back(
        self, api: Api, tenants: Tenants, store: Faults
    ) -> None:
        store.hang(AuditLogDocument)

        lost = await bounded(api.record(tenants.acme_rw, application="portal", email="a@x.io"))

        assert_unavailable(lost)
        await healthy(api)
        store.mend()
        kept = await bounded(api.record(tenants.acme_rw, application="portal", email="b@x.io"))
        assert kept.data["recordAuditEvent"]["email"] == "b@x.io"
        assert [e["email"] for e in await stored(api, actions=["auth.login"])] == ["b@x.io"]

    async def test_a_batch_answers_store_unavailable_and_works_once_the_store_is_back(
        self, api: Api, tenants: Tenants, store: Faults
    ) -> None:
        inputs = [{"application": "portal", "action": "auth.login", "success": True}] * 3
        store.hang(AuditLogDocument)

        assert_unavailable(
            await bounded(api.gql(RECORD_MANY, {"inputs": inputs}, token=tenants.acme_rw))
        )

        store.mend()
        again = await bounded(api.gql(RECORD_MANY, {"inputs": inputs}, token=tenants.acme_rw))
        assert again.data["recordAuditEvents"]["recorded"] == 3

    async def test_reading_answers_store_unavailable_and_works_once_the_store_is_back(
        self, app: FastAPI, api: Api, tenants: Tenants, store: Faults
    ) -> None:
        await api.record(tenants.acme_rw, application="portal")
        store.hang(AuditLogDocument)

        assert_unavailable(await bounded(api.logs(tenants.acme_read)))

        await healthy(api)
        store.mend()
        logins = {"actions": ["auth.login"]}
        page = (await bounded(api.logs(tenants.acme_read, filter=logins))).data["auditLogs"]
        assert [edge["node"]["action"] for edge in page["edges"]] == ["auth.login"]
        # The failed read was kept in the queue through the outage, and is in the trail now.
        await delivered(app)
        views = await stored(api, account="acme", actions=["portal.audit_logs.viewed"])
        assert sorted(view["success"] for view in views) == [False, True]

    async def test_a_key_whose_lookup_hangs_gets_store_unavailable_not_unauthenticated(
        self, api: Api, tenants: Tenants, store: Faults
    ) -> None:
        store.hang(ApiKeyDocument)

        result = await bounded(api.record(tenants.acme_rw, application="portal"))

        assert_unavailable(result, tenants.acme_rw)
        # Only the key lookup waits: the operator, who needs none, is served meanwhile.
        assert (await bounded(api.record(OPERATOR_TOKEN, application="portal"))).data
        store.mend()
        assert (await bounded(api.record(tenants.acme_rw, application="portal"))).data

    async def test_the_service_keeps_answering_while_calls_wait_on_the_store(
        self, api: Api, tenants: Tenants, store: Faults
    ) -> None:
        store.hang(*EVERYTHING)
        waiting = [
            asyncio.ensure_future(api.record(tenants.acme_rw, application="portal"))
            for _ in range(5)
        ]
        await bounded(until(lambda: store.waiting == len(waiting)))

        await healthy(api)
        plans = (await bounded(api.gql("{ plans { name } }", token=OPERATOR_TOKEN))).data
        assert plans["plans"][0] == {"name": "free"}
        results = await bounded(asyncio.gather(*waiting))
        for result in results:
            assert_unavailable(result)

        store.mend()
        assert (await bounded(api.record(tenants.acme_rw, application="portal"))).data


class TestAFailingStore:
    @pytest.fixture(params=driver_errors())
    def error(self, request: pytest.FixtureRequest) -> Callable[[], PyMongoError]:
        return request.param  # type: ignore[no-any-return]

    async def test_recording_fails_without_the_drivers_message_and_recovers(
        self,
        api: Api,
        tenants: Tenants,
        store: Faults,
        error: Callable[[], PyMongoError],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        store.fail(error, AuditLogDocument)

        assert_unavailable(await bounded(api.record(tenants.acme_rw, application="portal")))

        assert "secret-detail" not in caplog.text
        await healthy(api)
        store.mend()
        assert (await bounded(api.record(tenants.acme_rw, application="portal"))).data
        assert len(await stored(api, actions=["auth.login"])) == 1

    async def test_reading_fails_without_the_drivers_message_and_recovers(
        self, api: Api, tenants: Tenants, store: Faults, error: Callable[[], PyMongoError]
    ) -> None:
        await api.record(tenants.acme_rw, application="portal")
        store.fail(error, AuditLogDocument)

        assert_unavailable(await bounded(api.logs(tenants.acme_read)))

        store.mend()
        logins = {"actions": ["auth.login"]}
        page = (await bounded(api.logs(tenants.acme_read, filter=logins))).data["auditLogs"]
        assert len(page["edges"]) == 1

    async def test_authentication_fails_without_the_drivers_message_and_recovers(
        self, api: Api, tenants: Tenants, store: Faults, error: Callable[[], PyMongoError]
    ) -> None:
        store.fail(error, ApiKeyDocument)

        assert_unavailable(await bounded(api.logs(tenants.acme_read)), tenants.acme_read)

        store.mend()
        assert (await bounded(api.logs(tenants.acme_read))).data

    async def test_administration_fails_without_the_drivers_message_and_recovers(
        self, api: Api, tenants: Tenants, store: Faults, error: Callable[[], PyMongoError]
    ) -> None:
        store.fail(error, *DIRECTORY)

        assert_unavailable(await bounded(api.gql(CREATE_BILLING, token=OPERATOR_TOKEN)))

        store.mend()
        created = await bounded(api.operator(CREATE_BILLING))
        assert created["createApplication"] == {"id": "billing"}

    async def test_a_download_fails_with_503_without_the_drivers_message_and_recovers(
        self, api: Api, tenants: Tenants, store: Faults, error: Callable[[], PyMongoError]
    ) -> None:
        _, exporter = await api.issue_key("acme", ["EXPORT"])
        url = (await api.gql(EXPORT, token=exporter)).data["exportAuditLogs"]["url"]
        store.fail(error, *EVERYTHING)

        response = await bounded(api.http.get(url))

        assert response.status_code == 503
        assert response.json()["error"]["code"] == "STORE_UNAVAILABLE"
        assert "secret-detail" not in response.text
        store.mend()
        assert (await bounded(api.http.get(url))).status_code == 200


class TestTheInterceptorKeepsItsPromise:
    async def test_an_admin_change_succeeds_while_the_trail_fails_and_is_recorded_after(
        self, app: FastAPI, api: Api, tenants: Tenants, store: Faults
    ) -> None:
        store.fail(lambda: AutoReconnect(DRIVER_DETAIL), AuditLogDocument)

        created = await bounded(api.operator(CREATE_BILLING))

        assert created["createApplication"] == {"id": "billing"}
        await retried(api)  # the event met the outage, and is kept for another try
        assert services(app).emitter.pending >= 1
        store.mend()
        await delivered(app)
        events = await stored(api, actions=["admin.application.created"], application="billing")
        assert [(e["account"], e["success"]) for e in events] == [("acme", True)]
        assert await interceptor_events(api, "failed") == 0

    async def test_an_audited_flow_completes_while_the_store_hangs_and_its_event_arrives(
        self, app: FastAPI, api: Api, tenants: Tenants, store: Faults
    ) -> None:
        auditor = services(app).auditor

        @auditor.audited(
            "user.password.changed", application="portal", email=lambda call: call["email"]
        )
        async def change_password(email: str) -> str:
            return f"changed for {email}"

        store.hang(AuditLogDocument)

        # Never waits on the store: a flow that did would hang here and fail the bound.
        assert await bounded(change_password("ada@example.com")) == "changed for ada@example.com"
        assert await bounded(change_password("bob@example.com")) == "changed for bob@example.com"

        await retried(api)
        store.mend()
        await delivered(app)
        events = await stored(api, actions=["user.password.changed"])
        assert sorted(e["email"] for e in events) == ["ada@example.com", "bob@example.com"]
        assert all(e["success"] and e["account"] == "acme" for e in events)
        assert await interceptor_events(api, "failed") == 0
        assert await interceptor_events(api, "dropped") == 0


class TestReadiness:
    async def test_ready_when_the_database_answers_a_ping(self, api: Api) -> None:
        response = await bounded(api.http.get("/readyz"))

        assert response.status_code == 200
        assert response.json()["status"] == "ready"

    async def test_unavailable_when_the_ping_fails_and_ready_again_after(
        self, api: Api, store: Faults
    ) -> None:
        async def fails() -> NoReturn:
            raise ServerSelectionTimeoutError(DRIVER_DETAIL)

        store.ping(fails)

        response = await bounded(api.http.get("/readyz"))

        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        await healthy(api)
        store.mend()
        assert (await bounded(api.http.get("/readyz"))).status_code == 200

    async def test_unavailable_when_the_ping_hangs_and_ready_again_after(
        self, api: Api, store: Faults
    ) -> None:
        store.ping(hang)

        response = await bounded(api.http.get("/readyz"))

        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        await healthy(api)
        store.mend()
        assert (await bounded(api.http.get("/readyz"))).status_code == 200
