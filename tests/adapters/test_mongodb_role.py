"""auditlog-mongodb-role: append-only held by MongoDB itself. The role may insert and find
audit entries, seals and checkpoints, never update or remove them; the rest stays updatable,
and log streams may also be removed.

The part that connects as the role's user needs a real MongoDB with access control
(AUDITLOG_TEST_MONGODB_URI, as a user allowed to create roles and users)."""

import contextlib
import dataclasses
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import mongomock
import pytest
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo.errors import OperationFailure

from adapters.outbound.mongo.role import create_role, privileges
from adapters.outbound.mongo.store import MongoStore, StoreUnreachable
from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from application.reading.criteria import EntryCriteria, LogFilter
from domain.integrity import new_seal
from entrypoints.mongodb_role import main
from tests import configs
from tests.adapters.conftest import REAL_MONGODB_URI
from tests.adapters.test_log_stream_documents import minimal
from tests.builders import entry

NO_MONGODB = (
    "AUDITLOG_TEST_MONGODB_URI is not set: the role is enforced only by a real MongoDB "
    "with access control"
)
APPEND_ONLY = ("audit_logs", "audit_seals", "audit_checkpoints")
# Any of these on an append-only collection would let its documents be changed or removed.
CHANGING = {"update", "remove", "dropCollection", "collMod", "renameCollectionSameDB",
            "convertToCapped", "dropIndex", "compact", "emptycapped"}  # fmt: skip
UNAUTHORIZED = 13


def granted(database: str = "auditlog") -> dict[str, set[str]]:
    return {
        p["resource"]["collection"]: set(p["actions"])
        for p in privileges(database)
        if p["resource"]["db"] == database
    }


class TestPrivileges:
    def test_entries_seals_and_checkpoints_can_be_found_and_inserted_but_not_changed(self) -> None:
        actions = granted()

        for collection in APPEND_ONLY:
            assert {"find", "insert"} <= actions[collection]
            assert not actions[collection] & CHANGING, collection

    def test_accounts_keys_and_the_lease_stay_updatable(self) -> None:
        actions = granted()

        for collection in ("accounts", "applications", "api_keys", "seal_leases"):
            assert {"find", "insert", "update"} <= actions[collection]
            assert "remove" not in actions[collection]

    def test_log_streams_can_be_found_inserted_updated_and_removed(self) -> None:
        # A stream is rewritten as it delivers and deleted on request: not append-only.
        actions = granted()

        assert {"find", "insert", "update", "remove"} <= actions["log_streams"]
        assert not actions["log_streams"] & (CHANGING - {"update", "remove"})

    def test_only_log_streams_may_be_removed(self) -> None:
        removable = {name for name, actions in granted().items() if "remove" in actions}

        assert removable == {"log_streams"}

    def test_nothing_is_granted_beyond_the_database_or_on_every_collection(self) -> None:
        resources = [p["resource"] for p in privileges("audit_prod")]

        assert {r["db"] for r in resources} == {"audit_prod"}
        on_all = [p for p in privileges("audit_prod") if p["resource"]["collection"] == ""]
        assert [p["actions"] for p in on_all] == [["listCollections"]]

    def test_no_index_that_deletes_can_be_created_on_entries_seals_or_checkpoints(self) -> None:
        actions = granted()

        for collection in APPEND_ONLY:
            assert "createIndex" not in actions[collection], collection


class TestCommand:
    def test_print_shows_the_role_to_create(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["print", "--db", "audit_prod", "--role", "auditlogSvc"]) == 0

        out = capsys.readouterr().out
        assert out.startswith("use audit_prod\n")
        assert "db.createRole(" in out
        definition = json.loads(out[out.index("(") + 1 : out.rindex(")")])
        assert definition == {
            "role": "auditlogSvc",
            "privileges": privileges("audit_prod"),
            "roles": [],
        }
        assert "createUser" not in out

    def test_print_with_a_user_prompts_for_its_password(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["print", "--user", "auditlog"]) == 0

        out = capsys.readouterr().out
        assert "db.createRole(" in out
        assert 'db.createUser({user: "auditlog", pwd: passwordPrompt()' in out
        assert '{role: "auditlogService", db: "auditlog"}' in out

    def test_create_with_a_user_needs_a_password_variable(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("AUDITLOG_TEST_ROLE_PASSWORD", raising=False)
        uri = "mongodb://127.0.0.1:1"

        assert main(["create", "--uri", uri, "--user", "auditlog"]) == 2
        assert main(["create", "--uri", uri, "--user", "auditlog",
                     "--password-env", "AUDITLOG_TEST_ROLE_PASSWORD"]) == 2  # fmt: skip
        assert "--password-env" in capsys.readouterr().err


def as_user(uri: str, user: str, password: str, database: str) -> str:
    """`uri` with the given credentials instead of its own, authenticating on `database`."""
    parts = urlsplit(uri)
    host = parts.netloc.rsplit("@", 1)[-1]
    query = [q for q in parts.query.split("&") if q and not q.startswith("authSource=")]
    query.append(f"authSource={database}")
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", "&".join(query), ""))


@dataclasses.dataclass
class Restricted:
    store: MongoStore
    database: str

    def collection(self, name: str) -> Any:
        return self.store.client[self.database][name]


@pytest.fixture
async def restricted() -> AsyncIterator[Restricted]:
    """A fresh database, the role and a user holding it (made by create_role, as the command does),
    and the store opened as that user; all dropped afterwards."""
    if REAL_MONGODB_URI is None:
        pytest.skip(NO_MONGODB)
    database = f"auditlog_role_{uuid.uuid4().hex[:12]}"
    role, user = "auditlogService", f"auditlog_{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(24)
    admin: AsyncIOMotorClient[Any] = AsyncIOMotorClient(
        REAL_MONGODB_URI, serverSelectionTimeoutMS=5_000
    )
    try:
        try:
            await create_role(
                configs.client_options(REAL_MONGODB_URI), database, role, user, password
            )
        except StoreUnreachable as exc:
            pytest.skip(f"the AUDITLOG_TEST_MONGODB_URI user cannot create roles: {exc}")
        store = await MongoStore.open(
            configs.client_options(as_user(REAL_MONGODB_URI, user, password, database)),
            database=database,
            manage_indexes=False,
        )
        try:
            try:
                await store.client[database]["not_granted"].insert_one({"_id": 1})
            except OperationFailure:
                pass
            else:
                pytest.skip("the MongoDB at AUDITLOG_TEST_MONGODB_URI does not enforce "
                            "access control (start it with --auth)")  # fmt: skip
            yield Restricted(store, database)
        finally:
            await store.close()
    finally:
        db = admin[database]
        for command in ({"dropUser": user}, {"dropRole": role}):
            with contextlib.suppress(OperationFailure):  # not created
                await db.command(command)
        await admin.drop_database(database)
        admin.close()


async def test_as_the_role_the_service_records_and_reads_but_cannot_change(
    restricted: Restricted,
) -> None:
    store = restricted.store
    now = datetime.now(UTC).replace(microsecond=0)
    recorded = entry(created_at=now)
    await store.entries.add(recorded)
    keys = Ed25519SealKeys(new_signing_key())
    seal = new_seal(
        account=recorded.account,
        window_start=now.replace(second=0),
        window=timedelta(minutes=1),
        entries=[(recorded.id, recorded.created_at, recorded.expires_at, recorded.digest)],
        previous=None,
        sealed_at=now,
    )
    seal = dataclasses.replace(seal, key_id=keys.key_id, signature=keys.sign(seal.message()))
    assert await store.seals.add(seal)
    # The sealer's lease and watermark need updates: they work.
    assert await store.sealer_state.acquire("a", now=now, until=now + timedelta(minutes=2))
    await store.sealer_state.advance("a", now)
    assert await store.sealer_state.sealed_through() == now
    # Log streams are rewritten and deleted: they work too.
    stream = minimal()
    await store.log_streams.add(stream)
    moved = stream.replace(name="moved", version=1)
    assert await store.log_streams.replace(moved, expected_version=0)
    assert await store.log_streams.get(stream.id) == moved
    assert await store.log_streams.delete(stream.id)

    assert await store.seals.get(seal.id) == seal
    for name, document_id in (("audit_logs", recorded.id), ("audit_seals", seal.id)):
        collection = restricted.collection(name)
        assert await collection.find_one({"_id": document_id}) is not None
        attempts = changes(collection, document_id)
        for what, attempt in attempts.items():
            with pytest.raises(OperationFailure) as refused:
                await attempt()
            assert refused.value.code == UNAUTHORIZED, (name, what)
        unchanged = await collection.find_one({"_id": document_id})
        assert unchanged is not None
        assert "x" not in unchanged
        assert "reason" not in unchanged or unchanged["reason"] != "all good"
        assert await collection.count_documents({}) == 1, name

    assert await store.seals.get(seal.id) == seal
    assert [e.id async for batch in store.entries.stream(everything(), now=now) for e in batch] == [
        recorded.id
    ]


def changes(collection: Any, document_id: str) -> dict[str, Callable[[], Awaitable[Any]]]:
    """Every way a driver call changes or removes documents, by name, ready to call."""
    change = {"$set": {"reason": "all good"}}
    return {
        "update_one": lambda: collection.update_one({"_id": document_id}, change),
        "update_many": lambda: collection.update_many({}, change),
        "replace_one": lambda: collection.replace_one({"_id": document_id}, {"x": 1}),
        "find_one_and_update": lambda: collection.find_one_and_update({"_id": document_id}, change),
        "find_one_and_replace": lambda: collection.find_one_and_replace({"_id": document_id}, {}),
        "delete_one": lambda: collection.delete_one({"_id": document_id}),
        "delete_many": lambda: collection.delete_many({}),
        "find_one_and_delete": lambda: collection.find_one_and_delete({"_id": document_id}),
        "drop": lambda: collection.drop(),
    }


def everything() -> EntryCriteria:
    return EntryCriteria(LogFilter())


async def test_a_refusal_is_reported_by_its_code_without_the_drivers_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said = "not authorized on auditlog as admin:hunter2@db1.internal"

    answer = mongomock.database.Database.command

    def refuse(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(command, dict) and "rolesInfo" in command:  # the store itself opens
            raise OperationFailure(said, code=UNAUTHORIZED, details={"codeName": "Unauthorized"})
        return answer(self, command, *args, **kwargs)

    monkeypatch.setattr(mongomock.database.Database, "command", refuse)

    with pytest.raises(StoreUnreachable) as refused:
        await create_role(
            configs.client_options(None), "auditlog_role", "auditlogService", None, None
        )

    assert str(refused.value) == "the database refused the request (Unauthorized)"
    assert "hunter2" not in str(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__
