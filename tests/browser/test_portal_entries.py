"""What an entry says in the portal, in Chromium: both times, its actor, targets and metadata, all
shown as text however they are spelled; and the actor and target filters."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Portal, entry_rows, sign_in

RECORD = (
    "mutation($i: [AuditEventInput!]!) { recordAuditEvents(inputs: $i) {"
    " entries { id occurredAt createdAt } } }"
)
HOSTILE = "<img src=x onerror=alert(1)>"


def record(portal: Portal, *inputs: dict[str, Any]) -> list[dict[str, Any]]:
    events = [{"application": "portal", "success": True, **i} for i in inputs]
    data = portal.gql(RECORD, {"i": events}, token=portal.keys["acme"])
    return list(data["recordAuditEvents"]["entries"])


def test_an_entry_shows_when_it_happened_and_was_recorded_its_actor_targets_and_metadata(
    page: Any, portal: Portal
) -> None:
    occurred = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    [entry] = record(
        portal,
        {
            "action": "document.shared",
            "occurredAt": occurred,
            "idempotencyKey": "share-doc_42",
            "actor": {"id": "user_alice", "type": "user", "name": "Alice Liddell"},
            "targets": [
                {"id": "doc_42", "type": "document", "name": "Q3 plan"},
                {"id": "team_7", "type": "team"},
            ],
            "metadata": {"plan": "pro", "seats": 12, "trial": False, "note": None, "tag": "true"},
        },
    )

    sign_in(page, portal.keys["acme"], "/portal?action=document.shared")

    row = entry_rows(page)
    expect(row).to_have_count(1)
    expect(row.locator(".when")).to_have_text(
        [re.compile("^Occurred ."), re.compile("^Recorded .")]
    )
    expect(row.locator("time.occurred")).to_have_attribute("datetime", entry["occurredAt"])
    expect(row.locator("time.recorded")).to_have_attribute("datetime", entry["createdAt"])
    assert entry["occurredAt"] != entry["createdAt"]
    actor = row.locator("td.actor")
    expect(actor.locator("code")).to_have_text("user:user_alice")
    expect(actor.locator(".name")).to_have_text("Alice Liddell")
    targets = row.locator("td.targets li")
    expect(targets.locator("code")).to_have_text(["document:doc_42", "team:team_7"])
    expect(targets.nth(0).locator(".name")).to_have_text("Q3 plan")
    expect(targets.nth(1).locator(".name")).to_have_count(0)

    row.get_by_role("button", name="Details").click()

    detail = page.locator("#rows tr.detail")
    expect(detail.locator("ul.metadata li")).to_have_text(
        ["note = null", "plan = pro", "seats = 12", "tag = true", "trial = false"]
    )
    # The string "true" and the boolean true are told apart.
    expect(detail.locator("ul.metadata .literal")).to_have_text(["null", "12", "false"])
    expect(detail).to_contain_text("share-doc_42")
    expect(detail).to_contain_text(entry["occurredAt"])


def test_an_entry_that_happened_when_it_was_recorded_shows_one_time(
    page: Any, portal: Portal
) -> None:
    [entry] = record(portal, {"action": "document.opened"})
    assert entry["occurredAt"] == entry["createdAt"]

    sign_in(page, portal.keys["acme"], "/portal?action=document.opened")

    cell = entry_rows(page).locator("td.time")
    expect(cell.locator("time")).to_have_count(1)
    expect(cell.locator("time")).to_have_attribute(
        "title", f"Occurred and recorded {entry['createdAt']} (UTC)"
    )
    expect(cell.locator(".label")).to_have_count(0)
    expect(entry_rows(page).locator("td.actor")).to_have_text("—")
    expect(entry_rows(page).locator("td.targets")).to_have_text("—")


@pytest.fixture
def page_without_csp(browser: Any, portal: Portal) -> Iterator[Any]:
    """A page whose CSP Chromium ignores: the portal's own rendering must keep markup inert,
    not the policy behind it."""
    context = browser.new_context(base_url=portal.url, bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_markup_in_names_metadata_and_reasons_is_shown_as_text_and_runs_nothing(
    page_without_csp: Any, portal: Portal
) -> None:
    page = page_without_csp
    record(
        portal,
        {
            "action": "profile.renamed",
            "success": False,
            "reason": HOSTILE,
            "actor": {"id": "user_mallory", "type": "user", "name": HOSTILE},
            "targets": [{"id": "user_mallory", "type": "user", "name": HOSTILE}],
            "metadata": {"before": "Mallory", "after": HOSTILE},
        },
    )
    dialogs: list[str] = []

    def seen(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", seen)

    sign_in(page, portal.keys["acme"], "/portal?action=profile.renamed")
    row = entry_rows(page)
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Details").click()

    expect(row.locator("td.actor .name")).to_have_text(HOSTILE)
    expect(row.locator("td.targets .name")).to_have_text(HOSTILE)
    expect(row.locator("td.reason")).to_have_text(HOSTILE)
    expect(page.locator("#rows ul.metadata li")).to_have_text(
        [f"after = {HOSTILE}", "before = Mallory"]
    )
    assert page.locator("#rows img").count() == 0
    # The check can see a handler run: markup put in as HTML on this page alerts at once (an
    # image load that fails on this origin, as the rows' would have).
    with page.expect_event("dialog"):
        page.evaluate(
            "document.body.insertAdjacentHTML('beforeend', '<img src=y onerror=alert(2)>')"
        )
    assert dialogs == ["2"]


def test_the_actor_filter_narrows_the_list_to_that_actors_entries(
    page: Any, portal: Portal
) -> None:
    def by(actor: str | None, target: str) -> dict[str, Any]:
        party = {"id": actor, "type": "user"} if actor else None
        return {"action": "ticket.updated", "actor": party,
                "targets": [{"id": target, "type": "ticket"}]}  # fmt: skip

    record(
        portal,
        by("user_bob", "ticket_1"),
        by("user_carol", "ticket_1"),
        by("user_bob", "ticket_2"),
        by(None, "ticket_1"),
        by("user_carol", "ticket_3"),
    )
    sign_in(page, portal.keys["acme"])
    expect(entry_rows(page)).to_have_count(50)

    page.get_by_label("Actor id").fill("user_bob")
    page.get_by_role("button", name="Apply filters").click()

    expect(page).to_have_url(re.compile(r"actor=user_bob"))
    expect(entry_rows(page).locator("td.actor code")).to_have_text(["user:user_bob"] * 2)
    expect(entry_rows(page).locator("td.targets")).to_have_text(
        ["ticket:ticket_2", "ticket:ticket_1"]
    )

    page.reload()

    expect(page.get_by_label("Actor id")).to_have_value("user_bob")
    expect(entry_rows(page)).to_have_count(2)


def test_the_target_filter_narrows_the_list_to_entries_on_that_target(
    page: Any, portal: Portal
) -> None:
    record(
        portal,
        {"action": "invoice.paid", "targets": [{"id": "invoice_9", "type": "invoice"}]},
        {"action": "invoice.sent", "targets": [{"id": "invoice_8", "type": "invoice"},
                                               {"id": "invoice_9", "type": "invoice"}]},
        {"action": "invoice.sent", "targets": [{"id": "invoice_8", "type": "invoice"}]},
    )  # fmt: skip
    sign_in(page, portal.keys["acme"], "/portal?target=invoice_9")

    expect(entry_rows(page).locator("td.action")).to_have_text(["invoice.sent", "invoice.paid"])
    expect(page.get_by_label("Target id")).to_have_value("invoice_9")


def test_an_invalid_actor_id_is_refused_with_the_services_message_naming_the_field(
    page: Any, portal: Portal
) -> None:
    sign_in(page, portal.keys["acme"])
    expect(entry_rows(page)).to_have_count(50)

    page.get_by_label("Actor id").fill("not an id!")
    page.get_by_role("button", name="Apply filters").click()

    expect(page.get_by_role("status")).to_have_text(
        re.compile(r"^Check the filters: filter\.actorId: must be 1 to 128 characters")
    )
