"""The caller's filter is validated and normalised when it is built."""

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from application.reading.criteria import (
    MAX_ACTIONS_IN_FILTER,
    LogFilter,
    filter_document,
    filter_of_document,
)
from domain.errors import InvalidField

NOON = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def many_actions(count: int) -> tuple[str, ...]:
    return tuple(f"app.action_{i}" for i in range(count))


def test_empty_filter_narrows_nothing() -> None:
    wanted = LogFilter()
    assert (wanted.account, wanted.application, wanted.actions, wanted.email) == (
        None,
        None,
        None,
        None,
    )
    assert (wanted.success, wanted.since, wanted.until) == (None, None, None)


@pytest.mark.parametrize("until", [NOON, NOON - timedelta(milliseconds=1)], ids=["equal", "before"])
def test_until_not_after_since_is_rejected_on_field_filter_until(until: datetime) -> None:
    with pytest.raises(InvalidField) as raised:
        LogFilter(since=NOON, until=until)
    assert raised.value.field == "filter.until"


def test_window_bounds_are_compared_in_utc() -> None:
    two_hours_ahead = timezone(timedelta(hours=2))
    with pytest.raises(InvalidField) as raised:
        LogFilter(since=NOON, until=datetime(2026, 1, 15, 13, 0, tzinfo=two_hours_ahead))
    assert raised.value.field == "filter.until"


def test_window_of_one_millisecond_is_accepted() -> None:
    wanted = LogFilter(since=NOON, until=NOON + timedelta(milliseconds=1))
    assert wanted.until == NOON + timedelta(milliseconds=1)


def test_naive_bounds_become_utc() -> None:
    wanted = LogFilter(since=datetime(2026, 1, 15, 12, 0), until=datetime(2026, 1, 15, 13, 0))
    assert wanted.since == NOON
    assert wanted.since is not None
    assert wanted.since.tzinfo == UTC


def test_aware_bounds_are_converted_to_utc() -> None:
    wanted = LogFilter(until=datetime(2026, 1, 15, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    assert wanted.until is not None
    assert (wanted.until.tzinfo, wanted.until.hour) == (UTC, 12)


def test_filter_accepts_up_to_fifty_actions() -> None:
    assert MAX_ACTIONS_IN_FILTER == 50
    assert LogFilter(actions=many_actions(50)).actions == many_actions(50)


def test_filter_rejects_more_than_fifty_actions_on_field_filter_actions() -> None:
    with pytest.raises(InvalidField) as raised:
        LogFilter(actions=many_actions(51))
    assert raised.value.field == "filter.actions"


@pytest.mark.parametrize("bad", ["auth", "Auth.login", "auth.login\n", ""])
def test_invalid_action_in_filter_is_rejected_on_field_filter_actions(bad: str) -> None:
    with pytest.raises(InvalidField) as raised:
        LogFilter(actions=("auth.login", bad))
    assert raised.value.field == "filter.actions"


def test_actions_given_as_a_list_are_kept_as_a_tuple() -> None:
    wanted = LogFilter(actions=["auth.login", "mfa.enrolled"])  # type: ignore[arg-type]
    assert wanted.actions == ("auth.login", "mfa.enrolled")


def test_email_in_filter_is_normalised() -> None:
    assert LogFilter(email=" Bob@Example.COM ").email == "bob@example.com"


def test_invalid_email_in_filter_is_rejected_on_field_filter_email() -> None:
    with pytest.raises(InvalidField) as raised:
        LogFilter(email="a@b")
    assert raised.value.field == "filter.email"


@pytest.mark.parametrize(
    ("narrowing", "field"),
    [({"account": "Acme"}, "filter.account"), ({"application": "-web"}, "filter.application")],
)
def test_invalid_tenant_ids_in_filter_are_rejected_on_their_field(
    narrowing: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidField) as raised:
        LogFilter(**narrowing)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_an_empty_actions_list_is_rejected_rather_than_matching_nothing() -> None:
    with pytest.raises(InvalidField) as raised:
        LogFilter(actions=())

    assert raised.value.field == "filter.actions"


def test_a_filter_document_has_every_field_and_reads_back_as_the_same_filter() -> None:
    """Links and export trailers carry the filter as this document: a new field travels too."""
    wanted = LogFilter(
        account="acme", application="portal", actions=("auth.login", "auth.logout"),
        email="Ann@Example.com", success=False, since=NOON, until=NOON + timedelta(hours=1),
    )  # fmt: skip

    document = filter_document(wanted, datetime.isoformat)

    assert set(document) == {field.name for field in dataclasses.fields(LogFilter)}
    assert document["actions"] == ["auth.login", "auth.logout"]
    assert filter_of_document(document, datetime.fromisoformat) == wanted


def test_a_trailer_states_the_filter_times_at_millisecond_precision_in_utc() -> None:
    document = filter_document(LogFilter(since=NOON + timedelta(microseconds=1500)))

    assert document["since"] == "2026-01-15T12:00:00.001+00:00"
    assert document["until"] is None
