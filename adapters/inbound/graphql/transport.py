"""GraphQL over HTTP at the edge: what a POST body must be, how a refused request is answered,
and the GraphiQL page.

Strawberry answers a malformed request in plain text, and a body that is JSON but not an
object (`12`, `null`, `"x"`) with a 500 and a logged traceback. Here every refusal is a JSON
GraphQL error with `extensions.code` and, where one part of the request is at fault,
`extensions.field` naming it; no message quotes what was sent.
"""

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, Response
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError

from adapters.error_codes import BAD_USER_INPUT, NOT_FOUND

# The deepest JSON a request needs is about five levels (body, variables, a list of inputs,
# an input, its value); Python code that walks a value recursively fails near 1000.
MAX_JSON_DEPTH = 32
_OBJECT_OR_NULL = {"variables", "extensions"}
_STRING_OR_NULL = {"operationName"}


class RequestRefused(HTTPException):
    """A request the GraphQL endpoint will not run, with the part of it at fault."""

    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        super().__init__(status, message)
        self.field = field


def read_operation(method: str, content_type: str, body: bytes) -> GraphQLRequestData:
    """The one operation a POST body carries; raises `RequestRefused` on anything else."""
    if method != "POST":
        # GET serves GraphiQL (in development) and nothing else: an operation over GET is a
        # link that runs with whatever credentials the browser adds.
        raise RequestRefused(405, "send operations with POST")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise RequestRefused(
            415, "send the operation as JSON with Content-Type: application/json",
            field="Content-Type",
        )  # fmt: skip
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson also refuses invalid UTF-8, lone surrogates, NaN, numbers beyond a double
        # and nesting past 1024 levels, each of which the standard library lets through or
        # fails on with an unexpected error.
        raise RequestRefused(400, "is not valid JSON", field="body") from None
    if isinstance(data, list):
        raise RequestRefused(
            400, "must be one operation: a JSON array (batching) is not accepted",
            field="body",
        )  # fmt: skip
    if not isinstance(data, dict):
        raise RequestRefused(400, "must be a JSON object with a query", field="body")
    if not _within_depth(data, MAX_JSON_DEPTH):
        raise RequestRefused(400, f"nests deeper than {MAX_JSON_DEPTH} levels", field="body")
    query = data.get("query")
    if not isinstance(query, str):
        raise RequestRefused(400, "must be a GraphQL document, as a string", field="query")
    for name in _OBJECT_OR_NULL:
        if not isinstance(data.get(name), dict | None):
            raise RequestRefused(400, "must be an object or null", field=name)
    for name in _STRING_OR_NULL:
        if not isinstance(data.get(name), str | None):
            raise RequestRefused(400, "must be a string or null", field=name)
    return GraphQLRequestData(
        query=query,
        variables=data.get("variables"),
        operation_name=data.get("operationName"),
        extensions=data.get("extensions"),
        # Plain request and response: the schema has no subscriptions, and nothing here is
        # streamed (strawberry would pick SSE or multipart from the Accept header).
        protocol="http",
    )


def _within_depth(value: object, limit: int) -> bool:
    """Whether a decoded JSON value nests at most `limit` levels, walked without recursion."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children: Any = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return False
                pending.append((child, depth + 1))
    return True


def refusal(error: HTTPException) -> Response:
    """The JSON GraphQL error for a request refused before (or instead of) execution."""
    if error.status_code == 404:
        # Strawberry's answer to a browser when no GraphiQL is served.
        message = "GraphiQL is served only with AUDITLOG_ENVIRONMENT=development"
        return _error_response(404, message, {"code": NOT_FOUND})
    if isinstance(error.__cause__, CannotGetOperationTypeError):
        # Strawberry's own message quotes the operationName sent, which may be a secret.
        error = RequestRefused(
            400, "names no operation of the document, or is needed to choose one",
            field="operationName",
        )  # fmt: skip
    extensions: dict[str, object] = {"code": BAD_USER_INPUT}
    field = getattr(error, "field", None)
    if field is not None:
        extensions["field"] = field
    message = f"{field}: {error.reason}" if field is not None else error.reason
    return _error_response(error.status_code, message, extensions)


def _error_response(status: int, message: str, extensions: dict[str, object]) -> Response:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": extensions}]},
        status_code=status,
    )


@dataclass(frozen=True, slots=True)
class GraphiQLPage:
    """GraphiQL without persisted headers or URL prefill, under a policy that lets it run only
    its own inline script and the pinned (integrity-checked) files from its CDN."""

    html: str
    policy: str

    @classmethod
    def load(cls) -> "GraphiQLPage":
        html = (Path(__file__).parent / "graphiql.html").read_text(encoding="utf-8")
        inline = re.findall(r"<script>(.*?)</script>", html, re.S)
        hashes = " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
            for s in inline
        )
        cdn = "https://unpkg.com"
        policy = (
            f"default-src 'none'; script-src {cdn} {hashes}; style-src {cdn} 'unsafe-inline'; "
            f"font-src {cdn} data:; img-src 'self' data:; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        return cls(html=html, policy=policy)

    def response(self) -> Response:
        return HTMLResponse(
            self.html,
            headers={
                "Content-Security-Policy": self.policy,
                "X-Frame-Options": "DENY",
                "Cache-Control": "no-store",
            },
        )
