"""SYSLOG against Debian's rsyslogd, plain and over TLS with a test CA."""

import asyncio
import os
import re
import socket
import struct

import orjson
import pytest

from adapters.inbound.http.export_formats import as_row
from adapters.outbound.streams.syslog import header_hostname, structured_data
from application.streams.ports import Batch, Credentials, NotSent, Sent
from domain.streams import StreamKind
from tests.adapters.streams.conftest import FakeResolver
from tests.adapters.streams.receivers import batch, free_port, stream
from tests.adapters.streams.rsyslog import make_ca, missing, rsyslog

if os.environ.get("CI") == "true" and missing(tls=True) is not None:
    # CI installs rsyslog (.ci/run): a skip there would report a receiver test as passing.
    pytest.fail(f"CI=true: {missing(tls=True)}", pytrace=False)

MESSAGE = re.compile(
    rb"<(?P<pri>\d+)>1 (?P<ts>\S+) auditlog-test auditlog - (?P<msgid>\S+)"
    rb" (?P<sd>\[auditlog@32473 (?:[^\]\\]|\\.)*\]) \xef\xbb\xbf(?P<msg>.*)"
)


def assert_delivered(lines: list[bytes], sent: Batch) -> None:
    assert len(lines) == len(sent.entries) + 1
    for line, entry in zip(lines, sent.entries, strict=False):
        message = MESSAGE.fullmatch(line)
        assert message is not None, line
        assert int(message["pri"]) == 13 * 8 + (6 if entry.success else 5)
        assert message["msgid"] == b"entry"
        assert message["ts"].decode() == entry.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert message["sd"].decode() == (
            f'[auditlog@32473 id="{entry.id}" account="{entry.account}"'
            f' stream="{sent.stream_id}" seq="{sent.sequence}" digest="{entry.digest}"]'
        )
        assert orjson.loads(message["msg"]) == orjson.loads(orjson.dumps(as_row(entry)))
    closing = MESSAGE.fullmatch(lines[-1])
    assert closing is not None, lines[-1]
    assert closing["msgid"] == b"batch"
    assert orjson.loads(closing["msg"]) == sent.header


@pytest.mark.skipif(missing() is not None, reason=missing() or "")
async def test_rsyslog_receives_each_entry_and_the_batch_header(make_senders, tmp_path):
    sent = batch(count=4)
    with rsyslog(tmp_path) as receiver:
        sender = make_senders().by_kind[StreamKind.SYSLOG]
        url = f"syslog://127.0.0.1:{receiver.port}"
        assert await sender.send(stream(StreamKind.SYSLOG, url), sent, Credentials()) == Sent()
        assert_delivered(receiver.messages(len(sent.entries) + 1), sent)


@pytest.mark.skipif(missing(tls=True) is not None, reason=missing(tls=True) or "")
async def test_rsyslog_over_tls_receives_the_batch_from_a_sender_trusting_the_test_ca(
    make_senders, tmp_path
):
    ca = make_ca(tmp_path, ("syslog.test",), ())
    sent = batch(count=2)
    resolver = FakeResolver({"syslog.test": [["127.0.0.1"]]})
    with rsyslog(tmp_path, tls=ca) as receiver:
        sender = make_senders(ca_file=ca.ca_file, resolver=resolver).by_kind[StreamKind.SYSLOG]
        url = f"syslog+tls://syslog.test:{receiver.port}"
        assert await sender.send(stream(StreamKind.SYSLOG, url), sent, Credentials()) == Sent()
        assert_delivered(receiver.messages(len(sent.entries) + 1), sent)


@pytest.mark.skipif(missing(tls=True) is not None, reason=missing(tls=True) or "")
async def test_a_syslog_receiver_whose_certificate_is_not_trusted_is_tls_failed(
    make_senders, tmp_path
):
    ca = make_ca(tmp_path, ("syslog.test",), ())
    resolver = FakeResolver({"syslog.test": [["127.0.0.1"]]})
    with rsyslog(tmp_path, tls=ca) as receiver:
        sender = make_senders(resolver=resolver).by_kind[StreamKind.SYSLOG]
        url = f"syslog+tls://syslog.test:{receiver.port}"
        result = await sender.send(stream(StreamKind.SYSLOG, url), batch(), Credentials())
        assert result == NotSent("TLS_FAILED")
        assert receiver.messages(1, within=0.5) == []


async def test_a_refused_syslog_connection_is_connect_failed(make_senders):
    sender = make_senders().by_kind[StreamKind.SYSLOG]
    url = f"syslog://127.0.0.1:{free_port()}"
    result = await sender.send(stream(StreamKind.SYSLOG, url), batch(), Credentials())
    assert result == NotSent("CONNECT_FAILED")


async def test_a_syslog_destination_on_loopback_is_refused_unless_listed(make_senders):
    sender = make_senders(allowed_private=frozenset()).by_kind[StreamKind.SYSLOG]
    url = f"syslog://127.0.0.1:{free_port()}"
    result = await sender.send(stream(StreamKind.SYSLOG, url), batch(), Credentials())
    assert result == NotSent("ADDRESS_NOT_ALLOWED")


def test_sd_param_values_escape_quote_backslash_and_bracket():
    assert structured_data(account='a"b\\c]d') == r'[auditlog@32473 account="a\"b\\c\]d"]'


def test_a_host_name_outside_printusascii_is_cleaned_or_nil():
    assert header_hostname("relay 1.example\n") == "relay1.example"
    assert header_hostname("é") == "-"
    assert header_hostname(None) == "-"
    assert len(header_hostname("h" * 300)) == 255


async def collector(handle):  # type: ignore[no-untyped-def]
    """A TCP collector on loopback running `handle(reader, writer)` per connection."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_plain_syslog_is_sent_once_the_collector_has_read_it_all_and_closed(make_senders):
    got = bytearray()

    async def read_all_then_close(reader, writer):  # type: ignore[no-untyped-def]
        got.extend(await reader.read())  # to our end of file
        writer.close()

    server, port = await collector(read_all_then_close)
    async with server:
        sender = make_senders().by_kind[StreamKind.SYSLOG]
        sent = batch(count=3)
        url = f"syslog://127.0.0.1:{port}"
        assert await sender.send(stream(StreamKind.SYSLOG, url), sent, Credentials()) == Sent()
    assert got.count(b" auditlog - entry ") == 3
    assert b" auditlog - batch " in got


async def test_plain_syslog_to_a_collector_that_died_with_the_batch_unread_is_not_sent(
    make_senders,
):
    async def die_unread(reader, writer):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.2)  # the batch is in its socket's buffer, never read
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # killed: the kernel answers the unread data with a reset

    server, port = await collector(die_unread)
    async with server:
        sender = make_senders().by_kind[StreamKind.SYSLOG]
        url = f"syslog://127.0.0.1:{port}"
        result = await sender.send(stream(StreamKind.SYSLOG, url), batch(), Credentials())
    assert result == NotSent("CONNECT_FAILED")  # sent again later, under its number


async def test_plain_syslog_to_a_collector_that_never_closes_times_out(make_senders):
    async def read_and_hold(reader, writer):  # type: ignore[no-untyped-def]
        await reader.read()
        await asyncio.sleep(5)  # past the send deadline, its side still open

    server, port = await collector(read_and_hold)
    async with server:
        sender = make_senders(send_timeout=0.5).by_kind[StreamKind.SYSLOG]
        url = f"syslog://127.0.0.1:{port}"
        result = await sender.send(stream(StreamKind.SYSLOG, url), batch(), Credentials())
    assert result == NotSent("TIMEOUT")


async def test_a_collector_that_talks_back_without_end_is_not_read_past_4_kib(make_senders):
    written = 0

    async def flood(reader, writer):  # type: ignore[no-untyped-def]
        nonlocal written
        await reader.read()
        try:
            while True:  # never closes; answers for as long as it is read
                writer.write(b"x" * 65536)
                await writer.drain()
                written += 65536
        except ConnectionError:
            pass

    server, port = await collector(flood)
    async with server:
        sender = make_senders(send_timeout=2.0).by_kind[StreamKind.SYSLOG]
        url = f"syslog://127.0.0.1:{port}"
        result = await sender.send(stream(StreamKind.SYSLOG, url), batch(), Credentials())
    assert result == Sent()  # it read the batch; what it says after is not our business
    assert written < 8 * 1024 * 1024  # socket buffers, not two seconds of loopback
