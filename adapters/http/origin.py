"""Where a request came from, for the service's own audit trail."""

from starlette.requests import Request

from application.principal import Origin


def origin_of(request: Request) -> Origin:
    return Origin.of(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=request.headers.get("x-request-id"),
    )
