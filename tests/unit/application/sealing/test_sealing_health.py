"""The sealing check: a stall is a gauge, one warning line, and a status; a working sealer,
this instance or another, is none of those.

The clock and windows are the sealing conftest's: windows of a minute that close two
minutes after they end, a lease of two minutes.
"""

import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from application.integrity.sealing import SealTrail
from application.integrity.sealing_health import SealingHealth
from domain.checkpoint import next_checkpoint
from domain.integrity import window_of
from tests import builders
from tests.fakes import (
    FakeClock,
    HmacSealKeys,
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemorySealerState,
    InMemorySeals,
)
from tests.telemetry import RecordingTelemetry
from tests.unit.application.sealing.conftest import CONFIG, GRACE, LEASE, T0, WINDOW, closes

MAX_LAG_WINDOWS = 10


@dataclass
class Trail:
    clock: FakeClock
    entries: InMemoryAuditEntries
    state: InMemorySealerState
    checkpoints: InMemoryCheckpoints
    telemetry: RecordingTelemetry
    health: SealingHealth

    def sealer(self, holder: str) -> SealTrail:
        return SealTrail(
            entries=self.entries,
            seals=InMemorySeals(),
            state=self.state,
            checkpoints=self.checkpoints,
            signer=KEYS,
            clock=self.clock,
            holder=holder,
            config=CONFIG,
        )

    def put(self, created_at: datetime) -> None:
        stored = builders.entry(created_at=created_at, retention=timedelta(days=90))
        self.entries.entries[stored.id] = stored

    def checkpoint(self, sealed_through: datetime) -> None:
        """A checkpoint as the sealer signs it, sealed up to `sealed_through`."""
        latest = max(self.checkpoints.checkpoints.values(), key=lambda c: c.sequence, default=None)
        checkpoint = next_checkpoint(
            latest, issued_at=self.clock.now(), sealed_through=sealed_through, sealed=()
        ).signed(KEYS.key_id, KEYS.sign)
        self.checkpoints.checkpoints[checkpoint.sequence] = checkpoint


KEYS = HmacSealKeys()


@pytest.fixture
def trail() -> Trail:
    clock = FakeClock(T0)
    entries = InMemoryAuditEntries()
    state = InMemorySealerState()
    checkpoints = InMemoryCheckpoints(clock.now)
    telemetry = RecordingTelemetry()
    health = SealingHealth(
        entries=entries,
        checkpoints=checkpoints,
        state=state,
        keys=KEYS,
        clock=clock,
        config=CONFIG,
        max_lag_windows=MAX_LAG_WINDOWS,
        telemetry=telemetry,
    )
    return Trail(clock, entries, state, checkpoints, telemetry, health)


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="auditlog.sealing")
    return caplog


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "auditlog.sealing"]


async def test_an_intruders_lease_until_2100_is_suspect_and_warned_of_once(
    trail: Trail, warnings: pytest.LogCaptureFixture
) -> None:
    trail.put(T0)
    await trail.sealer("sealer-1").run_once()
    trail.state.holder, trail.state.until = (
        "intruder\nforged line",
        datetime(2100, 1, 1, tzinfo=UTC),
    )

    first = await trail.health.check()
    trail.clock.advance(minutes=30)
    later = await trail.health.check()

    assert first.state == later.state == "lease_suspect"
    assert trail.telemetry.sealing == (later.lag.total_seconds(), True)
    [(level, message)] = lines(warnings)
    assert level == logging.WARNING
    # The holder is quoted: a newline written into the database cannot forge a log line.
    assert "'intruder\\nforged line'" in message
    assert "\n" not in message
    assert "2100-01-01" in message


async def test_a_lease_just_past_the_term_a_sealer_takes_is_suspect(trail: Trail) -> None:
    now = trail.clock.now()
    # Another instance's clock may run ahead by up to the grace: that much is not suspect.
    await trail.state.acquire("other", now=now, until=now + LEASE + GRACE)
    assert (await trail.health.check()).state == "ok"
    await trail.state.acquire("other", now=now, until=now + LEASE + GRACE + timedelta(seconds=1))
    assert (await trail.health.check()).state == "lease_suspect"


async def test_a_genuine_other_instance_within_its_term_is_not_suspect(
    trail: Trail, warnings: pytest.LogCaptureFixture
) -> None:
    trail.put(T0)
    trail.clock.set(closes(0))
    assert await trail.sealer("other-instance").run_once() == 1

    status = await trail.health.check()

    assert trail.state.holder == "other-instance"
    assert status.state == "ok"
    assert status.lease is not None
    assert status.lease.holder == "other-instance"
    assert trail.telemetry.sealing == (0.0, False)
    assert lines(warnings) == []


async def test_a_lag_beyond_the_windows_allowed_is_lagging_then_ok_with_an_info_line(
    trail: Trail, warnings: pytest.LogCaptureFixture
) -> None:
    trail.put(T0)
    trail.checkpoint(T0)
    # The horizon, MAX_LAG_WINDOWS windows after the checkpoint: at the limit, not past it.
    trail.clock.set(T0 + GRACE + MAX_LAG_WINDOWS * WINDOW)
    at_limit = await trail.health.check()
    assert (at_limit.state, at_limit.lag_windows) == ("ok", MAX_LAG_WINDOWS)

    trail.clock.advance(minutes=1)
    lagging = await trail.health.check()
    assert (lagging.state, lagging.lag_windows) == ("lagging", MAX_LAG_WINDOWS + 1)
    assert trail.telemetry.sealing == ((MAX_LAG_WINDOWS + 1) * 60.0, False)
    trail.clock.advance(minutes=5)
    assert (await trail.health.check()).state == "lagging"

    await trail.sealer("sealer-1").run_once()
    recovered = await trail.health.check()

    assert (recovered.state, recovered.lag) == ("ok", timedelta(0))
    assert trail.telemetry.sealing == (0.0, False)
    assert [level for level, _ in lines(warnings)] == [logging.WARNING, logging.INFO]
    assert "lags 11 windows" in lines(warnings)[0][1]


async def test_the_signed_checkpoint_is_believed_over_the_stored_progress(trail: Trail) -> None:
    trail.checkpoint(T0)
    # Progress written behind the service, to hide the stall: it is not what is counted.
    trail.state.through = datetime(2100, 1, 1, tzinfo=UTC)
    trail.clock.set(T0 + GRACE + 20 * WINDOW)

    status = await trail.health.check()

    assert (status.state, status.sealed_through, status.lag_windows) == ("lagging", T0, 20)


async def test_before_any_checkpoint_the_lag_counts_from_the_stored_progress(
    trail: Trail,
) -> None:
    trail.state.through = T0
    trail.clock.set(T0 + GRACE + 3 * WINDOW)

    assert (await trail.health.check()).lag_windows == 3


async def test_with_nothing_sealed_yet_the_lag_counts_from_the_oldest_entry(trail: Trail) -> None:
    trail.put(T0 + timedelta(seconds=30))
    trail.clock.set(T0 + GRACE + 12 * WINDOW)

    status = await trail.health.check()

    assert (status.state, status.sealed_through, status.lag_windows) == ("lagging", T0, 12)


async def test_with_no_entries_and_nothing_sealed_nothing_is_owed(trail: Trail) -> None:
    trail.clock.set(T0 + timedelta(days=3))

    status = await trail.health.check()

    assert (status.state, status.lag, status.sealed_through) == ("ok", timedelta(0), None)


async def test_an_edited_checkpoint_is_reported_and_its_pushed_ahead_progress_not_believed(
    trail: Trail, warnings: pytest.LogCaptureFixture
) -> None:
    horizon = window_of(trail.clock.now() - GRACE, WINDOW)
    trail.checkpoint(horizon)
    latest = trail.checkpoints.checkpoints[1]
    # Its progress pushed to 2100 to hide that nothing seals, without the key.
    trail.checkpoints.checkpoints[1] = dataclasses.replace(
        latest, sealed_through=datetime(2100, 1, 1, tzinfo=UTC)
    )
    trail.state.through = horizon - 20 * WINDOW
    status = await trail.health.check()
    assert status.state == "checkpoint_invalid"
    assert status.lag_windows >= 20
    assert [level for level, _ in lines(warnings)] == [logging.WARNING]
    assert "does not verify" in lines(warnings)[0][1]
