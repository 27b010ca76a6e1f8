"""What a receiver's answer means for a batch: a code, a wait, whether it is gone. Nothing
the receiver wrote (body, reason phrase) goes into a code."""

import ssl
import time
from email.utils import parsedate_to_datetime

import httpx

from application.streams.ports import NotSent, SendResult, Sent

RETRY_AFTER_MAX_SECONDS = 3600.0
"""A receiver asking for longer is asked again in an hour (the retry policy caps it lower)."""


def from_status(status: int, headers: httpx.Headers) -> SendResult:
    if 200 <= status < 300:
        return Sent()
    if 300 <= status < 400:
        return NotSent("REDIRECT_REFUSED")
    if status == 410:
        return NotSent("HTTP_410", gone=True)
    if status == 429 or status >= 500:
        return NotSent(f"HTTP_{status}", retry_after=retry_after(headers.get("retry-after")))
    return NotSent(f"HTTP_{status}")


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """RFC 9110 section 10.2.3: delta-seconds or an HTTP-date, within [0, 3600]; None if
    absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        # More digits than an hour needs is more than an hour (and int() is not given them).
        seconds = float(int(value)) if len(value) <= 12 else RETRY_AFTER_MAX_SECONDS
    else:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_SECONDS)


def from_error(error: BaseException) -> NotSent:
    """A transport failure as a code: TLS_FAILED when a TLS error is behind it."""
    if isinstance(error, TimeoutError | httpx.TimeoutException):
        return NotSent("TIMEOUT")
    if _caused_by_tls(error):
        return NotSent("TLS_FAILED")
    return NotSent("CONNECT_FAILED")


def _caused_by_tls(error: BaseException) -> bool:
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
