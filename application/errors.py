"""Expected failures of the use cases; adapters turn each into a stable error code.

A message names the kind of thing and never the value the caller sent: a refused value may
be a secret pasted in the wrong place, and the message reaches clients and logs.
"""

from domain.errors import InvalidField


class ApplicationError(Exception):
    """Base of the failures a caller can act on."""


class Unauthenticated(ApplicationError):
    def __init__(self) -> None:
        super().__init__("missing, unknown or revoked credentials")


class Forbidden(ApplicationError):
    """The principal is known but may not do this. The message never says what exists.

    `reason` is a stable code for a cause a client can act on, e.g. EXPORT_NOT_IN_PLAN."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class NotFound(ApplicationError):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"the {kind} named does not exist")
        self.kind = kind
        self.ident = ident


class Conflict(ApplicationError):
    """`reason` is a stable code for a cause a client can act on, e.g. IDEMPOTENCY_KEY_REUSED."""

    reason: str | None = None

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"the {kind} id named is already taken")
        self.kind = kind
        self.ident = ident


IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


class IdempotencyKeyReused(Conflict):
    """An event's idempotency key names a stored entry that reports something else."""

    reason = IDEMPOTENCY_KEY_REUSED

    def __init__(self) -> None:
        super().__init__("idempotency key", "")
        self.args = (
            "the idempotency key is taken by an entry with different content; "
            "use a new key for a new event",
        )


class IdempotencyKeyTaken(ApplicationError):
    """A store's answer to an insert: an (account, idempotency key) of the insert is held by
    a stored entry (another request was first). Nothing of the insert was stored."""

    def __init__(self, account: str, key: str) -> None:
        super().__init__("an idempotency key of the insert is taken")
        self.account = account
        self.key = key


class StoreUnavailable(ApplicationError):
    """The database did not answer or failed. A single insert either happened or did not;
    a batch may have been partly written before the failure."""

    def __init__(self) -> None:
        super().__init__("the audit log store is unavailable; retry later")


class PlanNotConfigured(ApplicationError):
    """An account names a plan this deployment no longer defines: an operator must fix it."""

    def __init__(self, plan: str) -> None:
        super().__init__("the account's plan is not configured on this deployment")
        self.plan = plan


class RateLimited(ApplicationError):
    """Too many requests from this key; retry after the hint."""

    def __init__(self, *, retry_after_seconds: int) -> None:
        super().__init__(f"rate limit reached; retry in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class InvalidExportLink(ApplicationError):
    """Tampered with, signed by someone else, or expired."""

    def __init__(self, why: str = "this export link is not valid") -> None:
        super().__init__(why)


class BatchItemError(Exception):
    """Errors about one item of a batch name its index, so the caller can find it."""

    """`cause` concerns `inputs[index]`; the whole batch was refused and nothing stored."""

    def __init__(self, index: int, cause: Exception) -> None:
        super().__init__(f"inputs[{index}]: {cause}")
        self.index = index
        self.cause = cause

    @property
    def field(self) -> str | None:
        """The offending field with its path, e.g. `inputs[3].email`, if it is a field."""
        if isinstance(self.cause, InvalidField):
            return f"inputs[{self.index}].{self.cause.field}"
        return None
