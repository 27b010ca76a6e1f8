"""Every GraphQL error leaves with a stable `extensions.code`; unexpected ones are masked.

Codes follow Apollo's convention, which most GraphQL clients understand.
"""

import logging
import re

from graphql import GraphQLError, GraphQLSyntaxError

from adapters.graphql.scalars import InvalidScalar
from application.batch import BatchItemError
from application.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PlanNotConfigured,
    RateLimited,
    StoreUnavailable,
    Unauthenticated,
)
from domain.errors import InvalidField

log = logging.getLogger("auditlog.graphql")

_CODES: tuple[tuple[type[Exception], str], ...] = (
    (InvalidField, "BAD_USER_INPUT"),
    (Unauthenticated, "UNAUTHENTICATED"),
    (Forbidden, "FORBIDDEN"),
    (NotFound, "NOT_FOUND"),
    (Conflict, "CONFLICT"),
    (StoreUnavailable, "STORE_UNAVAILABLE"),
    (PlanNotConfigured, "PLAN_NOT_CONFIGURED"),
    (RateLimited, "RATE_LIMITED"),
)
INTERNAL_MESSAGE = "Internal server error."
# graphql-core's wording when a variable's value cannot be coerced to its declared type.
_BAD_VARIABLE = re.compile(r"Variable '\$\w+' has invalid value")
# Where graphql-core quotes the value it refused: "...: 'x'", "... Found: {...}.", "Value 'x'".
_ECHOED_TAIL = re.compile(
    r"(?: ?[;,.]? ?[Ff]ound: .*|: (?:'.*'|\".*\"|\[.*\]|\{.*\})|"
    r"(?<=value): (?:-?[\d.eE+]+|True|False|None))\.?$",
    re.S,
)
_ECHOED_ENUM = re.compile(r"\bValue (?:'[^']*'|\"[^\"]*\") does not exist")


def without_values(message: str) -> str:
    """A graphql-core message without the value it quotes: a refused value may be a secret."""
    message = _ECHOED_ENUM.sub("Value does not exist", message)
    return _ECHOED_TAIL.sub("", message)


def graphql_name(field: str) -> str:
    """`filter.user_agent` -> `filter.userAgent`: name fields as the client wrote them."""
    return ".".join(
        head + "".join(part.title() for part in rest)
        for head, *rest in (segment.split("_") for segment in field.split("."))
    )


def _expected(original: Exception) -> tuple[str, dict[str, object]] | None:
    """The public message and extensions of an error the rules expect, else None."""
    if isinstance(original, BatchItemError):
        cause = original.cause
        if isinstance(cause, InvalidField) and original.field is not None:
            inner = _expected(InvalidField(original.field, cause.problem))
        else:
            inner = _expected(cause)
            inner = inner and (f"inputs[{original.index}]: {inner[0]}", inner[1])
        return inner and (inner[0], {**inner[1], "index": original.index})
    for kind, code in _CODES:
        if isinstance(original, kind):
            if isinstance(original, InvalidField):
                field = graphql_name(original.field)
                return f"{field}: {original.problem}", {"code": code, "field": field}
            extensions: dict[str, object] = {"code": code}
            if isinstance(original, Forbidden) and original.reason is not None:
                extensions["reason"] = original.reason
            if isinstance(original, RateLimited):
                extensions["retryAfterSeconds"] = original.retry_after_seconds
            return str(original), extensions
    return None


def classify(error: GraphQLError) -> None:
    """Set the error's code and public message in place."""
    original = error.original_error
    expected = None if original is None else _expected(original)
    if expected is not None:
        error.message, error.extensions = expected
        return
    if error.path is None and (
        original is None or isinstance(original, GraphQLError | InvalidScalar)
    ):
        # Raised by graphql-core before any resolver ran: the request itself is wrong.
        if isinstance(error, GraphQLSyntaxError):
            error.extensions = {"code": "GRAPHQL_PARSE_FAILED"}
            return
        error.message = without_values(error.message)
        bad_variable = _BAD_VARIABLE.match(error.message)
        error.extensions = {
            "code": "BAD_USER_INPUT" if bad_variable else "GRAPHQL_VALIDATION_FAILED"
        }
        return
    # Something failed in a way no rule expects: log it whole, tell the client nothing.
    where = ".".join(map(str, error.path or ["<operation>"]))
    log.error("unexpected error in %s", where, exc_info=original)
    error.message = INTERNAL_MESSAGE
    error.extensions = {"code": "INTERNAL_SERVER_ERROR"}
