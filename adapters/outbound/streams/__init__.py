"""Senders of log streams, one per kind, sharing one guarded network."""

import socket
from dataclasses import dataclass

from adapters.outbound.streams.network import StreamNetwork
from adapters.outbound.streams.rows import Row
from adapters.outbound.streams.splunk_hec import SplunkHecSender
from adapters.outbound.streams.syslog import SyslogSender
from adapters.outbound.streams.webhook import WebhookSender
from application.streams.ports import Sender
from domain.streams import StreamKind

__all__ = ["StreamNetwork", "StreamSenders", "senders"]


@dataclass(frozen=True, slots=True)
class StreamSenders:
    by_kind: dict[StreamKind, Sender]
    network: StreamNetwork

    async def aclose(self) -> None:
        await self.network.aclose()


def senders(network: StreamNetwork, hostname: str | None, *, row: Row) -> StreamSenders:
    """`hostname` names this service in syslog and HEC events (the machine's name if None);
    `row` is the export's entry-to-row function (export_formats.as_row)."""
    name = hostname or socket.gethostname()
    by_kind: dict[StreamKind, Sender] = {
        StreamKind.WEBHOOK: WebhookSender(network, row),
        StreamKind.SPLUNK_HEC: SplunkHecSender(network, row, name),
        StreamKind.SYSLOG: SyslogSender(network, row, name),
    }
    return StreamSenders(by_kind=by_kind, network=network)
