"""Audit a platform service's flows into the audit log service.

    sink = GraphQLHttpSink("https://audit.internal", api_key=os.environ["AUDIT_KEY"])
    emitter = AuditEmitter(sink, EmitterConfig(...))   # every value given
    emitter.start()   # inside the running event loop
    auditor = Auditor(emitter)

    @auditor.audited("auth.login", application="portal", email=lambda call: call["email"])
    async def login(email: str, password: str) -> Session: ...

    with auditor.audit("mfa.enrolled", application="portal") as audit:
        audit.email = user.email
        await enrol(user)

    await emitter.stop()   # flushes within the grace period

`AuditLogClient` records events and reads pages of `auditLogs` directly.
"""

from auditlog_client.auditor import EVENT_FIELDS, Auditor, AuditScope, Call, safe_reason
from auditlog_client.client import AuditLogClient, Page
from auditlog_client.emitter import AuditEmitter, EmitterConfig
from auditlog_client.events import Actor, Event, MetadataValue, Party, Target
from auditlog_client.http_sink import GraphQLHttpSink
from auditlog_client.sinks import AuditSink, PermanentSinkError, TransientSinkError
from auditlog_client.telemetry import InterceptorResult, NoTelemetry, Telemetry
from auditlog_client.verify import BatchInvalid, VerifiedBatch, batch_hash, verify_batch
from auditlog_client.wire import AuditLogError, Entry, LogFilter, Order

__all__ = [
    "EVENT_FIELDS",
    "Actor",
    "AuditEmitter",
    "AuditLogClient",
    "AuditLogError",
    "AuditScope",
    "AuditSink",
    "Auditor",
    "BatchInvalid",
    "Call",
    "EmitterConfig",
    "Entry",
    "Event",
    "GraphQLHttpSink",
    "InterceptorResult",
    "LogFilter",
    "MetadataValue",
    "NoTelemetry",
    "Order",
    "Page",
    "Party",
    "PermanentSinkError",
    "Target",
    "Telemetry",
    "TransientSinkError",
    "VerifiedBatch",
    "batch_hash",
    "safe_reason",
    "verify_batch",
]
