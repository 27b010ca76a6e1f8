"""Where a request came from, for the service's own audit trail."""

from starlette.requests import Request

from application.access.origin import Origin


def origin_of(request: Request) -> Origin:
    # The request id as the request log has it: the caller's when valid, else a fresh one.
    request_id = request.scope.get("state", {}).get("request_id")
    return Origin(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=request_id or request.headers.get("x-request-id"),
    )
