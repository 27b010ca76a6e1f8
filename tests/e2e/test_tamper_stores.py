"""The attacks of issue 15 done directly on each store the service runs on (SQLite through
`sqlite3`, the Beanie store through its Motor collections), as a database user would, and
read back over HTTP; and a receipt from `auditLogProof` checked alone by `auditlog-verify
--proof`, as a customer would, with nothing but the published keys.

A real MongoDB runs the same attacks through the contract-level unit tests; what the
verifier concludes from each is specified against the use case in
tests/unit/application/sealing/test_checkpoints.py."""

import dataclasses
import json
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from fastapi import FastAPI

from adapters.outbound.data_dir import DATABASE_FILE
from adapters.outbound.mongo.documents import AuditLogDocument, SealDocument, SealerStateDocument
from adapters.outbound.seal_keys import PublishedSealKeys
from adapters.outbound.sqlite.mappers import ENTRY_INSERT, entry_to_row, to_micros
from domain.checkpoint import Checkpoint
from domain.entry import AuditEntry
from domain.integrity import window_of
from entrypoints.app import Overrides, create_app
from entrypoints.settings import Settings
from tests import builders
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import StoreKind, Tenants
from tests.e2e.test_integrity import CLOSES, VERIFY, WINDOW, seal_id_of, sealed_settings
from tests.fakes import FakeClock

pytestmark = pytest.mark.parametrize("store_kind", ["sqlite", "memory"])

PROOF = """query Proof($id: ID!) {
  auditLogProof(id: $id) {
    entry { id digest } leafIndex leafCount siblings sealId merkleRoot checkpointSequence document
  }
}"""


class Backdoor(Protocol):
    """Writes behind the service's back, the way each store allows them."""

    async def forge(self, entry: AuditEntry) -> None: ...
    async def rewind(self, to: datetime) -> None: ...
    async def cut(self, seal: str, entries: list[str]) -> None: ...
    async def hold_lease(self, holder: str, until: datetime) -> None: ...


class SqliteBackdoor:
    def __init__(self, path: Path) -> None:
        self._path = path

    def _run(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None)
        try:
            for sql, params in statements:
                conn.execute(sql, params)
        finally:
            conn.close()

    async def forge(self, entry: AuditEntry) -> None:
        self._run((ENTRY_INSERT, entry_to_row(entry)))

    async def rewind(self, to: datetime) -> None:
        self._run(("UPDATE sealer_state SET sealed_through = ?", (to_micros(to),)))

    async def cut(self, seal: str, entries: list[str]) -> None:
        # A database administrator first drops what stands in the way.
        self._run(
            ("DROP TRIGGER seals_no_early_delete", ()),
            ("DROP TRIGGER entries_no_early_delete", ()),
            ("DELETE FROM seals WHERE id = ?", (seal,)),
            *((("DELETE FROM entries WHERE id = ?", (e,))) for e in entries),
        )

    async def hold_lease(self, holder: str, until: datetime) -> None:
        self._run(("UPDATE sealer_state SET holder = ?, until = ?", (holder, to_micros(until))))


class MongoBackdoor:
    async def forge(self, entry: AuditEntry) -> None:
        from adapters.outbound.mongo.mappers import entry_to_document

        await AuditLogDocument.get_motor_collection().insert_one(
            entry_to_document(entry).model_dump(by_alias=True)
        )

    async def rewind(self, to: datetime) -> None:
        await SealerStateDocument.get_motor_collection().update_one(
            {"_id": "sealer"}, {"$set": {"sealed_through": to}}
        )

    async def cut(self, seal: str, entries: list[str]) -> None:
        await SealDocument.get_motor_collection().delete_one({"_id": seal})
        await AuditLogDocument.get_motor_collection().delete_many({"_id": {"$in": entries}})

    async def hold_lease(self, holder: str, until: datetime) -> None:
        await SealerStateDocument.get_motor_collection().update_one(
            {"_id": "sealer"}, {"$set": {"holder": holder, "until": until}}
        )


@pytest.fixture
def configured(store_kind: StoreKind) -> Settings:
    base = sealed_settings()
    return dataclasses.replace(base, store=base.store.model_copy(update={"store": store_kind}))


@pytest.fixture
async def app(clock: FakeClock, configured: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(configured, Overrides(clock=clock))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def backdoor(app: FastAPI, configured: Settings) -> Backdoor:
    if configured.store.store == "sqlite":
        return SqliteBackdoor(configured.store.data_dir / DATABASE_FILE)
    return MongoBackdoor()


async def record(api: Api, tenants: Tenants, count: int = 2) -> list[dict[str, Any]]:
    return [
        (await api.record(tenants.acme_rw, application="portal", email=f"u{i}@example.com")).data[
            "recordAuditEvent"
        ]
        for i in range(count)
    ]


async def seal(app: FastAPI, api: Api, clock: FakeClock, after: timedelta = CLOSES) -> None:
    await api.settle()
    clock.advance(seconds=after.total_seconds())
    await app.state.services.seal_trail.run_once()


async def verify(api: Api) -> dict[str, Any]:
    return (await api.gql(VERIFY, {"account": "acme"}, token=OPERATOR_TOKEN)).data[
        "verifyAuditLogs"
    ]


def kinds(report: dict[str, Any]) -> list[tuple[str, str | None]]:
    return sorted((p["kind"], p["entryId"]) for p in report["problems"])


async def test_a_forgery_after_the_latest_seal_with_the_progress_rewound_is_injected(
    app: FastAPI, api: Api, tenants: Tenants, clock: FakeClock, backdoor: Backdoor
) -> None:
    recorded = await record(api, tenants)
    await seal(app, api, clock)
    newest = window_of(datetime.fromisoformat(recorded[-1]["createdAt"]), WINDOW)
    forged = builders.entry(
        account="acme", application="portal", created_at=newest + 2 * WINDOW,
        entry_id="f0f0f0f0f0f0f0f0f0f0f0f0",
    )  # fmt: skip
    await backdoor.forge(forged)
    await backdoor.rewind(newest + WINDOW)
    await seal(app, api, clock, after=timedelta(seconds=1))  # the next pass

    assert kinds(await verify(api)) == [("INJECTED", forged.id)]


async def test_the_newest_seal_cut_with_its_entries_is_missing(
    app: FastAPI, api: Api, tenants: Tenants, clock: FakeClock, backdoor: Backdoor
) -> None:
    await record(api, tenants, 1)
    await seal(app, api, clock)
    newest = await record(api, tenants, 2)
    await seal(app, api, clock)
    assert (await verify(api))["ok"] is True

    await backdoor.cut(seal_id_of(newest[0]), [e["id"] for e in newest])

    report = await verify(api)
    assert [p["kind"] for p in report["problems"]] == ["SEAL_MISSING"]


async def test_a_receipt_is_checked_alone_by_the_offline_verifier(
    app: FastAPI, api: Api, tenants: Tenants, clock: FakeClock, tmp_path: Path
) -> None:
    recorded = await record(api, tenants, 3)
    pending = await api.gql(PROOF, {"id": recorded[1]["id"]}, token=tenants.acme_rw)
    assert pending.code == "BAD_USER_INPUT"
    await seal(app, api, clock)

    proof = (await api.gql(PROOF, {"id": recorded[1]["id"]}, token=tenants.acme_rw)).data[
        "auditLogProof"
    ]
    assert proof["entry"] == {"id": recorded[1]["id"], "digest": recorded[1]["digest"]}
    # A key's receipt requests are recorded, as its reads are (refusals too).
    await api.settle()
    asked = await api.gql(
        '{ auditLogs(filter: {account: "acme", actions: ["portal.audit_logs.proved"]}) '
        "{ edges { node { success } } } }",
        token=OPERATOR_TOKEN,
    )
    outcomes = sorted(e["node"]["success"] for e in asked.data["auditLogs"]["edges"])
    assert outcomes == [False, True]
    keys = await api.http.get("/.well-known/audit-seal-keys.json")
    (tmp_path / "keys.json").write_text(keys.text)
    receipt = tmp_path / "receipt.json"
    receipt.write_text(proof["document"])

    def offline(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "entrypoints.verify_export", "--proof", str(path),
             "--keys", str(tmp_path / "keys.json")],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    genuine = offline(receipt)
    assert genuine.returncode == 0, genuine.stdout
    assert genuine.stdout.rstrip().endswith("OK")
    edited = json.loads(proof["document"])
    edited["entry"]["email"] = "someone.else@example.com"
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    refused = offline(tmp_path / "edited.json")
    assert refused.returncode == 1
    assert "PROOF_INVALID" in refused.stdout


async def test_a_verification_states_the_clock_it_judged_expiry_by(
    app: FastAPI, api: Api, tenants: Tenants, clock: FakeClock
) -> None:
    await record(api, tenants, 1)
    await seal(app, api, clock)
    query = 'query { verifyAuditLogs(account: "acme") { ok clock checkedAt } }'
    report = (await api.gql(query, token=OPERATOR_TOKEN)).data["verifyAuditLogs"]
    # Both stores here expire by this machine's clock (a real MongoDB would say "database").
    assert report == {
        "ok": True,
        "clock": "service",
        "checkedAt": clock.now().isoformat(timespec="milliseconds"),
    }


async def test_the_newest_window_cut_and_refilled_is_not_sealed_again(
    app: FastAPI, api: Api, tenants: Tenants, clock: FakeClock, backdoor: Backdoor
) -> None:
    await record(api, tenants, 1)
    await seal(app, api, clock)
    newest = await record(api, tenants, 2)
    await seal(app, api, clock)
    start = window_of(datetime.fromisoformat(newest[0]["createdAt"]), WINDOW)
    # Its seal and entries removed, a forgery put in their window, the progress set back
    # so that the sealer would seal the window again, over the forgery.
    await backdoor.cut(seal_id_of(newest[0]), [e["id"] for e in newest])
    forged = builders.entry(
        account="acme", application="portal", created_at=start + timedelta(seconds=1),
        entry_id="f0f0f0f0f0f0f0f0f0f0f0f1",
    )  # fmt: skip
    await backdoor.forge(forged)
    await backdoor.rewind(start)
    await seal(app, api, clock, after=timedelta(seconds=1))

    assert kinds(await verify(api)) == [("INJECTED", forged.id), ("SEAL_MISSING", None)]


async def test_a_lease_held_by_an_intruder_until_2100_is_reported_on_readyz(
    app: FastAPI, api: Api, tenants: Tenants, clock: FakeClock, backdoor: Backdoor
) -> None:
    await record(api, tenants, 1)
    await seal(app, api, clock)
    await backdoor.hold_lease("intruder", datetime(2100, 1, 1, tzinfo=UTC))
    await app.state.sealing_health.check()

    ready = (await api.http.get("/readyz")).json()
    assert ready["status"] == "ready"
    assert ready["sealing"]["state"] == "lease_suspect"


async def test_the_latest_checkpoint_is_published_signed_and_naming_no_tenant(
    app: FastAPI, api: Api, tenants: Tenants, clock: FakeClock
) -> None:
    assert (await api.http.get("/.well-known/audit-checkpoint.json")).status_code == 404
    await record(api, tenants, 2)
    await seal(app, api, clock)

    response = await api.http.get("/.well-known/audit-checkpoint.json")
    assert response.status_code == 200
    published = Checkpoint.from_document(response.json())
    latest = await app.state.checkpoints.latest()
    assert published.hash() == latest.hash()
    assert published.listed  # acme's seal, as a digest
    assert "acme" not in response.text
    keys = PublishedSealKeys((await api.http.get("/.well-known/audit-seal-keys.json")).json())
    assert keys.verify(published.key_id, published.message(), published.signature)
