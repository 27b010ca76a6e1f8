"""How an entry becomes a row: the export's own function (adapters.inbound.http.export_formats
.as_row), passed in by the composition root, since outbound adapters may not import inbound
ones (import-linter's independence contract)."""

from collections.abc import Callable
from typing import Any

from domain.entry import AuditEntry

Row = Callable[[AuditEntry], dict[str, Any]]
