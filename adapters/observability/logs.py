"""Logging: JSON lines in production, readable lines in development, scrubbed either way.

Every record, the service's own and those of uvicorn and the libraries, passes through one
formatter. It adds the request id of the request being served and removes anything shaped
like an email address or a credential, as a last line of defence: the code already avoids
logging them.
"""

import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from adapters.observability.context import current_request
from domain.credentials import redact_credentials

# Local parts with / or * are legal but rare; excluding them keeps `mongodb://***@host` intact.
_EMAIL = re.compile(r"[^\s@<>()\"',;:\[\]/*]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def scrub(text: str) -> str:
    return redact_credentials(_EMAIL.sub("[email]", text))


def _drop_color(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    event.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message
    return event


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrubbed(item) for item in value]
    return value


def _scrub_event(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    # Field by field, nested values too (scrubbing the rendered line could break its JSON).
    return {key: _scrubbed(value) for key, value in event.items()}


def _add_request_id(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    request = current_request.get()
    if request is not None and "request_id" not in event:
        event["request_id"] = request.request_id
    return event


def configure_logging(*, level: str, development: bool) -> None:
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
            _scrub_event,
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
