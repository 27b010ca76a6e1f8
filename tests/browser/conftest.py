"""Browser tests: Debian's Chromium driven by Playwright against a real server process.

Playwright's own browser download cannot work here, so the tests use the system Chromium at
/usr/bin/chromium (`sudo apt-get install chromium`) and skip, saying so, when it is absent.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = os.environ.get("AUDITLOG_TEST_CHROMIUM", "/usr/bin/chromium")
OPERATOR = "operator-token-for-the-browser-tests-0123"
NO_CHROMIUM = (
    f"Chromium not found at {CHROMIUM}: install it (Debian: sudo apt-get install chromium) "
    "to run the browser tests"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Portal:
    url: str
    http: httpx.Client
    keys: dict[str, str]

    def gql(self, query: str, variables: dict[str, Any] | None = None, *, token: str) -> Any:
        response = self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        body = response.json()
        assert not body.get("errors"), body
        return body["data"]

    def operator(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        return self.gql(query, variables, token=OPERATOR)

    def key(self, account: str, scopes: list[str], application: str | None = None) -> str:
        data = self.operator(
            "mutation($a: ID!, $app: ID, $s: [Scope!]!) {"
            " issueApiKey(account: $a, application: $app, scopes: $s) { secret } }",
            {"a": account, "app": application, "s": scopes},
        )
        return str(data["issueApiKey"]["secret"])


def sign_in(page: Any, key: str, path: str = "/portal") -> None:
    page.goto(path)
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def entry_rows(page: Any) -> Any:
    return page.locator("#rows tr.entry")


def seed(portal: Portal) -> None:
    for account, name, plan in (("acme", "Acme Inc.", "pro"), ("globex", "Globex", "free")):
        portal.operator(
            "mutation($id: ID!, $n: String!, $p: String!) "
            "{ createAccount(id: $id, name: $n, plan: $p) { id } }",
            {"id": account, "n": name, "p": plan},
        )
    for account, application in (("acme", "portal"), ("acme", "admin"), ("globex", "shop")):
        portal.operator(
            "mutation($a: ID!, $id: ID!, $n: String!) {"
            " createApplication(account: $a, id: $id, name: $n) { id } }",
            {"a": account, "id": application, "n": application.title()},
        )
    portal.keys.update(
        acme=portal.key("acme", ["RECORD", "READ", "EXPORT"]),
        acme_read_only=portal.key("acme", ["READ"]),
        acme_portal=portal.key("acme", ["READ", "EXPORT"], "portal"),
        globex=portal.key("globex", ["RECORD", "READ", "EXPORT"]),
    )
    # 120 entries: 90 auth.login (a page of 50 and a second one), 30 mfa.enrolled; every
    # fifth one a failure. The service's own events (views, administration) come on top.
    inputs = []
    for i in range(120):
        inputs.append(
            {
                "application": "portal" if i % 3 else "admin",
                "action": "auth.login" if i % 4 else "mfa.enrolled",
                "success": i % 5 != 0,
                "email": f"user{i}@example.com",
                "reason": None if i % 5 else "invalid_password",
                "ip": f"203.0.113.{i}",
                "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0",
                "requestId": f"req-{i}",
            }
        )
    portal.gql(
        "mutation($i: [AuditEventInput!]!) { recordAuditEvents(inputs: $i) { recorded } }",
        {"i": inputs},
        token=portal.keys["acme"],
    )
    portal.gql(
        "mutation($i: AuditEventInput!) { recordAuditEvent(input: $i) { id } }",
        {"i": {"application": "shop", "action": "auth.login", "success": True,
               "email": "eve@globex.example"}},
        token=portal.keys["globex"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITLOG_")}
    env.update(AUDITLOG_PORT=str(port), AUDITLOG_OPERATOR_TOKEN=OPERATOR,
               AUDITLOG_INTERCEPTOR_LINGER_MS="0",
               AUDITLOG_DATA_DIR=str(tmp_path_factory.mktemp("data")))  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.main"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=10) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("the server did not start")
                time.sleep(0.1)
            served = Portal(url=url, http=http, keys={})
            seed(served)
            yield served
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        if os.environ.get("CI") == "true":
            # .ci/run installs Chromium: in CI a missing browser is a failure, not a skip.
            pytest.fail(NO_CHROMIUM)
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, portal: Portal) -> Iterator[Any]:
    context = browser.new_context(
        base_url=portal.url, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
