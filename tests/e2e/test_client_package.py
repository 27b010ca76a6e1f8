"""The client package as a platform service uses it, against a real server process: installed
alone in a fresh virtual environment, through a proxy that loses an answer, and through an
outage that holds its events back."""

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import auditlog_client
import pytest
from auditlog_client import (
    AuditEmitter,
    AuditLogClient,
    Auditor,
    Entry,
    GraphQLHttpSink,
    LogFilter,
)

from application import interceptor
from tests import configs
from tests.e2e.loopback_proxy import proxying
from tests.e2e.test_server_process import SET_UP, TOKEN, free_port, graphql, serving

CLIENT_PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "python"
SERVER_PACKAGES = ("beanie", "strawberry", "fastapi", "motor", "domain", "application")
ISSUE_KEY = """mutation { issueApiKey(account: "acme", application: "portal",
  scopes: [RECORD, READ]) { secret } }"""


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, str]]:
    """A server process with acme's portal and a key that records and reads there; yields
    the base URL and the key. OLDEST_FIRST pages settle for a second (the store's timeouts
    shortened to allow it)."""
    settings = {
        "operator_token": TOKEN,
        "oldest_first_settle_seconds": "1",
        "sqlite_busy_timeout_ms": "500",
        "mongodb_operation_timeout_ms": "500",
        "interceptor_linger_ms": "0",
    }
    with serving(**settings) as (url, _):
        for mutation in SET_UP:
            graphql(url, TOKEN, mutation)
        key = graphql(url, TOKEN, ISSUE_KEY)["issueApiKey"]["secret"]
        yield url, key


async def entries_of(url: str, action: str) -> list[Entry]:
    """Every entry of acme with `action`, newest first, as the operator reads them."""
    async with AuditLogClient(url, api_key=TOKEN) as client:
        wanted = LogFilter(account="acme", actions=[action])
        return [entry async for page in client.pages(wanted) for entry in page.entries]


FAST_RETRIES = configs.emitter_config(
    linger_seconds=0,
    max_attempts=100,
    backoff_base_seconds=0.02,
    backoff_max_seconds=0.2,
    shutdown_grace_seconds=20,
)


async def test_a_batch_whose_answer_is_lost_is_stored_once_when_the_client_retries(
    server: tuple[str, str],
) -> None:
    url, key = server
    async with proxying(url, drop_answers=1) as proxy:
        port = await proxy.listen()
        sink = GraphQLHttpSink(f"http://127.0.0.1:{port}", api_key=key)
        emitter = AuditEmitter(sink, FAST_RETRIES)
        auditor = Auditor(emitter)
        for index in range(5):
            auditor.emit("proxy.answer_lost", success=True, application="portal",
                         request_id=f"r-{index}")  # fmt: skip
        emitter.start()  # all five are queued: one batch
        assert await emitter.stop() == 0
        await sink.close()

    assert (proxy.dropped, proxy.forwarded) == (1, 2)
    stored = await entries_of(url, "proxy.answer_lost")
    assert sorted(e.request_id or "" for e in stored) == [f"r-{i}" for i in range(5)]
    assert len({e.idempotency_key for e in stored}) == 5


async def test_events_held_back_by_an_outage_keep_the_time_they_were_emitted(
    server: tuple[str, str],
) -> None:
    url, key = server
    port = free_port()  # nothing listens there until the outage ends
    sink = GraphQLHttpSink(f"http://127.0.0.1:{port}", api_key=key)
    emitter = AuditEmitter(sink, FAST_RETRIES)
    emitter.start()
    auditor = Auditor(emitter)
    for index in range(3):
        auditor.emit("outage.held_back", success=True, application="portal",
                     request_id=f"r-{index}")  # fmt: skip
    emitted_by = datetime.now(UTC)
    outage = timedelta(seconds=1.5)
    await asyncio.sleep(outage.total_seconds())
    assert emitter.pending == 3

    async with proxying(url) as proxy:
        await proxy.listen(port)
        assert await emitter.stop() == 0
        await sink.close()

    stored = await entries_of(url, "outage.held_back")
    assert len(stored) == 3
    for entry in stored:
        assert entry.occurred_at <= emitted_by
        assert entry.created_at >= emitted_by + outage - timedelta(milliseconds=50)


PLATFORM_SERVICE = textwrap.dedent(
    """
    import asyncio, json, sys
    from auditlog_client import (AuditEmitter, Auditor, AuditLogClient, AuditLogError,
        EmitterConfig, Event, GraphQLHttpSink, LogFilter, Party)

    async def main(url: str, key: str) -> None:
        sink = GraphQLHttpSink(url, api_key=key)
        emitter = AuditEmitter(sink, EmitterConfig(capacity=100, batch_size=10,
            linger_seconds=0.01, max_attempts=5, backoff_base_seconds=0.05,
            backoff_max_seconds=0.5, shutdown_grace_seconds=10))
        emitter.start()
        auditor = Auditor(emitter)

        @auditor.audited("doc.viewed", application="portal",
                         actor=lambda call: Party(call["user"], "user"),
                         targets=lambda call: [Party(call["doc"], "document")])
        async def view(user: str, doc: str) -> str:
            return "contents"

        for doc in ("doc_1", "doc_2"):
            await view("user_7", doc)
        unsent = await emitter.stop()
        await sink.close()
        async with AuditLogClient(url, api_key=key) as client:
            shared = Event(application="portal", action="doc.shared", success=True,
                           actor=Party("user_7", "user", "Ann"), metadata={"seats": 3},
                           targets=[Party("doc_1", "document")]).stamped()
            first = await client.record(shared)
            again = await client.record(shared)
            try:
                await client.record(Event(application="portal", action="doc.deleted",
                    success=True, idempotency_key=shared.idempotency_key))
                reused = None
            except AuditLogError as exc:
                reused = [exc.code, exc.reason]
            await asyncio.sleep(1.5)  # OLDEST_FIRST serves entries once they have settled
            pages = [[(e.action, [t.id for t in e.targets]) for e in page.entries]
                     async for page in client.pages(LogFilter(actor_id="user_7"),
                                                    order="OLDEST_FIRST", first=1)]
        print(json.dumps({"unsent": unsent, "same_entry": first.id == again.id,
                          "metadata": first.metadata, "actor": first.actor.name,
                          "reused": reused, "pages": pages}))

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


@pytest.mark.slow
def test_the_package_installed_alone_in_a_fresh_venv_records_and_pages(
    server: tuple[str, str], tmp_path: Path
) -> None:
    url, key = server
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    # The user's pip cache is used as is: a second run installs without downloading.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(CLIENT_PACKAGE)],
        check=True, timeout=600, env=env, cwd=tmp_path,
    )  # fmt: skip
    present = subprocess.run(
        [python, "-c", "import importlib.util as u, sys; "
         "print([m for m in sys.argv[1:] if u.find_spec(m)])", *SERVER_PACKAGES],
        check=True, capture_output=True, text=True, env=env, cwd=tmp_path,
    ).stdout.strip()  # fmt: skip
    assert present == "[]"
    script = tmp_path / "platform_service.py"
    script.write_text(PLATFORM_SERVICE)

    run = subprocess.run(
        [python, str(script), url, key],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip

    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["unsent"] == 0
    assert seen["same_entry"] is True
    assert (seen["metadata"], seen["actor"]) == ({"seats": 3}, "Ann")
    assert seen["reused"] == ["CONFLICT", "IDEMPOTENCY_KEY_REUSED"]
    assert seen["pages"] == [
        [["doc.viewed", ["doc_1"]]],
        [["doc.viewed", ["doc_2"]]],
        [["doc.shared", ["doc_1"]]],
    ]


def test_the_server_runs_the_repositorys_package_not_a_copy() -> None:
    assert Path(auditlog_client.__file__).is_relative_to(CLIENT_PACKAGE)
    assert issubclass(interceptor.AuditEmitter, AuditEmitter)
    assert issubclass(interceptor.Auditor, Auditor)
