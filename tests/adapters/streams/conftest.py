"""Stream senders against receivers on loopback."""

from collections.abc import AsyncIterator, Sequence
from ipaddress import IPv4Address

import pytest

from adapters.inbound.http.export_formats import as_row
from adapters.outbound.streams import StreamNetwork, StreamSenders, senders
from adapters.outbound.streams.addresses import IPAddress

LOOPBACK = frozenset({IPv4Address("127.0.0.1")})


class FakeResolver:
    """Answers names from a table, recording every question; a list of answers is given
    out one per question (the last repeated)."""

    def __init__(self, answers: dict[str, list[Sequence[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        import ipaddress
        import socket

        self.asked.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        turn = min(self.asked.count(host), len(self.answers[host])) - 1
        return [ipaddress.ip_address(a) for a in self.answers[host][turn]]


@pytest.fixture
async def make_senders() -> AsyncIterator:
    made: list[StreamSenders] = []

    def make(**options: object) -> StreamSenders:
        options.setdefault("allowed_private", LOOPBACK)
        options.setdefault("connect_timeout", 2.0)
        options.setdefault("send_timeout", 2.0)
        built = senders(StreamNetwork(**options), "auditlog-test", row=as_row)  # type: ignore[arg-type]
        made.append(built)
        return built

    yield make
    for built in made:
        await built.aclose()
