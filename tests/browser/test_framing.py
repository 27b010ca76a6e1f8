"""A page on another origin that frames the service's pages gets nothing rendered.

Clickjacking: a framed portal or GraphiQL, made invisible over a decoy button, would run what
the victim's stored session allows with one click. Chromium must refuse every frame.
"""

import os
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest

from tests.browser.conftest import OPERATOR, free_port

FRAMED = ["/portal", "/graphql", "/healthz", "/nowhere"]


@pytest.fixture(scope="module")
def attacker() -> Iterator[str]:
    """Another origin on loopback (another port) whose page frames the URLs its query names
    (`?frame=<url>&...`). On loopback, so that Chromium's private network rules, which keep
    a public page from framing a local one, do not refuse the frames before the headers do."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            targets = [t.removeprefix("frame=") for t in self.path.partition("?")[2].split("&")]
            frames = "".join(f'<iframe src="{t}"></iframe>' for t in targets if t)
            payload = f"<html><body><p id=own>own</p>{frames}</body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Page) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()


@pytest.fixture(scope="module")
def development_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server that serves GraphiQL too (development), so that its page can be framed."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITLOG_")}
    env.update(AUDITLOG_PORT=str(port), AUDITLOG_OPERATOR_TOKEN=OPERATOR,
               AUDITLOG_ENVIRONMENT="development",
               AUDITLOG_DATA_DIR=str(tmp_path_factory.mktemp("data")))  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.main"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def attacker_page(browser: Any, development_server: str) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    # No network here: GraphiQL's CDN files are refused at once instead of waited for.
    context.route("https://unpkg.com/**", lambda route: route.abort())
    page = context.new_page()
    yield page
    context.close()


def frame_page(page: Any, attacker: str, urls: list[str]) -> list[Any]:
    """Open the attacker's page framing these URLs; its frames once loaded."""
    page.goto(f"{attacker}/?" + "&".join(f"frame={url}" for url in urls))
    page.wait_for_load_state("load")
    time.sleep(0.5)  # let every frame's navigation settle (refused or rendered)
    return [
        page.locator("iframe").nth(i).element_handle().content_frame() for i in range(len(urls))
    ]


def rendered(frame: Any, origin: str) -> bool:
    """Whether the frame shows a document of that origin (a refused frame shows Chromium's
    error page, at chrome-error://)."""
    return bool(frame is not None and frame.url.startswith(origin))


def test_the_service_pages_are_not_rendered_in_a_frame_of_another_origin(
    attacker_page: Any, attacker: str, development_server: str
) -> None:
    # What a browser user would get there: GraphiQL itself, and the portal.
    graphiql = httpx.get(f"{development_server}/graphql", headers={"Accept": "text/html"})
    assert "graphiql" in graphiql.text.lower()

    frames = frame_page(attacker_page, attacker, [development_server + p for p in FRAMED])

    assert [p for p, f in zip(FRAMED, frames, strict=True) if rendered(f, development_server)] == []


def test_a_frame_that_is_allowed_is_seen_as_rendered(attacker_page: Any, attacker: str) -> None:
    """The check above can see a rendered frame: the attacker's own page frames fine."""
    [frame] = frame_page(attacker_page, attacker, [f"{attacker}/own"])

    assert rendered(frame, attacker)
    assert frame.locator("#own").count() == 1
