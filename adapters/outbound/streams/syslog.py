"""SYSLOG: RFC 5424 messages over TCP, octet-counted (RFC 6587 section 3.4.1), over TLS for
syslog+tls:// (RFC 5425). One message per entry, its identity in structured data and its
export row as the MSG; then one message holding the batch's signed header."""

import re
from datetime import UTC, datetime

import orjson

from adapters.outbound.streams.network import StreamNetwork
from adapters.outbound.streams.rows import Row
from application.streams.model import LogStream
from application.streams.ports import Batch, Credentials, SendResult
from domain.entry import AuditEntry
from domain.streams import StreamKind

FACILITY = 13  # "log audit" (RFC 5424 section 6.2.1)
SEVERITY_SUCCESS = 6  # informational
SEVERITY_FAILURE = 5  # notice: a failed action is worth a look
APP_NAME = "auditlog"
# 32473 is the Private Enterprise Number RFC 5612 reserves for documentation: an SD-ID of
# the form name@PEN needs one, and the service has no registered number of its own.
SD_ID = "auditlog@32473"
_BOM = b"\xef\xbb\xbf"
_NOT_PRINTUSASCII = re.compile(r"[^\x21-\x7e]")
_SD_ESCAPED = re.compile(r'(["\\\]])')


class SyslogSender:
    kind = StreamKind.SYSLOG

    def __init__(self, network: StreamNetwork, row: Row, hostname: str) -> None:
        self._network = network
        self._row = row
        self._hostname = header_hostname(hostname)

    async def send(self, stream: LogStream, batch: Batch, credentials: Credentials) -> SendResult:
        frames = [self._entry(entry, batch) for entry in batch.entries]
        frames.append(self._batch(batch))
        return await self._network.write_all(stream.destination, b"".join(frames))

    def _entry(self, entry: AuditEntry, batch: Batch) -> bytes:
        severity = SEVERITY_SUCCESS if entry.success else SEVERITY_FAILURE
        data = structured_data(
            id=entry.id,
            account=entry.account,
            stream=batch.stream_id,
            seq=str(batch.sequence),
            digest=entry.digest,
        )
        return self._frame(severity, entry.created_at, "entry", data, self._row(entry))

    def _batch(self, batch: Batch) -> bytes:
        data = structured_data(stream=batch.stream_id, seq=str(batch.sequence))
        return self._frame(SEVERITY_SUCCESS, datetime.now(UTC), "batch", data, batch.header)

    def _frame(self, severity: int, moment: datetime, msgid: str, data: str, body: object) -> bytes:
        header = (
            f"<{FACILITY * 8 + severity}>1 {timestamp(moment)} {self._hostname}"
            f" {APP_NAME} - {msgid} {data} "
        )
        message = header.encode() + _BOM + orjson.dumps(body)
        return b"%d " % len(message) + message


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and Z (RFC 5424 section 6.2.3)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def header_hostname(name: str | None) -> str:
    """HOSTNAME: PRINTUSASCII, at most 255 characters; '-' (NILVALUE) when unknown."""
    cleaned = _NOT_PRINTUSASCII.sub("", name or "")[:255]
    return cleaned or "-"


def structured_data(**params: str) -> str:
    """One SD-ELEMENT; PARAM-VALUEs escape '"', '\\' and ']' (RFC 5424 section 6.3.3)."""
    values = " ".join(f'{name}="{_escaped(value)}"' for name, value in params.items())
    return f"[{SD_ID} {values}]"


def _escaped(value: str) -> str:
    return _SD_ESCAPED.sub(r"\\\1", value)
