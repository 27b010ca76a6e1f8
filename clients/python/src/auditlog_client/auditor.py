"""Declaring a flow audited: a decorator for async functions and an explicit context manager.

The flow's result and exceptions pass through untouched, and building or emitting the
event can never fail the flow. On failure the reason is a short, safe code (a declared
code, the exception's `audit_reason`, or its class name), never the exception's message
or arguments, which may hold secrets.

An event is built when the flow ends (`Event`), optionally checked (`check`: the audit log
service passes its own validation, so an event it would refuse is counted and not sent),
and handed to the emitter.
"""

import dataclasses
import functools
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, ParamSpec, Protocol, TypeVar

from auditlog_client.events import Event, MetadataValue, Party
from auditlog_client.telemetry import NoTelemetry, Telemetry

log = logging.getLogger("auditlog.interceptor")

P = ParamSpec("P")
R = TypeVar("R")
_SAFE_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")


class Emitter(Protocol):
    """Takes an event without waiting for it to be stored."""

    def emit(self, event: Event) -> bool:
        """Enqueue; False if the event was dropped."""
        ...


@dataclass(frozen=True, slots=True)
class Call:
    """What a deriver sees: the call's arguments by name, and its outcome."""

    arguments: Mapping[str, Any]
    result: Any = None
    error: BaseException | None = None

    def __getitem__(self, name: str) -> Any:
        return self.arguments[name]


FieldValue = str | datetime | Party | Sequence[Party] | Mapping[str, MetadataValue] | None
"""What an event field holds (`Event`): text, `occurred_at`, the actor, targets, metadata."""
Field = FieldValue | Callable[[Call], FieldValue]
ErrorCodes = Mapping[type[BaseException], str]

# What the auditor sets itself: the action it was given, and whether the flow succeeded.
_OWN_FIELDS = frozenset({"action", "success"})
EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(Event) if f.name not in _OWN_FIELDS)
"""The fields a flow declares: every field of the event but those the auditor sets itself."""
_REQUIRED_FIELDS = frozenset(
    f.name
    for f in dataclasses.fields(Event)
    if f.name in EVENT_FIELDS
    and f.default is dataclasses.MISSING
    and f.default_factory is dataclasses.MISSING
)


def _not_a_field(name: str) -> str:
    return f"{name!r} is not a field of an audit event (its fields: {', '.join(EVENT_FIELDS)})"


def _check_names(given: Mapping[str, object], *, required: frozenset[str]) -> None:
    """Refuse, naming it, a keyword that is not a field of the event, or a required one left out."""
    unknown = [name for name in given if name not in EVENT_FIELDS]
    if unknown:
        raise TypeError(_not_a_field(unknown[0]))
    missing = sorted(required - given.keys())
    if missing:
        raise TypeError(f"missing required field of an audit event: {', '.join(missing)}")


def safe_reason(error: BaseException, codes: ErrorCodes | None = None) -> str:
    """A code for a failure that cannot leak what the exception carries."""
    for kind, code in (codes or {}).items():
        if isinstance(error, kind):
            return code
    # The class's attribute only: an instance could have been handed anything.
    declared = getattr(type(error), "audit_reason", None)
    if isinstance(declared, str) and _SAFE_CODE.fullmatch(declared):
        return declared
    return type(error).__name__


def _resolve(field: Field, call: Call) -> FieldValue:
    return field(call) if callable(field) else field


class Auditor:
    def __init__(
        self,
        emitter: Emitter,
        *,
        telemetry: Telemetry | None = None,
        check: Callable[[Event], object] | None = None,
    ) -> None:
        """`check` raises for an event that must not be emitted (its exception's `field`, or
        its class name, is logged; never its message)."""
        self._emitter = emitter
        self._check = check
        # Counts events that could not be built (a deriver failed or gave an invalid value).
        self._telemetry: Telemetry = NoTelemetry() if telemetry is None else telemetry

    def audited(
        self,
        action: str,
        *,
        error_codes: ErrorCodes | None = None,
        **fields: Field,
    ) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
        """Audit every call of an async function. Fields are the event's (`EVENT_FIELDS`),
        each a value or `Call -> value`; those the event requires must be given. Raises
        `TypeError` here, at decoration, for a name that is not a field of the event."""
        _check_names(fields, required=_REQUIRED_FIELDS)

        def decorate(flow: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
            signature = inspect.signature(flow)

            @functools.wraps(flow)
            async def audited_flow(*args: P.args, **kwargs: P.kwargs) -> R:
                try:
                    result = await flow(*args, **kwargs)
                except BaseException as error:
                    self._emit_call(
                        action, fields, error_codes, signature, args, kwargs, None, error
                    )
                    raise
                self._emit_call(action, fields, error_codes, signature, args, kwargs, result, None)
                return result

            return audited_flow

        return decorate

    def audit(
        self,
        action: str,
        *,
        error_codes: ErrorCodes | None = None,
        record_failures: bool = True,
        **fields: FieldValue,
    ) -> "AuditScope":
        """A context manager; set fields on it as the flow learns them. Raises `TypeError`
        for a name that is not a field of the event."""
        return AuditScope(
            self, action, error_codes=error_codes, record_failures=record_failures, **fields
        )

    def emit(
        self,
        action: str,
        *,
        success: bool,
        application: str | None,
        **fields: FieldValue,
    ) -> bool:
        """Build, check and emit one event; never raises. False if it was not emitted."""
        return self._emit(action, success, {"application": application, **fields})

    def _emit(self, action: str, success: bool, values: Mapping[str, FieldValue]) -> bool:
        try:
            event = Event(action=action, success=success, **values)  # type: ignore[arg-type]
            if self._check is not None:
                self._check(event)
        except Exception as exc:
            self._telemetry.interceptor_events("invalid")
            log.warning(
                "audit event for %s not emitted: %s",
                action,
                getattr(exc, "field", None) or type(exc).__name__,
            )
            return False
        try:
            return self._emitter.emit(event)
        except Exception as exc:
            log.error("audit emitter failed for %s: %s", action, type(exc).__name__)
            return False

    def _emit_call(
        self,
        action: str,
        fields: Mapping[str, Field],
        error_codes: ErrorCodes | None,
        signature: inspect.Signature,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        result: Any,
        error: BaseException | None,
    ) -> None:
        try:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            call = Call(bound.arguments, result, error)
            values = {name: _resolve(field, call) for name, field in fields.items()}
        except Exception as exc:
            self._telemetry.interceptor_events("invalid")
            log.warning(
                "audit event for %s not emitted: deriving failed (%s)", action, type(exc).__name__
            )
            return
        if error is not None:
            values["reason"] = safe_reason(error, error_codes)
        self._emit(action, error is None, values)


class AuditScope:
    """`with auditor.audit(...) as audit:` emits when the block ends; an exception in the
    block makes it a failure with a safe reason, and is re-raised untouched.

    The event's fields (`EVENT_FIELDS`) are its attributes, None until set; any other name
    is an `AttributeError`."""

    def __init__(
        self,
        auditor: Auditor,
        action: str,
        *,
        error_codes: ErrorCodes | None,
        record_failures: bool,
        **fields: FieldValue,
    ) -> None:
        _check_names(fields, required=frozenset())
        self._auditor = auditor
        self._action = action
        self._error_codes = error_codes
        self._record_failures = record_failures
        self._skipped = False
        self._fields: dict[str, FieldValue] = dict.fromkeys(EVENT_FIELDS) | fields

    def __getattr__(self, name: str) -> FieldValue:
        # Only reached when `name` is not an attribute of the scope itself.
        fields: dict[str, FieldValue] | None = self.__dict__.get("_fields")
        if fields is None or name not in fields:
            raise AttributeError(_not_a_field(name))
        return fields[name]

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        elif name in self._fields:
            self._fields[name] = value
        else:
            raise AttributeError(_not_a_field(name))

    def skip(self) -> None:
        """Emit nothing for this block."""
        self._skipped = True

    def __enter__(self) -> "AuditScope":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._skipped or (error is not None and not self._record_failures):
            return
        values = dict(self._fields)
        if error is not None:
            values["reason"] = safe_reason(error, self._error_codes)
        self._auditor._emit(self._action, error is None, values)

    async def __aenter__(self) -> "AuditScope":
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(kind, error, traceback)
