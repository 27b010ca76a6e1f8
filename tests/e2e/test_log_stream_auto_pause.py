"""Auto-pause against a real server process (issue 17): a stream whose receiver keeps
failing for AUDITLOG_STREAM_AUTO_PAUSE_SECONDS is PAUSED (FAILING_TOO_LONG), is not sent to
while paused, and once resumed with the receiver back delivers every entry once, in order."""

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response

from tests.e2e.stream_checks import all_arrived, listed, resume
from tests.e2e.stream_outages import (
    Listening,
    OutageReceiver,
    ServerProcess,
    check_delivery,
    wait_until,
)

pytestmark = pytest.mark.slow

AUTO_PAUSE = 3


@dataclass
class TimedReceiver(OutageReceiver):
    """An OutageReceiver that notes when each request came (time.monotonic())."""

    times: list[float] = field(default_factory=list)

    async def _hook(self, request: Request) -> Response:
        self.times.append(time.monotonic())
        return await super()._hook(request)


def test_a_stream_failing_longer_than_the_auto_pause_is_paused_and_resumes_without_loss(
    tmp_path: Path,
) -> None:
    receiver = TimedReceiver()
    server = ServerProcess(tmp_path / "data", stream_auto_pause_seconds=str(AUTO_PAUSE))
    try:
        with Listening(receiver):
            key = server.set_up()
            receiver.secret = server.create_stream(receiver.url)
            recorded = [server.record(key, number) for number in range(7)]
            wait_until("a first delivery", lambda: len(receiver.entries()) == 7)

            receiver.status = 503  # and from now on: every attempt fails
            asked_before = receiver.requests
            recorded += [server.record(key, number) for number in range(7, 14)]
            paused = wait_until(
                "the stream to be paused",
                lambda: (s := listed(server))["state"] == "PAUSED" and s,
                seconds=AUTO_PAUSE + 15,
            )
            failed = receiver.times[asked_before:]
            asked_while_failing = receiver.requests
            recorded += [server.record(key, number) for number in range(14, 20)]
            time.sleep(2)  # settled, and twenty polls later
            asked_while_paused = receiver.requests - asked_while_failing
            still = listed(server)

            receiver.status = 200
            resumed = resume(server, paused["id"])
            expected = all_arrived(
                server, key, lambda: [row["id"] for row in receiver.entries()], recorded
            )
            after = listed(server)
    finally:
        server.stop()
    assert paused["pausedReason"] == "FAILING_TOO_LONG"
    assert paused["lastError"] == "HTTP_503"
    assert len(failed) >= 2, "retried before giving up"
    # The failure that paused it came at least AUTO_PAUSE after the first (less the moment
    # between the first attempt's start, when the stream began failing, and its request).
    assert failed[-1] - failed[0] >= AUTO_PAUSE - 0.5, failed
    assert asked_while_paused == 0, "a paused stream is not sent to"
    assert (still["state"], still["pausedReason"]) == ("PAUSED", "FAILING_TOO_LONG")
    assert (resumed["state"], resumed["pausedReason"]) == ("ACTIVE", None)
    assert check_delivery(receiver, expected) == 0, "every entry arrived once"
    assert (after["state"], after["delivered"], after["failedAttempts"]) == ("ACTIVE", 20, 0)
