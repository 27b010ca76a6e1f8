"""Events for the tests of the service's side of the interceptor (the interceptor's own
tests are the client package's, clients/python/tests)."""

from typing import Any

from application.interceptor import Event


def event(index: int = 0, **fields: Any) -> Event:
    """A valid event; `request_id` says which one it is, so order can be checked."""
    values: dict[str, Any] = {
        "application": "portal",
        "action": "auth.login",
        "success": True,
        "request_id": f"req-{index}",
    }
    values.update(fields)
    return Event(**values)


def events(count: int, **fields: Any) -> list[Event]:
    return [event(index, **fields) for index in range(count)]
