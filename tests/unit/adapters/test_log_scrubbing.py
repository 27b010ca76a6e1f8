"""The log formatter: JSON or readable lines, and nothing shaped like an email or a secret."""

import contextlib
import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.stdlib import ProcessorFormatter

from adapters.observability.context import RequestInfo, current_request
from adapters.observability.logs import configure_logging, scrub

EMAIL = "leak.canary@example.com"
SECRET = "password=Hunter2-Zx9Qw"
API_KEY = "alk_0123456789abcdef_AbCdEfGh12345678"


class TestScrub:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (f"login by {EMAIL} failed", "login by [email] failed"),
            (f"to <{EMAIL}>, cc first.last+tag@sub.example.co.uk.", "to <[email]>, cc [email]."),
            (f"'{EMAIL}'", "'[email]'"),
        ],
    )
    def test_emails_are_replaced_and_the_text_around_them_is_kept(
        self, text: str, expected: str
    ) -> None:
        assert scrub(text) == expected

    @pytest.mark.parametrize(
        "secret",
        [
            SECRET,
            "Bearer abcDEF123456ghiJKL",
            API_KEY,
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
            "0123456789abcdef0123456789abcdef01234567",
            "Zq8vX2mK9pL4rT7wN1cB5dF3hJ6sA0eY",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        ],
    )
    def test_credential_shaped_runs_are_redacted_and_the_text_around_them_is_kept(
        self, secret: str
    ) -> None:
        scrubbed = scrub(f"before {secret} after")

        assert secret not in scrubbed
        assert scrubbed == "before [redacted] after"

    @pytest.mark.parametrize(
        "text",
        [
            "cannot use MongoDB at mongodb://***@db.example.net:27017/: timed out",
            "mongodb://***@db.example.net:27017",
            "request refused: UNAUTHENTICATED",
            "Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)",
            "audit event dropped (queue full): action=auth.login application=portal",
            "request 4f1c2a9e8b7d4c3a9f0e1d2c3b4a5968 took 12.5 ms",
        ],
    )
    def test_ordinary_text_is_left_alone(self, text: str) -> None:
        assert scrub(text) == text


@pytest.fixture(autouse=True)
def _logging_is_left_as_found() -> Iterator[None]:
    """A safety net for `configured`, which restores the root logger itself: it must do so
    within the test, as pytest swaps its capturing handlers between setup, call and teardown."""
    root = logging.getLogger()
    access = logging.getLogger("uvicorn.access")
    level, disabled = root.level, access.disabled
    yield
    stray = [h for h in root.handlers if isinstance(h.formatter, ProcessorFormatter)]
    for handler in stray:
        root.removeHandler(handler)
    root.setLevel(level)
    access.disabled = disabled
    assert stray == []


@contextlib.contextmanager
def configured(*, level: str = "INFO", development: bool = False) -> Iterator[io.StringIO]:
    """`configure_logging` as the server calls it, its output captured; undone on exit."""
    root = logging.getLogger()
    access = logging.getLogger("uvicorn.access")
    saved = root.handlers[:], root.level, access.disabled
    try:
        configure_logging(level=level, development=development)
        [handler] = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        output = io.StringIO()
        handler.setStream(output)
        yield output
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        access.disabled = saved[2]


def json_lines(output: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.getvalue().splitlines()]


def test_configuration_installs_one_handler_at_the_level_and_silences_the_access_log() -> None:
    with configured(level="WARNING") as output:
        root = logging.getLogger()
        assert len(root.handlers) == 1
        assert root.level == logging.WARNING
        assert logging.getLogger("uvicorn.access").disabled
        logging.getLogger("auditlog.test").info("below the level")
        logging.getLogger("auditlog.test").warning("at the level")

    assert [line["event"] for line in json_lines(output)] == ["at the level"]


def test_a_production_line_is_json_without_the_email_or_the_secret() -> None:
    with configured() as output:
        logging.getLogger("auditlog.test").warning(
            "login by %s with %s", EMAIL, SECRET, extra={"who": EMAIL, "key": API_KEY}
        )

    [line] = json_lines(output)
    rendered = output.getvalue()
    assert EMAIL not in rendered
    assert "Hunter2-Zx9Qw" not in rendered
    assert API_KEY not in rendered
    assert line["event"] == "login by [email] with [redacted]"
    assert (line["who"], line["key"]) == ("[email]", "[redacted]")
    assert line["level"] == "warning"
    assert line["logger"] == "auditlog.test"
    assert line["timestamp"].endswith("Z")


def test_an_exception_is_rendered_without_the_email_in_its_message() -> None:
    with configured() as output:
        try:
            raise LookupError(f"no account for {EMAIL}: {SECRET}")
        except LookupError:
            logging.getLogger("auditlog.test").exception("lookup failed")

    [line] = json_lines(output)
    assert EMAIL not in output.getvalue()
    assert "Hunter2-Zx9Qw" not in output.getvalue()
    assert line["event"] == "lookup failed"
    assert "LookupError: no account for [email]: [redacted]" in line["exception"]


def test_an_exception_logged_through_a_record_is_scrubbed_by_the_formatter_alone() -> None:
    with configured():
        formatter = logging.getLogger().handlers[0].formatter
    assert formatter is not None
    try:
        raise ValueError(f"user {EMAIL} not found")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "boom", (), exc_info)

    rendered = formatter.format(record)

    assert EMAIL not in rendered
    assert "ValueError: user [email] not found" in json.loads(rendered)["exception"]


def test_uvicorns_colour_copy_of_the_message_is_dropped() -> None:
    with configured() as output:
        logging.getLogger("uvicorn.error").info(
            "Started server process [%d]",
            42,
            extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"},
        )

    [line] = json_lines(output)
    assert "color_message" not in line
    assert "\x1b" not in output.getvalue()
    assert line["event"] == "Started server process [42]"


def test_a_line_logged_while_serving_a_request_carries_its_request_id() -> None:
    token = current_request.set(RequestInfo(request_id="req-123.abc:9"))
    try:
        with configured() as output:
            logging.getLogger("auditlog.test").info("inside")
    finally:
        current_request.reset(token)
    with configured() as outside:
        logging.getLogger("auditlog.test").info("outside")

    assert json_lines(output)[0]["request_id"] == "req-123.abc:9"
    assert "request_id" not in json_lines(outside)[0]


def test_a_development_line_is_readable_and_scrubbed_too() -> None:
    with configured(development=True) as output:
        logging.getLogger("auditlog.test").warning("login by %s with %s", EMAIL, SECRET)
        try:
            raise LookupError(f"no account for {EMAIL}")
        except LookupError:
            logging.getLogger("auditlog.test").exception("lookup failed")

    rendered = output.getvalue()
    assert EMAIL not in rendered
    assert "Hunter2-Zx9Qw" not in rendered
    assert "login by [email] with [redacted]" in rendered
    assert "LookupError: no account for [email]" in rendered
    first = rendered.splitlines()[0]
    with pytest.raises(json.JSONDecodeError, match=r"Extra data|Expecting value"):
        json.loads(first)
    assert "[auditlog.test]" in first


def test_an_email_nested_in_a_structured_field_is_scrubbed_too() -> None:
    with configured() as output:
        logging.getLogger("auditlog.test").info(
            "batch refused", extra={"emails": [EMAIL], "detail": {"auth": SECRET}}
        )

    assert EMAIL not in output.getvalue()
    assert "Hunter2-Zx9Qw" not in output.getvalue()


async def test_an_http_clients_request_line_with_its_url_is_not_logged_at_info() -> None:
    """A log stream's URL may hold a credential in its query: httpx's request log is off."""
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    with configured(level="DEBUG") as output:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            await client.post("https://siem.example.com/hook?sig=c2VjcmV0LXNhcw%3D%3D&sv=2024")
    assert "c2VjcmV0" not in output.getvalue()
    assert "siem.example.com" not in output.getvalue()
