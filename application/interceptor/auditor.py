"""The service's own auditor: the client package's, checking each event as it will be
stored, so one the domain refuses is counted `invalid` and never queued."""

import auditlog_client
from auditlog_client import Telemetry
from auditlog_client.auditor import Emitter

from application.interceptor.sinks import domain_event


class Auditor(auditlog_client.Auditor):
    def __init__(self, emitter: Emitter, *, telemetry: Telemetry | None = None) -> None:
        super().__init__(emitter, telemetry=telemetry, check=domain_event)
