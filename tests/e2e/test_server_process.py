"""The `auditlog-server` command as a user runs it: start-up messages, refusals, exit codes."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import DATA_ROOT

SERVER = [sys.executable, "-m", "entrypoints.main"]
TOKEN = "a-long-enough-operator-token-for-tests"
SIGNING_KEY = "an-export-signing-key-of-at-least-32-characters"
SEAL_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  # base64url of 32 bytes


def environment(**settings: str) -> dict[str, str]:
    """The process's environment without the caller's AUDITLOG_ variables, with `settings`;
    the default store keeps its data in a fresh directory unless `data_dir` is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITLOG_")}
    settings = {"data_dir": tempfile.mkdtemp(dir=DATA_ROOT), **settings}
    return {**env, **{f"AUDITLOG_{k.upper()}": v for k, v in settings.items()}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def refused(**settings: str) -> subprocess.CompletedProcess[str]:
    """Run a server that is expected to refuse to start."""
    return subprocess.run(
        SERVER, env=environment(**settings), capture_output=True, text=True, timeout=60
    )


@contextlib.contextmanager
def serving(**settings: str) -> Iterator[tuple[str, list[str]]]:
    """A server with `settings`; yields its base URL and the log lines of its start."""
    port = free_port()
    process = subprocess.Popen(
        SERVER,
        env=environment(port=str(port), **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        started(process, lines, "the server")
        yield f"http://127.0.0.1:{port}", lines
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def started(process: subprocess.Popen[str], lines: list[str], what: str) -> None:
    """Read `process`'s output into `lines` until uvicorn says it serves; fail if it never
    does (the output then shows why)."""
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if "Uvicorn running on" in line:
            return
    pytest.fail(f"{what} did not start:\n" + "".join(lines))


@pytest.fixture
def embedded_server() -> Iterator[tuple[str, list[str]]]:
    with serving(store="memory") as server:
        yield server


SET_UP = (
    'mutation { createAccount(id: "acme", name: "Acme", plan: "pro") { id } }',
    'mutation { createApplication(account: "acme", id: "portal", name: "Portal") { id } }',
)
RECORD = """mutation { recordAuditEvent(input: {
  application: "portal", action: "auth.login", success: true }) { id digest } }"""
PORTAL_PAGE = '{ auditLogs(filter: { actions: ["auth.login"] }) { edges { node { id digest } } } }'


def graphql(url: str, token: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


@pytest.mark.slow
def test_the_default_server_keeps_its_token_and_its_trail_across_a_restart(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with serving(data_dir=str(data)) as (url, lines):
        log = "".join(lines)
        assert "NOT kept" not in log
        match = re.search(r"operator token \(kept in (\S+), printed only now.*: (\S+)", log)
        assert match, log
        assert match.group(1) == str(data / "operator-token")
        token = match.group(2)
        for mutation in SET_UP:
            graphql(url, token, mutation)
        recorded = graphql(url, token, RECORD)["recordAuditEvent"]
    assert (data / "auditlog.sqlite3").exists()

    with serving(data_dir=str(data)) as (url, lines):
        assert "operator token" not in "".join(lines), "printed once, at first start"
        page = graphql(url, token, PORTAL_PAGE)["auditLogs"]
    assert [edge["node"] for edge in page["edges"]] == [recorded]


@pytest.mark.slow
def test_a_foreign_file_in_the_data_directory_stops_the_server_with_one_line(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "auditlog.sqlite3").write_bytes(b"not a database, someone else's file" * 100)

    result = refused(data_dir=str(data))

    assert result.returncode == 2
    assert "cannot use the embedded store" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.slow
def test_the_in_memory_server_warns_once_and_prints_a_working_operator_token(
    embedded_server: tuple[str, list[str]],
) -> None:
    url, lines = embedded_server
    log = "".join(lines)

    assert log.count("data is NOT kept across restarts") == 1
    match = re.search(r"operator token \(for this run only.*: (\S+)", log)
    assert match, log
    assert httpx.get(f"{url}/healthz").status_code == 200
    response = httpx.post(
        f"{url}/graphql",
        json={"query": "{ plans { name } }"},
        headers={"Authorization": f"Bearer {match.group(1)}"},
    )
    assert response.json()["data"]["plans"][0] == {"name": "free"}


def test_an_unreachable_mongodb_stops_the_server_with_one_clear_line() -> None:
    started = time.monotonic()
    result = refused(
        mongodb_uri="mongodb://auditor:s3cret-pw@127.0.0.1:1/",
        mongodb_server_selection_timeout_ms="300",
        operator_token=TOKEN,
        export_signing_key=SIGNING_KEY,
        seal_signing_key=SEAL_KEY,
    )

    assert result.returncode == 1
    assert "cannot use MongoDB at mongodb://***@127.0.0.1:1/" in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stderr
    assert time.monotonic() - started < 30


def test_a_malformed_mongodb_uri_is_reported_as_such() -> None:
    result = refused(
        mongodb_uri="postgres://db/x",
        operator_token=TOKEN,
        export_signing_key=SIGNING_KEY,
        seal_signing_key=SEAL_KEY,
    )

    assert result.returncode == 1
    assert "connection string is not valid" in result.stderr
    assert "Traceback" not in result.stderr


def test_mongodb_without_an_operator_token_refuses_to_start() -> None:
    result = refused(mongodb_uri="mongodb://127.0.0.1:1/")

    assert result.returncode == 2
    assert "AUDITLOG_OPERATOR_TOKEN must be set" in result.stderr
    assert "Traceback" not in result.stderr


def test_mongodb_without_an_export_signing_key_refuses_to_start() -> None:
    result = refused(mongodb_uri="mongodb://127.0.0.1:1/", operator_token=TOKEN)

    assert result.returncode == 2
    assert "AUDITLOG_EXPORT_SIGNING_KEY must be set" in result.stderr
    assert "Traceback" not in result.stderr


def test_mongodb_without_a_seal_signing_key_refuses_to_start() -> None:
    result = refused(
        mongodb_uri="mongodb://127.0.0.1:1/", operator_token=TOKEN, export_signing_key=SIGNING_KEY
    )

    assert result.returncode == 2
    assert "AUDITLOG_SEAL_SIGNING_KEY must be set" in result.stderr


def test_a_malformed_seal_signing_key_is_refused_naming_the_setting() -> None:
    result = refused(seal_signing_key="not-32-bytes")

    assert result.returncode == 2
    assert "AUDITLOG_SEAL_SIGNING_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_short_operator_token_is_refused_naming_the_setting() -> None:
    result = refused(operator_token="short")

    assert result.returncode == 2
    assert "AUDITLOG_OPERATOR_TOKEN" in result.stderr
    assert "short" not in result.stderr.replace("at least", "")


def test_an_invalid_setting_is_named() -> None:
    result = refused(port="http")

    assert result.returncode == 2
    assert "AUDITLOG_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_plans_file_stops_the_server_naming_file_and_key(tmp_path: Path) -> None:
    plans = tmp_path / "plans.toml"
    plans.write_text("[plans.pro.auditlog]\nretention_days = 0\ncan_download = true\n")

    result = refused(plans_file=str(plans))

    assert result.returncode == 2
    assert str(plans) in result.stderr
    assert "plans.pro.auditlog.retention_days" in result.stderr
    assert "Traceback" not in result.stderr


BACKUP = [sys.executable, "-m", "entrypoints.backup"]


@pytest.mark.slow
def test_a_backup_taken_while_serving_restores_the_trail_with_its_token(tmp_path: Path) -> None:
    data, copy = tmp_path / "data", tmp_path / "copy"
    with serving(data_dir=str(data)) as (url, lines):
        match = re.search(
            r"operator token \(kept in \S+, printed only now.*: (\S+)", "".join(lines)
        )
        assert match
        token = match.group(1)
        for mutation in SET_UP:
            graphql(url, token, mutation)
        recorded = graphql(url, token, RECORD)["recordAuditEvent"]

        made = subprocess.run(
            [*BACKUP, str(copy)], env=environment(data_dir=str(data)),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        again = subprocess.run(
            [*BACKUP, str(copy)], env=environment(data_dir=str(data)),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert again.returncode == 2
        assert "exists already" in again.stderr

    with serving(data_dir=str(copy)) as (url, _):
        page = graphql(url, token, PORTAL_PAGE)["auditLogs"]
        report = graphql(
            url, token, '{ verifyAuditLogs(account: "acme") { ok problems { kind } } }'
        )
    assert [edge["node"] for edge in page["edges"]] == [recorded]
    assert report["verifyAuditLogs"] == {"ok": True, "problems": []}
