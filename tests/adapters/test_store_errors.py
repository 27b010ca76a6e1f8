"""Driver failures become the application's storage errors, and never leak driver detail."""

import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import pytest
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from adapters.outbound.mongo.documents import AuditLogDocument
from adapters.outbound.mongo.errors import translated_errors
from adapters.outbound.mongo.store import MongoStore, StoreUnreachable
from application.errors import Conflict, StoreUnavailable
from application.reading.criteria import EntryCriteria, LogFilter
from tests import configs
from tests.builders import entry

DRIVER_DETAIL = "db-host-7:27017 secret-detail"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ERRORS_LOGGER = "adapters.outbound.mongo.errors"


def everything() -> EntryCriteria:
    return EntryCriteria(LogFilter())


def timeout() -> ServerSelectionTimeoutError:
    return ServerSelectionTimeoutError(DRIVER_DETAIL)


class UnreachableCursor:
    """What Motor's find returns when the server is gone: lazy, failing on the first fetch."""

    def __aiter__(self) -> "UnreachableCursor":
        return self

    async def __anext__(self) -> NoReturn:
        raise timeout()

    async def to_list(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise timeout()


@pytest.fixture
def unreachable_collection(
    embedded_store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> pytest.MonkeyPatch:
    """Beanie's insert awaits collection.insert_one; its find queries call collection.find."""

    async def insert_one(*args: Any, **kwargs: Any) -> NoReturn:
        raise timeout()

    def find(*args: Any, **kwargs: Any) -> UnreachableCursor:
        return UnreachableCursor()

    collection = AuditLogDocument.get_motor_collection()
    monkeypatch.setattr(collection, "insert_one", insert_one)
    monkeypatch.setattr(collection, "find", find)
    return monkeypatch


def assert_no_driver_detail(error: BaseException) -> None:
    assert "db-host-7" not in str(error)
    assert "secret-detail" not in str(error)
    # Raised `from None`: a traceback shows neither the driver error nor its message.
    assert error.__cause__ is None
    assert error.__suppress_context__ is True


async def test_driver_timeout_on_insert_becomes_store_unavailable_without_driver_detail(
    embedded_store: MongoStore,
    unreachable_collection: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger=ERRORS_LOGGER),
        pytest.raises(StoreUnavailable) as raised,
    ):
        await embedded_store.entries.add(entry(created_at=NOW))

    assert_no_driver_detail(raised.value)
    warnings = [r for r in caplog.records if r.name == ERRORS_LOGGER]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "ServerSelectionTimeoutError" in warnings[0].getMessage()
    assert warnings[0].exc_info is None
    assert "db-host-7" not in caplog.text
    assert "secret-detail" not in caplog.text


async def test_driver_timeout_on_query_becomes_store_unavailable_without_driver_detail(
    embedded_store: MongoStore,
    unreachable_collection: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger=ERRORS_LOGGER),
        pytest.raises(StoreUnavailable) as raised,
    ):
        await embedded_store.entries.query(everything(), now=NOW, after=None, limit=10)

    assert_no_driver_detail(raised.value)
    assert "ServerSelectionTimeoutError" in caplog.text
    assert "secret-detail" not in caplog.text


async def test_driver_timeout_while_streaming_becomes_store_unavailable(
    embedded_store: MongoStore, unreachable_collection: pytest.MonkeyPatch
) -> None:
    rows: AsyncIterator[Any] = embedded_store.entries.stream(everything(), now=NOW)

    with pytest.raises(StoreUnavailable) as raised:
        await anext(rows)

    assert_no_driver_detail(raised.value)


async def test_the_repository_works_again_once_the_driver_recovers(
    embedded_store: MongoStore, unreachable_collection: pytest.MonkeyPatch
) -> None:
    lost = entry(created_at=NOW - timedelta(minutes=2))
    with pytest.raises(StoreUnavailable):
        await embedded_store.entries.add(lost)

    unreachable_collection.undo()
    kept = entry(created_at=NOW - timedelta(minutes=1))
    await embedded_store.entries.add(kept)

    rows = await embedded_store.entries.query(everything(), now=NOW, after=None, limit=10)
    assert rows == [kept]


def test_a_duplicate_key_becomes_a_conflict_naming_the_record_not_the_driver_message() -> None:
    with pytest.raises(Conflict) as raised, translated_errors("account", "acme"):
        raise DuplicateKeyError("E11000 duplicate key error db-host-7 secret-detail", 11000)

    assert (raised.value.kind, raised.value.ident) == ("account", "acme")
    assert_no_driver_detail(raised.value)


@pytest.mark.parametrize(
    "driver_error",
    [
        AutoReconnect(DRIVER_DETAIL),
        NetworkTimeout(DRIVER_DETAIL),
        OperationFailure(DRIVER_DETAIL, 13),
        ServerSelectionTimeoutError(DRIVER_DETAIL),
        PyMongoError(DRIVER_DETAIL),
    ],
    ids=lambda error: type(error).__name__,
)
def test_any_other_driver_error_becomes_store_unavailable_and_logs_only_its_class(
    driver_error: PyMongoError, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger=ERRORS_LOGGER),
        pytest.raises(StoreUnavailable) as raised,
        translated_errors("account", "acme"),
    ):
        raise driver_error

    assert_no_driver_detail(raised.value)
    assert type(driver_error).__name__ in caplog.text
    assert "secret-detail" not in caplog.text


def test_an_error_that_is_not_the_drivers_passes_through_unchanged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    original = ValueError("a bug, not the database")

    with (
        caplog.at_level(logging.WARNING, logger=ERRORS_LOGGER),
        pytest.raises(ValueError, match="a bug, not the database") as raised,
        translated_errors("account", "acme"),
    ):
        raise original

    assert raised.value is original
    assert caplog.records == []


async def test_a_taken_id_in_a_batch_insert_is_a_conflict(store: MongoStore) -> None:
    first = entry(created_at=NOW)
    await store.entries.add(first)

    with pytest.raises(Conflict):
        await store.entries.add_many([entry(entry_id=first.id, created_at=NOW)])


async def test_opening_an_unreachable_database_fails_fast_without_the_uri() -> None:
    started = time.monotonic()

    with pytest.raises(StoreUnreachable) as raised:
        await MongoStore.open(
            configs.client_options("mongodb://127.0.0.1:1", server_selection_timeout_ms=300),
            database="x",
            manage_indexes=True,
        )

    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert "ServerSelectionTimeoutError" in message
    assert "300 ms" in message
    assert "127.0.0.1" not in message
    assert "mongodb://" not in message


async def test_an_unreachable_database_does_not_reveal_the_password_in_the_uri() -> None:
    with pytest.raises(StoreUnreachable) as raised:
        await MongoStore.open(
            configs.client_options(
                "mongodb://auditor:hunter2@127.0.0.1:1", server_selection_timeout_ms=300
            ),
            database="x",
            manage_indexes=True,
        )

    assert "hunter2" not in str(raised.value)
    assert "auditor" not in str(raised.value)


@pytest.mark.parametrize(
    "uri",
    ["mongodb://", "http://db.example.com", "mongodb://auditor:hun:ter2@db.example.com"],
    ids=["no-host", "wrong-scheme", "unescaped-colon-in-password"],
)
async def test_a_malformed_connection_string_is_reported_as_not_valid(uri: str) -> None:
    with pytest.raises(StoreUnreachable) as raised:
        await MongoStore.open(
            configs.client_options(uri, server_selection_timeout_ms=300),
            database="x",
            manage_indexes=True,
        )

    message = str(raised.value)
    assert "connection string is not valid" in message
    assert "hun:ter2" not in message


async def test_a_connection_string_without_a_scheme_is_reported_as_not_valid() -> None:
    with pytest.raises(StoreUnreachable) as raised:
        await MongoStore.open(
            configs.client_options("not-a-mongo-uri", server_selection_timeout_ms=300),
            database="x",
            manage_indexes=True,
        )

    assert "connection string is not valid" in str(raised.value)


@pytest.mark.parametrize(
    "uri",
    ["mongodb://auditor:hunter2@db.example.com:notaport", "mongodb://db.example.com:99999"],
    ids=["non-digit-port", "port-out-of-range"],
)
async def test_a_connection_string_with_a_bad_port_is_reported_as_not_valid(uri: str) -> None:
    with pytest.raises(StoreUnreachable) as raised:
        await MongoStore.open(
            configs.client_options(uri, server_selection_timeout_ms=300),
            database="x",
            manage_indexes=True,
        )

    assert "connection string is not valid" in str(raised.value)


async def test_a_database_that_refuses_at_start_is_named_by_its_code_not_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def refuses(*args: object, **kwargs: object) -> None:
        raise OperationFailure(
            "auth failed for auditor:hunter2", code=18, details={"codeName": "AuthenticationFailed"}
        )

    monkeypatch.setattr("adapters.outbound.mongo.store.init_beanie", refuses)

    with pytest.raises(StoreUnreachable) as raised:
        await MongoStore.open(configs.client_options(None), database="x", manage_indexes=True)

    assert str(raised.value) == "the database refused the request (AuthenticationFailed)"
