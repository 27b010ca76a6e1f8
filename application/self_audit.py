"""The service audits itself through its own interceptor, beyond the spec's coverage.

Reads by API keys, administration and presented-but-revoked keys go to the trail of the
account concerned. Events about an account as a whole go to its reserved application,
`_<account id>`; events about one application or a key bound to one go to that application.
"""

import contextlib
from collections.abc import Iterator

from application.interceptor import Auditor
from application.principal import Origin, Principal
from domain.tenancy import ApiKey, account_application_id

VIEWED = "portal.audit_logs.viewed"
EXPORTED = "portal.audit_logs.exported"
ACCOUNT_CREATED = "admin.account.created"
PLAN_CHANGED = "admin.account.plan_changed"
APPLICATION_CREATED = "admin.application.created"
KEY_ISSUED = "admin.api_key.issued"
KEY_REVOKED = "admin.api_key.revoked"
KEY_REJECTED = "auth.api_key.rejected"


class SelfAudit:
    def __init__(self, auditor: Auditor) -> None:
        self._auditor = auditor
        self.unknown_credentials = 0
        """Secrets that matched nothing: there is no tenant to record them under."""

    @contextlib.contextmanager
    def viewed(self, principal: Principal) -> Iterator[None]:
        """A read by an API key, whether it succeeded or was refused."""
        if principal.is_operator:
            yield
            return
        origin = principal.origin
        with self._auditor.audit(
            VIEWED,
            application=principal.home_application,
            ip=origin.ip,
            user_agent=origin.user_agent,
            request_id=origin.request_id,
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
        ) as scope:
            yield record
            scope.application = record.application
            scope.reason = record.reason

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
            EXPORTED, ip=origin.ip, user_agent=origin.user_agent, request_id=origin.request_id
        ) as scope:
            try:
                yield record
            finally:
                scope.application = principal.home_application or (
                    record.account and account_application_id(record.account)
                )
                scope.reason = record.reason
                if scope.application is None:
                    scope.skip()  # the operator named no account: no trail to record in
            if only_failures:
                scope.skip()

    def key_rejected(self, key: ApiKey, origin: Origin) -> None:
        self._auditor.emit(
            KEY_REJECTED,
            success=False,
            application=key.home_application,
            reason="revoked",
            ip=origin.ip,
            user_agent=origin.user_agent,
            request_id=origin.request_id,
        )

    def unknown_secret(self) -> None:
        self.unknown_credentials += 1


class AdminRecord:
    """What a use case learns as it runs: where to record, and the detail."""

    def __init__(self, application: str | None, *, account: str | None = None) -> None:
        self.application = application
        self.account = account
        self.reason: str | None = None
