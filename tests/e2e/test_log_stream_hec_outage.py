"""SPLUNK_HEC through an outage, against a real server process (issue 17): the collector
answers 503 "Server is busy" for a while, then 200 again. Every event arrives, in the order
`auditLogs(order: OLDEST_FIRST)` lists the entries, each request carries the HEC token, and
an entry arrives again only as the same event of the same batch."""

import time
from pathlib import Path

import pytest

from tests.e2e.hec_receiver import Collecting, HecReceiver
from tests.e2e.stream_checks import all_arrived, create_stream, listed
from tests.e2e.stream_outages import Recorder, ServerProcess, first_arrivals, wait_until

pytestmark = pytest.mark.slow

HEC_TOKEN = "6d1b7c52-0f4e-4b8a-9a39-2c1e5f0d7a44"


def test_a_hec_collector_busy_for_a_while_then_back_gets_every_event_once_in_order(
    tmp_path: Path,
) -> None:
    receiver = HecReceiver(token=HEC_TOKEN)
    server = ServerProcess(tmp_path / "data")
    try:
        with Collecting(receiver):
            key = server.set_up()
            create_stream(server, "SPLUNK_HEC", receiver.url, token=HEC_TOKEN)
            recorder = Recorder(server, key).start()
            wait_until("a first delivery", lambda: len(receiver.entry_ids()) >= 10)

            receiver.status = 503
            failing = wait_until(
                "the stream to report the outage",
                lambda: (s := listed(server))["state"] == "FAILING" and s,
            )
            time.sleep(1.5)  # more entries settle while the collector is busy
            during = len(receiver.entry_ids())

            receiver.status = 200
            wait_until("delivery to resume", lambda: len(receiver.entry_ids()) > during)
            recorder.stop()
            expected = all_arrived(server, key, receiver.entry_ids, recorder.ids)
            wait_until("the stream to be ACTIVE", lambda: listed(server)["state"] == "ACTIVE")
            after = listed(server)
    finally:
        server.stop()
    assert failing["lastError"] == "HTTP_503"
    assert sorted(expected) == sorted(recorder.ids)
    order, _ = first_arrivals(receiver.arrivals())
    assert order == expected, "events arrived out of (createdAt, id) order"
    assert receiver.malformed == 0
    assert 503 in receiver.answered
    assert set(receiver.answered) == {200, 503}
    sequences = [got.batch["event"]["sequence"] for got in receiver.taken]
    assert sorted(set(sequences)) == list(range(1, len(set(sequences)) + 1)), "no batch skipped"
    assert set(receiver.authorizations) == {f"Splunk {HEC_TOKEN}"}, "the token on every request"
    assert (after["lastError"], after["failedAttempts"]) == (None, 0)
    assert after["delivered"] == len(expected)
