"""SPLUNK_HEC: a batch POSTed to the collector URL as given, HEC event JSON objects one after
another (Splunk, "Format events for HTTP Event Collector"): one per entry, then the batch's
signed header as its own event so a receiver can check what it got."""

import orjson

from adapters.outbound.streams.network import StreamNetwork
from adapters.outbound.streams.rows import Row
from adapters.outbound.streams.webhook import USER_AGENT
from application.streams.model import LogStream
from application.streams.ports import Batch, Credentials, NotSent, SendResult
from domain.streams import StreamKind

SOURCE = "auditlog"


class SplunkHecSender:
    kind = StreamKind.SPLUNK_HEC

    def __init__(self, network: StreamNetwork, row: Row, hostname: str) -> None:
        self._network = network
        self._row = row
        self._hostname = hostname

    async def send(self, stream: LogStream, batch: Batch, credentials: Credentials) -> SendResult:
        token = credentials.token
        if not token or not token.isascii() or not token.isprintable() or " " in token:
            return NotSent("NO_CREDENTIALS")
        events = [
            orjson.dumps(
                {
                    "time": round(entry.created_at.timestamp(), 3),
                    "host": self._hostname,
                    "source": SOURCE,
                    "sourcetype": "auditlog:entry",
                    "event": self._row(entry),
                }
            )
            for entry in batch.entries
        ]
        closing: dict[str, object] = {
            "host": self._hostname,
            "source": SOURCE,
            "sourcetype": "auditlog:batch",
            "event": batch.header,
        }
        if batch.entries:  # else Splunk stamps it with its own time of arrival
            closing["time"] = round(batch.entries[-1].created_at.timestamp(), 3)
        events.append(orjson.dumps(closing))
        headers = {
            "authorization": f"Splunk {token}",
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }
        return await self._network.post(stream.destination, headers, b"\n".join(events))
