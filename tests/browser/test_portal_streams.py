"""The account's log streams in the portal, in Chromium: shown to a key that may see them (the
STREAM scope, the whole account), with their kind, state, lag and last error, names as text;
absent, and never asked for, otherwise; another account's never."""

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Portal, entry_rows, sign_in

HOSTILE = "<img src=x onerror=alert(1)>"
CREATE = (
    "mutation($a: ID!, $i: LogStreamInput!) {"
    " createLogStream(account: $a, input: $i) { logStream { id } } }"
)
LISTED = "query($a: ID) { logStreams(account: $a) { name state lagSeconds lastError } }"
# Entries recorded only for the failing stream's filter; the others never send anything.
PROBE = "stream.probe"


def create(portal: Portal, account: str, **stream: Any) -> str:
    data = portal.operator(CREATE, {"a": account, "i": stream})
    return str(data["createLogStream"]["logStream"]["id"])


def listed(portal: Portal, account: str) -> dict[str, dict[str, Any]]:
    streams = portal.operator(LISTED, {"a": account})["logStreams"]
    return {stream["name"]: stream for stream in streams}


def wait_for(portal: Portal, account: str, name: str, check: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check(listed(portal, account)[name]):
        if time.monotonic() > deadline:
            pytest.fail(f"stream {name!r} did not get there in {seconds} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def streams(portal: Portal) -> dict[str, str]:
    """acme's streams and keys; initech, another pro account, has one of its own."""
    portal.operator(
        'mutation { createAccount(id: "initech", name: "Initech", plan: "pro") { id } }'
    )
    never = {"actions": ["stream.never.recorded"]}
    create(
        portal,
        "acme",
        name="Acme SIEM",
        kind="WEBHOOK",
        url="https://siem.example.com/hooks/T0123/B0456?key=ingest",
        filter=never,
    )
    paused = create(
        portal,
        "acme",
        name=HOSTILE,
        kind="WEBHOOK",
        url="https://siem.example.com/other",
        filter=never,
    )
    portal.operator("mutation($id: ID!) { pauseLogStream(id: $id) { id } }", {"id": paused})
    # Loopback is not an allowed private host here: delivery is refused when it connects.
    create(
        portal,
        "acme",
        name="Acme Splunk",
        kind="SPLUNK_HEC",
        url="https://127.0.0.1:8088/services/collector",
        token="hec-token-for-tests",
        filter={"actions": [PROBE]},
    )
    create(portal, "initech", name="Initech SIEM", kind="SYSLOG",
           url="syslog+tls://logs.initech.example:6514")  # fmt: skip
    portal.gql(
        "mutation($i: AuditEventInput!) { recordAuditEvent(input: $i) { id } }",
        {"i": {"application": "portal", "action": PROBE, "success": True}},
        token=portal.keys["acme"],
    )
    return {
        "acme": portal.key("acme", ["READ", "STREAM"]),
        "acme_portal": portal.key("acme", ["READ", "STREAM"], "portal"),
    }


def stream_rows(page: Any) -> Any:
    return page.locator("#stream-rows tr.stream")


def row_named(page: Any, name: str) -> Any:
    return stream_rows(page).filter(has=page.locator("td.name", has_text=name))


def test_a_key_with_stream_sees_its_streams_with_kind_destination_host_state_and_lag(
    page: Any, portal: Portal, streams: dict[str, str]
) -> None:
    # The first delivery pass (nothing to send) sets how far behind now the stream is.
    wait_for(portal, "acme", "Acme SIEM", lambda s: s["lagSeconds"] is not None, 20)

    sign_in(page, streams["acme"])

    expect(page.get_by_role("heading", name="Log streams")).to_be_visible()
    expect(stream_rows(page)).to_have_count(3)
    row = row_named(page, "Acme SIEM")
    expect(row.locator("td.kind")).to_have_text("Webhook")
    # Scheme and host only: a webhook's path and query may carry its ingest key.
    expect(row.locator("td.destination")).to_have_text("https://siem.example.com")
    expect(row.locator("td.state")).to_have_text("Active")
    expect(row.locator("td.lag")).to_have_text(re.compile(r"^\d+ s$"))
    expect(row.locator("td.delivered")).to_have_text("0")
    expect(row.locator("td.error-code")).to_have_text("—")
    # Nothing matched its filter yet: caught up, but no entry delivered.
    expect(row.locator("td.through")).to_have_text("—")
    paused = row_named(page, HOSTILE)
    expect(paused.locator("td.state .stream-state")).to_have_text("Paused")
    expect(paused.locator("td.state .why")).to_have_text("paused on request")
    expect(paused.locator("td.lag")).to_have_text("—")
    expect(row_named(page, "Acme Splunk").locator("td.kind")).to_have_text("Splunk HEC")
    # The entries are there as before.
    expect(entry_rows(page).first).to_be_visible()


def test_another_accounts_streams_never_show(
    page: Any, portal: Portal, streams: dict[str, str]
) -> None:
    assert "Initech SIEM" in listed(portal, "initech")

    sign_in(page, streams["acme"])

    expect(stream_rows(page)).to_have_count(3)
    names = page.locator("#stream-rows td.name").all_text_contents()
    assert sorted(names) == sorted(["Acme SIEM", "Acme Splunk", HOSTILE])
    expect(page.locator("#streams")).not_to_contain_text("initech")


def requests_for_streams(page: Any) -> list[str]:
    asked: list[str] = []
    page.on(
        "request",
        lambda request: (
            asked.append(request.url) if "logStreams" in (request.post_data or "") else None
        ),
    )
    return asked


def test_a_key_without_the_stream_scope_sees_no_streams_and_asks_for_none(
    page: Any, portal: Portal, streams: dict[str, str]
) -> None:
    asked = requests_for_streams(page)

    sign_in(page, portal.keys["acme_read_only"])

    expect(entry_rows(page)).to_have_count(50)
    expect(page.locator("#streams")).to_be_hidden()
    expect(page.get_by_role("heading", name="Log streams")).to_have_count(0)
    assert asked == []


def test_a_key_bound_to_one_application_sees_no_streams_and_asks_for_none(
    page: Any, portal: Portal, streams: dict[str, str]
) -> None:
    asked = requests_for_streams(page)

    sign_in(page, streams["acme_portal"])

    expect(entry_rows(page).first).to_be_visible()
    expect(page.locator("#streams")).to_be_hidden()
    assert asked == []


@pytest.fixture
def page_without_csp(browser: Any, portal: Portal) -> Iterator[Any]:
    """A page whose CSP Chromium ignores: the rendering itself must keep markup inert."""
    context = browser.new_context(base_url=portal.url, bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_markup_in_a_stream_name_is_shown_as_text_and_runs_nothing(
    page_without_csp: Any, portal: Portal, streams: dict[str, str]
) -> None:
    page = page_without_csp
    dialogs: list[str] = []

    def seen(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", seen)

    sign_in(page, streams["acme"])

    expect(stream_rows(page)).to_have_count(3)
    expect(row_named(page, HOSTILE).locator("td.name")).to_have_text(HOSTILE)
    assert page.locator("#streams img").count() == 0
    # Markup put in as HTML on this page would alert at once: the check can see it.
    with page.expect_event("dialog"):
        page.evaluate(
            "document.body.insertAdjacentHTML('beforeend', '<img src=y onerror=alert(2)>')"
        )
    assert dialogs == ["2"]


def test_lag_reads_in_seconds_minutes_hours_and_days_and_a_destination_as_its_host(
    page: Any, portal: Portal
) -> None:
    page.goto("/portal")

    shown = page.evaluate(
        """async () => {
             const { formatLag, destination } = await import("/portal/static/streams.js");
             return {
               lags: [null, 0, 0.4, 42.6, 60, 185, 3600, 7440, 86400, 277200].map(formatLag),
               hosts: ["syslog+tls://logs.example.com:6514", "https://h.example.com:8443/a?k=v",
                       "https://h.example.com"].map(destination),
             };
           }"""
    )

    assert shown["lags"] == [
        "—", "0 s", "0 s", "43 s", "1 min", "3 min 5 s", "1 h", "2 h 4 min", "1 d", "3 d 5 h",
    ]  # fmt: skip
    assert shown["hosts"] == [
        "syslog+tls://logs.example.com:6514", "https://h.example.com:8443", "https://h.example.com",
    ]  # fmt: skip


def test_a_stream_that_delivered_shows_through_when_in_local_time_and_utc_on_hover(
    page: Any, portal: Portal
) -> None:
    page.goto("/portal")

    cell = page.evaluate(
        """async () => {
             const { streamRow } = await import("/portal/static/streams.js");
             const row = streamRow({ id: "ls_1", name: "S", kind: "SYSLOG",
               url: "syslog://10.0.0.9:514", state: "ACTIVE", lagSeconds: 3725.2,
               deliveredThrough: "2026-01-02T03:04:05.678Z", delivered: 12345,
               failedAttempts: 0, lastError: null, pausedReason: null, nextAttemptAt: null });
             const time = row.querySelector("td.through time");
             return { dateTime: time.dateTime, title: time.title, text: time.textContent,
                      lag: row.querySelector("td.lag").textContent,
                      lagTitle: row.querySelector("td.lag").title,
                      delivered: row.querySelector("td.delivered").textContent };
           }"""
    )

    assert cell["dateTime"] == "2026-01-02T03:04:05.678Z"
    assert cell["title"] == "Delivered through 2026-01-02T03:04:05.678Z (UTC)"
    assert "2026" in cell["text"]
    assert (cell["lag"], cell["lagTitle"]) == ("1 h 2 min", "3725.2 seconds behind now")
    assert cell["delivered"].replace(",", "").replace(".", "").replace("\u202f", "") == "12345"


def test_a_failing_stream_shows_its_state_error_code_and_attempts(
    page: Any, portal: Portal, streams: dict[str, str]
) -> None:
    # Last in this file: the probe entry is sent only once it has settled (30 s by default).
    wait_for(portal, "acme", "Acme Splunk", lambda s: s["state"] == "FAILING", 90)

    sign_in(page, streams["acme"])

    row = row_named(page, "Acme Splunk")
    expect(row.locator("td.state .stream-state")).to_have_text("Failing")
    expect(row.locator("td.state .why")).to_have_text(re.compile(r"^retries ."))
    expect(row.locator("td.error-code code")).to_have_text("ADDRESS_NOT_ALLOWED")
    expect(row.locator("td.error-code .why")).to_have_text(re.compile(r"^\d+ attempts?$"))
    expect(row.locator("td.destination")).to_have_text("https://127.0.0.1:8088")


def test_entries_that_expired_before_they_could_be_sent_show_beside_the_delivered_count(
    page: Any, portal: Portal
) -> None:
    page.goto("/portal")

    cells = page.evaluate(
        """async () => {
             const { streamRow } = await import("/portal/static/streams.js");
             const stream = { id: "ls_1", name: "S", kind: "WEBHOOK",
               url: "https://siem.example.com/h", state: "PAUSED", lagSeconds: 90000,
               deliveredThrough: null, delivered: 40, expiredUndelivered: 0,
               failedAttempts: 0, lastError: null, pausedReason: "OPERATOR",
               nextAttemptAt: null };
             const none = streamRow(stream).querySelector("td.delivered");
             const some = streamRow({ ...stream, expiredUndelivered: 1250 })
               .querySelector("td.delivered");
             return { none: none.textContent, noneWhy: none.querySelector(".why") === null,
                      some: some.querySelector(".why").textContent };
           }"""
    )

    assert cells["none"] == "40"
    assert cells["noneWhy"] is True
    assert cells["some"].replace(",", "").replace(".", "").replace("\u202f", "") == (
        "1250 expired unsent"
    )
