"""The log stream delivery process (AUDITLOG_STREAM_DELIVERY=process, the default on the
embedded store), against real server processes: started only once there is a stream, its
counts in the server's /metrics, started again when it dies without losing an entry, gone
when the server is (killed or stopped), and none at all with `inline`."""

import os
import re
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.stream_outages import (
    Listening,
    OutageReceiver,
    Recorder,
    ServerProcess,
    alive,
    check_delivery,
    children,
    wait_until,
)
from tests.e2e.test_server_process import refused

pytestmark = pytest.mark.slow


def delivered_metric(server: ServerProcess) -> float:
    page = httpx.get(f"{server.url}/metrics", timeout=10).text
    found = re.search(
        r'^auditlog_stream_entries_delivered_total\{kind="WEBHOOK"\} (\S+)$', page, re.M
    )
    return 0.0 if found is None else float(found.group(1))


def arrived(receiver: OutageReceiver, ids: list[str]) -> bool:
    return {row["id"] for row in receiver.entries()}.issuperset(ids)


def test_the_process_starts_with_the_first_stream_and_its_counts_reach_the_servers_metrics(
    tmp_path: Path,
) -> None:
    receiver = OutageReceiver()
    server = ServerProcess(tmp_path / "data")
    try:
        with Listening(receiver):
            key = server.set_up()
            time.sleep(1)  # ten looks at the store (every 0.1 s): no stream, no process
            assert children(server.process.pid) == []

            receiver.secret = server.create_stream(receiver.url)
            [worker] = wait_until(
                "a delivery process", lambda: children(server.process.pid), seconds=10
            )
            recorder = Recorder(server, key).start()
            time.sleep(1)
            recorder.stop()
            wait_until("every entry to arrive", lambda: arrived(receiver, recorder.ids))
            counted = wait_until(
                "the server to count them",
                lambda: (n := delivered_metric(server)) >= len(recorder.ids) and n,
            )
            assert children(server.process.pid) == [worker]  # one, the same throughout
        assert counted == server.stream()["delivered"]
        check_delivery(receiver, server.oldest_first(key))
    finally:
        server.stop()


def test_a_killed_delivery_process_is_started_again_and_loses_nothing(tmp_path: Path) -> None:
    receiver = OutageReceiver()
    server = ServerProcess(tmp_path / "data")
    try:
        with Listening(receiver):
            key = server.set_up()
            receiver.secret = server.create_stream(receiver.url)
            recorder = Recorder(server, key).start()
            [first] = wait_until("a delivery process", lambda: children(server.process.pid))
            wait_until("a first delivery", lambda: len(receiver.entries()) >= 5)
            os.kill(first, signal.SIGKILL)
            [second] = wait_until(
                "another delivery process",
                lambda: [pid for pid in children(server.process.pid) if pid != first],
                seconds=15,
            )
            time.sleep(1)
            recorder.stop()
            wait_until("every entry to arrive", lambda: arrived(receiver, recorder.ids))
            expected = server.oldest_first(key)
        assert sorted(expected) == sorted(recorder.ids)
        check_delivery(receiver, expected)
        assert second != first
        assert any("delivery process exited" in line for line in server.lines)
    finally:
        server.stop()


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_the_delivery_process_ends_with_the_server(tmp_path: Path, how: str) -> None:
    receiver = OutageReceiver()
    server = ServerProcess(tmp_path / "data")
    try:
        with Listening(receiver):
            server.set_up()
            receiver.secret = server.create_stream(receiver.url)
            [worker] = wait_until("a delivery process", lambda: children(server.process.pid))
            server.process.send_signal(getattr(signal, how))
            code = server.process.wait(timeout=30)
            wait_until("the delivery process to end", lambda: not alive(worker), seconds=10)
        if how == "SIGTERM":
            assert code == 0
    finally:
        server.stop()


def test_inline_delivery_runs_no_second_process(tmp_path: Path) -> None:
    receiver = OutageReceiver()
    server = ServerProcess(tmp_path / "data", stream_delivery="inline")
    try:
        with Listening(receiver):
            key = server.set_up()
            receiver.secret = server.create_stream(receiver.url)
            recorder = Recorder(server, key).start()
            time.sleep(1)
            recorder.stop()
            wait_until("every entry to arrive", lambda: arrived(receiver, recorder.ids))
            assert children(server.process.pid) == []
        check_delivery(receiver, server.oldest_first(key))
    finally:
        server.stop()


def test_a_delivery_process_on_the_in_memory_store_is_refused_at_start() -> None:
    result = refused(store="memory", stream_delivery="process")

    assert result.returncode == 2
    assert "AUDITLOG_STREAM_DELIVERY=process" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
