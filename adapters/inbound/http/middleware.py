"""Every HTTP request: a request id, bounds on the body, security headers, one log line, and
metrics.

A pure ASGI middleware, so streamed export bodies pass through untouched and the log line
and latency cover the whole download.
"""

import asyncio
import json
import logging
import time
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.error_codes import BAD_USER_INPUT, INTERNAL_SERVER_ERROR
from adapters.observability.context import RequestInfo, current_request, request_id_from
from adapters.observability.metrics import Metrics
from domain.credentials import KnownSecrets

log = logging.getLogger("auditlog.request")

# Routes as templates: an export path carries its token, which must not reach a log line.
_ROUTES = {"/graphql": "graphql", "/healthz": "healthz", "/readyz": "readyz",
           "/metrics": "metrics", "/": "index", "/portal": "portal",
           "/.well-known/audit-seal-keys.json": "seal_keys"}  # fmt: skip
_QUIET = {"healthz", "readyz", "metrics"}
# On every response that does not set its own: no sniffing a JSON or CSV body into HTML, no
# Referer leaking a URL (export links carry tokens), and no framing (clickjacking). Pages with
# their own Content-Security-Policy (the portal, GraphiQL) forbid framing in it too.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
)


def route_of(path: str) -> tuple[str, str]:
    """(route template, operation name) of a path."""
    if path.startswith("/exports/"):
        return "/exports/{token}", "export_download"
    if path.startswith("/portal/static/"):
        return "/portal/static/{file}", "portal_static"
    if path in _ROUTES:
        return path, _ROUTES[path]
    return "unmatched", "unmatched"


class _ClientNotReading(Exception):
    """The client read none of the response for the send deadline."""


class ObservedRequests:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        body_timeout_seconds: float,
        send_timeout_seconds: float,
        known_secrets: KnownSecrets | None = None,
    ) -> None:
        self._app = app
        self._metrics = metrics
        self._max_body = max_body_bytes
        self._known_secrets = known_secrets
        self._body_timeout = body_timeout_seconds
        self._send_timeout = send_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        route, operation = route_of(scope["path"])
        info = RequestInfo(
            request_id=request_id_from(headers.get("x-request-id"), self._known_secrets)
        )
        scope.setdefault("state", {})["request_id"] = info.request_id
        token = current_request.set(info)
        status = 500
        responded = abandoned = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status = message["status"]
                responded = True
                given = message.get("headers", [])
                present = {name.lower() for name, _ in given}
                message["headers"] = [
                    *given,
                    *(h for h in SECURITY_HEADERS if h[0] not in present),
                    (b"x-request-id", info.request_id.encode()),
                ]
            # A client that stops reading would hold the connection, the task and what the
            # response reads from (an export's cursor) for ever.
            try:
                async with asyncio.timeout(self._send_timeout):
                    await send(message)
            except TimeoutError:
                raise _ClientNotReading from None

        try:
            await self._with_body(scope, receive, send_with_id, headers, route)
        except _ClientNotReading:
            # The response stays unfinished, so uvicorn closes the connection.
            log.warning("the client read nothing for %g seconds: response abandoned",
                        self._send_timeout)  # fmt: skip
            abandoned = True
        except Exception:
            # Unexpected: the client gets the same JSON shape as every other error, with the
            # headers above; the exception goes on to be logged with its trace.
            if not responded:
                message = "Internal server error."
                await _refuse(route, send_with_id, 500, message, code=INTERNAL_SERVER_ERROR)
            raise
        finally:
            seconds = time.perf_counter() - started
            if info.operation is None:
                # Not a GraphQL operation (or refused before one ran): name it by route.
                info.operation = operation
                info.outcome = (
                    "CLIENT_TOO_SLOW" if abandoned else "ok" if status < 400 else f"HTTP_{status}"
                )
                self._metrics.observe(info.operation, info.outcome, seconds)
            log.log(
                logging.DEBUG if operation in _QUIET else logging.INFO,
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "operation": info.operation,
                    "outcome": info.outcome,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            current_request.reset(token)

    async def _with_body(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers, route: str
    ) -> None:
        """Call the app with the whole body, or refuse one too large or too slow to arrive."""
        try:
            async with asyncio.timeout(self._body_timeout):
                body = await self._bounded_body(headers, receive)
        except TimeoutError:
            message = f"the request body did not arrive within {self._body_timeout:g} seconds"
            await _refuse(route, send, 408, message)
            return
        if body is None:
            await _refuse(
                route, send, 413, f"the request body is larger than {self._max_body} bytes"
            )
            return
        await self._app(scope, _replay(body, receive), send)

    async def _bounded_body(self, headers: Headers, receive: Receive) -> bytes | None:
        """The whole request body, or None if it is larger than the bound."""
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_body:
            return None
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


async def _refuse(
    route: str, send: Send, status: int, message: str, *, code: str = BAD_USER_INPUT
) -> None:
    """An error before the app answered, shaped as the route's own errors are; the connection
    closes after it, since what is left of the body would be read as the next request."""
    payload: dict[str, Any] = (
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
        if route == "/graphql"
        else {"error": {"code": code, "message": message}}
    )
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the buffered body over once, then waits for a disconnect."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
