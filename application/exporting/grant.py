"""What an export link grants: sealed into the link's token by an `ExportLinks` adapter."""

import enum
from dataclasses import dataclass
from datetime import datetime

from application.reading.criteria import LogFilter


class ExportFormat(enum.Enum):
    CSV = "csv"
    NDJSON = "ndjson"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportGrant:
    key_id: str | None
    """The key that asked, or None for the operator."""
    account: str
    filter: LogFilter
    """The filter with the tenant scope already applied (its account is always set)."""
    format: ExportFormat
    expires_at: datetime
