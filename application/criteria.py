"""What a reader asks for: a filter, the tenant scope it resolves to, and a page position."""

from dataclasses import dataclass
from datetime import datetime

from domain import validation
from domain.errors import InvalidField
from domain.timestamps import as_utc

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


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryCriteria:
    """A filter after tenancy is applied: `account` is None only in the operator's global view."""

    account: str | None
    application: str | None
    actions: tuple[str, ...] | None
    email: str | None
    success: bool | None
    since: datetime | None
    until: datetime | None

    @classmethod
    def created_between(
        cls, account: str | None, since: datetime | None, until: datetime | None
    ) -> "EntryCriteria":
        """Every entry of the account (of every account for None) created in [since, until)."""
        return cls(
            account=account, application=None, actions=None, email=None, success=None,
            since=since, until=until,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the newest-first order: entries strictly after it come next."""

    created_at: datetime
    entry_id: str
