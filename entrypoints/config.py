"""Settings turned into what the adapters and use cases take."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from adapters.inbound.graphql.schema import GraphQLLimits
from adapters.outbound.data_dir import DataDirectory, DataDirError
from adapters.outbound.mongo.client import ClientOptions
from adapters.outbound.seal_keys import Ed25519SealKeys, SealKeyError
from application.access.rate_limit import AuthFailureLimits, Bucket, RateLimits
from application.integrity.sealing import SealingConfig
from application.interceptor import EmitterConfig
from domain.entry import OccurrenceWindow
from entrypoints.settings import Settings, StoreSettings


class ConfigError(Exception):
    """The configuration cannot work; the message says which setting to fix."""


def client_options(settings: Settings) -> ClientOptions:
    uri = settings.store.mongodb_uri
    return _client_options(settings.store, None if uri is None else uri.get_secret_value())


def admin_client_options(uri: str) -> ClientOptions:
    """For an administrator's tool given its URI as an argument: the store settings' defaults
    (the AUDITLOG_ variables configure the service, not the tool)."""
    return _client_options(StoreSettings.model_construct(), uri)


def _client_options(store: StoreSettings, uri: str | None) -> ClientOptions:
    return ClientOptions(
        uri=uri,
        server_selection_timeout_ms=store.mongodb_server_selection_timeout_ms,
        socket_timeout_ms=store.mongodb_socket_timeout_ms,
        operation_timeout_ms=store.mongodb_operation_timeout_ms,
        embedded_ttl_sweep_seconds=store.embedded_ttl_sweep_seconds,
    )


def emitter_config(settings: Settings) -> EmitterConfig:
    interceptor = settings.interceptor
    return EmitterConfig(
        capacity=interceptor.queue_size,
        batch_size=interceptor.batch_size,
        linger_seconds=interceptor.linger_ms / 1000,
        max_attempts=interceptor.max_attempts,
        backoff_base_seconds=interceptor.backoff_base_ms / 1000,
        backoff_max_seconds=interceptor.backoff_max_ms / 1000,
        shutdown_grace_seconds=interceptor.shutdown_grace_seconds,
    )


def rate_limits(settings: Settings) -> RateLimits:
    limits = settings.rate_limits
    return RateLimits(
        record=Bucket(limits.record_per_second, limits.record_burst),
        read=Bucket(limits.read_per_second, limits.read_burst),
        enabled=limits.enabled,
        limit_operator=limits.operator,
    )


def auth_failure_limits(settings: Settings) -> AuthFailureLimits:
    limits = settings.rate_limits
    return AuthFailureLimits(
        failures=Bucket(limits.auth_failures_per_second, limits.auth_failures_burst),
        enabled=limits.enabled,
    )


def graphql_limits(settings: Settings) -> GraphQLLimits:
    return GraphQLLimits(
        depth=settings.limits.graphql_depth,
        aliases=settings.limits.graphql_aliases,
        tokens=settings.limits.graphql_tokens,
        field_suggestions=settings.server.environment == "development",
    )


def export_link_ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.export.link_ttl_seconds)


StoreKind = Literal["mongodb", "sqlite", "memory"]


def store_kind(settings: Settings) -> StoreKind:
    """Which store serves: a MongoDB URI selects MongoDB; otherwise AUDITLOG_STORE, by
    default the embedded SQLite store. Both set is refused, naming both."""
    chosen = settings.store.store
    if settings.store.mongodb_uri is not None:
        if chosen is not None:
            raise ConfigError(
                f"AUDITLOG_STORE={chosen} and AUDITLOG_MONGODB_URI are both set: a MongoDB "
                "URI selects MongoDB; unset one of them"
            )
        return "mongodb"
    return chosen or "sqlite"


def data_directory(settings: Settings) -> DataDirectory:
    """The embedded store's directory, created (0700) if absent. Raises `ConfigError`."""
    directory = DataDirectory(settings.store.data_dir)
    try:
        directory.ensure()
    except DataDirError as exc:
        raise ConfigError(f"AUDITLOG_DATA_DIR: {exc}") from None
    return directory


@dataclass(frozen=True, slots=True)
class Secret:
    value: str
    made_now: bool
    """Made at this start: the lifespan prints the operator token once."""
    kept_in: Path | None
    """The data directory's file that keeps it; None when set in the environment or, on the
    in-memory store, made for this run only."""


def shared_secret(
    settings: Settings, configured: SecretStr | None, variable: str, why: str
) -> Secret:
    """A secret every instance must share: required with MongoDB; on the embedded store, when
    unset, made at first start and kept in the data directory (0600) for every later start;
    on the in-memory store, made for this run."""
    if configured is not None:
        return Secret(configured.get_secret_value(), made_now=False, kept_in=None)
    kind = store_kind(settings)
    if kind == "mongodb":
        raise ConfigError(f"{variable} must be set when AUDITLOG_MONGODB_URI is: {why}")
    if kind == "memory":
        return Secret(_random_secret(), made_now=True, kept_in=None)
    directory = data_directory(settings)
    name = variable.removeprefix("AUDITLOG_").lower().replace("_", "-")
    try:
        value, made = directory.secret(name, _random_secret)
    except DataDirError as exc:
        raise ConfigError(f"{variable}: {exc}; or set {variable}") from None
    return Secret(value, made_now=made, kept_in=directory.path / name)


def _random_secret() -> str:
    # 32 random bytes in base64url: an operator token, an export key or an Ed25519 seed.
    return secrets.token_urlsafe(32)


def sealing_config(settings: Settings) -> SealingConfig:
    seals = settings.seals
    window = timedelta(seconds=seals.window_seconds)
    return SealingConfig(
        window=window,
        grace=timedelta(seconds=seals.grace_seconds),
        # Long enough for a pass to finish; short enough that another instance takes over.
        lease=max(timedelta(seconds=seals.interval_seconds * 4), window * 2),
        expiry_tolerance=timedelta(seconds=seals.expiry_tolerance_seconds),
    )


@dataclass(frozen=True, slots=True)
class EventTiming:
    occurrence: OccurrenceWindow
    settle: timedelta


def event_timing(settings: Settings) -> EventTiming:
    """How old an `occurredAt` may be, and the oldest-first settle delay, checked against the
    store's timeouts: an insert must commit within the delay."""
    events, store = settings.events, settings.store
    settle = events.oldest_first_settle_seconds
    longest_insert_ms = (
        store.mongodb_operation_timeout_ms
        if store_kind(settings) == "mongodb"
        else store.sqlite_busy_timeout_ms
    )
    if settle * 1000 <= longest_insert_ms:
        raise ConfigError(
            f"AUDITLOG_OLDEST_FIRST_SETTLE_SECONDS ({settle}) must be longer than the store's "
            f"longest insert ({longest_insert_ms} ms: AUDITLOG_MONGODB_OPERATION_TIMEOUT_MS or "
            "AUDITLOG_SQLITE_BUSY_TIMEOUT_MS)"
        )
    return EventTiming(
        occurrence=OccurrenceWindow(behind=timedelta(seconds=events.occurred_at_max_age_seconds)),
        settle=timedelta(seconds=settle),
    )


def seal_keys(settings: Settings, signing_key: str) -> Ed25519SealKeys:
    """The current key (AUDITLOG_SEAL_SIGNING_KEY, or the one kept) and the retired ones."""
    retired = tuple(k.strip() for k in settings.seals.previous_public_keys.split(",") if k.strip())
    try:
        return Ed25519SealKeys(signing_key, retired)
    except SealKeyError as exc:
        raise ConfigError(
            f"AUDITLOG_SEAL_SIGNING_KEY or AUDITLOG_SEAL_PREVIOUS_PUBLIC_KEYS: {exc}"
        ) from None
