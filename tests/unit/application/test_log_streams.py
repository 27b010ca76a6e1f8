"""Log streams on the fakes: who may manage them, what each change does and records, and how
delivery moves through the trail (settled entries, in order, at least once, one instance at
a time, backing off and pausing on failure, and counting what expires before a stream that
is not delivering could send it)."""

import asyncio
import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest

from application.access.principal import KeyHolder, Principal
from application.errors import Forbidden, NotFound
from application.reading.criteria import LogFilter
from application.services import Services
from application.streams.admin import MAX_STREAMS_PER_ACCOUNT, ROTATION_OVERLAP, StreamAdmin
from application.streams.delivery import StreamDelivery
from application.streams.model import Lease, LogStream
from application.streams.ports import Batch, Credentials, NotSent
from domain.entry import AuditEntry, AuditEvent
from domain.errors import InvalidField
from domain.streams import PauseReason, StreamKind, StreamState
from domain.tenancy import Scope
from tests.fakes import FakeClock, InMemoryAccounts, InMemoryAuditEntries, InMemoryLogStreams
from tests.unit.application.streams_support import RecordingSender
from tests.unit.application.support import Audited, KeyFactory

HOOK = "https://siem.example.com/hooks/audit"


def admin(services: Services) -> StreamAdmin:
    assert services.streams is not None
    return services.streams.admin


def delivery(services: Services) -> StreamDelivery:
    assert services.streams is not None
    return services.streams.delivery


async def webhook(services: Services, principal: Principal, account: str = "acme") -> LogStream:
    created = await admin(services).create(
        principal, account_id=account, name="SIEM", kind=StreamKind.WEBHOOK, url=HOOK,
        token=None, wanted=None,
    )  # fmt: skip
    return created.stream


async def record_many(
    services: Services, principal: Principal, count: int, application: str = "acme-web"
) -> list[AuditEntry]:
    events = [
        AuditEvent(application=application, action="auth.login", success=True, request_id=f"r{i}")
        for i in range(count)
    ]
    return await services.recording.record_many.execute(principal, events)


def past_settle(clock: FakeClock, settle: timedelta) -> None:
    """Move the clock past the settle delay: what was recorded is delivered now."""
    clock.advance(seconds=settle.total_seconds() + 1)


async def settled(
    services: Services, operator: Principal, clock: FakeClock, settle: timedelta, count: int
) -> list[AuditEntry]:
    """`count` entries recorded a second after the stream's start, then settled."""
    clock.advance(seconds=1)
    stored = await record_many(services, operator, count)
    past_settle(clock, settle)
    return stored


# --- managing -------------------------------------------------------------------------------


@pytest.mark.usefixtures("tenants")
async def test_the_operator_creates_a_webhook_stream_whose_secret_is_shown_once_and_sealed(
    services: Services, operator: Principal, log_streams: InMemoryLogStreams, audited: Audited
) -> None:
    created = await admin(services).create(
        operator, account_id="acme", name="SIEM", kind=StreamKind.WEBHOOK, url=HOOK,
        token=None, wanted=None,
    )  # fmt: skip
    assert created.signing_secret is not None
    assert created.signing_secret.startswith("whsec_")
    stored = await log_streams.get(created.stream.id)
    assert stored is not None
    assert stored.state is StreamState.ACTIVE
    assert stored.secret is not None
    assert created.signing_secret not in stored.secret.ciphertext
    assert stored.filter == LogFilter(account="acme")
    [event] = await audited("admin.log_stream.created")
    assert event.account == "acme"
    assert [t.id for t in event.targets] == [stored.id, "acme"]
    assert created.signing_secret not in repr(event)


@pytest.mark.usefixtures("tenants")
async def test_a_plan_without_streams_is_forbidden_with_its_reason_and_stores_nothing(
    services: Services, operator: Principal, log_streams: InMemoryLogStreams
) -> None:
    with pytest.raises(Forbidden) as refused:
        await webhook(services, operator, account="globex")
    assert refused.value.reason == "STREAMS_NOT_IN_PLAN"
    assert await log_streams.list() == []


async def test_a_key_needs_the_stream_scope_and_manages_only_its_own_account(
    services: Services, key_for: KeyFactory, operator: Principal
) -> None:
    reader = await key_for("acme", scopes=[Scope.READ])
    with pytest.raises(Forbidden):
        await webhook(services, reader)
    streamer = await key_for("acme", scopes=[Scope.STREAM])
    own = await webhook(services, streamer)
    assert [s.id for s in await admin(services).list(streamer, None)] == [own.id]
    with pytest.raises(Forbidden):
        await admin(services).list(streamer, "globex")
    with pytest.raises(Forbidden):
        await webhook(services, streamer, account="globex")
    bound = await key_for("acme", "acme-web", scopes=[Scope.STREAM])
    with pytest.raises(Forbidden):
        await admin(services).list(bound, None)


async def test_another_accounts_stream_is_not_found_for_every_change(
    services: Services, key_for: KeyFactory, operator: Principal
) -> None:
    await services.administration.change_account_plan.execute(
        operator, account_id="globex", plan="pro"
    )
    theirs = await webhook(services, operator, account="globex")
    mine = await key_for("acme", scopes=[Scope.STREAM])
    streams = admin(services)
    for change in (
        streams.pause(mine, theirs.id),
        streams.resume(mine, theirs.id),
        streams.delete(mine, theirs.id),
        streams.rotate_secret(mine, theirs.id),
        streams.replay(mine, theirs.id, operator_now(services) - timedelta(hours=1)),
    ):
        with pytest.raises(NotFound):
            await change
    assert await admin(services).list(mine, None) == []


def operator_now(services: Services) -> datetime:
    assert services.streams is not None
    return services.streams.clock.now()


@pytest.mark.usefixtures("tenants")
@pytest.mark.parametrize(
    ("kind", "url", "token", "field"),
    [
        (StreamKind.WEBHOOK, "http://siem.example.com/x", None, "input.url"),
        (StreamKind.WEBHOOK, "ftp://siem.example.com/x", None, "input.url"),
        (StreamKind.WEBHOOK, "https://user:pw@siem.example.com/", None, "input.url"),
        (StreamKind.WEBHOOK, HOOK, "a-token", "input.token"),
        (StreamKind.SPLUNK_HEC, "https://splunk.example.com:8088/services/collector", None,
         "input.token"),
        (StreamKind.SYSLOG, "syslog://logs.example.com:514/path", None, "input.url"),
        (StreamKind.SYSLOG, HOOK, None, "input.url"),
    ],
)  # fmt: skip
async def test_a_bad_destination_is_refused_naming_the_field_and_stores_nothing(
    services: Services,
    operator: Principal,
    log_streams: InMemoryLogStreams,
    kind: StreamKind,
    url: str,
    token: str | None,
    field: str,
) -> None:
    with pytest.raises(InvalidField) as refused:
        await admin(services).create(
            operator, account_id="acme", name="S", kind=kind, url=url, token=token, wanted=None
        )
    assert refused.value.field == field
    assert await log_streams.list() == []


@pytest.mark.usefixtures("tenants")
async def test_plain_http_is_accepted_only_to_an_allowed_private_host(
    services: Services, operator: Principal
) -> None:
    created = await admin(services).create(
        operator, account_id="acme", name="On premises", kind=StreamKind.SPLUNK_HEC,
        url="http://127.0.0.1:8088/services/collector/event", token="hec-token", wanted=None,
    )  # fmt: skip
    assert created.stream.destination.scheme == "http"
    assert created.signing_secret is None


@pytest.mark.usefixtures("tenants")
async def test_a_filter_stays_within_the_streams_account(
    services: Services, operator: Principal
) -> None:
    with pytest.raises(InvalidField) as refused:
        await admin(services).create(
            operator, account_id="acme", name="S", kind=StreamKind.WEBHOOK, url=HOOK,
            token=None, wanted=LogFilter(account="globex"),
        )  # fmt: skip
    assert refused.value.field == "input.filter.account"
    with pytest.raises(NotFound):
        await admin(services).create(
            operator, account_id="acme", name="S", kind=StreamKind.WEBHOOK, url=HOOK,
            token=None, wanted=LogFilter(application="globex-web"),
        )  # fmt: skip


@pytest.mark.usefixtures("tenants")
async def test_an_account_has_at_most_ten_streams(services: Services, operator: Principal) -> None:
    for _ in range(MAX_STREAMS_PER_ACCOUNT):
        await webhook(services, operator)
    with pytest.raises(Forbidden):
        await webhook(services, operator)


@pytest.mark.usefixtures("tenants")
async def test_each_change_is_recorded_in_the_accounts_trail(
    services: Services, operator: Principal, audited: Audited
) -> None:
    stream = await webhook(services, operator)
    streams = admin(services)
    await streams.pause(operator, stream.id)
    await streams.resume(operator, stream.id)
    await streams.replay(operator, stream.id, operator_now(services) - timedelta(hours=1))
    await streams.rotate_secret(operator, stream.id)
    await streams.delete(operator, stream.id)
    for action in ("paused", "resumed", "replayed", "secret_rotated", "deleted"):
        [event] = await audited(f"admin.log_stream.{action}")
        assert event.account == "acme", action
        assert event.targets[0].id == stream.id


@pytest.mark.usefixtures("tenants")
async def test_a_downgrade_pauses_the_accounts_streams_and_resuming_is_then_forbidden(
    services: Services, operator: Principal, log_streams: InMemoryLogStreams
) -> None:
    stream = await webhook(services, operator)
    await services.administration.change_account_plan.execute(
        operator, account_id="acme", plan="free"
    )
    paused = await log_streams.get(stream.id)
    assert paused is not None
    assert (paused.state, paused.paused) == (StreamState.PAUSED, PauseReason.PLAN)
    with pytest.raises(Forbidden) as refused:
        await admin(services).resume(operator, stream.id)
    assert refused.value.reason == "STREAMS_NOT_IN_PLAN"


# --- delivering -----------------------------------------------------------------------------


@pytest.mark.usefixtures("tenants")
async def test_a_stream_that_does_not_read_back_stops_no_other_and_is_named_once(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
    caplog: pytest.LogCaptureFixture,
) -> None:
    damaged = await webhook(services, operator)
    healthy = await webhook(services, operator)
    log_streams.damage(damaged.id)  # its row edited behind the service's back
    stored = await settled(services, operator, clock, settle, 3)

    with caplog.at_level(logging.ERROR, logger="auditlog"):
        await delivery(services).pass_once()
        await delivery(services).pass_once()

    assert {b.stream_id for b in sender.batches} == {healthy.id}
    assert {e.id for e in stored} <= set(sender.sent_ids())
    named = [r for r in caplog.records if damaged.id in r.getMessage()]
    assert len(named) == 1  # once, not each pass


@pytest.mark.usefixtures("tenants")
async def test_a_plan_changed_behind_the_services_back_pauses_the_stream_before_it_sends(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
    accounts: InMemoryAccounts,
) -> None:
    stream = await webhook(services, operator)
    await settled(services, operator, clock, settle, 3)
    await accounts.set_plan("acme", "free")  # not through the use case: nothing paused it

    await delivery(services).pass_once()

    assert sender.batches == []
    paused = await log_streams.get(stream.id)
    assert paused is not None
    assert (paused.state, paused.paused, paused.lease) == (
        StreamState.PAUSED,
        PauseReason.PLAN,
        None,
    )


@pytest.mark.usefixtures("tenants")
async def test_only_settled_entries_are_sent_in_order_in_batches_and_each_once(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
) -> None:
    stream = await webhook(services, operator)
    clock.advance(seconds=1)
    stored = await record_many(services, operator, 25)
    await delivery(services).pass_once()
    assert sender.entry_ids() == []  # not settled yet
    past_settle(clock, settle)
    await delivery(services).pass_once()
    assert sender.entry_ids() == [e.id for e in sorted(stored, key=lambda e: (e.created_at, e.id))]
    assert [b.sequence for b in sender.batches] == [1, 2, 3]  # batches of 10 (conftest)
    await delivery(services).pass_once()
    assert len(sender.batches) == 3  # nothing again
    after = await log_streams.get(stream.id)
    assert after is not None
    assert after.progress.delivered == 25
    assert after.progress.sequence == 3
    assert after.lease is None


@pytest.mark.usefixtures("tenants")
async def test_an_entry_that_commits_late_within_the_settle_delay_is_not_skipped(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    entries: InMemoryAuditEntries,
) -> None:
    await webhook(services, operator)
    await settled(services, operator, clock, settle, 3)
    await delivery(services).pass_once()
    # Stamped just after the edge the pass read up to, but stored only now (a slow insert).
    [late] = await record_many(services, operator, 1)
    late_at = clock.now() - settle + timedelta(milliseconds=1)
    entries.entries[late.id] = dataclasses.replace(late, created_at=late_at)
    past_settle(clock, settle)
    await delivery(services).pass_once()
    assert sender.entry_ids()[-1] == late.id
    assert len(sender.entry_ids()) == 4


@pytest.mark.usefixtures("tenants")
async def test_a_failure_backs_off_then_the_same_batch_is_sent_again_and_delivery_goes_on(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
) -> None:
    stream = await webhook(services, operator)
    await settled(services, operator, clock, settle, 5)
    sender.fail_with(NotSent("HTTP_503", retry_after=30))
    await delivery(services).pass_once()
    failing = await log_streams.get(stream.id)
    assert failing is not None
    assert failing.state is StreamState.FAILING
    assert failing.failure.last_error == "HTTP_503"
    assert failing.failure.retry_at == clock.now() + timedelta(seconds=30)
    sender.succeed()
    await delivery(services).pass_once()
    assert sender.sent_ids() == []  # not before Retry-After
    clock.advance(seconds=31)
    await delivery(services).pass_once()
    recovered = await log_streams.get(stream.id)
    assert recovered is not None
    assert recovered.state is StreamState.ACTIVE
    assert recovered.failure.attempts == 0
    # The failed batch and the one that went through carry the same entries and sequence.
    assert sender.batches[0].sequence == sender.batches[1].sequence == 1
    assert sender.entry_ids(only_sent=True) == sender.entry_ids()[:5]


@pytest.mark.usefixtures("tenants")
async def test_gone_disables_and_a_long_run_of_failures_pauses(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
) -> None:
    gone, failing = await webhook(services, operator), await webhook(services, operator)
    await settled(services, operator, clock, settle, 2)
    sender.fail_with(NotSent("HTTP_410", gone=True), only=gone.id)
    sender.fail_with(NotSent("CONNECT_FAILED"), only=failing.id)
    await delivery(services).pass_once()
    disabled = await log_streams.get(gone.id)
    assert disabled is not None
    assert disabled.state is StreamState.DISABLED
    for _ in range(400):  # three days of retries, each waiting at most the 5-minute cap
        clock.advance(minutes=11)
        await delivery(services).pass_once()
    paused = await log_streams.get(failing.id)
    assert paused is not None
    assert (paused.state, paused.paused) == (StreamState.PAUSED, PauseReason.FAILING_TOO_LONG)
    assert paused.failure.last_error == "CONNECT_FAILED"


@pytest.mark.usefixtures("tenants")
async def test_two_instances_never_send_one_batch_both(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    second_delivery: StreamDelivery,
) -> None:
    await webhook(services, operator)
    await settled(services, operator, clock, settle, 30)
    sender.delay = 0.01  # both are in a send at once
    await asyncio.gather(delivery(services).pass_once(), second_delivery.pass_once())
    await asyncio.gather(delivery(services).pass_once(), second_delivery.pass_once())
    ids = sender.entry_ids(only_sent=True)
    assert len(ids) == len(set(ids)) == 30


@pytest.mark.usefixtures("tenants")
async def test_a_replay_sends_again_from_a_time_in_later_batches(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
) -> None:
    stream = await webhook(services, operator)
    clock.advance(seconds=1)
    first = await record_many(services, operator, 3)
    clock.advance(seconds=10)
    second = await record_many(services, operator, 2)
    past_settle(clock, settle)
    await delivery(services).pass_once()
    await admin(services).replay(operator, stream.id, second[0].created_at)
    await delivery(services).pass_once()
    ids = sender.entry_ids()
    assert ids == [e.id for e in first + second] + [e.id for e in second]
    assert [b.sequence for b in sender.batches] == [1, 2]


@pytest.mark.usefixtures("tenants")
async def test_a_rotation_signs_with_both_secrets_for_a_day_then_with_the_new_one(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
) -> None:
    created = await admin(services).create(
        operator, account_id="acme", name="SIEM", kind=StreamKind.WEBHOOK, url=HOOK,
        token=None, wanted=None,
    )  # fmt: skip
    rotated = await admin(services).rotate_secret(operator, created.stream.id)
    await settled(services, operator, clock, settle, 1)
    await delivery(services).pass_once()
    assert sender.credentials[-1].secrets == (rotated.signing_secret, created.signing_secret)
    clock.advance(seconds=ROTATION_OVERLAP.total_seconds())
    await record_many(services, operator, 1)
    past_settle(clock, settle)
    await delivery(services).pass_once()
    assert sender.credentials[-1].secrets == (rotated.signing_secret,)


@pytest.mark.usefixtures("tenants")
async def test_a_stream_sends_only_what_its_filter_admits_of_its_own_account(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
) -> None:
    await admin(services).create(
        operator, account_id="acme", name="Mobile", kind=StreamKind.WEBHOOK, url=HOOK,
        token=None, wanted=LogFilter(application="acme-mobile"),
    )  # fmt: skip
    await services.administration.change_account_plan.execute(
        operator, account_id="globex", plan="pro"
    )
    clock.advance(seconds=1)
    await record_many(services, operator, 2, application="acme-web")
    mobile = await record_many(services, operator, 2, application="acme-mobile")
    await record_many(services, operator, 2, application="globex-web")
    past_settle(clock, settle)
    await delivery(services).pass_once()
    assert sender.entry_ids() == [e.id for e in mobile]


@pytest.mark.usefixtures("tenants")
async def test_a_paused_stream_sends_nothing_and_resumes_where_it_stopped(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
) -> None:
    stream = await webhook(services, operator)
    before = await settled(services, operator, clock, settle, 2)
    await delivery(services).pass_once()
    await admin(services).pause(operator, stream.id)
    during = await record_many(services, operator, 2)
    past_settle(clock, settle)
    await delivery(services).pass_once()
    assert sender.entry_ids() == [e.id for e in before]
    await admin(services).resume(operator, stream.id)
    await delivery(services).pass_once()
    assert sender.entry_ids() == [e.id for e in before + during]


async def test_a_key_with_the_stream_scope_sees_lag_of_its_streams(
    services: Services, key_for: KeyFactory
) -> None:
    key: KeyHolder = await key_for("acme", scopes=[Scope.STREAM])
    stream = await webhook(services, key)
    await delivery(services).pass_once()
    [listed] = await admin(services).list(key, None)
    assert listed.id == stream.id
    assert listed.progress.through is not None


@pytest.mark.usefixtures("tenants")
async def test_a_batch_sent_again_holds_the_same_entries_and_header_though_more_settled(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    second_delivery: StreamDelivery,
) -> None:
    await webhook(services, operator)
    await settled(services, operator, clock, settle, 3)
    sender.fail_with(NotSent("TIMEOUT"))  # the receiver may have taken it: the answer was lost
    await delivery(services).pass_once()
    await record_many(services, operator, 4)  # settle before the retry
    sender.succeed()
    clock.advance(minutes=10)
    # Another instance, as after a crash of the first (its lease has lapsed by now).
    await second_delivery.pass_once()
    first, again = sender.batches[0], sender.batches[1]
    assert [e.id for e in again.entries] == [e.id for e in first.entries]
    assert again.header == first.header
    assert again.delivery_id == first.delivery_id
    await second_delivery.pass_once()
    assert len(sender.entry_ids(only_sent=True)) == 3 + 4  # the rest in the next batch
    assert sender.batches[2].sequence == 2


@pytest.mark.usefixtures("tenants")
async def test_a_batch_whose_entries_are_gone_before_it_goes_again_gives_way_to_the_next(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    entries: InMemoryAuditEntries,
    log_streams: InMemoryLogStreams,
) -> None:
    stream = await webhook(services, operator)
    lost = await settled(services, operator, clock, settle, 3)
    sender.fail_with(NotSent("HTTP_503"))
    await delivery(services).pass_once()
    for entry in lost:  # expired and deleted while the stream waited
        del entries.entries[entry.id]
    later = await record_many(services, operator, 2)
    past_settle(clock, settle)
    clock.advance(minutes=10)
    sender.succeed()
    await delivery(services).pass_once()
    assert sender.sent_ids() == [e.id for e in later]
    after = await log_streams.get(stream.id)
    assert after is not None
    assert after.progress.pending is None
    assert after.progress.through == later[-1].created_at


@pytest.mark.usefixtures("tenants")
async def test_a_batch_gone_before_it_went_again_does_not_count_the_rest_as_delivered(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    entries: InMemoryAuditEntries,
    log_streams: InMemoryLogStreams,
) -> None:
    stream = await webhook(services, operator)
    lost = await settled(services, operator, clock, settle, 3)
    sender.fail_with(NotSent("HTTP_503"))
    await delivery(services).pass_once()
    for entry in lost:
        del entries.entries[entry.id]
    await record_many(services, operator, 2)
    past_settle(clock, settle)
    clock.advance(minutes=10)
    await delivery(services).pass_once()  # the receiver still fails the entries after them
    after = await log_streams.get(stream.id)
    assert after is not None
    assert after.progress.through is None  # nothing of the account was delivered yet
    assert after.state is StreamState.FAILING


# --- entries that expire before they could be sent ------------------------------------------


def ordered(entries: list[AuditEntry]) -> list[str]:
    return [e.id for e in sorted(entries, key=lambda e: (e.created_at, e.id))]


async def stored(log_streams: InMemoryLogStreams, stream: LogStream) -> LogStream:
    found = await log_streams.get(stream.id)
    assert found is not None
    return found


@pytest.mark.usefixtures("tenants")
async def test_a_paused_stream_counts_what_expired_before_it_resumed_and_then_sends_the_rest(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
) -> None:
    stream = await webhook(services, operator)
    sent = await settled(services, operator, clock, settle, 3)
    await delivery(services).pass_once()
    await admin(services).pause(operator, stream.id)
    old = await record_many(services, operator, 25)  # more than a batch (10): given up in three
    clock.advance(days=30)
    young = await record_many(services, operator, 4)
    past_settle(clock, settle)
    await delivery(services).pass_once()
    assert (await stored(log_streams, stream)).progress.missed == 0  # nothing expires yet
    clock.set(max(e.expires_at for e in old) - timedelta(seconds=30))  # within the minute
    await delivery(services).pass_once()
    await delivery(services).pass_once()  # counted once
    paused = await stored(log_streams, stream)
    assert paused.progress.missed == 25
    assert paused.progress.delivered == 3
    assert paused.lease is None
    assert sender.entry_ids() == [e.id for e in sent]  # none of them sent
    await admin(services).resume(operator, stream.id)
    await delivery(services).pass_once()
    assert sender.entry_ids() == [e.id for e in sent] + ordered(young)
    after = await stored(log_streams, stream)
    assert after.progress.delivered + after.progress.missed == len(sent + old + young)
    assert [b.sequence for b in sender.batches] == [1, 2]  # the numbering goes on, no gap


@pytest.mark.usefixtures("tenants")
async def test_a_waiting_stream_is_looked_at_for_expiring_entries_every_15_s_not_every_pass(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
) -> None:
    stream = await webhook(services, operator)
    await admin(services).pause(operator, stream.id)
    [entry] = await settled(services, operator, clock, settle, 1)
    clock.set(entry.expires_at - timedelta(seconds=61))  # just beyond the minute's lookahead
    await delivery(services).pass_once()  # looked: nothing within the minute yet

    clock.advance(seconds=2)  # within it now, but looked at 2 s ago
    await delivery(services).pass_once()
    assert (await stored(log_streams, stream)).progress.missed == 0
    clock.advance(seconds=14)  # 16 s after the last look
    await delivery(services).pass_once()
    assert (await stored(log_streams, stream)).progress.missed == 1


@pytest.mark.usefixtures("tenants")
async def test_a_failing_stream_waiting_for_its_retry_gives_up_what_expires_meanwhile(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
) -> None:
    stream = await webhook(services, operator)
    first = await settled(services, operator, clock, settle, 3)
    clock.advance(minutes=2)
    later = await record_many(services, operator, 2)
    expiry = max(e.expires_at for e in first)
    clock.set(expiry - timedelta(seconds=100))
    sender.fail_with(NotSent("HTTP_503", retry_after=300))
    await delivery(services).pass_once()  # one batch of all five fails: retried in 5 minutes
    assert (await stored(log_streams, stream)).state is StreamState.FAILING
    young = await record_many(services, operator, 2)
    clock.set(expiry - timedelta(seconds=50))
    await delivery(services).pass_once()
    waiting = await stored(log_streams, stream)
    assert waiting.progress.missed == len(first)  # the front of the batch, about to expire
    assert waiting.progress.pending is not None  # the rest of it goes again as it was
    clock.set(min(e.expires_at for e in later) - timedelta(seconds=30))
    await delivery(services).pass_once()
    waiting = await stored(log_streams, stream)
    assert waiting.failure.retry_at is not None
    assert waiting.failure.retry_at > clock.now()  # still waiting
    assert (waiting.state, waiting.progress.missed) == (StreamState.FAILING, 5)
    assert waiting.progress.pending is None  # all of it given up
    sender.succeed()
    clock.set(waiting.failure.retry_at + timedelta(seconds=1))
    await delivery(services).pass_once()
    assert sender.sent_ids() == ordered(young)
    after = await stored(log_streams, stream)
    assert after.state is StreamState.ACTIVE
    assert after.progress.delivered + after.progress.missed == len(first + later + young)


@pytest.mark.usefixtures("tenants")
async def test_an_active_stream_gives_up_nothing_and_sends_what_is_about_to_expire(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
) -> None:
    stream = await webhook(services, operator)
    recorded = await settled(services, operator, clock, settle, 12)
    clock.set(max(e.expires_at for e in recorded) - timedelta(seconds=30))
    await delivery(services).pass_once()
    assert sender.sent_ids() == ordered(recorded)
    after = await stored(log_streams, stream)
    assert (after.progress.delivered, after.progress.missed) == (12, 0)


@pytest.mark.usefixtures("tenants")
async def test_a_batch_in_flight_that_can_still_go_is_kept_and_resent_identical(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    entries: InMemoryAuditEntries,
    log_streams: InMemoryLogStreams,
) -> None:
    stream = await webhook(services, operator)
    in_flight = await settled(services, operator, clock, settle, 3)
    sender.fail_with(NotSent("TIMEOUT"))  # the receiver may have taken it
    await delivery(services).pass_once()
    await admin(services).pause(operator, stream.id)
    # Recorded after the batch, but kept for less (as after a plan shortened retention).
    short = await record_many(services, operator, 2)
    soon = clock.now() + timedelta(days=1)
    for entry in short:
        entries.entries[entry.id] = dataclasses.replace(entry, expires_at=soon)
    past_settle(clock, settle)
    clock.set(soon - timedelta(seconds=30))
    await delivery(services).pass_once()
    paused = await stored(log_streams, stream)
    # The position is where the batch starts: nothing after it is given up before it went.
    assert paused.progress.missed == 0
    assert paused.progress.pending is not None
    assert paused.progress.pending.entry_id == ordered(in_flight)[-1]
    sender.succeed()
    await admin(services).resume(operator, stream.id)
    await delivery(services).pass_once()
    first, again = sender.batches[0], sender.batches[1]
    assert [e.id for e in again.entries] == [e.id for e in first.entries] == ordered(in_flight)
    assert (again.sequence, again.header, again.delivery_id) == (
        first.sequence,
        first.header,
        first.delivery_id,
    )


@pytest.mark.usefixtures("tenants")
async def test_a_replay_meanwhile_wins_over_giving_up(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    settle: timedelta,
    entries: InMemoryAuditEntries,
    log_streams: InMemoryLogStreams,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = await webhook(services, operator)
    await admin(services).pause(operator, stream.id)
    recorded = await settled(services, operator, clock, settle, 3)
    clock.set(max(e.expires_at for e in recorded) - timedelta(seconds=30))
    since = clock.now() - timedelta(days=1)
    query, reads = entries.query, 0

    async def replayed_after_the_second_read(*args: object, **kwargs: object) -> object:
        nonlocal reads
        reads += 1
        found = await query(*args, **kwargs)  # type: ignore[arg-type]
        if reads == 2:  # after the look without the lease, before the write under it
            await admin(services).replay(operator, stream.id, since)
        return found

    monkeypatch.setattr(entries, "query", replayed_after_the_second_read)
    await delivery(services).pass_once()
    after = await stored(log_streams, stream)
    assert reads >= 2
    assert after.start == since
    assert (after.progress.position, after.progress.missed) == (None, 0)
    assert after.lease is None


@pytest.mark.usefixtures("tenants")
async def test_another_instances_lease_holds_off_giving_up_until_it_lapses(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
) -> None:
    stream = await webhook(services, operator)
    await admin(services).pause(operator, stream.id)
    recorded = await settled(services, operator, clock, settle, 3)
    clock.set(max(e.expires_at for e in recorded) - timedelta(seconds=50))
    held = await stored(log_streams, stream)
    lease = Lease(owner="instance-b", until=clock.now() + timedelta(seconds=20))
    assert await log_streams.replace(
        held.replace(lease=lease, version=held.version + 1), expected_version=held.version
    )
    await delivery(services).pass_once()
    assert (await stored(log_streams, stream)).progress.missed == 0
    clock.advance(seconds=21)
    await delivery(services).pass_once()
    assert (await stored(log_streams, stream)).progress.missed == 3


@pytest.mark.usefixtures("tenants")
async def test_two_instances_giving_up_at_once_count_each_entry_once(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
    second_delivery: StreamDelivery,
    entries: InMemoryAuditEntries,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = await webhook(services, operator)
    await admin(services).pause(operator, stream.id)
    recorded = await settled(services, operator, clock, settle, 3)
    clock.set(max(e.expires_at for e in recorded) - timedelta(seconds=30))
    query = entries.query

    async def slow_query(*args: object, **kwargs: object) -> object:
        await asyncio.sleep(0.01)  # both instances are in a read at once
        return await query(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(entries, "query", slow_query)
    await asyncio.gather(delivery(services).pass_once(), second_delivery.pass_once())
    await asyncio.gather(delivery(services).pass_once(), second_delivery.pass_once())
    after = await stored(log_streams, stream)
    assert after.progress.missed == 3
    assert after.lease is None


@pytest.mark.usefixtures("tenants")
async def test_the_expiring_front_of_a_batch_in_flight_is_given_up_and_the_rest_goes_again(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
) -> None:
    stream = await webhook(services, operator)
    front = await settled(services, operator, clock, settle, 3)
    clock.advance(minutes=10)
    rest = await record_many(services, operator, 2)
    clock.set(max(e.expires_at for e in front) - timedelta(seconds=100))
    sender.fail_with(NotSent("HTTP_503", retry_after=300))
    await delivery(services).pass_once()  # the batch of all five fails
    young = await record_many(services, operator, 2)  # settle before the retry
    clock.advance(seconds=50)
    await delivery(services).pass_once()
    waiting = await stored(log_streams, stream)
    assert waiting.progress.missed == len(front)
    assert waiting.failure.retry_at is not None
    sender.succeed()
    clock.set(waiting.failure.retry_at + timedelta(seconds=1))
    await delivery(services).pass_once()
    await delivery(services).pass_once()
    failed, again, after = sender.batches
    assert [e.id for e in failed.entries] == ordered(front + rest)
    # The rest of that batch, under its number and webhook-id; what came since, after it.
    assert [e.id for e in again.entries] == ordered(rest)
    assert (again.sequence, again.delivery_id) == (failed.sequence, failed.delivery_id)
    assert [e.id for e in after.entries] == ordered(young)
    done = await stored(log_streams, stream)
    assert done.progress.delivered + done.progress.missed == len(front + rest + young)


@pytest.mark.usefixtures("tenants")
async def test_a_batch_costs_one_write_its_progress_carrying_the_next_batchs_mark(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
) -> None:
    stream = await webhook(services, operator)
    await settled(services, operator, clock, settle, 25)
    before = log_streams.replaces

    await delivery(services).pass_once()

    assert [b.sequence for b in sender.batches] == [1, 2, 3]
    # The lease, the first batch's mark, each batch's progress (the first two marking the
    # next batch), the release: 6, where a mark and a progress a batch made 8.
    assert log_streams.replaces - before == 6
    after = await log_streams.get(stream.id)
    assert after is not None
    assert (after.progress.delivered, after.progress.pending) == (25, None)


@pytest.mark.usefixtures("tenants")
async def test_a_batch_marked_with_the_last_ones_progress_goes_again_as_marked(
    services: Services,
    operator: Principal,
    clock: FakeClock,
    sender: RecordingSender,
    settle: timedelta,
) -> None:
    await webhook(services, operator)
    await settled(services, operator, clock, settle, 15)
    answer = sender.send

    async def the_second_fails(stream: LogStream, batch: Batch, credentials: Credentials) -> Any:
        if len(sender.batches) == 1:
            sender.fail_with(NotSent("HTTP_503"))
        result = await answer(stream, batch, credentials)
        sender.succeed()
        return result

    sender.send = the_second_fails  # type: ignore[method-assign]
    await delivery(services).pass_once()
    assert sender.outcomes[1] == NotSent("HTTP_503")
    await settled(services, operator, clock, settle, 7)  # more settle before the retry
    clock.advance(seconds=600)  # past any backoff
    await delivery(services).pass_once()

    failed, again = sender.batches[1], sender.batches[2]
    assert again.sequence == failed.sequence == 2
    assert [e.id for e in again.entries] == [e.id for e in failed.entries]
    assert len(failed.entries) == 5  # 11 to 15: what had settled when the first went
    assert again.header == failed.header
    assert len(set(sender.sent_ids())) == 15 + 7
