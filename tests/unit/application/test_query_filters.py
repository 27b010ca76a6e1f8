"""Narrowing a read: actions, email, success, and the since/until window."""

from datetime import timedelta

import pytest

from application.access.principal import Principal
from application.reading.criteria import LogFilter
from application.services import Services
from domain.entry import AuditEntry
from tests.fakes import FakeClock
from tests.unit.application.support import Recorder, read_ids

pytestmark = pytest.mark.usefixtures("tenants")


@pytest.fixture
async def logged(operator: Principal, record: Recorder, clock: FakeClock) -> list[AuditEntry]:
    """Four acme entries one minute apart, oldest first."""
    recorded = []
    for action, success, email in (
        ("auth.login", True, "bob@example.com"),
        ("auth.login", False, "alice@example.com"),
        ("mfa.enrolled", True, "bob@example.com"),
        ("portal.access", False, "carol@example.com"),
    ):
        recorded.append(await record(operator, "acme-web", action, success=success, email=email))
        clock.advance(minutes=1)
    return recorded


async def matching(services: Services, operator: Principal, **narrowing: object) -> set[str]:
    return set(await read_ids(services, operator, LogFilter(**narrowing)))  # type: ignore[arg-type]


def ids(entries: list[AuditEntry], *positions: int) -> set[str]:
    return {entries[i].id for i in positions}


async def test_actions_filter_returns_entries_of_any_listed_action(
    services: Services, operator: Principal, logged: list[AuditEntry]
) -> None:
    found = await matching(services, operator, actions=("auth.login", "portal.access"))
    assert found == ids(logged, 0, 1, 3)


async def test_email_filter_matches_the_normalised_address(
    services: Services, operator: Principal, logged: list[AuditEntry]
) -> None:
    assert await matching(services, operator, email=" BOB@Example.com ") == ids(logged, 0, 2)


@pytest.mark.parametrize(("success", "positions"), [(True, (0, 2)), (False, (1, 3))])
async def test_success_filter_returns_only_that_outcome(
    services: Services,
    operator: Principal,
    logged: list[AuditEntry],
    success: bool,
    positions: tuple[int, ...],
) -> None:
    assert await matching(services, operator, success=success) == ids(logged, *positions)


async def test_since_is_inclusive(
    services: Services, operator: Principal, logged: list[AuditEntry]
) -> None:
    found = await matching(services, operator, since=logged[2].created_at)
    assert found == ids(logged, 2, 3)


async def test_until_is_exclusive(
    services: Services, operator: Principal, logged: list[AuditEntry]
) -> None:
    found = await matching(services, operator, until=logged[2].created_at)
    assert found == ids(logged, 0, 1)


async def test_since_and_until_together_form_a_half_open_window(
    services: Services, operator: Principal, logged: list[AuditEntry]
) -> None:
    found = await matching(
        services, operator, since=logged[1].created_at, until=logged[3].created_at
    )
    assert found == ids(logged, 1, 2)


async def test_naive_window_bounds_are_read_as_utc(
    services: Services, operator: Principal, logged: list[AuditEntry]
) -> None:
    naive_since = logged[1].created_at.replace(tzinfo=None)
    assert await matching(services, operator, since=naive_since) == ids(logged, 1, 2, 3)


async def test_filters_combine_with_and(
    services: Services, operator: Principal, logged: list[AuditEntry]
) -> None:
    found = await matching(
        services,
        operator,
        actions=("auth.login", "mfa.enrolled"),
        email="bob@example.com",
        success=True,
        since=logged[0].created_at + timedelta(milliseconds=1),
    )
    assert found == ids(logged, 2)
