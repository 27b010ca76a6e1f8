"""The portal as a customer uses it, in Chromium: sign in, browse, filter, download, sign out."""

import csv
import io
import os
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Portal, entry_rows, sign_in

LOGINS = "/portal?action=auth.login"


def test_a_wrong_key_is_refused_with_a_clear_message_and_not_kept(
    page: Any, portal: Portal
) -> None:
    sign_in(page, "alk_0123456789abcdef_" + "x" * 43)

    expect(page.get_by_role("alert")).to_contain_text("wrong, or it has been revoked")
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.locator("#logs")).to_be_hidden()


def test_a_revoked_key_is_refused_too(page: Any, portal: Portal) -> None:
    key = portal.key("acme", ["READ"])
    key_id = key.split("_")[1]
    portal.operator("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": key_id})

    sign_in(page, key)

    expect(page.get_by_role("alert")).to_contain_text("revoked")


def test_signing_in_shows_the_account_plan_retention_and_newest_entries(
    page: Any, portal: Portal
) -> None:
    sign_in(page, portal.keys["acme"])

    expect(page.locator("#account-line")).to_have_text("Acme Inc. (acme)")
    expect(page.locator("#retention-line")).to_have_text(
        "Logs are kept for 90 days on the pro plan."
    )
    expect(entry_rows(page)).to_have_count(50)
    times = page.locator("#rows time.recorded").evaluate_all("els => els.map(e => e.dateTime)")
    assert times == sorted(times, reverse=True)
    assert page.evaluate("sessionStorage.getItem('auditlog.apiKey')") == portal.keys["acme"]
    # Full UTC on hover.
    assert page.locator("#rows time.recorded").first.get_attribute("title").endswith("(UTC)")


def test_a_key_bound_to_an_application_says_so_and_sees_only_it(page: Any, portal: Portal) -> None:
    sign_in(page, portal.keys["acme_portal"])

    expect(page.locator("#account-line")).to_have_text("Acme Inc. (acme) · application portal")
    expect(entry_rows(page).first).to_be_visible()
    applications = page.locator("#rows td.application").all_inner_texts()
    assert set(applications) == {"portal"}


def test_outcomes_are_told_apart_by_text_not_colour_alone(page: Any, portal: Portal) -> None:
    sign_in(page, portal.keys["acme"], LOGINS)
    expect(entry_rows(page)).to_have_count(50)

    outcomes = set(page.locator("#rows .outcome").all_inner_texts())

    assert outcomes == {"✓ Success", "✗ Failure"}


def test_load_more_follows_the_cursor_to_the_end(page: Any, portal: Portal) -> None:
    sign_in(page, portal.keys["acme"], LOGINS)
    expect(entry_rows(page)).to_have_count(50)

    page.get_by_role("button", name="Load more").click()

    expect(entry_rows(page)).to_have_count(90)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    ids = page.locator("#rows tr.detail dd:first-of-type").all_text_contents()
    assert len(set(ids)) == 90


def test_details_open_from_the_keyboard(page: Any, portal: Portal) -> None:
    sign_in(page, portal.keys["acme"], LOGINS)
    details = page.get_by_role("button", name="Details").first
    expect(details).to_be_visible()

    details.focus()
    page.keyboard.press("Enter")

    expect(details).to_have_attribute("aria-expanded", "true")
    detail = page.locator("#rows tr.detail").first
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("203.0.113.")
    expect(detail).to_contain_text("Firefox/121.0")


def test_filters_narrow_the_table_live_in_the_url_and_survive_a_reload(
    page: Any, portal: Portal
) -> None:
    sign_in(page, portal.keys["acme"])
    expect(entry_rows(page)).to_have_count(50)

    page.get_by_label("Action").fill("mfa.enrolled")
    page.get_by_label("Outcome").select_option("failure")
    page.get_by_role("button", name="Apply filters").click()

    expect(page).to_have_url(re.compile(r"action=mfa\.enrolled.*outcome=failure"))
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    actions = page.locator("#rows td.action").all_inner_texts()
    assert actions
    assert set(actions) == {"mfa.enrolled"}
    assert set(page.locator("#rows .outcome").all_inner_texts()) == {"✗ Failure"}

    page.reload()

    expect(page.get_by_label("Action")).to_have_value("mfa.enrolled")
    expect(entry_rows(page)).to_have_count(len(actions))


def test_actions_seen_so_far_are_offered_in_the_action_filter(page: Any, portal: Portal) -> None:
    sign_in(page, portal.keys["acme"], "/portal?action=mfa.enrolled")
    expect(entry_rows(page)).to_have_count(30)
    page.get_by_role("button", name="Clear").click()
    expect(entry_rows(page)).to_have_count(50)

    offered = page.locator("#seen-actions option").evaluate_all("els => els.map(e => e.value)")

    assert {"auth.login", "mfa.enrolled"} <= set(offered)


def test_an_empty_result_says_so(page: Any, portal: Portal) -> None:
    page.goto("/portal?email=nobody%40example.com")
    page.get_by_label("API key").fill(portal.keys["acme"])
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_text("No entries match these filters.")).to_be_visible()
    expect(entry_rows(page)).to_have_count(0)


def test_a_time_range_is_kept_in_utc_in_the_url(page: Any, portal: Portal) -> None:
    sign_in(page, portal.keys["acme"])
    expect(entry_rows(page)).to_have_count(50)

    page.get_by_label("From").fill("2000-01-01T00:00:00")
    page.get_by_role("button", name="Apply filters").click()

    expect(page).to_have_url(re.compile(r"since=2000-01-01T\d\d%3A00%3A00\.000Z"))
    expect(entry_rows(page)).to_have_count(50)


def test_download_is_offered_on_pro_and_delivers_the_filtered_csv(
    page: Any, portal: Portal
) -> None:
    sign_in(page, portal.keys["acme"])
    page.get_by_label("Action").fill("mfa.enrolled")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile("action=mfa"))

    with page.expect_download() as started:
        page.get_by_role("button", name="CSV").click()
    download = started.value

    assert re.fullmatch(r"audit-logs-acme-\d{8}T\d{6}Z\.csv", download.suggested_filename)
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(), newline="")))
    assert rows
    assert {row["action"] for row in rows} == {"mfa.enrolled"}
    assert {row["account"] for row in rows} == {"acme"}


def test_download_is_absent_on_free_and_the_note_names_the_plans_that_allow_it(
    page: Any, portal: Portal
) -> None:
    sign_in(page, portal.keys["globex"])
    expect(page.locator("#retention-line")).to_have_text(
        "Logs are kept for 7 days on the free plan."
    )

    expect(page.locator("#downloads")).to_be_hidden()
    expect(page.locator("#download-note")).to_have_text(
        "Download is available on the pro and enterprise plans."
    )


def test_a_key_without_export_sees_why_it_cannot_download(page: Any, portal: Portal) -> None:
    sign_in(page, portal.keys["acme_read_only"])

    expect(page.locator("#downloads")).to_be_hidden()
    expect(page.locator("#download-note")).to_contain_text("lacks the EXPORT scope")


def test_a_tampered_page_still_cannot_download_on_free(page: Any, portal: Portal) -> None:
    sign_in(page, portal.keys["globex"], LOGINS)
    expect(entry_rows(page)).to_have_count(1)

    page.evaluate("document.getElementById('downloads').hidden = false")
    page.get_by_role("button", name="NDJSON").click()

    expect(page.get_by_role("status")).to_have_text("Your plan does not include download.")


def test_signing_out_forgets_the_key(page: Any, portal: Portal) -> None:
    sign_in(page, portal.keys["acme"])
    expect(entry_rows(page)).to_have_count(50)

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('auditlog.apiKey')") is None
    page.reload()
    expect(page.get_by_label("API key")).to_be_visible()
    expect(entry_rows(page)).to_have_count(0)


def test_a_key_revoked_while_signed_in_is_signed_out_at_its_next_request(
    page: Any, portal: Portal
) -> None:
    key = portal.key("acme", ["READ"])
    sign_in(page, key)
    expect(entry_rows(page)).to_have_count(50)
    portal.operator(
        "mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": key.split("_")[1]}
    )

    page.get_by_role("button", name="Load more").click()

    expect(page.get_by_role("alert")).to_contain_text("no longer accepted")


def test_reading_through_the_portal_is_audited_as_a_view(page: Any, portal: Portal) -> None:
    key = portal.key("globex", ["READ"])
    sign_in(page, key, LOGINS)
    expect(entry_rows(page)).to_have_count(1)

    viewed = portal.operator(
        '{ auditLogs(filter: {account: "globex", actions: ["portal.audit_logs.viewed"]},'
        " first: 100) { edges { node { userAgent } } } }"
    )["auditLogs"]["edges"]

    assert any("HeadlessChrome" in (e["node"]["userAgent"] or "") for e in viewed)


def test_every_input_has_a_label_and_the_page_has_no_inline_script(
    page: Any, portal: Portal
) -> None:
    response = page.goto("/portal")

    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input, select')]
             .filter(el => !document.querySelector(`label[for="${el.id}"]`))
             .map(el => el.id)"""
    )
    assert unlabelled == []
    assert page.locator("script:not([src])").count() == 0
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"


def test_the_main_view_renders(page: Any, portal: Portal, tmp_path: Path) -> None:
    """Also writes the README's screenshot when AUDITLOG_PORTAL_SCREENSHOT names a file."""
    sign_in(page, portal.keys["acme"], LOGINS)
    expect(entry_rows(page)).to_have_count(50)
    page.get_by_role("button", name="Details").nth(1).click()

    target = Path(os.environ.get("AUDITLOG_PORTAL_SCREENSHOT") or tmp_path / "portal.png")
    page.screenshot(path=str(target), full_page=False)

    assert target.stat().st_size > 10_000
