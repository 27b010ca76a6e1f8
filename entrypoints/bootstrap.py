"""The composition root: which adapter fills each port, and with which settings.

It only wires. `create_app` (entrypoints/app.py) runs what it builds: the lifespan takes the
store, builds the services here, and starts and stops them.
"""

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from secrets import token_hex
from typing import Protocol, TypeVar

from adapters.outbound.clock import SystemClock
from adapters.outbound.export_links import SignedExportLinks
from adapters.outbound.ids import ObjectIdGenerator
from adapters.outbound.mongo.store import MongoStore
from adapters.outbound.seal_keys import Ed25519SealKeys
from adapters.outbound.sqlite.store import SqliteStore
from adapters.outbound.streams import StreamSenders
from application.integrity.verify import WitnessView
from application.ports import (
    Accounts,
    ApiKeys,
    Applications,
    AuditEntryRepository,
    Checkpoints,
    Clock,
    DatabaseClock,
    IdGenerator,
    SealerState,
    Seals,
    StorePorts,
    Telemetry,
)
from application.services import Ports, Services
from application.streams.delivery import StreamTelemetry
from application.streams.ports import LogStreamStore
from domain.credentials import KnownSecrets
from domain.plan import PlanCatalog
from entrypoints import config, streaming
from entrypoints.settings import Settings

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Overrides:
    """Replacements for tests and benchmarks: a controllable clock or id source, or stores
    that cost nothing (to measure the service's own cost)."""

    clock: Clock | None = None
    ids: IdGenerator | None = None
    entries: AuditEntryRepository | None = None
    accounts: Accounts | None = None
    applications: Applications | None = None
    keys: ApiKeys | None = None
    seals: Seals | None = None
    sealer_state: SealerState | None = None
    checkpoints: Checkpoints | None = None
    log_streams: LogStreamStore | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Secrets:
    operator_token: config.Secret
    """Made at this start (`made_now`): the lifespan prints it once, with where it is kept."""
    export_signing_key: str
    seal_keys: Ed25519SealKeys
    stream_secrets_key: str
    """What log stream secrets are sealed with (entrypoints/streaming.py)."""
    known: KnownSecrets
    """Refused in anything stored, and redacted from every log line (domain/credentials.py)."""


def secrets_of(settings: Settings) -> Secrets:
    """The service's secrets. Raises `ConfigError` when one it needs is missing or unusable."""
    operator_token = config.shared_secret(
        settings,
        settings.access.operator_token,
        "AUDITLOG_OPERATOR_TOKEN",
        "every instance must accept the same operator",
    )
    export_key = config.shared_secret(
        settings,
        settings.export.signing_key,
        "AUDITLOG_EXPORT_SIGNING_KEY",
        "every instance must accept the export links of the others",
    )
    seal_key = config.shared_secret(
        settings,
        settings.seals.signing_key,
        "AUDITLOG_SEAL_SIGNING_KEY",
        "seals must verify with the same keys whichever instance made them",
    )
    stream_key = streaming.stream_secrets_key(settings, seal_key.value)
    return Secrets(
        operator_token=operator_token,
        export_signing_key=export_key.value,
        seal_keys=config.seal_keys(settings, seal_key.value),
        stream_secrets_key=stream_key,
        known=KnownSecrets(operator_token.value, export_key.value, seal_key.value, stream_key),
    )


class Store(StorePorts, DatabaseClock, Protocol):
    """What the composition takes from a store adapter: its ports, its clock, readiness,
    closing."""

    async def ready(self) -> bool: ...
    async def close(self) -> None: ...


class StoreSource:
    """Opens the store once per run: `open_ahead` lets `auditlog-server` open it before
    serving (to stop at once when the database is not there), and the lifespan takes that
    one; without it, the lifespan opens its own. Which store is `config.store_kind`'s."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.kind = config.store_kind(settings)
        self._ahead: Store | None = None

    async def open_ahead(self) -> None:
        """Raises `StoreUnreachable` when the database cannot be used."""
        if self._ahead is None:
            self._ahead = await self._open()

    async def take(self) -> Store:
        store, self._ahead = self._ahead, None
        return store if store is not None else await self._open()

    async def _open(self) -> Store:
        settings = self._settings.store
        if self.kind == "sqlite":
            directory = config.data_directory(self._settings)
            return await SqliteStore.open(
                directory.database,
                busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                ttl_sweep_seconds=settings.embedded_ttl_sweep_seconds,
            )
        return await MongoStore.open(
            config.client_options(self._settings),
            database=settings.mongodb_db,
            manage_indexes=settings.mongodb_manage_indexes,
        )


def _given(override: _T | None, default: _T) -> _T:
    return default if override is None else override


def services(
    store: Store,
    settings: Settings,
    *,
    plans: PlanCatalog,
    secrets: Secrets,
    telemetry: Telemetry,
    overrides: Overrides,
    witnesses: Sequence[WitnessView] = (),
    outbound: StreamSenders | None = None,
    stream_telemetry: StreamTelemetry | None = None,
    stream_owner: str | None = None,
) -> Services:
    """The use cases on the store's adapters (or the overrides), configured by the settings;
    `witnesses` are what the verifier checks the store against."""
    # `is None`, not `or`: an override that is empty (a store with no entries yet) is
    # still the one asked for.
    ports = Ports(
        entries=_given(overrides.entries, store.entries),
        accounts=_given(overrides.accounts, store.accounts),
        applications=_given(overrides.applications, store.applications),
        keys=_given(overrides.keys, store.keys),
        seals=_given(overrides.seals, store.seals),
        sealer_state=_given(overrides.sealer_state, store.sealer_state),
        checkpoints=_given(overrides.checkpoints, store.checkpoints),
        # A controlled clock is the one expiry is judged by too.
        database_clock=store if overrides.clock is None else None,
        witnesses=witnesses,
        clock=_given(overrides.clock, SystemClock()),
        ids=_given(overrides.ids, ObjectIdGenerator()),
    )
    timing = config.event_timing(settings)
    streams = (
        None
        if outbound is None
        else streaming.wiring(
            settings,
            _given(overrides.log_streams, store.log_streams),
            secrets_key=secrets.stream_secrets_key,
            settle=timing.settle,
            outbound=outbound,
            telemetry=stream_telemetry,
            owner=stream_owner,
        )
    )
    return Services.build(
        ports,
        plans=plans,
        operator_token=secrets.operator_token.value,
        export_links=SignedExportLinks(secrets.export_signing_key),
        seal_keys=secrets.seal_keys,
        telemetry=telemetry,
        sealing=config.sealing_config(settings),
        sealer_id=f"{socket.gethostname()}:{os.getpid()}:{token_hex(4)}",
        export_link_ttl=config.export_link_ttl(settings),
        interceptor=config.emitter_config(settings),
        rate_limits=config.rate_limits(settings),
        known_secrets=secrets.known,
        auth_failure_limits=config.auth_failure_limits(settings),
        occurrence=timing.occurrence,
        settle=timing.settle,
        streams=streams,
    )
