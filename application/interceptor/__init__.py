"""Audit as a side effect: declare a flow audited, emit without I/O, deliver in the background.

emitter = AuditEmitter(sink, config)   # an EmitterConfig, every value given
emitter.start()   # inside the running event loop
auditor = Auditor(emitter)

@auditor.audited("auth.login", application="portal", email=lambda call: call["email"])
async def login(email: str, password: str) -> Session: ...

with auditor.audit("mfa.enrolled", application="portal") as audit:
    audit.email = user.email
    await enrol(user)

await emitter.stop()   # flushes within the grace period
"""

from application.interceptor.auditor import Auditor, AuditScope, Call, safe_reason
from application.interceptor.emitter import AuditEmitter, EmitterConfig
from application.interceptor.sinks import (
    AuditSink,
    PermanentSinkError,
    RecordingSink,
    TransientSinkError,
)

__all__ = [
    "AuditEmitter",
    "AuditScope",
    "AuditSink",
    "Auditor",
    "Call",
    "EmitterConfig",
    "PermanentSinkError",
    "RecordingSink",
    "TransientSinkError",
    "safe_reason",
]
