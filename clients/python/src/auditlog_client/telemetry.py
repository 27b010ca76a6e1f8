"""What the interceptor counts, for whoever wants to see it (a metrics registry, a test)."""

from typing import Literal, Protocol

InterceptorResult = Literal["queued", "sent", "retried", "dropped", "failed", "invalid"]
"""queued: accepted by the emitter; sent: delivered; retried: sent again after a transient
failure; dropped: refused because the queue was full or closed; failed: given up or refused
by the service; invalid: not built (a deriver failed, or the event did not pass the check)."""


class Telemetry(Protocol):
    """Counts events as they come to a result; each call is an event, nothing is read back."""

    def interceptor_events(self, result: InterceptorResult, count: int = 1) -> None:
        """`count` events came to `result`."""


class NoTelemetry:
    """Counts nothing: for an interceptor built without metrics."""

    def interceptor_events(self, result: InterceptorResult, count: int = 1) -> None:
        pass
