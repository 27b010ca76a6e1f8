"""Beanie documents: how entries, seals, checkpoints, accounts, applications and keys are laid
out in MongoDB."""

from datetime import datetime
from typing import Any

from beanie import Document
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

# Read paths lead with the equality fields (account, application, action, email, actor,
# target) and then the sort (created_at, _id), per MongoDB's Equality-Sort-Range rule; the
# range on created_at (since/until) and the keyset bound ride on the same sort key. Pages
# oldest first walk the same indexes backwards.
_NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]

KEYED = {"idempotency_key": {"$type": "string"}}
"""The entries the unique key index holds: those with a key (without one, none clash).
A query that states this too is one the planner may answer from that partial index."""


class PartyDocument(BaseModel):
    """An actor or a target (`domain.event_parts.Party`), under its own field names."""

    id: str
    type: str
    name: str | None = None


class AuditLogDocument(Document):
    id: str = Field(alias="_id")  # type: ignore[assignment]  # string ids, not ObjectIds
    account: str
    application: str
    action: str
    success: bool
    email: str | None = None
    reason: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    created_at: datetime
    expires_at: datetime
    # Absent from documents stored before events had them: they read back as None, empty.
    occurred_at: datetime | None = None
    idempotency_key: str | None = None
    actor: PartyDocument | None = None
    targets: list[PartyDocument] = Field(default_factory=list)
    metadata: dict[str, str | int | float | bool | None] | None = None
    digest: str

    class Settings:
        name = "audit_logs"
        keep_nulls = False
        indexes = [
            # Physical deletion by MongoDB's TTL monitor once expires_at has passed.
            IndexModel([("expires_at", ASCENDING)], name="ttl_expires_at", expireAfterSeconds=0),
            IndexModel([("account", ASCENDING), *_NEWEST_FIRST], name="account_newest"),
            IndexModel([("application", ASCENDING), *_NEWEST_FIRST], name="application_newest"),
            IndexModel(
                [("account", ASCENDING), ("action", ASCENDING), *_NEWEST_FIRST],
                name="account_action_newest",
            ),
            IndexModel(
                [("account", ASCENDING), ("email", ASCENDING), *_NEWEST_FIRST],
                name="account_email_newest",
            ),
            IndexModel(
                [("account", ASCENDING), ("actor.id", ASCENDING), *_NEWEST_FIRST],
                name="account_actor_newest",
            ),
            # Multikey: one key per target, so an entry is found by any of its targets.
            IndexModel(
                [("account", ASCENDING), ("targets.id", ASCENDING), *_NEWEST_FIRST],
                name="account_target_id_newest",
            ),
            IndexModel(
                [("account", ASCENDING), ("targets.type", ASCENDING), *_NEWEST_FIRST],
                name="account_target_type_newest",
            ),
            # The guard on idempotency keys: two inserts racing with one key cannot both
            # succeed. Partial, so entries without a key (null) never clash.
            IndexModel(
                [("account", ASCENDING), ("idempotency_key", ASCENDING)],
                name="account_idempotency_key",
                unique=True,
                partialFilterExpression=KEYED,
            ),
        ]


class AccountDocument(Document):
    id: str = Field(alias="_id")  # type: ignore[assignment]  # string ids, not ObjectIds
    name: str
    plan: str

    class Settings:
        name = "accounts"


class ApplicationDocument(Document):
    id: str = Field(alias="_id")  # type: ignore[assignment]  # string ids, not ObjectIds
    account: str
    name: str

    class Settings:
        name = "applications"
        indexes = [IndexModel([("account", ASCENDING)], name="account")]


class ApiKeyDocument(Document):
    id: str = Field(alias="_id")  # type: ignore[assignment]  # string ids, not ObjectIds
    account: str
    application: str | None = None
    scopes: list[str]
    secret_hash: str
    revoked: bool
    created_at: datetime

    class Settings:
        name = "api_keys"
        indexes = [IndexModel([("account", ASCENDING)], name="account")]


class SealDocument(Document):
    """One account's window of the trail, sealed; deleted by TTL with its last entry."""

    id: str = Field(alias="_id")  # type: ignore[assignment]  # "<account>/<window start>"
    account: str
    window_start: datetime
    window_end: datetime
    entries: list[tuple[str, datetime, str]]
    """(id, expires_at, digest) in (created_at, id) order."""
    merkle_root: str
    previous: tuple[str, str, datetime] | None = None
    """(seal id, hash, expires_at) of the account's previous seal."""
    sealed_at: datetime
    key_id: str
    signature: str
    expires_at: datetime
    version: int = 1
    """The seal's format (`domain.integrity.Seal.version`); absent on seals written before."""

    class Settings:
        name = "audit_seals"
        indexes = [
            IndexModel([("expires_at", ASCENDING)], name="ttl_expires_at", expireAfterSeconds=0),
            IndexModel(
                [("account", ASCENDING), ("window_start", ASCENDING)], name="account_window"
            ),
        ]


class SealerStateDocument(Document):
    """The sealer's lease and watermark: a single document, `_id` "sealer"."""

    id: str = Field(alias="_id")  # type: ignore[assignment]
    holder: str
    until: datetime
    sealed_through: datetime | None = None

    class Settings:
        name = "seal_leases"


class ListedSealDocument(BaseModel):
    """A seal a checkpoint lists, by what `listing` looks it up by."""

    account: str
    window_start: datetime


class CheckpointDocument(Document):
    """One of the sealer's signed checkpoints, `_id` its sequence; deleted by TTL once it and
    every seal it lists have expired."""

    id: int = Field(alias="_id")  # type: ignore[assignment]  # the sequence
    document: dict[str, Any]
    """`Checkpoint.document()` as written: what is read back is what was signed."""
    sealed: list[ListedSealDocument]
    expires_at: datetime

    class Settings:
        name = "audit_checkpoints"
        indexes = [
            IndexModel([("expires_at", ASCENDING)], name="ttl_expires_at", expireAfterSeconds=0),
            # Multikey: one key per listed seal, so `listing` is one index range.
            IndexModel(
                [("sealed.account", ASCENDING), ("sealed.window_start", ASCENDING)],
                name="sealed_account_window",
            ),
        ]


class LogStreamDocument(Document):
    """A log stream (issue 17): rewritten as it delivers (compared and set on `version`) and
    deleted on request, so not append-only. `stream` is the stream's JSON document
    (adapters.outbound.mongo.stream_documents); account, created_at and version sit beside
    it for the index, the order and the compare-and-set."""

    id: str = Field(alias="_id")  # type: ignore[assignment]  # string ids, not ObjectIds
    account: str
    created_at: int
    """Microseconds since the epoch, UTC: a BSON date keeps milliseconds, and streams
    created within one millisecond must still list in creation order."""
    version: int
    stream: dict[str, Any]

    class Settings:
        name = "log_streams"
        indexes = [
            IndexModel(
                [("account", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
                name="account_oldest",
            )
        ]


DOCUMENT_MODELS: list[type[Document]] = [
    AuditLogDocument,
    SealDocument,
    CheckpointDocument,
    SealerStateDocument,
    AccountDocument,
    ApplicationDocument,
    ApiKeyDocument,
    LogStreamDocument,
]
