"""Rows to domain objects and back: the one place that knows how a value is stored.

An entry's columns are its dataclass fields under their names (a test holds the schema to
them), in field order but for those a migration appended. The exceptions are written here
once: timestamps are integer microseconds since the epoch (UTC), so ordering and ranges are
integer index ranges and every instant a datetime can hold reads back exactly; booleans are
0/1; an actor, targets and metadata are JSON in the form the digest covers.
"""

import json
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.entry import AuditEntry
from domain.event_parts import Party
from domain.integrity import Seal, SealedEntry, SealLink
from domain.tenancy import Account, ApiKey, Application, Scope

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch in UTC (an aware datetime)."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


_APPENDED = ("occurred_at", "idempotency_key", "actor", "targets", "metadata")
"""Columns migration 4 added: at the end of the table, not where their fields are."""
ENTRY_COLUMNS = (
    *(f.name for f in fields(AuditEntry) if f.name not in _APPENDED),
    *_APPENDED,
)
"""The entries table's columns, in the table's order."""
ENTRY_SELECT = ", ".join(ENTRY_COLUMNS)
ENTRY_INSERT = (
    f"INSERT INTO entries ({ENTRY_SELECT}) VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})"
)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def entry_to_row(entry: AuditEntry) -> tuple[Any, ...]:
    """The entry's columns: parties and metadata as JSON (no targets, no metadata: NULL)."""
    occurred_at = entry.occurred_at
    return (
        entry.id,
        entry.account,
        entry.application,
        entry.action,
        int(entry.success),
        entry.email,
        entry.reason,
        entry.ip,
        entry.user_agent,
        entry.request_id,
        to_micros(entry.created_at),
        to_micros(entry.expires_at),
        entry.digest,
        None if occurred_at is None else to_micros(occurred_at),
        entry.idempotency_key,
        None if entry.actor is None else _json(entry.actor.as_json()),
        _json([target.as_json() for target in entry.targets]) if entry.targets else None,
        None if entry.metadata is None else _json(entry.metadata),
    )


TARGET_INSERT = (
    "INSERT INTO entry_targets (account, target_id, target_type, created_at, entry_id, expires_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def entry_target_rows(entry: AuditEntry) -> list[tuple[Any, ...]]:
    """The entry's rows in entry_targets: one per distinct target id (type NULL), type (id
    NULL) and (id, type), so no filter finds an entry twice."""
    if not entry.targets:
        return []
    keys = dict.fromkeys(
        key
        for target in entry.targets
        for key in ((target.id, None), (None, target.type), (target.id, target.type))
    )
    created_at, expires_at = to_micros(entry.created_at), to_micros(entry.expires_at)
    return [
        (entry.account, target_id, target_type, created_at, entry.id, expires_at)
        for target_id, target_type in keys
    ]


_UNPACKED = (
    "id", "account", "application", "action", "success", "email", "reason", "ip",
    "user_agent", "request_id", "created_at", "expires_at", "digest", "occurred_at",
    "idempotency_key", "actor", "targets", "metadata",
)  # fmt: skip
if ENTRY_COLUMNS != _UNPACKED:  # pragma: no cover - a new field must be mapped below
    raise RuntimeError("entry_to_domain unpacks the columns of an older AuditEntry")


_SLOTS = tuple(AuditEntry.__dict__[name].__set__ for name in ENTRY_COLUMNS)
"""Each column's slot of an AuditEntry, in column order."""
_new = object.__new__


def entry_to_domain(row: Sequence[Any]) -> AuditEntry:
    # Unpacked by position rather than through a dict: an export maps every row it sends,
    # and this is about half the cost of the generic loop (bench/sqlite_store.py). The slots
    # are filled directly rather than through __init__, whose 18 keyword arguments cost as
    # much again: the row was a valid entry when written, and its digest is stored, so
    # there is nothing for __init__ to check or compute. JSON is parsed only where there is
    # some: most entries have no actor, targets or metadata.
    (id_, account, application, action, success, email, reason, ip, user_agent, request_id,
     created_at, expires_at, digest, occurred_at, idempotency_key, actor, targets,
     metadata) = row  # fmt: skip
    entry = _new(AuditEntry)
    values = (
        id_,
        account,
        application,
        action,
        bool(success),
        email,
        reason,
        ip,
        user_agent,
        request_id,
        _EPOCH + timedelta(microseconds=created_at),
        _EPOCH + timedelta(microseconds=expires_at),
        digest,
        None if occurred_at is None else _EPOCH + timedelta(microseconds=occurred_at),
        idempotency_key,
        None if actor is None else Party(**json.loads(actor)),
        () if targets is None else tuple(Party(**t) for t in json.loads(targets)),
        None if metadata is None else json.loads(metadata),
    )
    for fill, value in zip(_SLOTS, values):  # noqa: B905 - as long: _UNPACKED is ENTRY_COLUMNS
        fill(entry, value)
    return entry


SEAL_COLUMNS = (
    "id, account, window_start, window_end, entries, merkle_root, previous, sealed_at, "
    "key_id, signature, expires_at, version"
)


def seal_to_row(seal: Seal) -> tuple[Any, ...]:
    previous = seal.previous
    return (
        seal.id,
        seal.account,
        to_micros(seal.window_start),
        to_micros(seal.window_end),
        json.dumps([[e.id, to_micros(e.expires_at), e.digest] for e in seal.entries]),
        seal.merkle_root,
        None
        if previous is None
        else json.dumps([previous.seal_id, previous.hash, to_micros(previous.expires_at)]),
        to_micros(seal.sealed_at),
        seal.key_id,
        seal.signature,
        to_micros(seal.expires_at),
        seal.version,
    )


def seal_to_domain(row: Sequence[Any]) -> Seal:
    _, account, start, end, entries, root, previous, sealed_at, key_id, signature, _, version = row
    link = None
    if previous is not None:
        seal_id, hash_, expires = json.loads(previous)
        link = SealLink(seal_id, hash_, from_micros(expires))
    return Seal(
        account=account,
        window_start=from_micros(start),
        window_end=from_micros(end),
        entries=tuple(
            SealedEntry(id_, from_micros(expires), digest)
            for id_, expires, digest in json.loads(entries)
        ),
        merkle_root=root,
        previous=link,
        sealed_at=from_micros(sealed_at),
        key_id=key_id,
        signature=signature,
        version=version,
    )


ACCOUNT_COLUMNS = "id, name, plan"


def account_to_row(account: Account) -> tuple[Any, ...]:
    return (account.id, account.name, account.plan)


def account_to_domain(row: Sequence[Any]) -> Account:
    return Account(id=row[0], name=row[1], plan=row[2])


APPLICATION_COLUMNS = "id, account, name"


def application_to_row(application: Application) -> tuple[Any, ...]:
    return (application.id, application.account, application.name)


def application_to_domain(row: Sequence[Any]) -> Application:
    return Application(id=row[0], account=row[1], name=row[2])


KEY_COLUMNS = "id, account, application, scopes, secret_hash, revoked, created_at"


def key_to_row(key: ApiKey) -> tuple[Any, ...]:
    return (
        key.id,
        key.account,
        key.application,
        json.dumps(sorted(scope.value for scope in key.scopes)),
        key.secret_hash,
        int(key.revoked),
        to_micros(key.created_at),
    )


def key_to_domain(row: Sequence[Any]) -> ApiKey:
    id_, account, application, scopes, secret_hash, revoked, created_at = row
    return ApiKey(
        id=id_,
        account=account,
        application=application,
        scopes=frozenset(Scope(scope) for scope in json.loads(scopes)),
        secret_hash=secret_hash,
        revoked=bool(revoked),
        created_at=from_micros(created_at),
    )
