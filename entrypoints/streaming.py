"""Log streams in the composition: the secrets key, the senders, the worker's settings.

The stream secrets key (AUDITLOG_STREAM_SECRETS_KEY) encrypts webhook secrets and HEC tokens
at rest. Unset, the embedded store makes one at first start and keeps it in the data
directory like its other keys; the in-memory store makes one per run; with MongoDB (where
every instance must share it) it is derived from the seal signing key, which every instance
already shares: set it to rotate the two apart.
"""

import os
import socket
from datetime import timedelta
from secrets import token_hex
from typing import Literal

from adapters.inbound.http.export_formats import as_row
from adapters.outbound.secret_box import FernetSecretBox
from adapters.outbound.streams import StreamNetwork, StreamSenders, senders
from application.streams.admin import StreamRules
from application.streams.delivery import DeliveryConfig, StreamTelemetry
from application.streams.ports import LogStreamStore
from application.streams.service import StreamWiring
from domain.streams import RetryPolicy
from entrypoints import config
from entrypoints.settings import Settings


def stream_secrets_key(settings: Settings, seal_signing_key: str) -> str:
    configured = settings.streams.secrets_key
    if configured is not None:
        return configured.get_secret_value()
    if config.store_kind(settings) == "mongodb":
        # Derived, not the key itself: FernetSecretBox runs it through HKDF with a purpose
        # of its own, so nothing it seals could be read as a seal key's material.
        return "derived-from-seal-key:" + seal_signing_key
    return config.shared_secret(
        settings, None, "AUDITLOG_STREAM_SECRETS_KEY", "stream secrets must open anywhere"
    ).value


Delivery = Literal["process", "inline", "off"]


def delivery_mode(settings: Settings, *, overridden: bool) -> Delivery:
    """Where this instance delivers (AUDITLOG_STREAM_DELIVERY). `overridden`: the app runs
    on stores or a clock given in code (tests, benchmarks), which only its own loop sees.
    Raises `ConfigError` for a process that could not read the store."""
    asked = settings.streams.delivery
    shared = config.store_kind(settings) != "memory"
    if asked == "process" and not shared:
        raise config.ConfigError(
            "AUDITLOG_STREAM_DELIVERY=process needs a store another process can open "
            "(the embedded store or MongoDB), not AUDITLOG_STORE=memory"
        )
    if asked == "auto":
        return "process" if shared and not overridden else "inline"
    return asked


def instance_owner() -> str:
    """This instance's name in the stream leases it takes (its delivery process's too)."""
    return f"{socket.gethostname()}:{os.getpid()}:{token_hex(4)}"


def network(settings: Settings) -> StreamNetwork:
    streams = settings.streams
    return StreamNetwork(
        allowed_private=streams.private_hosts,
        connect_timeout=streams.connect_timeout_seconds,
        send_timeout=streams.send_timeout_seconds,
        ca_file=streams.tls_ca_file,
    )


def wiring(
    settings: Settings,
    store: LogStreamStore,
    *,
    secrets_key: str,
    settle: timedelta,
    outbound: StreamSenders,
    telemetry: StreamTelemetry | None,
    owner: str | None = None,
) -> StreamWiring:
    streams = settings.streams
    return StreamWiring(
        store=store,
        box=FernetSecretBox(secrets_key),
        senders=outbound.by_kind,
        rules=StreamRules(allowed_private_hosts=streams.private_hosts),
        delivery=DeliveryConfig(
            settle=settle,
            batch_size=streams.batch_size,
            workers=streams.workers,
            lease=timedelta(seconds=streams.lease_seconds),
            # A turn starts its last send before a quarter of the lease has passed, and that
            # send ends within the send timeout: inside the lease (held to twice the timeout).
            turn=min(timedelta(seconds=10), timedelta(seconds=streams.lease_seconds / 4)),
            retry=RetryPolicy(pause_after=timedelta(seconds=streams.auto_pause_seconds)),
        ),
        owner=owner or instance_owner(),
        telemetry=telemetry,
    )


def outbound_senders(settings: Settings) -> StreamSenders:
    return senders(network(settings), settings.streams.hostname, row=as_row)
