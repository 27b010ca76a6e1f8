"""Settings from the environment, one class per concern, all under the `AUDITLOG_` prefix."""

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from application.recording import MAX_BATCH
from entrypoints.witness_settings import WitnessSettings

MIN_OPERATOR_TOKEN_LENGTH = 24


def _config(prefix: str = "AUDITLOG_") -> SettingsConfigDict:
    # An empty variable means "not set", as shells and compose files usually intend.
    return SettingsConfigDict(env_prefix=prefix, env_ignore_empty=True, extra="ignore")


class ServerSettings(BaseSettings):
    model_config = _config()

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    environment: Literal["production", "development"] = "production"
    """development: human-readable logs and GraphQL field suggestions."""
    shutdown_timeout_seconds: int = Field(default=30, ge=1, le=600)
    """How long SIGTERM waits for requests in flight before closing them."""
    # Slow clients: each bound frees a connection a client holds without finishing its part.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    """From a connection's opening (or its previous response) to a request's complete headers."""
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=3_600)
    """From a request's headers to its complete body; past it the answer is 408."""
    send_timeout_seconds: float = Field(default=30.0, gt=0, le=3_600)
    """How long a response may wait for a client that reads none of it; past it the
    connection is closed."""
    keep_alive_seconds: int = Field(default=5, ge=1, le=600)
    """How long an idle connection is kept open after a response."""
    max_connections: int = Field(default=1_000, ge=1, le=1_000_000)
    """Connections served at once; a request on one beyond them is answered 503."""
    trusted_proxies: str = ""
    """Comma-separated addresses or networks of the proxies whose X-Forwarded-For and
    X-Forwarded-Proto are believed. Empty: none, the socket's peer is the client."""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    # The message names no entry: a misplaced secret must not reach a log.
                    raise ValueError(
                        "each entry must be an IP address, a CIDR network or *"
                    ) from None
        return ",".join(entries)


class LimitSettings(BaseSettings):
    """Bounds on what one request may ask of the service."""

    model_config = _config("AUDITLOG_LIMIT_")

    graphql_depth: int = Field(default=8, ge=2, le=64)
    graphql_aliases: int = Field(default=20, ge=1, le=1_000)
    graphql_tokens: int = Field(default=2_000, ge=100, le=100_000)
    # The largest recordAuditEvents batch, 1000 inputs with every ASCII field at its maximum
    # length, is about 1.7 MB of JSON.
    body_bytes: int = Field(default=2 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024)


class RateLimitSettings(BaseSettings):
    """Token buckets per API key, per process. A batch costs one token per event."""

    model_config = _config("AUDITLOG_RATE_LIMIT_")

    enabled: bool = True
    record_per_second: float = Field(default=200.0, gt=0)
    record_burst: int = Field(default=2_000, ge=MAX_BATCH)
    """At least 1000, so one full recordAuditEvents batch always fits."""
    read_per_second: float = Field(default=10.0, gt=0)
    read_burst: int = Field(default=30, ge=1)
    operator: bool = False
    """Whether the operator is limited too (off by default)."""
    auth_failures_per_second: float = Field(default=1.0, gt=0)
    auth_failures_burst: int = Field(default=20, ge=1)
    """Failed authentications per source address and per key id before RATE_LIMITED."""


class StoreSettings(BaseSettings):
    model_config = _config()

    store: Literal["sqlite", "memory"] | None = None
    """Unset: `sqlite` (the embedded durable store, in `data_dir`) unless a MongoDB URI is
    set. `memory` is the in-memory mongomock store, for tests and throwaway demos: it keeps
    nothing across a restart. Set together with a MongoDB URI, the server stops at start."""
    data_dir: Path = Path("data")
    """The embedded store's directory (mode 0700): its database and the secrets it made."""
    sqlite_busy_timeout_ms: int = Field(default=5_000, ge=100, le=600_000)
    """How long an embedded-store call waits for another process's lock before
    STORE_UNAVAILABLE."""
    mongodb_uri: SecretStr | None = None
    """Set: MongoDB is the store. The URI may hold a password, so it is secret."""
    mongodb_db: str = Field(default="auditlog", pattern=r"^[A-Za-z0-9_-]{1,63}$")
    mongodb_server_selection_timeout_ms: int = Field(default=5_000, ge=100, le=120_000)
    mongodb_socket_timeout_ms: int = Field(default=30_000, ge=100, le=600_000)
    mongodb_operation_timeout_ms: int = Field(default=10_000, ge=100, le=600_000)
    """Bound on one store call as the service sees it, whatever the driver does."""
    mongodb_manage_indexes: bool = True
    """False under the append-only role: indexes are made by `auditlog-mongodb-role create`."""
    embedded_ttl_sweep_seconds: float = Field(default=60.0, gt=0, le=86_400)
    """How often the embedded store deletes expired entries (MongoDB's TTL monitor: 60 s)."""


class AccessSettings(BaseSettings):
    model_config = _config()

    operator_token: SecretStr | None = Field(default=None, min_length=MIN_OPERATOR_TOKEN_LENGTH)
    plans_file: Path | None = None


class ExportSettings(BaseSettings):
    model_config = _config("AUDITLOG_EXPORT_")

    signing_key: SecretStr | None = Field(default=None, min_length=32)
    """HMAC key of export links; the same on every instance. Required with MongoDB."""
    link_ttl_seconds: int = Field(default=300, ge=10, le=86_400)


class SealSettings(BaseSettings):
    """Signed seals over the trail (tamper evidence)."""

    model_config = _config("AUDITLOG_SEAL_")

    enabled: bool = True
    signing_key: SecretStr | None = None
    """base64url of a 32-byte Ed25519 private key. Required with MongoDB."""
    previous_public_keys: str = ""
    """Comma-separated base64url public keys retired by rotation, still listed and accepted."""
    window_seconds: int = Field(default=60, ge=1, le=3_600)
    grace_seconds: int = Field(default=120, ge=1, le=3_600)
    """After a window ends, how long it stays open: longer than any insert may take (the
    store's operation timeout) plus the clock skew between instances."""
    interval_seconds: float = Field(default=30.0, gt=0, le=3_600)
    expiry_tolerance_seconds: int = Field(default=60, ge=0, le=3_600)
    """How long before its `expires_at` a missing entry or seal still counts as expired to
    the verifier (measured on the clock the verifier states). Larger hides an early deletion
    that long; smaller flags a deletion by a database clock running ahead of that clock."""
    max_lag_windows: int = Field(default=10, ge=1, le=1_000_000)
    """How many windows sealing may lag before it is reported (a warning, the `/readyz`
    `sealing` field); a working sealer is up to one interval and one window behind."""


class EventSettings(BaseSettings):
    """What an event may say about its own time, and when a poller sees it."""

    model_config = _config()

    occurred_at_max_age_seconds: int = Field(default=7 * 86_400, ge=60, le=366 * 86_400)
    """How old an event's `occurredAt` may be when it is recorded: as long as a delivery may
    be held up (an outage, retries). Older is BAD_USER_INPUT naming the field."""
    oldest_first_settle_seconds: int = Field(default=30, ge=1, le=3_600)
    """`auditLogs(order: OLDEST_FIRST)` serves entries created at least this long ago, so
    a poller following `endCursor` never skips one that commits late: longer than any insert
    may take (the store's operation and lock timeouts)."""


class InterceptorSettings(BaseSettings):
    """The queue and sender that carry the service's own audit events."""

    model_config = _config("AUDITLOG_INTERCEPTOR_")

    queue_size: int = Field(default=10_000, ge=1, le=1_000_000)
    batch_size: int = Field(default=100, ge=1, le=MAX_BATCH)
    linger_ms: int = Field(default=50, ge=0, le=60_000)
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_base_ms: int = Field(default=100, ge=1, le=60_000)
    backoff_max_ms: int = Field(default=10_000, ge=1, le=600_000)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=600)


class StreamSettings(BaseSettings):
    """Log streams: where an account's trail may be pushed, and how hard the service tries."""

    model_config = _config("AUDITLOG_STREAM_")

    secrets_key: SecretStr | None = None
    """Encrypts webhook secrets and HEC tokens at rest. Required with MongoDB; on the embedded
    store made at first start and kept in the data directory, like the other keys."""
    allowed_private_hosts: str = ""
    """Comma-separated IP addresses a stream may reach though they are not public (and over
    plain http://): on-premises collectors, tests. Empty: public addresses only."""
    tls_ca_file: Path | None = None
    """Extra CA certificates (PEM) trusted for syslog+tls:// and https:// receivers."""
    hostname: str = "auditlog"
    """The HOSTNAME of the syslog messages sent."""
    delivery: Literal["auto", "process", "inline", "off"] = "auto"
    """Where this instance delivers: `process`, a process of its own beside the server (its
    own event loop, and another core: requests do not pay for delivery, nor delivery wait
    behind requests); `inline`, on the server's event loop; `off`, not at all (another
    instance does). `auto`: process on the embedded store and MongoDB, inline in memory
    (which no other process can read)."""
    batch_size: int = Field(default=100, ge=1, le=1_000)
    workers: int = Field(default=4, ge=1, le=64)
    """Streams delivered at once by one instance: a slow receiver holds one of them."""
    poll_seconds: float = Field(default=1.0, ge=0.05, le=60)
    """How often an instance looks for streams with work."""
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    send_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """The most one delivery may take, from connecting to the receiver's answer."""
    auto_pause_seconds: int = Field(default=3 * 86_400, ge=1, le=90 * 86_400)
    """A stream failing this long without a success is paused (default 3 days)."""
    lease_seconds: int = Field(default=60, ge=2, le=3_600)
    """How long an instance holds a stream it delivers: one that dies mid-delivery (kill -9)
    holds it this long before another takes it over. At least twice the send timeout."""

    @field_validator("lease_seconds")
    @classmethod
    def _lease_outlasts_a_send(cls, value: int, info: ValidationInfo) -> int:
        send_timeout = info.data.get("send_timeout_seconds")
        if send_timeout is not None and value < 2 * send_timeout:
            raise ValueError(
                "must be at least twice AUDITLOG_STREAM_SEND_TIMEOUT_SECONDS "
                "(a send must end inside the lease)"
            )
        return value

    @field_validator("allowed_private_hosts")
    @classmethod
    def _hosts_are_addresses(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        try:
            return ",".join(str(ipaddress.ip_address(entry)) for entry in entries)
        except ValueError:
            # Names no entry: a misplaced secret must not reach a log.
            raise ValueError("each entry must be an IP address") from None

    @property
    def private_hosts(self) -> frozenset[str]:
        return frozenset(filter(None, self.allowed_private_hosts.split(",")))


@dataclass(frozen=True, slots=True)
class Settings:
    server: ServerSettings
    store: StoreSettings
    access: AccessSettings
    interceptor: InterceptorSettings = field(default_factory=InterceptorSettings)
    export: ExportSettings = field(default_factory=ExportSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    seals: SealSettings = field(default_factory=SealSettings)
    witnesses: WitnessSettings = field(default_factory=WitnessSettings)
    events: EventSettings = field(default_factory=EventSettings)
    streams: StreamSettings = field(default_factory=StreamSettings)

    @classmethod
    def from_env(cls) -> "Settings":
        """Read every concern from the environment; raises `SettingsError` naming variables."""
        return cls(
            server=_load(ServerSettings),
            store=_load(StoreSettings),
            access=_load(AccessSettings),
            interceptor=_load(InterceptorSettings),
            export=_load(ExportSettings),
            limits=_load(LimitSettings),
            rate_limits=_load(RateLimitSettings),
            seals=_load(SealSettings),
            witnesses=_load(WitnessSettings),
            events=_load(EventSettings),
            streams=_load(StreamSettings),
        )


_S = TypeVar("_S", bound=BaseSettings)


class SettingsError(Exception):
    """One or more environment variables hold values the service cannot use."""


def _load(kind: type[_S]) -> _S:
    try:
        return kind()
    except ValidationError as exc:
        prefix = kind.model_config.get("env_prefix", "")
        problems = [
            f"{prefix}{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        ]
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
