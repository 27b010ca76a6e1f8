"""Every HTTP request: a request id, a bound on the body, one log line, and metrics.

A pure ASGI middleware, so streamed export bodies pass through untouched and the log line
and latency cover the whole download.
"""

import json
import logging
import time
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.observability.context import RequestInfo, current_request, request_id_from
from adapters.observability.metrics import Metrics

log = logging.getLogger("auditlog.request")

# Routes as templates: an export path carries its token, which must not reach a log line.
_ROUTES = {"/graphql": "graphql", "/healthz": "healthz", "/readyz": "readyz",
           "/metrics": "metrics", "/": "index", "/portal": "portal",
           "/.well-known/audit-seal-keys.json": "seal_keys"}  # fmt: skip
_QUIET = {"healthz", "readyz", "metrics"}


def route_of(path: str) -> tuple[str, str]:
    """(route template, operation name) of a path."""
    if path.startswith("/exports/"):
        return "/exports/{token}", "export_download"
    if path.startswith("/portal/static/"):
        return "/portal/static/{file}", "portal_static"
    if path in _ROUTES:
        return path, _ROUTES[path]
    return "unmatched", "unmatched"


class ObservedRequests:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self._app = app
        self._metrics = metrics
        self._max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        route, operation = route_of(scope["path"])
        info = RequestInfo(request_id=request_id_from(headers.get("x-request-id")))
        scope.setdefault("state", {})["request_id"] = info.request_id
        token = current_request.set(info)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", info.request_id.encode()),
                ]
            await send(message)

        try:
            body = await self._bounded_body(headers, receive)
            if body is None:
                await self._too_large(route, send_with_id)
            else:
                await self._app(scope, _replay(body, receive), send_with_id)
        finally:
            seconds = time.perf_counter() - started
            if info.operation is None:
                # Not a GraphQL operation (or refused before one ran): name it by route.
                info.operation = operation
                info.outcome = "ok" if status < 400 else f"HTTP_{status}"
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

    async def _too_large(self, route: str, send: Send) -> None:
        message = f"the request body is larger than {self._max_body} bytes"
        payload: dict[str, Any] = (
            {
                "data": None,
                "errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}],
            }
            if route == "/graphql"
            else {"error": {"code": "BAD_USER_INPUT", "message": message}}
        )
        body = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
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
