"""One table gives every expected failure its code and HTTP status."""

import importlib
import pkgutil

import application
from adapters.error_codes import ERROR_CODES, error_code
from application.errors import (
    ApplicationError,
    Conflict,
    Forbidden,
    IdempotencyKeyTaken,
    InvalidExportLink,
    NotFound,
    PlanNotConfigured,
    RateLimited,
    StoreUnavailable,
    Unauthenticated,
)
from domain.errors import InvalidField


def application_errors() -> set[type[ApplicationError]]:
    """Every subclass of ApplicationError, wherever in the application layer it is defined."""
    for module in pkgutil.walk_packages(application.__path__, "application."):
        importlib.import_module(module.name)
    found: set[type[ApplicationError]] = set()
    pending = [ApplicationError]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("application."):  # not the ones tests define
                found.add(sub)
    return found


def test_every_application_error_has_a_code() -> None:
    errors = application_errors()

    assert InvalidExportLink in errors  # the walk finds errors outside errors.py
    assert [e.__qualname__ for e in errors if error_code(e.__new__(e)) is None] == []


def test_an_application_error_added_without_a_row_has_no_code() -> None:
    class NewFailure(ApplicationError):
        pass

    assert error_code(NewFailure()) is None


def test_the_codes_and_statuses_clients_see() -> None:
    assert {kind: (row.code, row.status) for kind, row in ERROR_CODES.items()} == {
        InvalidField: ("BAD_USER_INPUT", 400),
        Unauthenticated: ("UNAUTHENTICATED", 401),
        Forbidden: ("FORBIDDEN", 403),
        InvalidExportLink: ("FORBIDDEN", 403),
        NotFound: ("NOT_FOUND", 404),
        Conflict: ("CONFLICT", 409),
        IdempotencyKeyTaken: ("CONFLICT", 409),
        RateLimited: ("RATE_LIMITED", 429),
        PlanNotConfigured: ("PLAN_NOT_CONFIGURED", 500),
        StoreUnavailable: ("STORE_UNAVAILABLE", 503),
    }


def test_a_subclass_takes_its_parents_row() -> None:
    class Stricter(Forbidden):
        pass

    assert error_code(Stricter("no")) == ERROR_CODES[Forbidden]
    assert error_code(ValueError("x")) is None
