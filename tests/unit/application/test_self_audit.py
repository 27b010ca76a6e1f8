"""The service audits itself (README, "The service audits itself"): which of its own actions
go to which trail, with which fields. The events go through the service's own interceptor
into the in-memory store, as in production; `audited(action)` waits for them to land.

Tenants come from the conftest (`acme` on pro with acme-web and acme-mobile, `globex` on
free with globex-web); creating them is itself recorded."""

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from application.access.origin import Origin
from application.access.principal import KeyHolder, Operator, Principal
from application.errors import Conflict, Forbidden, NotFound, Unauthenticated
from application.exporting.grant import ExportFormat
from application.reading.criteria import LogFilter
from application.self_audit import SelfAudit
from application.services import Services
from domain.entry import AuditEntry, AuditEvent
from domain.errors import InvalidField
from domain.tenancy import ApiKey, Scope
from domain.timestamps import at_storage_precision
from tests.fakes import FakeClock, InMemoryAuditEntries
from tests.telemetry import RecordingTelemetry
from tests.unit.application.support import Audited, KeyFactory, read_page

ORIGIN = Origin(ip="203.0.113.9", user_agent="SecurityReview/1.0", request_id="review-42")


def where(entry: AuditEntry) -> tuple[str, str]:
    return entry.account, entry.application


async def key(key_for: KeyFactory, *args: object, **kwargs: object) -> KeyHolder:
    """A key's principal as authenticated on a request from ORIGIN."""
    return dataclasses.replace(await key_for(*args, **kwargs), origin=ORIGIN)


# --- administration ------------------------------------------------------------------------


async def test_creating_an_account_is_recorded_in_its_reserved_application_with_its_plan(
    tenants: None, audited: Audited
) -> None:
    created = await audited("admin.account.created")

    assert [(where(e), e.reason, e.success) for e in created] == [
        (("acme", "_acme"), "plan pro", True),
        (("globex", "_globex"), "plan free", True),
    ]


async def test_creating_an_application_is_recorded_in_that_application(
    tenants: None, audited: Audited
) -> None:
    created = await audited("admin.application.created")

    assert sorted(map(where, created)) == [
        ("acme", "acme-mobile"),
        ("acme", "acme-web"),
        ("globex", "globex-web"),
    ]


async def test_issuing_a_key_is_recorded_where_its_events_go_naming_it_but_not_its_secret(
    services: Services, operator: Principal, tenants: None, audited: Audited
) -> None:
    issue = services.administration.issue_api_key.execute
    bound = await issue(operator, account_id="globex", application_id="globex-web",
                        scopes=frozenset({Scope.READ}))  # fmt: skip
    unbound = await issue(operator, account_id="acme", application_id=None,
                          scopes=frozenset({Scope.RECORD, Scope.READ}))  # fmt: skip

    issued = await audited("admin.api_key.issued")

    assert [(where(e), e.reason) for e in issued] == [
        (("globex", "globex-web"), f"key {bound.key.id} scopes READ"),
        (("acme", "_acme"), f"key {unbound.key.id} scopes READ,RECORD"),
    ]
    assert not any(s in str(issued) for s in (bound.secret, unbound.secret))


async def test_a_plan_change_is_recorded_with_the_old_and_the_new_plan(
    services: Services, operator: Principal, tenants: None, audited: Audited
) -> None:
    await services.administration.change_account_plan.execute(
        operator, account_id="acme", plan="enterprise"
    )

    changed = await audited("admin.account.plan_changed")

    assert [(where(e), e.reason) for e in changed] == [(("acme", "_acme"), "pro → enterprise")]


async def test_revoking_a_key_is_recorded_where_its_events_go(
    services: Services, operator: Principal, key_for: KeyFactory, audited: Audited
) -> None:
    holder = await key_for("acme", "acme-web")
    await services.administration.revoke_api_key.execute(operator, key_id=holder.key_id)

    revoked = await audited("admin.api_key.revoked")

    assert [(where(e), e.reason) for e in revoked] == [
        (("acme", "acme-web"), f"key {holder.key_id}")
    ]


async def test_an_administrative_change_is_recorded_with_where_the_request_came_from(
    services: Services, audited: Audited
) -> None:
    await services.administration.create_account.execute(
        Operator(origin=ORIGIN), account_id="initech", name="Initech", plan="pro"
    )

    [created] = await audited("admin.account.created")

    assert (created.ip, created.user_agent, created.request_id) == (
        "203.0.113.9", "SecurityReview/1.0", "review-42",
    )  # fmt: skip


async def test_a_refused_administrative_change_records_nothing(
    services: Services, operator: Principal, tenants: None, audited: Audited
) -> None:
    admin = services.administration
    with pytest.raises(Conflict):
        await admin.create_account.execute(operator, account_id="acme", name="Again", plan="pro")
    with pytest.raises(InvalidField):
        await admin.change_account_plan.execute(operator, account_id="acme", plan="platinum")

    assert len(await audited("admin.account.created")) == 2
    assert await audited("admin.account.plan_changed") == []


# --- reads ---------------------------------------------------------------------------------


async def test_each_read_by_a_key_is_recorded_once_where_its_events_go_with_its_origin(
    services: Services, key_for: KeyFactory, audited: Audited
) -> None:
    await read_page(services, await key(key_for, "acme"))
    await read_page(services, await key(key_for, "acme", "acme-web"))

    viewed = await audited("portal.audit_logs.viewed")

    assert [where(e) for e in viewed] == [("acme", "_acme"), ("acme", "acme-web")]
    assert {(e.success, e.ip, e.user_agent, e.request_id) for e in viewed} == {
        (True, "203.0.113.9", "SecurityReview/1.0", "review-42")
    }


async def test_a_refused_read_by_a_key_is_recorded_as_a_failure(
    services: Services, key_for: KeyFactory, audited: Audited
) -> None:
    with pytest.raises(Forbidden):
        await read_page(services, await key(key_for, "globex"), LogFilter(account="acme"))

    viewed = await audited("portal.audit_logs.viewed")

    assert [(where(e), e.success, e.reason) for e in viewed] == [
        (("globex", "_globex"), False, "Forbidden")
    ]


async def test_reads_by_the_operator_are_not_recorded(
    services: Services, operator: Principal, tenants: None, audited: Audited
) -> None:
    await read_page(services, operator)
    await read_page(services, operator, LogFilter(account="acme"))
    await services.reading.verify.execute(operator, account="acme")

    assert await audited("portal.audit_logs.viewed") == []
    assert await audited("portal.audit_logs.verified") == []


async def test_each_verification_by_a_key_is_recorded_in_its_accounts_trail_refused_too(
    services: Services, key_for: KeyFactory, audited: Audited
) -> None:
    reader = await key(key_for, "acme", scopes=(Scope.READ,))
    await services.reading.verify.execute(reader, account=None)
    with pytest.raises(Forbidden):
        await services.reading.verify.execute(reader, account="globex")

    verified = await audited("portal.audit_logs.verified")

    assert [(where(e), e.success, e.reason) for e in verified] == [
        (("acme", "_acme"), True, None),
        (("acme", "_acme"), False, "Forbidden"),
    ]
    assert verified[0].request_id == "review-42"


# --- exports -------------------------------------------------------------------------------


async def download(services: Services, token: str) -> int:
    export = await services.export.download.execute(token, ORIGIN)
    return len([entry async for entry in export.entries])


async def test_an_export_link_and_its_download_are_recorded_where_the_keys_events_go(
    services: Services, key_for: KeyFactory, audited: Audited
) -> None:
    exporter = await key(key_for, "acme", "acme-web", scopes=(Scope.RECORD, Scope.EXPORT))
    link = await services.export.request.execute(exporter, LogFilter(), ExportFormat.CSV)
    rows = await download(services, link.token)

    exported = await audited("portal.audit_logs.exported")

    assert [(where(e), e.success, e.reason) for e in exported] == [
        (("acme", "acme-web"), True, "link created for csv"),
        (("acme", "acme-web"), True, f"downloaded {rows} entries as csv"),
    ]
    assert {e.request_id for e in exported} == {"review-42"}


async def test_the_operators_export_is_recorded_in_the_exported_accounts_reserved_application(
    services: Services, tenants: None, audited: Audited
) -> None:
    operator = Operator(origin=ORIGIN)
    link = await services.export.request.execute(
        operator, LogFilter(account="acme"), ExportFormat.NDJSON
    )
    rows = await download(services, link.token)

    exported = await audited("portal.audit_logs.exported")

    assert [(where(e), e.reason) for e in exported] == [
        (("acme", "_acme"), "link created for ndjson"),
        (("acme", "_acme"), f"downloaded {rows} entries as ndjson"),
    ]


async def test_a_refused_export_is_recorded_as_a_failure_and_a_refused_download_too(
    services: Services, operator: Principal, key_for: KeyFactory, audited: Audited
) -> None:
    free = await key(key_for, "globex", scopes=(Scope.EXPORT,))
    with pytest.raises(Forbidden):  # the free plan has no download
        await services.export.request.execute(free, LogFilter(), ExportFormat.CSV)
    pro = await key(key_for, "acme", scopes=(Scope.EXPORT,))
    link = await services.export.request.execute(pro, LogFilter(), ExportFormat.CSV)
    await services.administration.change_account_plan.execute(
        operator, account_id="acme", plan="free"
    )
    with pytest.raises(Forbidden):
        await services.export.download.execute(link.token, ORIGIN)

    exported = await audited("portal.audit_logs.exported")

    assert [(where(e), e.success, e.reason) for e in exported] == [
        (("globex", "_globex"), False, "Forbidden"),
        (("acme", "_acme"), True, "link created for csv"),
        (("acme", "_acme"), False, "Forbidden"),
    ]


async def test_an_operator_export_naming_no_account_is_refused_and_has_no_trail_to_go_to(
    services: Services, operator: Principal, tenants: None, audited: Audited
) -> None:
    with pytest.raises(InvalidField):
        await services.export.request.execute(operator, LogFilter(), ExportFormat.CSV)

    assert await audited("portal.audit_logs.exported") == []


# --- credentials ---------------------------------------------------------------------------


async def revoked(services: Services, operator: Principal) -> tuple[ApiKey, str]:
    """A key of acme's, revoked, and its secret."""
    issued = await services.administration.issue_api_key.execute(
        operator, account_id="acme", application_id=None, scopes=frozenset({Scope.READ})
    )
    key = await services.administration.revoke_api_key.execute(operator, key_id=issued.key.id)
    return key, issued.secret


async def test_a_revoked_key_presented_is_recorded_in_its_trail_as_a_failure(
    services: Services, operator: Principal, tenants: None, audited: Audited
) -> None:
    _, secret = await revoked(services, operator)

    with pytest.raises(Unauthenticated):
        await services.access.authenticate.execute(secret, ORIGIN)

    rejected = await audited("auth.api_key.rejected")
    assert [(where(e), e.success, e.reason, e.ip) for e in rejected] == [
        (("acme", "_acme"), False, "revoked", "203.0.113.9")
    ]


async def test_attempts_within_the_minute_are_folded_into_one_entry_written_at_shutdown(
    services: Services, operator: Principal, tenants: None, audited: Audited
) -> None:
    _, secret = await revoked(services, operator)
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            await services.access.authenticate.execute(secret, ORIGIN)
    assert [e.reason for e in await audited("auth.api_key.rejected")] == ["revoked"]

    services.self_audit.flush_rejections()

    assert [e.reason for e in await audited("auth.api_key.rejected")] == [
        "revoked",
        "revoked, presented 3 times since the last entry",
    ]


async def test_the_folded_entry_is_written_when_the_interval_ends_and_then_one_is_at_once(
    services: Services, operator: Principal, tenants: None, audited: Audited
) -> None:
    """The interval is a minute in the service; a twentieth of a second here."""
    key, _ = await revoked(services, operator)
    telemetry = RecordingTelemetry()
    audit = SelfAudit(services.auditor, telemetry=telemetry, rejection_interval=0.05)

    for _ in range(3):
        audit.key_rejected(key, ORIGIN)
    assert telemetry.rejections_folded == 2
    await asyncio.sleep(0.2)  # the folded entry is written at 0.05 s, or a little later
    folded = [e.reason for e in await audited("auth.api_key.rejected")]
    audit.key_rejected(key, ORIGIN)

    assert folded == ["revoked", "revoked, presented 2 times since the last entry"]
    assert [e.reason for e in await audited("auth.api_key.rejected")] == [*folded, "revoked"]


async def test_a_secret_that_matches_no_key_is_counted_and_recorded_nowhere(
    services: Services, telemetry: RecordingTelemetry, tenants: None, audited: Audited
) -> None:
    for secret in ("alk_0123456789abcdef_" + "A" * 43, "something-else"):
        with pytest.raises(Unauthenticated):
            await services.access.authenticate.execute(secret, ORIGIN)

    assert telemetry.unknown_credentials == 2
    assert await audited("auth.api_key.rejected") == []


# --- where account-level events go ---------------------------------------------------------


class TestTheAccountsReservedApplication:
    """`_<account>` holds account-level events; it exists with the account and is read and
    written under the same tenancy rules as any of the account's applications."""

    async def test_an_unbound_key_of_the_account_records_and_reads_there(
        self, services: Services, key_for: KeyFactory, audited: Audited
    ) -> None:
        holder = await key_for("acme")
        event = AuditEvent(application="_acme", action="user.invited", success=True)
        recorded = await services.recording.record.execute(holder, event)
        await audited("admin.account.created")

        page = await read_page(services, holder, LogFilter(application="_acme"))

        assert recorded.account == "acme"
        assert {e.action for e in page.entries} >= {"admin.account.created", "user.invited"}

    @pytest.mark.parametrize(("account", "application"), [("acme", "acme-web"), ("globex", None)])
    async def test_other_keys_may_neither_read_nor_record_there(
        self, services: Services, key_for: KeyFactory, account: str, application: str | None
    ) -> None:
        holder = await key_for(account, application)
        event = AuditEvent(application="_acme", action="user.invited", success=True)

        with pytest.raises(Forbidden):
            await read_page(services, holder, LogFilter(application="_acme"))
        with pytest.raises(Forbidden):
            await services.recording.record.execute(holder, event)

    async def test_no_application_may_be_created_with_a_reserved_id(
        self, services: Services, operator: Principal, tenants: None
    ) -> None:
        with pytest.raises(InvalidField) as refused:
            await services.administration.create_application.execute(
                operator, account_id="acme", application_id="_globex", name="X"
            )
        assert refused.value.field == "id"

    async def test_it_does_not_exist_for_an_unknown_account(
        self, services: Services, operator: Principal, tenants: None
    ) -> None:
        event = AuditEvent(application="_nobody", action="user.invited", success=True)
        with pytest.raises(NotFound):
            await services.recording.record.execute(operator, event)


async def test_an_event_held_back_keeps_the_moment_it_was_emitted(
    services: Services, entries: InMemoryAuditEntries, operator: Principal, clock: FakeClock
) -> None:
    emitted_at = clock.now()
    await services.administration.create_account.execute(
        operator, account_id="initech", name="Initech", plan="pro"
    )
    clock.advance(seconds=90)  # the sender is not running yet: as through a store outage
    services.emitter.start()
    await services.emitter.drain()
    await services.emitter.stop()

    [created] = [e for e in entries.entries.values() if e.action == "admin.account.created"]
    assert created.occurred_at == at_storage_precision(emitted_at)
    assert created.created_at == at_storage_precision(emitted_at + timedelta(seconds=90))
