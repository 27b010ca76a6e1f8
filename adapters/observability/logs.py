"""Logging: JSON lines in production, readable lines in development, scrubbed either way.

Every record, the service's own and those of uvicorn and the libraries, passes through one
formatter. It adds the request id of the request being served and removes anything shaped
like an email address or a credential, and the service's own secrets once the app has
named them, as a last line of defence: the code already avoids logging them.
"""

import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from adapters.observability.context import current_request
from domain.credentials import KnownSecrets, redact_credentials

# Local parts with / or * are legal but rare; excluding them keeps `mongodb://***@host` intact.
_EMAIL = re.compile(r"[^\s@<>()\"',;:\[\]/*]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def scrub(text: str, known_secrets: KnownSecrets | None = None) -> str:
    # The known secrets first: replacing an email or a token inside one could break it up.
    if known_secrets:
        text = known_secrets.redact(text)
    return redact_credentials(_EMAIL.sub("[email]", text))


def _drop_color(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    event.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message
    return event


class _ScrubEvent:
    """The processor: field by field, nested values too (scrubbing the rendered line could
    break its JSON)."""

    def __init__(self, known_secrets: KnownSecrets | None) -> None:
        self._known_secrets = known_secrets

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
        return {key: self._scrubbed(value) for key, value in event.items()}

    def _scrubbed(self, value: Any) -> Any:
        if isinstance(value, str):
            return scrub(value, self._known_secrets)
        if isinstance(value, Mapping):
            return {key: self._scrubbed(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._scrubbed(item) for item in value]
        return value


def _add_request_id(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    request = current_request.get()
    if request is not None and "request_id" not in event:
        event["request_id"] = request.request_id
    return event


def configure_logging(
    *, level: str, development: bool, known_secrets: KnownSecrets | None = None
) -> None:
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if development
        else structlog.processors.JSONRenderer()
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _drop_color,
            _add_request_id,
            structlog.processors.format_exc_info,
            _ScrubEvent(known_secrets),
            renderer,
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's loggers go through this formatter too, whatever configured them before.
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
        uvicorn_logger.disabled = False
    # uvicorn's access log would print paths, and export paths carry tokens; requests are
    # logged by the service's own middleware instead.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx and httpcore log each request with its whole URL at INFO and DEBUG: a log
    # stream's URL may carry a credential in its query (a SAS signature, a code=), and a
    # witness's URL is configuration. The senders log what they need (a code, never a URL).
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
