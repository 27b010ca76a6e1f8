"""Where a request came from, as far as it can be told: what the service's own audit entries
say of a caller's request."""

from collections.abc import Callable

from domain import validation
from domain.errors import InvalidField


class Origin:
    """Where a request came from, as far as it can be told; for the service's own audit trail.

    The values are checked against the entry rules only when first read: most requests
    never need them, and checking a user agent for credentials is not free. What fails the
    rules is dropped, so a request's own audit entry cannot fail because its user agent is odd.
    """

    __slots__ = ("_checked", "_raw")

    def __init__(
        self, ip: str | None = None, user_agent: str | None = None, request_id: str | None = None
    ) -> None:
        self._raw = (ip, user_agent, request_id)
        self._checked: tuple[str | None, str | None, str | None] | None = None

    def _values(self) -> tuple[str | None, str | None, str | None]:
        if self._checked is None:
            ip, user_agent, request_id = self._raw
            self._checked = (
                _or_none(validation.ip_address, ip),
                _or_none(
                    lambda v: validation.free_text(v, "user_agent", validation.USER_AGENT_MAX),
                    user_agent,
                ),
                _or_none(
                    lambda v: validation.free_text(v, "request_id", validation.REQUEST_ID_MAX),
                    request_id,
                ),
            )
        return self._checked

    @property
    def ip(self) -> str | None:
        return self._values()[0]

    @property
    def user_agent(self) -> str | None:
        return self._values()[1]

    @property
    def request_id(self) -> str | None:
        return self._values()[2]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Origin) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        ip, user_agent, request_id = self._values()
        return f"Origin(ip={ip!r}, user_agent={user_agent!r}, request_id={request_id!r})"


def _or_none(check: Callable[[str], str], value: str | None) -> str | None:
    if not value:
        return None
    try:
        return check(value)
    except InvalidField:
        return None
