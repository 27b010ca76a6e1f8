"""Settings turned into what the adapters and use cases take."""

import secrets
from datetime import timedelta

from pydantic import SecretStr

from adapters.inbound.graphql.schema import GraphQLLimits
from adapters.outbound.mongo.client import ClientOptions
from adapters.outbound.seal_keys import Ed25519SealKeys, SealKeyError
from application.access.rate_limit import AuthFailureLimits, Bucket, RateLimits
from application.integrity.sealing import SealingConfig
from application.interceptor import EmitterConfig
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


def shared_secret(
    settings: Settings, configured: SecretStr | None, variable: str, why: str
) -> tuple[str, bool]:
    """A secret every instance must share: required with MongoDB; in embedded mode, when
    unset, a random one for this run (and True)."""
    if configured is not None:
        return configured.get_secret_value(), False
    if settings.store.mongodb_uri is not None:
        raise ConfigError(f"{variable} must be set when AUDITLOG_MONGODB_URI is: {why}")
    return secrets.token_urlsafe(32), True


def sealing_config(settings: Settings) -> SealingConfig:
    seals = settings.seals
    window = timedelta(seconds=seals.window_seconds)
    return SealingConfig(
        window=window,
        grace=timedelta(seconds=seals.grace_seconds),
        # Long enough for a pass to finish; short enough that another instance takes over.
        lease=max(timedelta(seconds=seals.interval_seconds * 4), window * 2),
    )


def seal_keys(settings: Settings) -> Ed25519SealKeys:
    signing_key, _ = shared_secret(
        settings,
        settings.seals.signing_key,
        "AUDITLOG_SEAL_SIGNING_KEY",
        "seals must verify with the same keys whichever instance made them",
    )
    retired = tuple(k.strip() for k in settings.seals.previous_public_keys.split(",") if k.strip())
    try:
        return Ed25519SealKeys(signing_key, retired)
    except SealKeyError as exc:
        raise ConfigError(
            f"AUDITLOG_SEAL_SIGNING_KEY or AUDITLOG_SEAL_PREVIOUS_PUBLIC_KEYS: {exc}"
        ) from None
