"""What a reader asks for: a filter, the tenant scope it resolves to, and a page position."""

import dataclasses
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain import event_parts, validation
from domain.entry import AuditEntry
from domain.errors import InvalidField
from domain.timestamps import as_utc, iso_utc

MAX_ACTIONS_IN_FILTER = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class LogFilter:
    """A caller's filter, validated on construction. `since` is inclusive, `until` exclusive."""

    account: str | None = None
    application: str | None = None
    actions: tuple[str, ...] | None = None
    email: str | None = None
    success: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    actor_id: str | None = None
    target_id: str | None = None
    """With `target_type`: one target must have both."""
    target_type: str | None = None

    def __post_init__(self) -> None:
        if self.account is not None:
            validation.identifier(self.account, "filter.account")
        if self.application is not None:
            validation.application_id(self.application, "filter.application")
        if self.actions is not None:
            if not self.actions:
                raise InvalidField(
                    "filter.actions", "must list at least one action; omit it to match any"
                )
            if len(self.actions) > MAX_ACTIONS_IN_FILTER:
                raise InvalidField(
                    "filter.actions", f"must list at most {MAX_ACTIONS_IN_FILTER} actions"
                )
            actions = tuple(validation.action(a, "filter.actions") for a in self.actions)
            object.__setattr__(self, "actions", actions)
        if self.email is not None:
            object.__setattr__(self, "email", validation.email(self.email, "filter.email"))
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None:
                object.__setattr__(self, name, as_utc(moment))
        if self.since and self.until and self.since >= self.until:
            raise InvalidField("filter.until", "must be later than filter.since")
        for name in ("actor_id", "target_id"):
            if (value := getattr(self, name)) is not None:
                event_parts.party_id_filter(value, f"filter.{name}")
        if self.target_type is not None:
            event_parts.party_type_filter(self.target_type, "filter.target_type")


@dataclass(frozen=True, slots=True)
class EntryCriteria:
    """A caller's filter with tenancy applied: its account and application are the scope the
    principal may read (`account` is None only in the operator's global view).

    Made by application/access/tenancy.py from what the caller asked for, or by the sealer and the
    verifier for a window of time; the filter it holds is what a link or a trailer states."""

    filter: LogFilter

    @property
    def account(self) -> str | None:
        return self.filter.account

    @property
    def application(self) -> str | None:
        return self.filter.application

    @classmethod
    def created_between(
        cls, account: str | None, since: datetime | None, until: datetime | None
    ) -> "EntryCriteria":
        """Every entry of the account (of every account for None) created in [since, until)."""
        return cls(LogFilter(account=account, since=since, until=until))

    def admits(self, entry: AuditEntry) -> bool:
        """Whether the entry matches (expiry aside): what every store's query must select."""
        wanted = self.filter
        return (
            (wanted.account is None or entry.account == wanted.account)
            and (wanted.application is None or entry.application == wanted.application)
            and (wanted.actions is None or entry.action in wanted.actions)
            and (wanted.email is None or entry.email == wanted.email)
            and (wanted.success is None or entry.success == wanted.success)
            and (wanted.since is None or entry.created_at >= wanted.since)
            and (wanted.until is None or entry.created_at < wanted.until)
            and (
                wanted.actor_id is None
                or (entry.actor is not None and entry.actor.id == wanted.actor_id)
            )
            and (
                (wanted.target_id is None and wanted.target_type is None)
                or any(
                    (wanted.target_id is None or target.id == wanted.target_id)
                    and (wanted.target_type is None or target.type == wanted.target_type)
                    for target in entry.targets
                )
            )
        )


def filter_document(
    wanted: LogFilter, moment: Callable[[datetime], str] = iso_utc
) -> dict[str, Any]:
    """The filter as JSON values, a key per field (lists for tuples; `moment` for times)."""
    document: dict[str, Any] = {}
    for field in dataclasses.fields(LogFilter):
        value = getattr(wanted, field.name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, datetime):
            value = moment(value)
        document[field.name] = value
    return document


def filter_of_document(document: Mapping[str, Any], moment: Callable[[str], datetime]) -> LogFilter:
    """The filter `filter_document` wrote (validated again). KeyError if a field is missing,
    InvalidField or ValueError if one is wrong."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(LogFilter):
        # A filter written before a field existed did not filter on it.
        value = document.get(field.name) if field.name in _ADDED_LATER else document[field.name]
        if field.name in _TIMES and value is not None:
            value = moment(value)
        elif isinstance(value, list):
            value = tuple(value)
        values[field.name] = value
    return LogFilter(**values)


_TIMES = frozenset({"since", "until"})
_ADDED_LATER = frozenset({"actor_id", "target_id", "target_type"})


class Order(enum.Enum):
    """The order of ingestion a page walks: on (created_at, id), descending or ascending."""

    NEWEST_FIRST = "newest_first"
    OLDEST_FIRST = "oldest_first"


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a page's order: entries strictly after it (in that order) come next."""

    created_at: datetime
    entry_id: str
