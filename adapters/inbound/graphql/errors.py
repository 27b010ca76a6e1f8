"""Every GraphQL error leaves with a stable `extensions.code`; unexpected ones are masked.

Which failure has which code is `adapters.error_codes`: one table for every adapter.
"""

import logging
import re
from weakref import WeakKeyDictionary

from graphql import GraphQLError, GraphQLSchema, GraphQLSyntaxError

from adapters.error_codes import (
    BAD_USER_INPUT,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    INTERNAL_SERVER_ERROR,
    error_code,
)
from adapters.inbound.graphql.scalars import InvalidScalar
from application.errors import BatchItemError, Conflict, Forbidden, RateLimited
from domain.errors import InvalidField

log = logging.getLogger("auditlog.graphql")

INTERNAL_MESSAGE = "Internal server error."
# graphql-core's wording when a variable's value cannot be coerced to its declared type.
_BAD_VARIABLE = re.compile(r"Variable (?:'\$\w+' )?has invalid (?:default )?value")
# Where graphql-core quotes the value it refused: "...: 'x'", "... Found: {...}.", "Value 'x'".
_ECHOED_TAIL = re.compile(
    r"(?: ?[;,.]? ?[Ff]ound: .*|: (?:'.*'|\".*\"|\[.*\]|\{.*\})|"
    r"(?<=value): (?:-?[\d.eE+]+|True|False|None))\.?$",
    re.S,
)
_ECHOED_ENUM = re.compile(r"\bValue (?:'[^']*'|\"[^\"]*\") does not exist")


# Any other quoted text, with the space before it: graphql-core quotes the names a client
# chose (fields, arguments, input fields, fragments, variables, operations, aliases, types,
# directives) and tokens it could not parse. Any of them may be a secret.
_QUOTED = re.compile(r"""\s?(?:'([^'\n]*)'|"([^"\n]*)")""")
_NAMES: "WeakKeyDictionary[GraphQLSchema, frozenset[str]]" = WeakKeyDictionary()


def schema_names(schema: GraphQLSchema) -> frozenset[str]:
    """Every name the schema defines: these a message may quote, they are public."""
    names = _NAMES.get(schema)
    if names is None:
        found = {"__schema", "__type", "__typename"}
        for directive in schema.directives:
            found.add(directive.name)
            found.update(directive.args)
        for name, type_ in schema.type_map.items():
            found.add(name)
            found.update(getattr(type_, "values", None) or ())  # an enum's values
            for field_name, field in (getattr(type_, "fields", None) or {}).items():
                found.add(field_name)
                found.update(getattr(field, "args", None) or ())
        names = _NAMES[schema] = frozenset(found)
    return names


def _public(quoted: str, names: frozenset[str]) -> bool:
    """A schema name, or a reference to one (`Query.auditLogs`, `[Scope!]!`, `@include`),
    or punctuation (`found '}'`)."""
    if not any(c.isalnum() for c in quoted):
        return True
    bare = quoted.strip("[]!").removeprefix("@")
    return all(part in names for part in bare.split("."))


def without_values(message: str, names: frozenset[str] = frozenset()) -> str:
    """A graphql-core message without the value it quotes or a name the client chose that
    the schema does not define: a refused value, or a name, may be a secret."""
    message = _ECHOED_ENUM.sub("Value does not exist", message)
    message = _ECHOED_TAIL.sub("", message)
    return _QUOTED.sub(
        lambda m: m[0] if _public(m[1] if m[1] is not None else m[2], names) else "", message
    )


def graphql_name(field: str) -> str:
    """`filter.user_agent` -> `filter.userAgent`: name fields as the client wrote them. What
    follows `metadata.` is a caller's key, named as it was sent (`metadata.user_id`)."""
    head, dot, key = field.partition("metadata.")
    if dot and (not head or head.endswith(".")):
        return _camel(head) + dot + key
    return _camel(field)


def _camel(field: str) -> str:
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
    row = error_code(original)
    if row is None:
        return None
    if isinstance(original, InvalidField):
        field = graphql_name(original.field)
        return f"{field}: {original.problem}", {"code": row.code, "field": field}
    extensions: dict[str, object] = {"code": row.code}
    if isinstance(original, Forbidden | Conflict) and original.reason is not None:
        extensions["reason"] = original.reason
    if isinstance(original, RateLimited):
        extensions["retryAfterSeconds"] = original.retry_after_seconds
    return str(original), extensions


def classify(error: GraphQLError, names: frozenset[str] = frozenset()) -> None:
    """Set the error's code and public message in place; `names` are the schema's, which
    a message may quote (`schema_names`)."""
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
            # The parser quotes the token it did not expect, which is the client's text.
            error.message = without_values(error.message, names)
            error.extensions = {"code": GRAPHQL_PARSE_FAILED}
            return
        error.message = without_values(error.message, names)
        bad_variable = _BAD_VARIABLE.match(error.message)
        error.extensions = {"code": BAD_USER_INPUT if bad_variable else GRAPHQL_VALIDATION_FAILED}
        return
    # Something failed in a way no rule expects: log it whole, tell the client nothing.
    where = ".".join(map(str, error.path or ["<operation>"]))
    log.error("unexpected error in %s", where, exc_info=original)
    error.message = INTERNAL_MESSAGE
    error.extensions = {"code": INTERNAL_SERVER_ERROR}
