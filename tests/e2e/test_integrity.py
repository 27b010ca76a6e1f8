"""Tamper evidence over HTTP: digests as recorded and read, verifyAuditLogs' fields and
codes, who may verify, the published seal keys, and the sealer wired to the stores.

What the verifier concludes from each kind of tampering, and why expiry is never tampering,
is specified once, against the use case: tests/unit/application/sealing/test_verify*.py.
Here the trail is tampered with directly in MongoDB (as someone with database access would),
once for an entry and once for a seal, to show the findings as a client reads them.

The background sealer is configured to run once at start-up and then sleep for an hour, so
each test seals explicitly, after moving the clock past the windows' end and grace.
"""

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from adapters.outbound.mongo.documents import AuditLogDocument, SealDocument
from adapters.outbound.seal_keys import Ed25519SealKeys, PublishedSealKeys, new_signing_key
from domain.entry import DIGEST_FIELDS, AuditEntry, entry_digest
from domain.event_parts import Party
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
    "occurred_at": "occurredAt",
    "idempotency_key": "idempotencyKey",
}


def sealed_settings(signing_key: str = SIGNING_KEY, retired: str = "") -> Settings:
    seals = SealSettings(
        signing_key=signing_key,  # type: ignore[arg-type]
        previous_public_keys=retired,
        interval_seconds=3600,
        window_seconds=int(WINDOW.total_seconds()),
        grace_seconds=int(GRACE.total_seconds()),
    )
    return dataclasses.replace(settings(store="memory"), seals=seals)


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
    times = {name: at(fields[name]) for name in ("created_at", "expires_at", "occurred_at")}
    return entry_digest({**fields, **times})


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
        fields["targets"] = tuple(Party(**target) for target in stored.get("targets", ()))
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


async def test_a_stored_entry_changed_is_reported_modified_at_its_window(
    trail: Trail, sealed: Sealed
) -> None:
    target = sealed.target
    result = await entries().update_one({"_id": target["id"]}, {"$set": {"reason": "all good"}})
    assert result.modified_count == 1

    report = await trail.verify()

    assert report["ok"] is False
    [problem] = report["problems"]
    assert problem["kind"] == "MODIFIED"
    assert problem["entryId"] == target["id"]
    assert at(problem["window"]) == window_start(target)
    assert problem["detail"]
    # since and until reach the use case: the windows before it and after it are clean.
    for bound in ({"until": window_start(target)}, {"since": window_start(target) + WINDOW}):
        bounded = await trail.verify(**{k: v.isoformat() for k, v in bound.items()})
        assert (bounded["ok"], bounded["windowsChecked"]) == (True, 1)


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
    # One problem, at the missing seal's own window, naming it; no entry id.
    [problem] = report["problems"]
    assert (problem["kind"], problem["entryId"]) == ("SEAL_MISSING", None)
    assert middle in problem["detail"]
    assert at(problem["window"]) == window_start(sealed.target)


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


async def test_verifying_needs_credentials(trail: Trail) -> None:
    result = await trail.api.gql(VERIFY, {"account": "acme"}, token=None)

    assert result.code == "UNAUTHENTICATED"


async def test_the_operator_must_name_an_existing_account(trail: Trail) -> None:
    missing = await trail.api.gql(VERIFY, {}, token=OPERATOR_TOKEN)
    unknown = await trail.api.gql(VERIFY, {"account": "initech"}, token=OPERATOR_TOKEN)

    assert missing.code == "BAD_USER_INPUT"
    assert missing.error["extensions"]["field"] == "account"
    assert unknown.code == "NOT_FOUND"


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
