"""Fixtures for the interceptor: a configurable sink, a recording emitter, and emitters that
are always stopped when the test ends (after releasing any sink still holding them)."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from auditlog_client import AuditEmitter, Auditor
from client_support import (
    CountingTelemetry,
    FakeSink,
    MakeEmitter,
    RecordingEmitter,
    emitter_config,
    service_rules,
)

TINY = {
    "linger_seconds": 0.001,
    "backoff_base_seconds": 0.001,
    "backoff_max_seconds": 0.005,
    "shutdown_grace_seconds": 1.0,
}


@pytest.fixture
def telemetry() -> CountingTelemetry:
    return CountingTelemetry()


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


@pytest.fixture
async def make_emitter(telemetry: CountingTelemetry) -> AsyncIterator[MakeEmitter]:
    """Build (not start) an emitter with tiny durations, counting into the `telemetry`
    fixture; every one is stopped at teardown."""
    made: list[tuple[AuditEmitter, FakeSink]] = []

    def make(
        sink: FakeSink,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        jitter: Callable[[float, float], float] | None = None,
        **config: Any,
    ) -> AuditEmitter:
        options: dict[str, Any] = {}
        if sleep is not None:
            options["sleep"] = sleep
        if jitter is not None:
            options["jitter"] = jitter
        emitter = AuditEmitter(
            sink, emitter_config(**{**TINY, **config}), telemetry=telemetry, **options
        )
        made.append((emitter, sink))
        return emitter

    yield make
    for emitter, used in made:
        used.release()
        await emitter.stop()


@pytest.fixture
def emitter_fake() -> RecordingEmitter:
    return RecordingEmitter()


@pytest.fixture
def auditor(emitter_fake: RecordingEmitter, telemetry: CountingTelemetry) -> Auditor:
    """Checking events with `service_rules`, as the service's own auditor checks its own."""
    return Auditor(emitter_fake, telemetry=telemetry, check=service_rules)
