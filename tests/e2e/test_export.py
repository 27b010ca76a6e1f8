"""exportAuditLogs and GET /exports/<token>: who may export, what a link binds, what comes out."""

import csv
import io
import json
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from adapters.outbound.export_links import SignedExportLinks
from application.exporting.grant import ExportFormat, ExportGrant
from application.reading.criteria import LogFilter
from tests.e2e.api import EXPORT_SIGNING_KEY, OPERATOR_TOKEN, Api, Result
from tests.e2e.conftest import Tenants
from tests.fakes import FakeClock

EXPORT = """query($filter: AuditLogFilter, $format: ExportFormat!) {
  exportAuditLogs(filter: $filter, format: $format) { url format expiresAt }
}"""


async def request_export(api: Api, token: str, fmt: str = "NDJSON", **filter: Any) -> Result:
    return await api.gql(EXPORT, {"filter": filter or None, "format": fmt}, token=token)


async def link(api: Api, token: str, fmt: str = "NDJSON", **filter: Any) -> str:
    return str((await request_export(api, token, fmt, **filter)).data["exportAuditLogs"]["url"])


async def download(api: Api, url: str) -> tuple[int, dict[str, str], str]:
    await api.settle()
    response = await api.http.get(url)
    return response.status_code, dict(response.headers), response.text


def ndjson(body: str) -> list[dict[str, Any]]:
    """The entry lines of an NDJSON export, which ends with its signed trailer."""
    *documents, trailer = [json.loads(line) for line in body.splitlines()]
    assert set(trailer) == {"_export", "signature"}
    assert trailer["_export"]["count"] == len([d for d in documents if "_seal" not in d])
    return [d for d in documents if "_seal" not in d]


def csv_rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body, newline="")))


@pytest.fixture
async def exporters(api: Api, tenants: Tenants) -> dict[str, str]:
    """Keys with EXPORT for acme (pro: download) and globex (free: no download)."""
    return {
        "acme": (await api.issue_key("acme", ["READ", "EXPORT"]))[1],
        "acme_portal": (await api.issue_key("acme", ["EXPORT"], "portal"))[1],
        "globex": (await api.issue_key("globex", ["READ", "EXPORT"]))[1],
    }


async def logins(api: Api, token: str) -> list[dict[str, Any]]:
    return await api.all_entries(token, actions=["auth.login", "mfa.enrolled"])


class TestWhoMayExport:
    async def test_a_key_without_the_export_scope_is_forbidden(
        self, api: Api, tenants: Tenants
    ) -> None:
        result = await request_export(api, tenants.acme_read)

        assert result.code == "FORBIDDEN"
        assert "reason" not in result.error["extensions"]

    async def test_a_plan_without_download_is_forbidden_with_its_reason(
        self, api: Api, exporters: dict[str, str]
    ) -> None:
        result = await request_export(api, exporters["globex"])

        assert result.code == "FORBIDDEN"
        assert result.error["extensions"]["reason"] == "EXPORT_NOT_IN_PLAN"

    @pytest.mark.parametrize(
        "filter", [{"account": "globex"}, {"application": "shop"}, {"application": "admin"}]
    )
    async def test_the_filter_follows_the_tenancy_rules_of_audit_logs(
        self, api: Api, exporters: dict[str, str], filter: dict[str, str]
    ) -> None:
        key = (
            exporters["acme_portal"] if filter.get("application") == "admin" else exporters["acme"]
        )

        result = await request_export(api, key, **filter)

        assert result.code == "FORBIDDEN"

    async def test_the_operator_must_name_the_account_it_exports(
        self, api: Api, tenants: Tenants
    ) -> None:
        result = await request_export(api, OPERATOR_TOKEN)

        assert result.code == "BAD_USER_INPUT"
        assert result.error["extensions"]["field"] == "filter.account"
        assert (await request_export(api, OPERATOR_TOKEN, account="acme")).data

    async def test_the_operator_is_held_to_the_plan_too(self, api: Api, tenants: Tenants) -> None:
        result = await request_export(api, OPERATOR_TOKEN, account="globex")

        assert result.error["extensions"]["reason"] == "EXPORT_NOT_IN_PLAN"


class TestTheLink:
    async def test_it_is_relative_short_lived_and_of_the_asked_format(
        self, api: Api, exporters: dict[str, str], clock: FakeClock
    ) -> None:
        result = await request_export(api, exporters["acme"], "CSV")

        export = result.data["exportAuditLogs"]
        assert re.fullmatch(r"/exports/[A-Za-z0-9_.-]+", export["url"])
        assert export["format"] == "CSV"
        assert export["expiresAt"] == (clock.now() + timedelta(minutes=5)).isoformat(
            timespec="milliseconds"
        )

    async def test_it_downloads_again_within_its_lifetime_and_not_after(
        self, api: Api, exporters: dict[str, str], clock: FakeClock
    ) -> None:
        url = await link(api, exporters["acme"])

        assert (await download(api, url))[0] == 200
        clock.advance(minutes=4, seconds=59)
        assert (await download(api, url))[0] == 200
        clock.advance(seconds=1)
        status, headers, body = await download(api, url)
        assert status == 403
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["error"]["code"] == "FORBIDDEN"

    async def test_a_tampered_token_is_refused(self, api: Api, exporters: dict[str, str]) -> None:
        url = await link(api, exporters["acme"])
        # Not the last character: its low bits are base64 padding and may not matter.
        at = len(url) - 5
        flipped = url[:at] + ("A" if url[at] != "A" else "B") + url[at + 1 :]

        status, _, body = await download(api, flipped)

        assert status == 403
        assert json.loads(body)["error"]["code"] == "FORBIDDEN"

    async def test_a_token_signed_with_another_key_is_refused(
        self, api: Api, exporters: dict[str, str], clock: FakeClock
    ) -> None:
        foreign = SignedExportLinks("some-other-deployments-signing-key-0123456789")
        grant = ExportGrant(
            key_id=None,
            account="acme",
            filter=LogFilter(account="acme"),
            format=ExportFormat.NDJSON,
            expires_at=clock.now() + timedelta(minutes=5),
        )

        assert (await download(api, f"/exports/{foreign.seal(grant)}"))[0] == 403

    async def test_a_link_to_an_account_the_store_does_not_hold_is_not_found(
        self, api: Api, clock: FakeClock
    ) -> None:
        # As after the store was restored from a backup older than the account.
        grant = ExportGrant(
            key_id=None,
            account="initech",
            filter=LogFilter(account="initech"),
            format=ExportFormat.NDJSON,
            expires_at=clock.now() + timedelta(minutes=5),
        )
        token = SignedExportLinks(EXPORT_SIGNING_KEY).seal(grant)

        status, _, body = await download(api, f"/exports/{token}")

        assert (status, json.loads(body)["error"]) == (
            404,
            {"code": "NOT_FOUND", "message": "the account named does not exist"},
        )

    async def test_a_link_whose_filter_names_no_account_is_bad_user_input(
        self, api: Api, clock: FakeClock
    ) -> None:
        grant = ExportGrant(
            key_id=None,
            account="acme",
            filter=LogFilter(),
            format=ExportFormat.NDJSON,
            expires_at=clock.now() + timedelta(minutes=5),
        )
        token = SignedExportLinks(EXPORT_SIGNING_KEY).seal(grant)

        status, _, body = await download(api, f"/exports/{token}")

        assert (status, json.loads(body)["error"]["code"]) == (400, "BAD_USER_INPUT")

    async def test_editing_the_account_inside_a_token_exports_nothing_of_the_other_account(
        self, api: Api, exporters: dict[str, str]
    ) -> None:
        url = await link(api, exporters["acme"])
        ours = SignedExportLinks(EXPORT_SIGNING_KEY)
        grant = ours.open(url.removeprefix("/exports/"))
        edited = replace(grant, account="globex", filter=LogFilter(account="globex"))

        # The edited payload under the original signature: the signature no longer fits.
        edited_payload, _ = ours.seal(edited).rsplit(".", 1)
        _, signature = url.removeprefix("/exports/").rsplit(".", 1)
        assert (await download(api, f"/exports/{edited_payload}.{signature}"))[0] == 403
        # Even validly signed (only with the deployment's key), the key is not globex's.
        assert (await download(api, f"/exports/{ours.seal(edited)}"))[0] == 403
        # Nor with only the grant's account changed: acme's own filter, globex's account.
        account_only = replace(grant, account="globex")
        status, _, body = await download(api, f"/exports/{ours.seal(account_only)}")
        assert status == 403
        assert json.loads(body)["error"]["code"] == "FORBIDDEN"

    async def test_a_plan_downgrade_after_the_link_was_made_closes_it(
        self, api: Api, exporters: dict[str, str]
    ) -> None:
        url = await link(api, exporters["acme"])
        await api.operator('mutation { changeAccountPlan(account: "acme", plan: "free") { id } }')

        status, _, body = await download(api, url)

        assert status == 403
        assert json.loads(body)["error"]["reason"] == "EXPORT_NOT_IN_PLAN"

    async def test_revoking_the_key_after_the_link_was_made_closes_it(
        self, api: Api, tenants: Tenants
    ) -> None:
        key_id, secret = await api.issue_key("acme", ["EXPORT"])
        url = await link(api, secret)
        await api.operator("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": key_id})

        assert (await download(api, url))[0] == 403


class TestWhatComesOut:
    async def record_variety(self, api: Api, tenants: Tenants, clock: FakeClock) -> None:
        reasons = ['He said "no", twice', '=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)"]
        for i, reason in enumerate(reasons):
            clock.advance(milliseconds=1)
            await api.record(tenants.acme_rw, application="portal", success=False,
                             email=f"user{i}@example.com", reason=reason, ip="2001:db8::1",
                             userAgent="Mozilla/5.0, like Gecko", requestId=f"req-{i}")  # fmt: skip
        clock.advance(milliseconds=1)
        await api.record(tenants.acme_rw, application="admin", action="mfa.enrolled")
        await api.record(tenants.globex_rw, application="shop")

    async def test_ndjson_holds_exactly_what_audit_logs_returns_newest_first(
        self, api: Api, tenants: Tenants, exporters: dict[str, str], clock: FakeClock
    ) -> None:
        await self.record_variety(api, tenants, clock)

        url = await link(api, exporters["acme"], actions=["auth.login", "mfa.enrolled"])
        status, headers, body = await download(api, url)

        assert status == 200
        assert headers["content-type"] == "application/x-ndjson"
        assert re.fullmatch(
            r'attachment; filename="audit-logs-acme-\d{8}T\d{6}Z\.ndjson"',
            headers["content-disposition"],
        )
        assert ndjson(body) == await logins(api, exporters["acme"])

    async def test_csv_round_trips_to_what_audit_logs_returns_with_formulas_neutralised(
        self, api: Api, tenants: Tenants, exporters: dict[str, str], clock: FakeClock
    ) -> None:
        await self.record_variety(api, tenants, clock)

        url = await link(api, exporters["acme"], "CSV", actions=["auth.login", "mfa.enrolled"])
        status, headers, body = await download(api, url)

        assert status == 200
        assert headers["content-type"] == "text/csv; charset=utf-8"
        assert body.startswith("id,action,email,success,reason,application,account,createdAt,")
        assert "\r\n" in body
        rows = csv_rows(body)
        expected = await logins(api, exporters["acme"])
        assert [row["id"] for row in rows] == [e["id"] for e in expected]
        for row, entry in zip(rows, expected, strict=True):
            for column, value in entry.items():
                if isinstance(value, list | dict):  # actor, targets, metadata: JSON cells
                    assert json.loads(row[column]) == value, column
                    continue
                text = (
                    "" if value is None else str(value).lower() if value in (True, False) else value
                )
                if isinstance(text, str) and text[:1] in ("=", "+", "-", "@"):
                    assert row[column] == "'" + text, column
                else:
                    assert row[column] == text, column

    async def test_formula_cells_are_prefixed_in_csv_only(
        self, api: Api, tenants: Tenants, exporters: dict[str, str], clock: FakeClock
    ) -> None:
        await self.record_variety(api, tenants, clock)

        _, _, body = await download(api, await link(api, exporters["acme"], "CSV",
                                                    actions=["auth.login"]))  # fmt: skip
        _, _, lines = await download(api, await link(api, exporters["acme"],
                                                     actions=["auth.login"]))  # fmt: skip

        csv_reasons = {row["reason"] for row in csv_rows(body)}
        assert {'\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)"} <= csv_reasons
        assert {"+1", "-2", "@SUM(A1)"} <= {row["reason"] for row in ndjson(lines)}

    async def test_expired_entries_are_not_exported(
        self, api: Api, tenants: Tenants, exporters: dict[str, str], clock: FakeClock
    ) -> None:
        old = (await api.record(tenants.acme_rw, application="portal")).data["recordAuditEvent"]
        clock.advance(days=89)
        young = (await api.record(tenants.acme_rw, application="portal")).data["recordAuditEvent"]
        clock.advance(days=1, milliseconds=1)

        _, _, body = await download(api, await link(api, exporters["acme"], actions=["auth.login"]))

        assert [row["id"] for row in ndjson(body)] == [young["id"]]
        assert old["id"] not in body

    async def test_a_key_bound_to_an_application_exports_that_application_only(
        self, api: Api, tenants: Tenants, exporters: dict[str, str], clock: FakeClock
    ) -> None:
        await self.record_variety(api, tenants, clock)

        _, _, body = await download(api, await link(api, exporters["acme_portal"]))

        assert {row["application"] for row in ndjson(body)} == {"portal"}


class TestExportsAreAudited:
    async def test_the_link_and_each_download_are_recorded_once(
        self, api: Api, tenants: Tenants, exporters: dict[str, str]
    ) -> None:
        await api.record(tenants.acme_rw, application="portal")
        url = await link(api, exporters["acme"], "CSV", actions=["auth.login"])
        await download(api, url)
        await download(api, url)

        exported = await api.all_entries(OPERATOR_TOKEN, actions=["portal.audit_logs.exported"])

        assert sorted((e["account"], e["application"], e["reason"]) for e in exported) == [
            ("acme", "_acme", "downloaded 1 entries as csv"),
            ("acme", "_acme", "downloaded 1 entries as csv"),
            ("acme", "_acme", "link created for csv"),
        ]

    async def test_a_refused_link_and_a_refused_download_are_recorded_as_failures(
        self, api: Api, exporters: dict[str, str]
    ) -> None:
        await request_export(api, exporters["globex"])
        url = await link(api, exporters["acme"])
        await api.operator('mutation { changeAccountPlan(account: "acme", plan: "free") { id } }')
        await download(api, url)

        exported = await api.all_entries(OPERATOR_TOKEN, actions=["portal.audit_logs.exported"])

        assert sorted((e["account"], e["success"], e["reason"]) for e in exported) == [
            ("acme", False, "Forbidden"),
            ("acme", True, "link created for ndjson"),
            ("globex", False, "Forbidden"),
        ]

    async def test_the_operators_export_is_recorded_in_the_accounts_own_application(
        self, api: Api, tenants: Tenants
    ) -> None:
        await download(api, await link(api, OPERATOR_TOKEN, account="acme"))

        exported = await api.all_entries(OPERATOR_TOKEN, actions=["portal.audit_logs.exported"])

        assert {(e["account"], e["application"]) for e in exported} == {("acme", "_acme")}
        assert len(exported) == 2
