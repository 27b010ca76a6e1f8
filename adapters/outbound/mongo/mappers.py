"""Data mappers between Beanie documents and domain objects (Beanie has no classical mapping)."""

from dataclasses import fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import get_args

from adapters.outbound.mongo.documents import (
    AccountDocument,
    ApiKeyDocument,
    ApplicationDocument,
    AuditLogDocument,
    PartyDocument,
    SealDocument,
)
from domain.entry import AuditEntry
from domain.event_parts import Party
from domain.integrity import Seal, SealedEntry, SealLink
from domain.tenancy import Account, ApiKey, Application, Scope


def _utc(moment: datetime) -> datetime:
    # The driver returns its own fixed-offset UTC tzinfo; the domain uses datetime.UTC.
    return moment.astimezone(UTC)


# An entry is stored under its own field names, but for its id (`_id`); every field is
# stored (a test holds the document to the entry), parties as subdocuments, timestamps read
# back in datetime.UTC. A document stored before a field existed reads back with its default.
_ENTRY_FIELDS = tuple(f.name for f in fields(AuditEntry))
_ENTRY_KEYS = {name: "_id" if name == "id" else name for name in _ENTRY_FIELDS}
_ENTRY_TIMESTAMPS = tuple(
    f.name for f in fields(AuditEntry) if f.type is datetime or datetime in get_args(f.type)
)
_entry_values = attrgetter(*_ENTRY_FIELDS)


def _party_document(party: Party) -> PartyDocument:
    return PartyDocument(id=party.id, type=party.type, name=party.name)


def _party(document: PartyDocument) -> Party:
    return Party(document.id, document.type, document.name)


def entry_to_document(entry: AuditEntry) -> AuditLogDocument:
    values = {key: getattr(entry, name) for name, key in _ENTRY_KEYS.items()}
    values["actor"] = None if entry.actor is None else _party_document(entry.actor)
    values["targets"] = [_party_document(target) for target in entry.targets]
    return AuditLogDocument(**values)


def entry_to_domain(document: AuditLogDocument) -> AuditEntry:
    values = dict(zip(_ENTRY_FIELDS, _entry_values(document), strict=True))
    for name in _ENTRY_TIMESTAMPS:
        if values[name] is not None:
            values[name] = _utc(values[name])
    values["actor"] = None if document.actor is None else _party(document.actor)
    values["targets"] = tuple(_party(target) for target in document.targets)
    return AuditEntry(**values)


def seal_to_document(seal: Seal) -> SealDocument:
    previous = seal.previous
    return SealDocument(
        _id=seal.id,
        account=seal.account,
        window_start=seal.window_start,
        window_end=seal.window_end,
        entries=[(e.id, e.expires_at, e.digest) for e in seal.entries],
        merkle_root=seal.merkle_root,
        previous=None
        if previous is None
        else (previous.seal_id, previous.hash, previous.expires_at),
        sealed_at=seal.sealed_at,
        key_id=seal.key_id,
        signature=seal.signature,
        expires_at=seal.expires_at,
        version=seal.version,
    )


def seal_to_domain(document: SealDocument) -> Seal:
    previous = document.previous
    return Seal(
        account=document.account,
        window_start=_utc(document.window_start),
        window_end=_utc(document.window_end),
        entries=tuple(
            SealedEntry(id_, _utc(expires), digest) for id_, expires, digest in document.entries
        ),
        merkle_root=document.merkle_root,
        previous=None
        if previous is None
        else SealLink(previous[0], previous[1], _utc(previous[2])),
        sealed_at=_utc(document.sealed_at),
        key_id=document.key_id,
        signature=document.signature,
        version=document.version,
    )


def account_to_document(account: Account) -> AccountDocument:
    return AccountDocument(_id=account.id, name=account.name, plan=account.plan)


def account_to_domain(document: AccountDocument) -> Account:
    return Account(id=document.id, name=document.name, plan=document.plan)


def application_to_document(application: Application) -> ApplicationDocument:
    return ApplicationDocument(
        _id=application.id, account=application.account, name=application.name
    )


def application_to_domain(document: ApplicationDocument) -> Application:
    return Application(id=document.id, account=document.account, name=document.name)


def key_to_document(key: ApiKey) -> ApiKeyDocument:
    return ApiKeyDocument(
        _id=key.id,
        account=key.account,
        application=key.application,
        scopes=sorted(scope.value for scope in key.scopes),
        secret_hash=key.secret_hash,
        revoked=key.revoked,
        created_at=key.created_at,
    )


def key_to_domain(document: ApiKeyDocument) -> ApiKey:
    return ApiKey(
        id=document.id,
        account=document.account,
        application=document.application,
        scopes=frozenset(Scope(scope) for scope in document.scopes),
        secret_hash=document.secret_hash,
        revoked=document.revoked,
        created_at=_utc(document.created_at),
    )
