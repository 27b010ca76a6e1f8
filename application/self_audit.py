"""The service audits itself through its own interceptor, beyond the spec's coverage.

Reads by API keys, administration and presented-but-revoked keys go to the trail of the
account concerned. Events about an account as a whole go to its reserved application,
`_<account id>`; events about one application or a key bound to one go to that application.

Each says who acted (`actor`: the operator, a key by its id, or the service) and on what
(`targets`: the account, application or key concerned), as a caller's events can.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import assert_never

from auditlog_client import Party

from application.access.origin import Origin
from application.access.principal import KeyHolder, Operator, Principal, System
from application.access.tenancy import events_application
from application.interceptor import Auditor
from application.ports import Telemetry
from domain.tenancy import ApiKey

VIEWED = "portal.audit_logs.viewed"
VERIFIED = "portal.audit_logs.verified"
EXPORTED = "portal.audit_logs.exported"
ACCOUNT_CREATED = "admin.account.created"
PLAN_CHANGED = "admin.account.plan_changed"
APPLICATION_CREATED = "admin.application.created"
KEY_ISSUED = "admin.api_key.issued"
KEY_REVOKED = "admin.api_key.revoked"
KEY_REJECTED = "auth.api_key.rejected"
STREAM_CREATED = "admin.log_stream.created"
STREAM_PAUSED = "admin.log_stream.paused"
STREAM_RESUMED = "admin.log_stream.resumed"
STREAM_DELETED = "admin.log_stream.deleted"
STREAM_REPLAYED = "admin.log_stream.replayed"
STREAM_SECRET_ROTATED = "admin.log_stream.secret_rotated"  # noqa: S105 - an action's name
# A revoked key presented in a loop must not flood its account's trail: one entry per key
# per this many seconds at most, the later one counting the attempts it stands for.
REJECTION_INTERVAL_SECONDS = 60.0


OPERATOR = Party("operator", "operator", "Operator")
SERVICE = Party("auditlog", "service", "Audit log service")


def actor_of(principal: Principal) -> Party:
    match principal:
        case KeyHolder():
            return key_party(principal.key_id)
        case Operator():
            return OPERATOR
        case System():
            return SERVICE
        case _:
            assert_never(principal)


def account_party(account_id: str) -> Party:
    return Party(account_id, "account")


def application_party(application_id: str) -> Party:
    return Party(application_id, "application")


def key_party(key_id: str) -> Party:
    return Party(key_id, "api_key")


@dataclass(slots=True)
class _Rejections:
    """Attempts of one revoked key since its last entry."""

    key: ApiKey
    recorded_at: float
    pending: int = 0
    origin: Origin | None = None
    flush: asyncio.TimerHandle | None = None


class SelfAudit:
    def __init__(
        self,
        auditor: Auditor,
        *,
        telemetry: Telemetry,
        rejection_interval: float = REJECTION_INTERVAL_SECONDS,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._auditor = auditor
        self._rejection_interval = rejection_interval
        self._now = now
        self._rejections: dict[str, _Rejections] = {}
        self._telemetry = telemetry

    @contextlib.contextmanager
    def viewed(self, principal: Principal, action: str = VIEWED) -> Iterator[None]:
        """A read by an API key (a page, or a verification), whether it succeeded or was
        refused."""
        # Reads are recorded for keys: naming no account, the operator's and the service's
        # have no trail to go to.
        if not isinstance(principal, KeyHolder):
            yield
            return
        origin = principal.origin
        with self._auditor.audit(
            action,
            application=principal.home_application,
            ip=origin.ip,
            user_agent=origin.user_agent,
            request_id=origin.request_id,
            actor=actor_of(principal),
            targets=[account_party(principal.account)],
        ):
            yield

    @contextlib.contextmanager
    def administered(
        self, action: str, principal: Principal, *, application: str | None = None
    ) -> Iterator["AdminRecord"]:
        """An administrative change, recorded once it has succeeded."""
        record = AdminRecord(application)
        origin = principal.origin
        with self._auditor.audit(
            action,
            ip=origin.ip,
            user_agent=origin.user_agent,
            request_id=origin.request_id,
            record_failures=False,
            actor=actor_of(principal),
        ) as scope:
            yield record
            scope.application = record.application
            scope.reason = record.reason
            scope.targets = record.targets
            scope.metadata = record.metadata

    @contextlib.contextmanager
    def exported(
        self, principal: Principal, *, account: str | None, only_failures: bool = False
    ) -> Iterator["AdminRecord"]:
        """An export link asked for or a download, by a key or by the operator.

        A key's events go to its own application (else its account's); the operator's to
        the exported account's reserved application, once the account is known."""
        record = AdminRecord(None, account=account)
        origin = principal.origin
        with self._auditor.audit(
            EXPORTED,
            ip=origin.ip,
            user_agent=origin.user_agent,
            request_id=origin.request_id,
            actor=actor_of(principal),
        ) as scope:
            try:
                yield record
            finally:
                scope.application = events_application(principal, account=record.account)
                scope.reason = record.reason
                if record.account is not None:
                    scope.targets = [account_party(record.account)]
                if scope.application is None:
                    scope.skip()  # the operator named no account: no trail to record in
            if only_failures:
                scope.skip()

    def key_rejected(self, key: ApiKey, origin: Origin) -> None:
        """A revoked key was presented: recorded at once if its last entry is older than the
        interval, else counted into one entry written when the interval is over."""
        now = self._now()
        seen = self._rejections.get(key.id)
        if seen is None or (
            seen.pending == 0 and now - seen.recorded_at >= self._rejection_interval
        ):
            self._rejections[key.id] = _Rejections(key, recorded_at=now)
            self._emit_rejected(key, origin, attempts=1)
            return
        seen.pending += 1
        seen.origin = origin
        self._telemetry.rejection_folded()
        if seen.flush is None:
            delay = max(0.0, seen.recorded_at + self._rejection_interval - now)
            seen.flush = asyncio.get_running_loop().call_later(delay, self._flush, seen)

    def flush_rejections(self) -> None:
        """Write the entries of attempts still being counted (at shutdown)."""
        for seen in list(self._rejections.values()):
            if seen.flush is not None:
                seen.flush.cancel()
                self._flush(seen)

    def _flush(self, seen: _Rejections) -> None:
        if seen.pending and seen.origin is not None:
            self._emit_rejected(seen.key, seen.origin, attempts=seen.pending)
        self._rejections[seen.key.id] = _Rejections(seen.key, recorded_at=self._now())

    def _emit_rejected(self, key: ApiKey, origin: Origin, *, attempts: int) -> None:
        self._auditor.emit(
            KEY_REJECTED,
            success=False,
            application=key.home_application,
            reason="revoked"
            if attempts == 1
            else f"revoked, presented {attempts} times since the last entry",
            ip=origin.ip,
            user_agent=origin.user_agent,
            request_id=origin.request_id,
            actor=key_party(key.id),
            targets=[key_party(key.id), account_party(key.account)],
            metadata={"attempts": attempts},
        )

    def unknown_secret(self) -> None:
        """A secret that matched nothing: there is no tenant to record it under, only a count."""
        self._telemetry.unknown_credential()


class AdminRecord:
    """What a use case learns as it runs: where to record, on what, and the detail."""

    def __init__(self, application: str | None, *, account: str | None = None) -> None:
        self.application = application
        self.account = account
        self.reason: str | None = None
        self.targets: list[Party] = []
        self.metadata: dict[str, str | int | bool] | None = None
