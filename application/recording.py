"""Use cases: record one audit event, or a batch of them all or nothing."""

import asyncio
import dataclasses
import hashlib
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime

from application.access.plans import retention_of
from application.access.principal import Principal, System
from application.access.rate_limit import RateLimiter
from application.access.tenancy import Directory, application_for_recording, require_scope
from application.errors import (
    BatchItemError,
    Forbidden,
    IdempotencyKeyReused,
    IdempotencyKeyTaken,
    NotFound,
    PlanNotConfigured,
    StoreUnavailable,
)
from application.ports import AuditEntryRepository, Clock, IdGenerator, Telemetry
from domain import validation
from domain.credentials import KnownSecrets
from domain.entry import AuditEntry, AuditEvent, OccurrenceWindow
from domain.errors import InvalidField
from domain.plan import PlanCatalog
from domain.retention import RetentionPolicy
from domain.tenancy import Scope
from domain.timestamps import at_storage_precision

log = logging.getLogger("auditlog.recording")

MAX_BATCH = 1_000
YIELD_EVERY = 100
# An insert refused for a key that the look-up before it did not see (another request
# stored it in between) is looked up again; more races than this in a row are a store fault.
_KEY_RACES = 3
_FIELDS = tuple(f.name for f in dataclasses.fields(AuditEvent))
# Fields the service's own events take from a caller's request (its Origin): dropped when
# they hold a secret, so the event is still recorded.
_ORIGIN_FIELDS = frozenset({"ip", "user_agent", "request_id"})


class Ingestion:
    """Authorise each event, resolve its account and plan now, stamp and fix retention."""

    def __init__(
        self,
        *,
        directory: Directory,
        plans: PlanCatalog,
        clock: Clock,
        ids: IdGenerator,
        limiter: RateLimiter,
        known_secrets: KnownSecrets | None = None,
        occurrence: OccurrenceWindow | None = None,
    ) -> None:
        self._limiter = limiter
        self._occurrence = occurrence or OccurrenceWindow()
        self._known_secrets = known_secrets or KnownSecrets()
        self._directory = directory
        self._plans = plans
        self._clock = clock
        self._ids = ids

    async def entries(
        self,
        principal: Principal,
        events: Sequence[AuditEvent],
        *,
        delivery_id: str | None = None,
    ) -> list[AuditEntry]:
        """The events' entries, or BatchItemError naming the first event refused (its index
        and why: Forbidden, NotFound, PlanNotConfigured or InvalidField). Scope and rate
        limit are the request's, raised as they are."""
        require_scope(principal, Scope.RECORD)
        self._limiter.take(principal, "record", cost=len(events))
        now = self._clock.now()
        # Each application and account is looked up once per request, however many events.
        owners: dict[str, tuple[str, RetentionPolicy]] = {}
        entries = []
        for index, given in enumerate(events):
            if index and index % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a batch of 1000 is CPU work: let others in between
            try:
                event = self._without_secrets(principal, given)
                if event.occurred_at is not None:
                    # Against the time the entry is stamped with (milliseconds).
                    self._occurrence.check(event.occurred_at, at_storage_precision(now))
                if event.application not in owners:
                    owners[event.application] = await self._owner(principal, event.application)
            except (Forbidden, NotFound, PlanNotConfigured, InvalidField) as exc:
                raise BatchItemError(index, exc) from None
            account, retention = owners[event.application]
            entries.append(
                AuditEntry.ingest(
                    event,
                    entry_id=(
                        self._ids.new_entry_id()
                        if delivery_id is None
                        else delivered_entry_id(delivery_id, index)
                    ),
                    account=account,
                    now=now,
                    retention=retention,
                )
            )
        return entries

    def _without_secrets(self, principal: Principal, event: AuditEvent) -> AuditEvent:
        """The event, if no field holds one of the service's own secrets.

        A caller's event is refused naming the field. The service's own events carry what a
        request's headers said (user agent, request id): those fields are dropped instead."""
        if not self._known_secrets or not self._known_secrets.in_any(v for _, v in _texts(event)):
            return event
        found = [name for name, value in _texts(event) if self._known_secrets.contains(value)]
        if not found:
            return event
        if isinstance(principal, System) and _ORIGIN_FIELDS.issuperset(found):
            dropped: dict[str, str | None] = dict.fromkeys(found)
            return dataclasses.replace(event, **dropped)  # type: ignore[arg-type]
        raise InvalidField(found[0], validation.CREDENTIAL_PROBLEM)

    def now(self) -> datetime:
        return self._clock.now()

    async def _owner(
        self, principal: Principal, application_id: str
    ) -> tuple[str, RetentionPolicy]:
        application = await application_for_recording(principal, application_id, self._directory)
        # The account is derived from the application, never taken from the caller.
        account = await self._directory.account(application.account)
        if account is None:
            raise NotFound("account", application.account)
        return account.id, retention_of(account, self._plans)


def _texts(event: AuditEvent) -> Iterator[tuple[str, str]]:
    """Every text of an event with the field it is in: `actor.name`, `metadata.note`..."""
    for name in _FIELDS:
        if isinstance(value := getattr(event, name), str):
            yield name, value
    parties = [("actor", event.actor)] if event.actor is not None else []
    parties += [(f"targets[{i}]", target) for i, target in enumerate(event.targets)]
    for field, party in parties:
        yield f"{field}.id", party.id
        if party.name is not None:
            yield f"{field}.name", party.name
    for key, value in (event.metadata or {}).items():
        if isinstance(value, str):
            yield f"metadata.{key}", value


class _KeyedInsert:
    """Stores what is new of a batch and answers a repeated idempotency key with the entry
    that holds it: the same event again (`AuditEntry.repeats`) is that entry, another event
    under a held key is `IdempotencyKeyReused`. The unique key in the store decides races:
    an insert refused for a key stored meanwhile is looked up again."""

    def __init__(self, entries: AuditEntryRepository, ingestion: "Ingestion") -> None:
        self._entries = entries
        self._ingestion = ingestion

    async def store(
        self,
        events: Sequence[AuditEvent],
        entries: list[AuditEntry],
        *,
        skip_existing: bool = False,
    ) -> tuple[list[AuditEntry], int]:
        """The entries to answer with, in the events' order, and how many were stored now."""
        if all(entry.idempotency_key is None for entry in entries):
            await self._insert(entries, skip_existing)
            return entries, len(entries)
        for _ in range(_KEY_RACES):
            answer, fresh = await self._resolve(events, entries)
            try:
                await self._insert(fresh, skip_existing)
            except IdempotencyKeyTaken:
                continue
            return answer, len(fresh)
        log.warning("an idempotency key stayed taken after %d look-ups", _KEY_RACES)
        raise StoreUnavailable()

    async def _insert(self, entries: list[AuditEntry], skip_existing: bool) -> None:
        if len(entries) == 1 and not skip_existing:
            await self._entries.add(entries[0])
        elif entries:
            await self._entries.add_many(entries, skip_existing=skip_existing)

    async def _resolve(
        self, events: Sequence[AuditEvent], entries: list[AuditEntry]
    ) -> tuple[list[AuditEntry], list[AuditEntry]]:
        pairs = [(e.account, e.idempotency_key) for e in entries if e.idempotency_key]
        holders = {
            (held.account, held.idempotency_key): held
            for held in await self._entries.holding_keys(pairs)
        }
        now = self._ingestion.now()
        answer: list[AuditEntry] = []
        fresh: list[AuditEntry] = []
        for index, (event, entry) in enumerate(zip(events, entries, strict=True)):
            if entry.idempotency_key is None:
                answer.append(entry)
                fresh.append(entry)
                continue
            pair = (entry.account, entry.idempotency_key)
            holder = holders.get(pair)
            if holder is None:
                holders[pair] = entry  # a second event of this batch under it is a repeat
                answer.append(entry)
                fresh.append(entry)
            elif holder.is_live(now) and holder.repeats(
                entry, same_time=event.occurred_at is not None
            ):
                answer.append(holder)
            else:
                # Another event under the key, or the same after its entry expired (the key
                # stays taken until the store deletes it).
                raise BatchItemError(index, IdempotencyKeyReused())
        return answer, fresh


class RecordAuditEvent:
    def __init__(
        self, *, entries: AuditEntryRepository, ingestion: Ingestion, telemetry: Telemetry
    ) -> None:
        self._ingestion = ingestion
        self._insert = _KeyedInsert(entries, ingestion)
        self._telemetry = telemetry

    async def execute(self, principal: Principal, event: AuditEvent) -> AuditEntry:
        try:
            entries = await self._ingestion.entries(principal, [event])
            [entry], stored = await self._insert.store([event], entries)
        except BatchItemError as refused:
            raise refused.cause from None  # one event: its error is the request's
        self._telemetry.entries_recorded(stored)
        return entry


def delivered_entry_id(delivery_id: str, index: int) -> str:
    """The id of the `index`-th event of a delivery: the same on every attempt, so a retry
    after a partial write adds only what is missing. 24 hex digits, like the other ids."""
    return hashlib.sha256(f"{delivery_id}/{index}".encode()).hexdigest()[:24]


class RecordAuditEvents:
    """Up to 1,000 events: all are authorised before any is stored, then one insert.

    With a `delivery_id` (the interceptor's, the same on each attempt) the insert is
    idempotent: entries already stored by an earlier, partly written attempt are kept."""

    def __init__(
        self, *, entries: AuditEntryRepository, ingestion: Ingestion, telemetry: Telemetry
    ) -> None:
        self._ingestion = ingestion
        self._insert = _KeyedInsert(entries, ingestion)
        self._telemetry = telemetry

    async def execute(
        self,
        principal: Principal,
        events: Sequence[AuditEvent],
        *,
        delivery_id: str | None = None,
    ) -> list[AuditEntry]:
        """The entries, in the events' order: an event repeating a stored one (its
        idempotency key and content) is answered with that entry and not stored again."""
        if not 1 <= len(events) <= MAX_BATCH:
            raise InvalidField("inputs", f"must hold between 1 and {MAX_BATCH} events")
        entries = await self._ingestion.entries(principal, events, delivery_id=delivery_id)
        answer, stored = await self._insert.store(
            events, entries, skip_existing=delivery_id is not None
        )
        self._telemetry.entries_recorded(stored)
        return answer
