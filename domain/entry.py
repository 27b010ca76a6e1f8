"""The audit entry: a structured, immutable summary of one identity action."""

from dataclasses import dataclass, fields
from datetime import datetime

from domain import validation
from domain.errors import InvalidField
from domain.integrity import digest_over
from domain.retention import RetentionPolicy
from domain.timestamps import at_storage_precision


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """What happened, as a caller reports it. Construction validates and normalises."""

    application: str
    action: str
    success: bool
    email: str | None = None
    reason: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.success, bool):
            raise InvalidField("success", "must be true or false")
        normalised = {
            "application": validation.application_id(self.application),
            "action": validation.action(self.action),
            "email": None if self.email is None else validation.email(self.email),
            "reason": validation.optional_text(self.reason, "reason", validation.REASON_MAX),
            "ip": None if self.ip is None else validation.ip_address(self.ip),
            "user_agent": validation.optional_text(
                self.user_agent, "user_agent", validation.USER_AGENT_MAX
            ),
            "request_id": validation.optional_text(
                self.request_id, "request_id", validation.REQUEST_ID_MAX
            ),
        }
        for name, value in normalised.items():
            object.__setattr__(self, name, value)


_EVENT_FIELDS = tuple(f.name for f in fields(AuditEvent))
"""What an entry takes from its event: all of it, under the same names."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """A stored event. It is never changed after creation; TTL deletes it at `expires_at`."""

    id: str
    account: str
    application: str
    action: str
    success: bool
    email: str | None
    reason: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    created_at: datetime
    expires_at: datetime
    digest: str = ""
    """SHA-256 of the fields at ingestion: the caller's receipt, and what a seal records.
    Left empty, it is computed from the fields."""

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", self.content_digest())

    def content_digest(self) -> str:
        """The digest of the fields as they are now."""
        return entry_digest({name: getattr(self, name) for name in DIGEST_FIELDS})

    @classmethod
    def ingest(
        cls,
        event: AuditEvent,
        *,
        entry_id: str,
        account: str,
        now: datetime,
        retention: RetentionPolicy,
    ) -> "AuditEntry":
        """Stamp an event at ingestion: retention is fixed now and never recalculated."""
        created_at = at_storage_precision(now)
        return cls(
            id=entry_id,
            account=account,
            **{name: getattr(event, name) for name in _EVENT_FIELDS},
            created_at=created_at,
            expires_at=retention.expires_at(created_at),
        )

    def is_live(self, now: datetime) -> bool:
        """An entry whose `expires_at` has passed no longer exists, deleted or not."""
        return self.expires_at > now


NOT_DIGESTED = frozenset({"digest"})
"""The fields of `AuditEntry` its digest does not cover. Every other field is covered, so a
new field is digested unless it is named here -- and digesting it changes the bytes every
existing digest was computed over, which is why a test pins the list (tests/unit/domain)."""

DIGEST_FIELDS = tuple(f.name for f in fields(AuditEntry) if f.name not in NOT_DIGESTED)

entry_digest = digest_over(DIGEST_FIELDS)
"""SHA-256 hex of the canonical JSON of an entry's `DIGEST_FIELDS`, given as a dict."""
