"""Tamper evidence end to end: entry digests, the sealer, and verifyAuditLogs.

The trail is tampered with directly in the store (as someone with database access would),
bypassing the service; the verifier must name what was done, and nothing else: entries and
seals that expired and were deleted by the TTL monitor are never a problem.

The background sealer is configured to run once at start-up and then sleep for an hour, so
each test seals explicitly, after moving the clock past the windows' end and grace.
"""

import asyncio
import contextlib
import dataclasses
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import mongomock
import pytest
from bson import ObjectId
from fastapi import FastAPI

from adapters.mongo.documents import AuditLogDocument, SealDocument
from adapters.mongo.entries import BeanieAuditEntryRepository
from adapters.seal_keys import Ed25519SealKeys, PublishedSealKeys, new_signing_key
from application.principal import Operator
from application.verify import VerifyAuditLogs
from domain.entry import DIGEST_FIELDS, AuditEntry, entry_digest
from domain.integrity import new_seal, seal_id, window_of
from entrypoints.app import Overrides, create_app
from entrypoints.settings import SealSettings, Settings
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants, settings
from tests.fakes import FakeClock, InMemorySealerState, InMemorySeals

WINDOW = timedelta(seconds=60)
GRACE = timedelta(seconds=120)
# Far enough past an entry for its window (and the next) to be closed by the sealer.
CLOSES = timedelta(minutes=5)
SIGNING_KEY = new_signing_key()

VERIFY = """query Verify($account: ID, $since: DateTime, $until: DateTime) {
  verifyAuditLogs(account: $account, since: $since, until: $until) {
    ok windowsChecked entriesVerified unsealedEntries
    problems { kind entryId window detail }
  }
}"""

_CAMEL = {
    "user_agent": "userAgent",
    "request_id": "requestId",
    "created_at": "createdAt",
    "expires_at": "expiresAt",
}


def sealed_settings(signing_key: str = SIGNING_KEY, retired: str = "") -> Settings:
    seals = SealSettings(
        signing_key=signing_key,  # type: ignore[arg-type]
        previous_public_keys=retired,
        interval_seconds=3600,
        window_seconds=int(WINDOW.total_seconds()),
        grace_seconds=int(GRACE.total_seconds()),
    )
    return dataclasses.replace(settings(), seals=seals)


@pytest.fixture
async def app(clock: FakeClock) -> AsyncIterator[FastAPI]:
    """Replaces the suite's app (and so the `api` and `tenants` built on it)."""
    application = create_app(sealed_settings(), Overrides(clock=clock))
    async with application.router.lifespan_context(application):
        yield application


def entries() -> Any:
    return AuditLogDocument.get_motor_collection()


def seals() -> Any:
    return SealDocument.get_motor_collection()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def window_start(entry: dict[str, Any]) -> datetime:
    return window_of(at(entry["createdAt"]), WINDOW)


def seal_id_of(entry: dict[str, Any]) -> str:
    return seal_id(entry["account"], window_start(entry))


def recomputed(node: dict[str, Any]) -> str:
    """The digest of an entry as the API shows it, computed here."""
    fields = {name: node[_CAMEL.get(name, name)] for name in DIGEST_FIELDS}
    return entry_digest(
        {**fields, "created_at": at(fields["created_at"]), "expires_at": at(fields["expires_at"])}
    )


def kinds(report: dict[str, Any]) -> list[tuple[str, str | None]]:
    return sorted((p["kind"], p["entryId"]) for p in report["problems"])


@dataclasses.dataclass
class Trail:
    app: FastAPI
    api: Api
    clock: FakeClock
    tenants: Tenants

    async def record(self, count: int = 1, token: str | None = None, **event: Any) -> list[dict]:
        recorded = []
        for i in range(count):
            fields = {"application": "portal", "email": f"user{i}@example.com", **event}
            result = await self.api.record(token or self.tenants.acme_rw, **fields)
            recorded.append(result.data["recordAuditEvent"])
        return recorded

    async def seal(self, after: timedelta = CLOSES) -> int:
        """Move past the end and grace of every window so far, and run the sealer once."""
        # The service's own events so far are stored first, at the time they happened.
        await self.api.settle()
        self.clock.advance(seconds=after.total_seconds())
        return await self.app.state.services.seal_trail.run_once()

    async def verify(self, token: str = OPERATOR_TOKEN, **arguments: Any) -> dict[str, Any]:
        if token == OPERATOR_TOKEN:
            arguments.setdefault("account", "acme")
        result = await self.api.gql(VERIFY, arguments, token=token)
        return result.data["verifyAuditLogs"]

    async def stored(self, account: str = "acme") -> int:
        return int(await entries().count_documents({"account": account}))

    async def seal_documents(self, account: str = "acme") -> list[dict[str, Any]]:
        found = seals().find({"account": account}).sort("window_start", 1)
        return list(await found.to_list(None))

    def travel(
        self, monkeypatch: pytest.MonkeyPatch, by: timedelta, *, db_ahead: timedelta = timedelta()
    ) -> None:
        """Move the service's clock by `by`, the database's to `by + db_ahead`, and run the
        TTL monitor at the database's time."""
        self.clock.advance(seconds=by.total_seconds())
        database_now = (self.clock.now() + db_ahead).astimezone(UTC).replace(tzinfo=None)
        # Naive UTC, as mongomock compares it with what it stores; an aware one disables expiry.
        monkeypatch.setattr(mongomock, "utcnow", lambda: database_now)
        self.app.state.store.ttl_monitor.sweep()


@pytest.fixture
async def trail(app: FastAPI, api: Api, clock: FakeClock, tenants: Tenants) -> Trail:
    return Trail(app, api, clock, tenants)


# --- digests ---------------------------------------------------------------------------


async def test_recording_returns_the_digest_that_reading_and_recomputing_give(
    trail: Trail,
) -> None:
    full = (
        await trail.record(
            reason="wrong password ✗",
            success=False,
            ip="203.0.113.9",
            userAgent="curl/8",
            requestId="req-1",
        )
    )[0]
    bare = (await trail.record(email=None))[0]

    listed = {n["id"]: n for n in await trail.api.all_entries(OPERATOR_TOKEN, account="acme")}
    for node in (full, bare):
        assert len(node["digest"]) == 64
        assert int(node["digest"], 16) >= 0
        assert listed[node["id"]]["digest"] == node["digest"]
        assert recomputed(node) == node["digest"]
        stored = await entries().find_one({"_id": node["id"]})
        assert stored["digest"] == node["digest"]
        fields = {name: stored.get(name) for name in DIGEST_FIELDS if name != "id"}
        assert AuditEntry(id=node["id"], **fields).content_digest() == node["digest"]
    assert full["digest"] != bare["digest"]


# --- a clean trail ------------------------------------------------------------------------


async def test_a_sealed_trail_verifies_every_entry_and_waits_for_open_windows(
    trail: Trail,
) -> None:
    for _ in range(3):
        await trail.record(2)
        trail.clock.advance(seconds=45)
    assert await trail.seal() >= 2

    report = await trail.verify()

    sealed = await trail.stored()
    assert sealed >= 6
    assert report == {
        "ok": True,
        "windowsChecked": len(await trail.seal_documents()),
        "entriesVerified": sealed,
        "unsealedEntries": 0,
        "problems": [],
    }
    assert report["windowsChecked"] >= 2

    await trail.record(3)
    report = await trail.verify()

    assert report["ok"] is True
    assert report["problems"] == []
    assert report["entriesVerified"] == sealed
    assert report["unsealedEntries"] == 3

    await trail.seal()
    report = await trail.verify()

    assert (report["ok"], report["entriesVerified"], report["unsealedEntries"]) == (
        True,
        sealed + 3,
        0,
    )


async def test_sealing_again_writes_nothing_and_changes_nothing(trail: Trail) -> None:
    await trail.record(3)
    await trail.seal()
    before = await trail.seal_documents()

    assert await trail.app.state.services.seal_trail.run_once() == 0
    assert await trail.seal(after=timedelta(minutes=10)) == 0

    assert await trail.seal_documents() == before
    assert (await trail.verify())["ok"] is True


async def test_each_account_verifies_its_own_entries(trail: Trail) -> None:
    await trail.record(3)
    await trail.record(2, token=trail.tenants.globex_rw, application="shop")
    await trail.seal()

    acme = await trail.verify()
    globex = await trail.verify(account="globex")

    assert acme["ok"]
    assert globex["ok"]
    assert acme["entriesVerified"] == await trail.stored("acme")
    assert globex["entriesVerified"] == await trail.stored("globex")
    assert acme["entriesVerified"] != globex["entriesVerified"]


# --- tampering ---------------------------------------------------------------------------


@dataclasses.dataclass
class Sealed:
    """Three windows of acme entries with an empty window between each, all sealed."""

    groups: list[list[dict[str, Any]]]

    @property
    def target(self) -> dict[str, Any]:
        """An entry in the middle window, with every field but `ip` set."""
        return self.groups[1][0]


@pytest.fixture
async def sealed(trail: Trail) -> Sealed:
    groups = []
    for _ in range(3):
        groups.append(
            await trail.record(
                2, reason="bad password", success=False, userAgent="Mozilla/5.0", requestId="req-42"
            )
        )
        trail.clock.advance(seconds=2 * WINDOW.total_seconds())
    await trail.seal()
    ids = [d["_id"] for d in await trail.seal_documents()]
    assert {seal_id_of(g[0]) for g in groups} <= set(ids)
    assert ids[-1] == seal_id_of(groups[2][0]), "the last group's seal is the newest"
    assert ids.index(seal_id_of(groups[1][0])) not in (0, len(ids) - 1)
    assert (await trail.verify())["problems"] == []
    return Sealed(groups)


def _shift_created_at(stored: dict[str, Any]) -> dict[str, Any]:
    moment = stored["created_at"]
    start = window_of(moment, WINDOW)
    # Within its window, so that only its digest tells.
    return {"$set": {"created_at": start if moment != start else moment + timedelta(seconds=1)}}


MODIFICATIONS = {
    "reason": lambda d: {"$set": {"reason": "all good"}},
    "reason removed": lambda d: {"$unset": {"reason": ""}},
    "email": lambda d: {"$set": {"email": "mallory@example.com"}},
    "success": lambda d: {"$set": {"success": True}},
    "action": lambda d: {"$set": {"action": "auth.logout"}},
    "application": lambda d: {"$set": {"application": "admin"}},
    "ip added": lambda d: {"$set": {"ip": "198.51.100.7"}},
    "user_agent": lambda d: {"$set": {"user_agent": "curl/8"}},
    "request_id": lambda d: {"$set": {"request_id": "req-43"}},
    "created_at": _shift_created_at,
    "expires_at extended": lambda d: {
        "$set": {"expires_at": d["expires_at"] + timedelta(days=365)}
    },
    "expires_at shortened": lambda d: {
        "$set": {"expires_at": d["expires_at"] - timedelta(days=30)}
    },
}


@pytest.mark.parametrize("change", MODIFICATIONS.values(), ids=MODIFICATIONS.keys())
async def test_changing_any_field_of_a_live_entry_is_reported_modified(
    trail: Trail, sealed: Sealed, change: Any
) -> None:
    target = sealed.target["id"]
    stored = await entries().find_one({"_id": target})
    result = await entries().update_one({"_id": target}, change(stored))
    assert result.modified_count == 1

    report = await trail.verify()

    assert report["ok"] is False
    assert kinds(report) == [("MODIFIED", target)]
    assert at(report["problems"][0]["window"]) == window_start(sealed.target)


async def test_rewriting_the_stored_digest_with_the_change_is_still_modified(
    trail: Trail, sealed: Sealed
) -> None:
    target = sealed.target
    forged = {**target, "reason": "all good"}
    await entries().update_one(
        {"_id": target["id"]}, {"$set": {"reason": "all good", "digest": recomputed(forged)}}
    )
    stored = await entries().find_one({"_id": target["id"]})
    assert stored["digest"] == recomputed(forged) != target["digest"]

    report = await trail.verify()

    assert kinds(report) == [("MODIFIED", target["id"])]


async def test_deleting_a_live_entry_is_reported_missing(trail: Trail, sealed: Sealed) -> None:
    target = sealed.target["id"]
    assert (await entries().delete_one({"_id": target})).deleted_count == 1

    report = await trail.verify()

    assert report["ok"] is False
    assert kinds(report) == [("MISSING", target)]


async def test_shortening_an_entrys_life_so_the_ttl_monitor_deletes_it_is_missing(
    trail: Trail, sealed: Sealed, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = sealed.target["id"]
    past = trail.clock.now() - timedelta(hours=1)
    await entries().update_one({"_id": target}, {"$set": {"expires_at": past}})
    trail.travel(monkeypatch, timedelta(seconds=1))
    assert await entries().find_one({"_id": target}) is None

    assert kinds(await trail.verify()) == [("MISSING", target)]


def forged_document(created_at: datetime, account: str = "acme") -> dict[str, Any]:
    """A complete entry with a proper digest of its own fields, as the service would store."""
    entry = AuditEntry(
        id=str(ObjectId()),
        account=account,
        application="portal",
        action="auth.login",
        success=True,
        email="mallory@example.com",
        reason=None,
        ip=None,
        user_agent=None,
        request_id=None,
        created_at=created_at,
        expires_at=created_at + timedelta(days=90),
    )
    document = {name: getattr(entry, name) for name in DIGEST_FIELDS if name != "id"}
    document = {k: v for k, v in document.items() if v is not None}
    return {"_id": entry.id, **document, "digest": entry.digest}


INJECTIONS = {
    # Into the middle group's window, which its seal covers.
    "into a sealed window": lambda s: window_start(s.groups[1][0]) + timedelta(seconds=30),
    # Into the empty window between two seals that link to each other.
    "between two chained seals": lambda s: window_start(s.groups[1][0]) - WINDOW / 2,
    # Into a closed window after the last seal.
    "after the last seal": lambda s: window_start(s.groups[2][0]) + WINDOW + WINDOW / 2,
}


@pytest.mark.parametrize("when", INJECTIONS.values(), ids=INJECTIONS.keys())
async def test_an_entry_forged_into_a_closed_window_is_reported_injected(
    trail: Trail, sealed: Sealed, when: Any
) -> None:
    created_at = when(sealed).replace(microsecond=0)
    document = forged_document(created_at)
    await entries().insert_one(document)
    # It reads like any other entry: only the seals tell it apart.
    listed = await trail.api.all_entries(OPERATOR_TOKEN, account="acme")
    node = next(n for n in listed if n["id"] == document["_id"])
    assert recomputed(node) == node["digest"] == document["digest"]

    report = await trail.verify()

    assert report["ok"] is False
    assert kinds(report) == [("INJECTED", document["_id"])]


async def test_since_and_until_bound_what_is_checked(trail: Trail, sealed: Sealed) -> None:
    first = sealed.groups[0][0]["id"]
    await entries().update_one({"_id": first}, {"$set": {"reason": "all good"}})
    later = window_start(sealed.groups[1][0]).isoformat()

    before = await trail.verify(until=later)
    after = await trail.verify(since=later)

    assert kinds(before) == [("MODIFIED", first)]
    assert (after["ok"], after["problems"]) == (True, [])
    assert after["windowsChecked"] == 2
    assert after["entriesVerified"] == len(sealed.groups[1]) + len(sealed.groups[2])


async def test_an_entry_forged_before_the_first_seal_is_reported_injected(
    trail: Trail, sealed: Sealed
) -> None:
    first = (await trail.seal_documents())[0]
    assert first["previous"] is None
    created_at = first["window_start"].astimezone(UTC) - timedelta(hours=1)
    document = forged_document(created_at)
    await entries().insert_one(document)

    report = await trail.verify()

    assert kinds(report) == [("INJECTED", document["_id"])]


async def test_an_entry_forged_where_an_expired_seal_was_is_reported_injected(
    trail: Trail, monkeypatch: pytest.MonkeyPatch
) -> None:
    await trail.record(2)
    await trail.seal()
    await change_plan(trail, "free")
    trail.clock.advance(seconds=120)
    short = await trail.record(2)
    await trail.seal()
    await change_plan(trail, "pro")
    trail.clock.advance(seconds=120)
    await trail.record(2)
    await trail.seal()
    trail.travel(monkeypatch, timedelta(days=8))
    assert await seals().find_one({"_id": seal_id_of(short[0])}) is None
    assert (await trail.verify())["problems"] == []
    # A 90-day entry in the window of the seal that expired: no live seal lists it.
    document = forged_document(window_start(short[0]) + timedelta(seconds=10))
    await entries().insert_one(document)

    report = await trail.verify()

    assert kinds(report) == [("INJECTED", document["_id"])]


def seal_missing(report: dict[str, Any], deleted: str) -> dict:
    """The one problem reported: SEAL_MISSING. The deleted seal's entries, still stored, are
    not reported one by one as well."""
    [missing] = report["problems"]
    assert missing["kind"] == "SEAL_MISSING", report
    assert deleted in missing["detail"]
    return missing


async def entries_in(seal_key: str) -> set[str]:
    document = await seals().find_one({"_id": seal_key})
    return {entry_id for entry_id, _, _ in document["entries"]}


async def test_deleting_a_seal_in_the_middle_of_the_chain_is_reported_seal_missing(
    trail: Trail, sealed: Sealed
) -> None:
    middle = seal_id_of(sealed.target)
    assert await entries_in(middle)
    assert (await seals().delete_one({"_id": middle})).deleted_count == 1

    report = await trail.verify()

    assert report["ok"] is False
    problem = seal_missing(report, middle)
    # Reported at the missing seal's own window.
    assert at(problem["window"]) == window_start(sealed.target)


async def test_deleting_the_first_seal_is_reported_seal_missing(
    trail: Trail, sealed: Sealed
) -> None:
    first = (await trail.seal_documents())[0]["_id"]
    assert await entries_in(first)
    await seals().delete_one({"_id": first})

    report = await trail.verify()

    assert report["ok"] is False
    seal_missing(report, first)


async def test_deleting_the_newest_seal_leaves_its_entries_reported_injected(
    trail: Trail, sealed: Sealed
) -> None:
    newest = sealed.groups[2]
    await seals().delete_one({"_id": seal_id_of(newest[0])})

    report = await trail.verify()

    assert report["ok"] is False
    assert kinds(report) == sorted(("INJECTED", e["id"]) for e in newest)


async def test_deleting_every_seal_leaves_every_entry_reported_injected(
    trail: Trail, sealed: Sealed
) -> None:
    await seals().delete_many({"account": "acme"})

    report = await trail.verify()

    assert {p["kind"] for p in report["problems"]} == {"INJECTED"}
    assert len(report["problems"]) == await trail.stored()


def _seal_problems(report: dict[str, Any], window: datetime) -> list[str]:
    return [
        p["detail"]
        for p in report["problems"]
        if p["kind"] == "SEAL_INVALID" and at(p["window"]) == window
    ]


def _other_digest(d: dict[str, Any]) -> dict[str, Any]:
    entries_ = [list(e) for e in d["entries"]]
    entries_[0][2] = "0" * 64
    return {"$set": {"entries": entries_}}


SEAL_ALTERATIONS = {
    "an entry's digest": _other_digest,
    "an entry's expiry": lambda d: {
        "$set": {
            "entries": [
                [d["entries"][0][0], d["entries"][0][1] - timedelta(days=80), d["entries"][0][2]],
                *d["entries"][1:],
            ]
        }
    },
    "the merkle root": lambda d: {"$set": {"merkle_root": "f" * 64}},
    "the count of entries": lambda d: {"$set": {"entries": d["entries"][:-1]}},
    "sealed_at": lambda d: {"$set": {"sealed_at": d["sealed_at"] + timedelta(seconds=1)}},
    "the link to the previous seal": lambda d: {
        "$set": {"previous": [d["previous"][0], "0" * 64, d["previous"][2]]}
    },
    "the window": lambda d: {"$set": {"window_end": d["window_end"] + WINDOW}},
}


@pytest.mark.parametrize("alter", SEAL_ALTERATIONS.values(), ids=SEAL_ALTERATIONS.keys())
async def test_altering_a_seal_is_reported_seal_invalid(
    trail: Trail, sealed: Sealed, alter: Any
) -> None:
    middle = seal_id_of(sealed.target)
    document = await seals().find_one({"_id": middle})
    assert (await seals().update_one({"_id": middle}, alter(document))).modified_count == 1

    report = await trail.verify()

    assert report["ok"] is False
    # The seal's own signature, not only its successor's link to it.
    assert "the signature does not verify" in _seal_problems(report, window_start(sealed.target)), (
        report
    )


async def _resign(trail: Trail, seal_key: str, *, with_its_key_id: bool) -> datetime:
    """Sign the middle seal with another key; returns its window."""
    document = await seals().find_one({"_id": seal_key})
    seal = await trail.app.state.store.seals.get(seal_key)
    other = Ed25519SealKeys(new_signing_key())
    update = {"signature": other.sign(seal.message())}
    if with_its_key_id:
        update["key_id"] = other.key_id
    assert update["signature"] != document["signature"]
    await seals().update_one({"_id": seal_key}, {"$set": update})
    return seal.window_start


@pytest.mark.parametrize("with_its_key_id", [False, True], ids=["same key id", "its own key id"])
async def test_a_seal_signed_with_another_key_is_reported_seal_invalid(
    trail: Trail, sealed: Sealed, with_its_key_id: bool
) -> None:
    window = await _resign(trail, seal_id_of(sealed.target), with_its_key_id=with_its_key_id)

    report = await trail.verify()

    assert report["ok"] is False
    # And, at the same window, the next seal's link to it no longer holds.
    assert _seal_problems(report, window) == [
        "the signature does not verify",
        "the previous seal was altered",
    ]


# --- expiry is not tampering -------------------------------------------------------------


async def test_entries_and_seals_deleted_by_the_ttl_monitor_are_not_problems(
    trail: Trail, monkeypatch: pytest.MonkeyPatch
) -> None:
    await trail.record(3)  # acme is on pro: 90 days
    await trail.record(2, token=trail.tenants.globex_rw, application="shop")  # free: 7 days
    trail.clock.advance(seconds=90)
    await trail.record(2)
    await trail.seal()
    acme = await trail.stored("acme")

    trail.travel(monkeypatch, timedelta(days=8))

    assert await trail.stored("globex") == 0
    assert await trail.seal_documents("globex") == []
    assert await trail.stored("acme") == acme
    globex = await trail.verify(account="globex")
    assert (globex["ok"], globex["problems"], globex["windowsChecked"]) == (True, [], 0)
    assert (await trail.verify())["entriesVerified"] == acme

    trail.travel(monkeypatch, timedelta(days=83))

    assert await trail.stored("acme") == 0
    assert await trail.seal_documents("acme") == []
    report = await trail.verify()
    assert report == {
        "ok": True,
        "windowsChecked": 0,
        "entriesVerified": 0,
        "unsealedEntries": 0,
        "problems": [],
    }


async def test_deleting_an_entry_shortly_before_it_expires_is_still_missing(
    trail: Trail, monkeypatch: pytest.MonkeyPatch
) -> None:
    await change_plan(trail, "free")
    recorded = await trail.record(2)
    await trail.seal()
    expiry = at(recorded[0]["expiresAt"])
    trail.travel(monkeypatch, expiry - timedelta(minutes=30) - trail.clock.now())
    assert await trail.stored() > 0
    await entries().delete_one({"_id": recorded[0]["id"]})

    report = await trail.verify()

    assert kinds(report) == [("MISSING", recorded[0]["id"])]


async def change_plan(trail: Trail, plan: str) -> None:
    await trail.api.operator(
        'mutation($p: String!) { changeAccountPlan(account: "acme", plan: $p) { id } }',
        {"p": plan},
    )


async def test_a_downgrade_whose_newer_entries_expire_first_is_not_a_problem(
    trail: Trail, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = await trail.record(3)
    await trail.seal()
    await change_plan(trail, "free")
    trail.clock.advance(seconds=90)
    newer = await trail.record(3)
    await trail.seal()
    assert {at(e["expiresAt"]) - at(e["createdAt"]) for e in older} == {timedelta(days=90)}
    assert {at(e["expiresAt"]) - at(e["createdAt"]) for e in newer} == {timedelta(days=7)}
    newer_seal = seal_id_of(newer[0])
    chain = [d["_id"] for d in await trail.seal_documents()]
    assert chain[-1] == newer_seal
    assert (await trail.verify())["ok"] is True

    trail.travel(monkeypatch, timedelta(days=7, hours=1))

    left = {d["_id"] for d in await entries().find({"account": "acme"}).to_list(None)}
    assert not left & {e["id"] for e in newer}
    assert {e["id"] for e in older} <= left
    remaining = [d["_id"] for d in await trail.seal_documents()]
    assert newer_seal not in remaining
    assert seal_id_of(older[0]) in remaining
    report = await trail.verify()
    assert (report["ok"], report["problems"]) == (True, [])
    assert report["entriesVerified"] == len(left)

    trail.travel(monkeypatch, timedelta(days=83))

    assert await trail.stored() == 0
    report = await trail.verify()
    assert (report["ok"], report["problems"]) == (True, [])


# What the TTL monitor deleted is gone legitimately, however recently, and also when the
# database's clock (which the monitor goes by) runs a little ahead of the service's.
MARGINS = [
    pytest.param(timedelta(hours=1), timedelta(), id="an hour after"),
    pytest.param(timedelta(minutes=1), timedelta(), id="a minute after"),
    pytest.param(-timedelta(minutes=1), timedelta(minutes=2), id="database clock 2 min ahead"),
]


@pytest.mark.parametrize(("after", "db_ahead"), MARGINS)
async def test_an_upgrade_whose_older_seal_expires_first_is_not_a_problem(
    trail: Trail, monkeypatch: pytest.MonkeyPatch, after: timedelta, db_ahead: timedelta
) -> None:
    await change_plan(trail, "free")
    trail.clock.advance(seconds=90)
    older = await trail.record(2)
    await trail.seal()
    await change_plan(trail, "pro")
    trail.clock.advance(seconds=90)
    newer = await trail.record(2)
    await trail.seal()
    newer_seal = await seals().find_one({"_id": seal_id_of(newer[0])})
    assert newer_seal["previous"][0] == seal_id_of(older[0])

    expiry = max(at(e["expiresAt"]) for e in older)
    trail.travel(monkeypatch, expiry + after - trail.clock.now(), db_ahead=db_ahead)

    assert await seals().find_one({"_id": seal_id_of(older[0])}) is None
    report = await trail.verify()
    assert (report["ok"], report["problems"]) == (True, [])


@pytest.mark.parametrize(("after", "db_ahead"), MARGINS)
async def test_entries_of_a_longer_lived_seal_that_expired_are_not_missing(
    trail: Trail, monkeypatch: pytest.MonkeyPatch, after: timedelta, db_ahead: timedelta
) -> None:
    # One window holds entries of both plans: the seal outlives the free ones.
    await change_plan(trail, "free")
    short = await trail.record(2)
    await change_plan(trail, "pro")
    long = await trail.record(2)
    assert seal_id_of(short[0]) == seal_id_of(long[-1])
    await trail.seal()

    expiry = max(at(e["expiresAt"]) for e in short)
    trail.travel(monkeypatch, expiry + after - trail.clock.now(), db_ahead=db_ahead)

    assert await entries().count_documents({"_id": {"$in": [e["id"] for e in short]}}) == 0
    assert await seals().find_one({"_id": seal_id_of(long[0])}) is not None
    report = await trail.verify()
    assert (report["ok"], report["problems"]) == (True, [])


# --- writers and the sealer at once ------------------------------------------------------


async def test_a_window_is_sealed_only_once_its_grace_has_passed(trail: Trail) -> None:
    await trail.api.settle()
    trail.clock.advance(seconds=CLOSES.total_seconds())
    recorded = (await trail.record(1))[0]
    closes = window_start(recorded) + WINDOW + GRACE
    await trail.api.settle()
    trail.clock.set(closes - timedelta(milliseconds=1))

    await trail.app.state.services.seal_trail.run_once()  # seals the earlier windows
    assert await seals().find_one({"_id": seal_id_of(recorded)}) is None
    assert (await trail.verify())["unsealedEntries"] == 1

    trail.clock.set(closes)

    assert await trail.app.state.services.seal_trail.run_once() == 1
    assert await seals().find_one({"_id": seal_id_of(recorded)}) is not None
    report = await trail.verify()
    assert (report["ok"], report["unsealedEntries"]) == (True, 0)


async def test_concurrent_recorders_and_the_sealer_leave_a_trail_that_verifies(
    trail: Trail, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inserts take a while after their entries are stamped (up to 20 ms, while the sealer
    # moves the clock by 15 s every 5 ms or more): within the grace, never beyond it.
    for name in ("add", "add_many"):
        monkeypatch.setattr(
            BeanieAuditEntryRepository, name, slowly(getattr(BeanieAuditEntryRepository, name))
        )
    writers, passes = 5, 30
    ids: list[str] = []
    done = asyncio.Event()

    async def writer(n: int) -> None:
        i = 0
        while not done.is_set():
            if n == 0 and i % 4 == 0:
                batch = await trail.api.gql(
                    "mutation($in: [AuditEventInput!]!) {"
                    " recordAuditEvents(inputs: $in) { entries { id } } }",
                    {
                        "in": [{"application": "admin", "action": "user.created", "success": True}]
                        * 3
                    },
                    token=trail.tenants.acme_rw,
                )
                ids.extend(e["id"] for e in batch.data["recordAuditEvents"]["entries"])
            else:
                ids.extend(e["id"] for e in await trail.record(1, reason=f"writer {n}"))
            i += 1
            await asyncio.sleep(0)

    async def sealer() -> int:
        written = 0
        for _ in range(passes):
            # Steps well under the grace: no insert takes longer than that.
            trail.clock.advance(seconds=15)
            written += await trail.app.state.services.seal_trail.run_once()
            await asyncio.sleep(0.005)
        done.set()
        return written

    written_while_recording, *_ = await asyncio.gather(
        sealer(), *(writer(n) for n in range(writers))
    )
    await trail.seal()

    report = await trail.verify()

    assert len(ids) == len(set(ids)) > passes
    # 30 passes of 15 s: about 7 windows sealed while the writers wrote into later ones.
    assert written_while_recording >= 4
    assert report["problems"] == []
    assert report["ok"] is True
    assert report["unsealedEntries"] == 0
    assert report["entriesVerified"] == await trail.stored()
    assert await entries().count_documents({"_id": {"$in": ids}}) == len(ids)


def slowly(insert: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    async def delayed(*args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(random.uniform(0, 0.02))
        await insert(*args, **kwargs)

    return delayed


# --- who may verify ----------------------------------------------------------------------


async def test_a_key_with_read_verifies_its_own_account(trail: Trail) -> None:
    await trail.record(2)
    await trail.seal()
    expected = await trail.verify()

    assert await trail.verify(trail.tenants.acme_read) == expected
    # A key's verification is recorded (portal.audit_logs.verified): one entry more, not
    # sealed yet, for the next one to count.
    assert await trail.verify(trail.tenants.acme_read, account="acme") == {
        **expected,
        "unsealedEntries": expected["unsealedEntries"] + 1,
    }
    globex = await trail.verify(trail.tenants.globex_rw)
    assert globex["entriesVerified"] == await trail.stored("globex")


async def test_a_key_may_not_verify_another_account(trail: Trail) -> None:
    result = await trail.api.gql(VERIFY, {"account": "globex"}, token=trail.tenants.acme_read)

    assert result.code == "FORBIDDEN"
    assert result.body["data"] is None


async def test_a_key_without_read_may_not_verify(trail: Trail) -> None:
    result = await trail.api.gql(VERIFY, {}, token=trail.tenants.acme_record)

    assert result.code == "FORBIDDEN"


async def test_verifying_needs_credentials(trail: Trail) -> None:
    result = await trail.api.gql(VERIFY, {"account": "acme"}, token=None)

    assert result.code == "UNAUTHENTICATED"


async def test_the_operator_must_name_an_existing_account(trail: Trail) -> None:
    missing = await trail.api.gql(VERIFY, {}, token=OPERATOR_TOKEN)
    unknown = await trail.api.gql(VERIFY, {"account": "initech"}, token=OPERATOR_TOKEN)

    assert missing.code == "BAD_USER_INPUT"
    assert missing.error["extensions"]["field"] == "account"
    assert unknown.code == "NOT_FOUND"


async def test_the_operator_verifies_any_account_it_names(trail: Trail) -> None:
    await trail.record(2, token=trail.tenants.globex_rw, application="shop")
    await trail.seal()

    report = await trail.verify(account="globex")

    assert report["ok"] is True
    assert report["entriesVerified"] == await trail.stored("globex") >= 2


# --- published keys ----------------------------------------------------------------------


async def jwks(trail: Trail) -> dict[str, Any]:
    response = await trail.api.http.get("/.well-known/audit-seal-keys.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


async def test_the_published_key_verifies_the_seals(trail: Trail) -> None:
    recorded = await trail.record(2)
    await trail.seal()
    seal = await trail.app.state.store.seals.get(seal_id_of(recorded[0]))
    ours = Ed25519SealKeys(SIGNING_KEY)

    published = await jwks(trail)

    assert [(k["kty"], k["crv"], k["kid"]) for k in published["keys"]] == [
        ("OKP", "Ed25519", ours.key_id)
    ]
    assert published["keys"][0]["x"] == ours.public_keys[0].jwk()["x"]
    assert "d" not in published["keys"][0]
    assert seal.key_id == ours.key_id
    keys = PublishedSealKeys(published)
    assert keys.verify(seal.key_id, seal.message(), seal.signature)
    altered = dataclasses.replace(seal, merkle_root="0" * 64)
    assert not keys.verify(altered.key_id, altered.message(), altered.signature)


@contextlib.asynccontextmanager
async def acme_trail(configured: Settings, overrides: Overrides) -> AsyncIterator[Trail]:
    """An app of its own with one account, acme, and one key that records and reads."""
    assert overrides.clock is not None
    application = create_app(configured, overrides)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
            api = Api(http, application.state.services.emitter.drain)
            await api.create_account("acme", "pro")
            await api.create_application("acme", "portal")
            key = (await api.issue_key("acme", ["RECORD", "READ"]))[1]
            tenants = Tenants(key, key, key, key, globex_rw="")
            yield Trail(application, api, overrides.clock, tenants)


@pytest.fixture
async def rotated(clock: FakeClock) -> AsyncIterator[tuple[Trail, Ed25519SealKeys]]:
    """An app signing with a new key, the old one retired; yields it and the old key."""
    old = Ed25519SealKeys(new_signing_key())
    retired = old.public_keys[0].jwk()["x"]
    async with acme_trail(sealed_settings(SIGNING_KEY, retired), Overrides(clock=clock)) as trail:
        yield trail, old


async def seal_with(trail: Trail, keys: Ed25519SealKeys, window: datetime) -> str:
    """Seal one window of acme as a sealer holding `keys` would have (before a rotation)."""
    rows = [
        (d["_id"], d["created_at"].astimezone(UTC), d["expires_at"].astimezone(UTC), d["digest"])
        for d in await entries().find({"account": "acme"}).to_list(None)
        if window_of(d["created_at"].astimezone(UTC), WINDOW) == window
    ]
    store = trail.app.state.store
    latest = await store.seals.latest("acme")
    seal = new_seal(
        account="acme",
        window_start=window,
        window=WINDOW,
        entries=rows,
        previous=None if latest is None else latest.link(),
        sealed_at=trail.clock.now(),
    )
    signed = dataclasses.replace(seal, key_id=keys.key_id, signature=keys.sign(seal.message()))
    assert await store.seals.add(signed)
    return signed.id


async def test_a_retired_key_is_published_and_its_seals_still_verify(
    rotated: tuple[Trail, Ed25519SealKeys],
) -> None:
    trail, old = rotated
    before = await trail.record(2)
    trail.clock.advance(seconds=CLOSES.total_seconds())
    await trail.api.settle()
    first = window_of(at(before[0]["createdAt"]), WINDOW)
    assert {window_of(at(e["createdAt"]), WINDOW) for e in before} == {first}
    # Every window before the rotation sealed with the old key.
    windows = {
        window_of(d["created_at"].astimezone(UTC), WINDOW)
        for d in await entries().find({"account": "acme"}).to_list(None)
    }
    old_seals = [await seal_with(trail, old, w) for w in sorted(windows)]
    after = await trail.record(2)
    await trail.seal()

    published = await jwks(trail)
    keys = PublishedSealKeys(published)
    report = await trail.verify()

    assert [(k["kid"], k["status"]) for k in published["keys"]] == [
        (Ed25519SealKeys(SIGNING_KEY).key_id, "current"),
        (old.key_id, "retired"),
    ]
    for seal_key in old_seals:
        seal = await trail.app.state.store.seals.get(seal_key)
        assert seal.key_id == old.key_id
        assert keys.verify(seal.key_id, seal.message(), seal.signature)
    newest = await trail.app.state.store.seals.get(seal_id_of(after[0]))
    assert newest.key_id == Ed25519SealKeys(SIGNING_KEY).key_id
    assert newest.previous.seal_id == old_seals[-1]
    assert report["problems"] == []
    assert report["ok"] is True
    assert report["windowsChecked"] == len(old_seals) + 1
    assert report["entriesVerified"] == await trail.stored()

    # Without the retired key, the same seals do not verify: the listing is what counts.
    store = trail.app.state.store
    forgetful = VerifyAuditLogs(
        entries=store.entries,
        seals=store.seals,
        state=store.sealer_state,
        keys=Ed25519SealKeys(SIGNING_KEY),
        accounts=store.accounts,
        clock=trail.clock,
        limiter=trail.app.state.services.limiter,
        self_audit=trail.app.state.services.self_audit,
    )
    findings = await forgetful.execute(Operator(), account="acme")
    assert {p.kind for p in findings.problems} == {"SEAL_INVALID"}


async def test_a_key_bound_to_one_application_may_not_verify_the_whole_account(
    trail: Trail,
) -> None:
    bound = (await trail.api.issue_key("acme", ["READ"], "portal"))[1]

    result = await trail.api.gql("{ verifyAuditLogs { ok } }", token=bound)

    assert result.code == "FORBIDDEN"


async def test_seal_stores_given_to_the_app_are_the_ones_it_seals_into(clock: FakeClock) -> None:
    given, state = InMemorySeals(), InMemorySealerState()
    overrides = Overrides(clock=clock, seals=given, sealer_state=state)
    async with acme_trail(sealed_settings(), overrides) as trail:
        [recorded] = await trail.record()
        assert await trail.seal() >= 1
        report = await trail.verify()

    assert seal_id_of(recorded) in given.seals
    assert state.through is not None
    assert await seals().count_documents({}) == 0
    assert report["ok"]
    assert report["entriesVerified"] >= 1
