"""The sealer loop: a pass, a pause, again, until stopped; a failed pass does not end it.

The trail is a fake that answers each pass from a script and says when the script is done;
the pause is a millisecond, so the tests wait on passes, never on time.
"""

import asyncio
import logging

import pytest

from application.integrity.sealing import SealingLoop


class ScriptedTrail:
    """Each pass returns (or raises) the next outcome of the script, then 0 forever."""

    def __init__(self, *outcomes: int | Exception) -> None:
        self._outcomes = list(outcomes)
        self.passes = 0
        self.script_done = asyncio.Event()

    async def run_once(self) -> int:
        self.passes += 1
        if self.passes >= len(self._outcomes):
            self.script_done.set()
        if self.passes > len(self._outcomes):
            return 0
        outcome = self._outcomes[self.passes - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


async def run_script(trail: ScriptedTrail) -> SealingLoop:
    loop = SealingLoop(trail, interval=0.001)
    loop.start()
    await asyncio.wait_for(trail.script_done.wait(), timeout=10)
    await loop.stop()
    return loop


async def test_the_loop_runs_pass_after_pass_until_stopped() -> None:
    trail = ScriptedTrail(0, 0, 0)

    await run_script(trail)
    passes = trail.passes
    await asyncio.sleep(0.01)

    assert passes >= 3
    assert trail.passes == passes


async def test_a_failed_pass_is_logged_by_its_class_and_the_next_pass_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="auditlog")
    trail = ScriptedTrail(ConnectionError("mongodb://user:secret@db"), 2)

    await run_script(trail)

    assert trail.passes >= 2
    failures = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [(r.name, r.getMessage()) for r in failures] == [
        ("auditlog", "sealing pass failed: ConnectionError")
    ]
    assert "secret" not in caplog.text


async def test_a_pass_that_writes_seals_logs_their_number_and_an_idle_pass_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="auditlog")
    trail = ScriptedTrail(0, 3, 0)

    await run_script(trail)

    assert [(r.name, r.getMessage()) for r in caplog.records] == [("auditlog", "sealed 3 windows")]


async def test_stopping_a_loop_twice_or_before_it_started_is_harmless() -> None:
    trail = ScriptedTrail(0)
    loop = SealingLoop(trail, interval=0.001)

    await loop.stop()
    loop.start()
    await asyncio.wait_for(trail.script_done.wait(), timeout=10)
    await loop.stop()
    await loop.stop()

    assert trail.passes >= 1
