"""Audit as a side effect: the client package's interceptor (`auditlog_client`), which
platform services install alone, with what only the service itself needs.

emitter = AuditEmitter(sink, config)   # an EmitterConfig, every value given
emitter.start()   # inside the running event loop
auditor = Auditor(emitter)

@auditor.audited("auth.login", application="portal", email=lambda call: call["email"])
async def login(email: str, password: str) -> Session: ...

with auditor.audit("mfa.enrolled", application="portal") as audit:
    audit.email = user.email
    await enrol(user)

await emitter.stop()   # flushes within the grace period

`Auditor` checks each event as the domain will (`domain_event`); `AuditEmitter` leaves
events unstamped; `RecordingSink` records in process.
"""

from auditlog_client import (
    EVENT_FIELDS,
    AuditScope,
    AuditSink,
    Call,
    EmitterConfig,
    Event,
    PermanentSinkError,
    TransientSinkError,
    safe_reason,
)

from application.interceptor.auditor import Auditor
from application.interceptor.emitter import AuditEmitter
from application.interceptor.sinks import RecordingSink, domain_event

__all__ = [
    "EVENT_FIELDS",
    "AuditEmitter",
    "AuditScope",
    "AuditSink",
    "Auditor",
    "Call",
    "EmitterConfig",
    "Event",
    "PermanentSinkError",
    "RecordingSink",
    "TransientSinkError",
    "domain_event",
    "safe_reason",
]
