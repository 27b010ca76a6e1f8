"""Log streams: where an account's trail is pushed, and the rules of a stream's life.

A stream has a kind (how it talks), a destination (where), a state, and a position: the
last entry it delivered, in ingestion order. Its state changes only as `next_state` says.
How failures are retried is `RetryPolicy`'s: exponential backoff with full jitter, a
receiver's Retry-After honoured within bounds, and a pause after a long enough run of
failures.
"""

import enum
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from domain import validation
from domain.errors import InvalidField

STREAM_NAME_MAX = 100
URL_MAX = 2048
# Syslog over TLS has its own port (RFC 5425 section 4.1); plain TCP syslog has none
# assigned, 514 by custom (RFC 6587 names none; rsyslog and syslog-ng listen there).
SYSLOG_PORTS = {"syslog": 514, "syslog+tls": 6514}
_HTTP_PORTS = {"https": 443, "http": 80}
_STREAM_ID = re.compile(r"ls_[0-9a-f]{24}")


class StreamKind(enum.Enum):
    WEBHOOK = "WEBHOOK"
    SPLUNK_HEC = "SPLUNK_HEC"
    SYSLOG = "SYSLOG"

    @property
    def is_http(self) -> bool:
        return self is not StreamKind.SYSLOG


class StreamState(enum.Enum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    FAILING = "FAILING"
    DISABLED = "DISABLED"

    @property
    def delivers(self) -> bool:
        """Whether a stream in this state is worked on: an active one, or a failing one
        being retried."""
        return self in (StreamState.ACTIVE, StreamState.FAILING)


class PauseReason(enum.Enum):
    """Why a stream is paused: it resumes only when asked (and the plan allows it)."""

    REQUESTED = "REQUESTED"
    PLAN = "PLAN"
    FAILING_TOO_LONG = "FAILING_TOO_LONG"


@dataclass(frozen=True, slots=True)
class Destination:
    """A stream's URL, checked: `host` is an IP address or an ASCII host name, lowercase."""

    kind: StreamKind
    url: str
    scheme: str
    host: str
    port: int
    target: str
    """What an HTTP request asks for (path and query, at least `/`); empty for syslog."""

    @property
    def tls(self) -> bool:
        return self.scheme in ("https", "syslog+tls")

    @property
    def host_is_address(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


def destination(kind: StreamKind, url: str, field: str = "input.url") -> Destination:
    """`url` checked for a stream of `kind`: `https://` (or `http://`, refused later unless
    the host is an allowed private one) for WEBHOOK and SPLUNK_HEC; `syslog://host[:port]`
    or `syslog+tls://host[:port]` for SYSLOG. No user or password in it (a token goes in
    `token`), no fragment; a host name is stored in its IDNA ASCII form."""
    if not isinstance(url, str) or not url:
        raise InvalidField(field, "must be a URL")
    if len(url) > URL_MAX:
        raise InvalidField(field, f"must be at most {URL_MAX} characters")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise InvalidField(field, "must be an ASCII URL without spaces (IDNA hosts as xn--)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidField(field, "is not a valid URL") from None
    schemes = SYSLOG_PORTS if kind is StreamKind.SYSLOG else _HTTP_PORTS
    if parts.scheme not in schemes:
        allowed = " or ".join(f"{scheme}://" for scheme in schemes)
        raise InvalidField(field, f"must start with {allowed} for {kind.value}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidField(field, "must not hold a user or password (a token goes in token)")
    if parts.fragment or url.endswith("#"):
        raise InvalidField(field, "must not have a fragment")
    host = _host(parts.hostname or "", field)
    if kind is StreamKind.SYSLOG and (parts.path not in ("", "/") or parts.query):
        raise InvalidField(field, "must be syslog://host:port, with no path or query")
    if port == 0:
        raise InvalidField(field, "must not use port 0")
    target = "" if kind is StreamKind.SYSLOG else (parts.path or "/")
    if parts.query:
        target += "?" + parts.query
    return Destination(
        kind=kind,
        url=url,
        scheme=parts.scheme,
        host=host,
        port=schemes[parts.scheme] if port is None else port,
        target=target,
    )


def _host(host: str, field: str) -> str:
    if not host:
        raise InvalidField(field, "must name a host")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    ascii_host = validation.host_name(host)
    if ascii_host is None:
        raise InvalidField(field, "must name a valid host")
    return ascii_host


def stream_name(value: str, field: str = "input.name") -> str:
    return validation.free_text(validation.name(value, field), field, STREAM_NAME_MAX)


def stream_id(value: str, field: str = "id") -> str:
    if not isinstance(value, str) or not _STREAM_ID.fullmatch(value):
        raise InvalidField(field, "is not a log stream id (ls_ and 24 hex digits)")
    return value


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a failing stream is retried: the n-th consecutive failure waits a random time up
    to min(cap, base * 2^(n-1)) (full jitter, so streams failing together do not retry
    together), or what the receiver's Retry-After asked, at most `cap`; a stream failing for
    longer than `pause_after` without one success is paused."""

    base: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=5)
    pause_after: timedelta = timedelta(days=3)

    def delay(self, failures: int, draw: float, retry_after: float | None = None) -> timedelta:
        """The wait after `failures` consecutive failures (at least 1); `draw` in [0, 1)."""
        if retry_after is not None and retry_after >= 0:
            return min(self.cap, timedelta(seconds=retry_after))
        doubling: int = 2 ** min(max(failures, 1) - 1, 32)
        ceiling: timedelta = min(self.cap, self.base * doubling)
        return max(timedelta(milliseconds=100), ceiling * draw)

    def gives_up(self, failing_since: datetime, now: datetime) -> bool:
        return now - failing_since >= self.pause_after
