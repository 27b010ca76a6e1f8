"""The API's error codes: one table from each expected failure to its code and HTTP status.

The codes are part of the API contract, shared by GraphQL (`extensions.code`) and the plain
HTTP routes (`{"error": {"code": ...}}`), and they follow Apollo's convention, which most
GraphQL clients understand. The table lives here, in the adapters, because a status is
HTTP's and the wording of the wire is the adapters' to translate: the use cases raise typed
errors and know neither. A failure is looked up by its class and then its bases, so a
subclass inherits its parent's row; every ApplicationError has one (a test sees to it).
"""

from dataclasses import dataclass

from application.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyTaken,
    InvalidExportLink,
    NotFound,
    PlanNotConfigured,
    RateLimited,
    StoreUnavailable,
    Unauthenticated,
)
from domain.errors import InvalidField

BAD_USER_INPUT = "BAD_USER_INPUT"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
CONFLICT = "CONFLICT"
STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
PLAN_NOT_CONFIGURED = "PLAN_NOT_CONFIGURED"
RATE_LIMITED = "RATE_LIMITED"
# Not an expected failure's: the request itself, or something no rule expects.
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    status: int
    """The HTTP status of a plain route; GraphQL answers 200 with the code in the body."""


ERROR_CODES: dict[type[Exception], ErrorCode] = {
    InvalidField: ErrorCode(BAD_USER_INPUT, 400),
    Unauthenticated: ErrorCode(UNAUTHENTICATED, 401),
    Forbidden: ErrorCode(FORBIDDEN, 403),
    InvalidExportLink: ErrorCode(FORBIDDEN, 403),
    NotFound: ErrorCode(NOT_FOUND, 404),
    Conflict: ErrorCode(CONFLICT, 409),
    # A store's answer that recording resolves; were it ever to escape, it is a conflict.
    IdempotencyKeyTaken: ErrorCode(CONFLICT, 409),
    RateLimited: ErrorCode(RATE_LIMITED, 429),
    PlanNotConfigured: ErrorCode(PLAN_NOT_CONFIGURED, 500),
    StoreUnavailable: ErrorCode(STORE_UNAVAILABLE, 503),
}


def error_code(error: BaseException) -> ErrorCode | None:
    """The row of an expected failure, else None (the failure is unexpected)."""
    for kind in type(error).__mro__:
        row = ERROR_CODES.get(kind)
        if row is not None:
            return row
    return None
