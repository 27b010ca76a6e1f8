"""A slow or failing sink never slows the audited flow: the flow finishes while the sink is
still busy (no wall-clock thresholds: the sink blocks until released)."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from auditlog_client import AuditEmitter, Auditor
from client_support import WAIT, CountingTelemetry, FakeSink, MakeEmitter, until_sending


class Session:
    def __init__(self, email: str) -> None:
        self.email = email


Flow = Callable[[str], Awaitable[Session]]


def decorated_flow(auditor: Auditor) -> Flow:
    @auditor.audited("auth.login", application="portal", email=lambda call: call["email"])
    async def login(email: str) -> Session:
        await asyncio.sleep(0)
        return Session(email)

    return login


def async_scope_flow(auditor: Auditor) -> Flow:
    async def login(email: str) -> Session:
        async with auditor.audit("auth.login", application="portal") as audit:
            audit.email = email
            await asyncio.sleep(0)
            return Session(email)

    return login


def sync_scope_flow(auditor: Auditor) -> Flow:
    async def login(email: str) -> Session:
        with auditor.audit("auth.login", application="portal") as audit:
            audit.email = email
            await asyncio.sleep(0)
            return Session(email)

    return login


FLOWS = pytest.mark.parametrize(
    "build_flow",
    [decorated_flow, async_scope_flow, sync_scope_flow],
    ids=["decorator", "async-with", "with"],
)


async def run_twice(flow: Flow) -> list[Session]:
    return [await asyncio.wait_for(flow(f"user{n}@example.com"), WAIT) for n in range(2)]


@FLOWS
async def test_flow_completes_while_the_sink_is_blocked_in_a_send(
    sink: FakeSink, make_emitter: MakeEmitter, build_flow: Callable[[Auditor], Flow]
) -> None:
    sink.block()
    emitter = make_emitter(sink, batch_size=1)
    emitter.start()
    flow = build_flow(Auditor(emitter))

    first = await asyncio.wait_for(flow("first@example.com"), WAIT)
    await until_sending(sink)
    later = await run_twice(flow)

    assert first.email == "first@example.com"
    assert [s.email for s in later] == ["user0@example.com", "user1@example.com"]
    assert sink.sending
    assert sink.finished == 0
    assert emitter.pending == 3


@FLOWS
async def test_flow_completes_while_the_sink_keeps_raising(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    build_flow: Callable[[Auditor], Flow],
    telemetry: CountingTelemetry,
) -> None:
    sink.explode(1_000)
    emitter = make_emitter(sink, batch_size=1)
    emitter.start()
    flow = build_flow(Auditor(emitter))

    await asyncio.wait_for(flow("first@example.com"), WAIT)
    await until_sending(sink)
    later = await run_twice(flow)
    await asyncio.wait_for(emitter.drain(), WAIT)

    assert [s.email for s in later] == ["user0@example.com", "user1@example.com"]
    assert telemetry.counts["failed"] == 3
    assert sink.delivered == []


@FLOWS
async def test_flow_completes_while_the_emitter_is_stuck_backing_off(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    build_flow: Callable[[Auditor], Flow],
    telemetry: CountingTelemetry,
) -> None:
    never = asyncio.Event()

    async def endless_sleep(delay: float) -> None:
        await never.wait()

    sink.fail_transiently(1_000)
    emitter: AuditEmitter = make_emitter(
        sink, sleep=endless_sleep, batch_size=1, shutdown_grace_seconds=0.01
    )
    emitter.start()
    flow = build_flow(Auditor(emitter))

    await asyncio.wait_for(flow("first@example.com"), WAIT)
    await until_sending(sink)
    later = await run_twice(flow)

    assert [s.email for s in later] == ["user0@example.com", "user1@example.com"]
    assert len(sink.attempts) == 1
    assert telemetry.counts["retried"] == 1
