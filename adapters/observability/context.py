"""The request being served, as the logs and metrics describe it."""

import contextvars
import re
import uuid
from dataclasses import dataclass

from domain.credentials import KnownSecrets, looks_like_credential

_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


@dataclass(slots=True)
class RequestInfo:
    request_id: str
    operation: str | None = None
    """GraphQL: the root field asked for (bounded by the schema); else the route."""
    outcome: str | None = None
    """`ok` or the error code."""


current_request: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "current_request", default=None
)


def request_id_from(header: str | None, known_secrets: KnownSecrets | None = None) -> str:
    """The caller's `X-Request-ID` if it is a plain identifier, else a fresh one.

    Not one that holds a credential or one of the service's own secrets: the request id is
    in every log line of the request, in the response, and in the service's own entries."""
    if (
        header
        and _REQUEST_ID.fullmatch(header)
        and not looks_like_credential(header)
        and not (known_secrets and known_secrets.contains(header))
    ):
        return header
    return uuid.uuid4().hex
