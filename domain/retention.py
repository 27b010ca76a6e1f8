"""Retention: how long an entry is kept, fixed when it is ingested."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import InvalidField

# A century: enough for any plan, and keeps created_at + retention inside datetime's range.
MAX_RETENTION_DAYS = 36_500


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Entries are kept `days` days after they are created, then physically deleted."""

    days: int

    def __post_init__(self) -> None:
        if isinstance(self.days, bool) or not isinstance(self.days, int):
            raise InvalidField("retention_days", "must be a whole number of days")
        if not 0 < self.days <= MAX_RETENTION_DAYS:
            raise InvalidField("retention_days", f"must be between 1 and {MAX_RETENTION_DAYS}")

    def expires_at(self, created_at: datetime) -> datetime:
        """The moment an entry created at `created_at` stops existing."""
        return created_at + timedelta(days=self.days)
