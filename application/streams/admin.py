"""Managing log streams: the operator, or a key of the account holding the STREAM scope.

Every change is audited (`admin.log_stream.*`) in the account's trail. Creating or resuming
a stream needs a plan with `auditlog.can_stream`; a downgrade pauses them (`pause_for_plan`).
A change is a compare-and-set on the stream's version, retried when the delivery worker
wrote in between, so neither overwrites the other.
"""

import base64
import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import assert_never

from auditlog_client import Party

from application import self_audit as actions
from application.access.plans import may_stream, require_streaming
from application.access.principal import KeyHolder, Operator, Principal, System
from application.access.tenancy import Directory, require_scope
from application.errors import Forbidden, NotFound, StoreUnavailable
from application.ports import Clock
from application.reading.criteria import LogFilter
from application.self_audit import AdminRecord, SelfAudit, account_party
from application.streams.model import Failure, LogStream
from application.streams.ports import LogStreamStore, SecretBox
from domain import validation
from domain.errors import InvalidField
from domain.plan import PlanCatalog
from domain.streams import (
    Destination,
    PauseReason,
    StreamKind,
    StreamState,
    destination,
    stream_id,
    stream_name,
)
from domain.tenancy import Scope, account_application_id
from domain.timestamps import at_storage_precision

MAX_STREAMS_PER_ACCOUNT = 10
TOKEN_MAX = 256
ROTATION_OVERLAP = timedelta(hours=24)
"""How long a rotated-out webhook secret still signs beside the new one: a receiver has a
day to switch (Standard Webhooks lets a request carry several signatures)."""
_WRITE_ATTEMPTS = 5


def stream_party(stream: LogStream) -> Party:
    return Party(stream.id, "log_stream", stream.name)


@dataclass(frozen=True, slots=True)
class CreatedStream:
    stream: LogStream
    signing_secret: str | None
    """WEBHOOK: the secret receivers check signatures with, shown this once."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamRules:
    """What the deployment allows: plain http:// and private addresses only to these hosts."""

    allowed_private_hosts: frozenset[str] = frozenset()

    def check(self, target: Destination, field: str = "input.url") -> None:
        if target.scheme == "http" and target.host not in self.allowed_private_hosts:
            raise InvalidField(
                field,
                "must be https:// (http:// only to a host listed in "
                "AUDITLOG_STREAM_ALLOWED_PRIVATE_HOSTS)",
            )


def new_stream_id() -> str:
    return "ls_" + secrets.token_hex(12)


def new_signing_secret() -> str:
    # Standard Webhooks: a base64 secret of 24 to 64 bytes, prefixed whsec_.
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class StreamAdmin:
    """The use cases of the streams API, sharing their collaborators."""

    def __init__(
        self,
        *,
        streams: LogStreamStore,
        directory: Directory,
        plans: PlanCatalog,
        box: SecretBox,
        audit: SelfAudit,
        clock: Clock,
        rules: StreamRules,
        new_id: Callable[[], str] = new_stream_id,
        new_secret: Callable[[], str] = new_signing_secret,
    ) -> None:
        self._streams = streams
        self._directory = directory
        self._plans = plans
        self._box = box
        self._audit = audit
        self._clock = clock
        self._rules = rules
        self._new_id = new_id
        self._new_secret = new_secret

    # --- reading ---------------------------------------------------------------------------
    async def list(self, principal: Principal, account_id: str | None) -> list[LogStream]:
        account = _confined(principal, account_id)
        return await self._streams.list(account)

    # --- creating --------------------------------------------------------------------------
    async def create(
        self,
        principal: Principal,
        *,
        account_id: str,
        name: str,
        kind: StreamKind,
        url: str,
        token: str | None,
        wanted: LogFilter | None,
    ) -> CreatedStream:
        account_id = _confined(principal, account_id) or validation.identifier(
            account_id, "account"
        )
        account = await self._directory.account(account_id)
        if account is None:
            raise NotFound("account", account_id)
        require_streaming(account, self._plans)
        target = destination(kind, url)
        self._rules.check(target)
        sealed_token = None
        if kind is StreamKind.SPLUNK_HEC:
            if not token:
                raise InvalidField("input.token", "is required for SPLUNK_HEC (the HEC token)")
            sealed_token = self._box.seal(validation.text(token, "input.token", TOKEN_MAX))
        elif token is not None:
            raise InvalidField("input.token", f"is only for SPLUNK_HEC, not {kind.value}")
        checked_filter = await self._filter(account_id, wanted)
        existing = await self._streams.list(account_id)
        if len(existing) >= MAX_STREAMS_PER_ACCOUNT:
            raise Forbidden(
                f"an account may have at most {MAX_STREAMS_PER_ACCOUNT} log streams",
                reason="TOO_MANY_STREAMS",
            )
        secret = self._new_secret() if kind is StreamKind.WEBHOOK else None
        now = self._clock.now()
        stream = LogStream(
            id=self._new_id(),
            account=account_id,
            name=stream_name(name),
            destination=target,
            filter=checked_filter,
            state=StreamState.ACTIVE,
            created_at=now,
            # As entries are stamped (milliseconds): one recorded in this instant is sent.
            start=at_storage_precision(now),
            secret=None if secret is None else self._box.seal(secret),
            token=sealed_token,
        )
        with self._administered(actions.STREAM_CREATED, principal, stream) as record:
            await self._streams.add(stream)
            record.metadata = {"kind": kind.value, "host": target.host}
        return CreatedStream(stream, secret)

    async def _filter(self, account_id: str, wanted: LogFilter | None) -> LogFilter:
        wanted = wanted or LogFilter()
        if wanted.account is not None and wanted.account != account_id:
            raise InvalidField("input.filter.account", "must be the stream's account, or left out")
        if wanted.application is not None:
            application = await self._directory.application(wanted.application)
            if application is None or application.account != account_id:
                raise NotFound("application", f"{wanted.application} in account {account_id}")
        return replace(wanted, account=account_id)

    # --- changing --------------------------------------------------------------------------
    async def pause(self, principal: Principal, raw_id: str) -> LogStream:
        def paused(stream: LogStream) -> LogStream:
            return stream.replace(state=StreamState.PAUSED, paused=PauseReason.REQUESTED)

        return await self._change(principal, raw_id, actions.STREAM_PAUSED, paused)

    async def resume(self, principal: Principal, raw_id: str) -> LogStream:
        stream = await self._owned(principal, raw_id)
        account = await self._directory.account(stream.account)
        if account is None:
            raise NotFound("log stream", stream.id)
        require_streaming(account, self._plans)

        def resumed(stream: LogStream) -> LogStream:
            # A disabled stream (its receiver answered 410) comes back when asked: whoever
            # resumes it has fixed the receiver.
            return stream.replace(state=StreamState.ACTIVE, paused=None, failure=Failure())

        return await self._change(principal, stream.id, actions.STREAM_RESUMED, resumed)

    async def replay(self, principal: Principal, raw_id: str, since: datetime) -> LogStream:
        now = self._clock.now()
        if since > now:
            raise InvalidField("since", "must not be in the future")

        def replayed(stream: LogStream) -> LogStream:
            # The batch count and chain go on: a receiver sees the replay as later batches.
            progress = replace(
                stream.progress, position=None, through=None, pending=None, pending_at=None
            )
            return stream.replace(start=since, progress=progress)

        return await self._change(
            principal,
            raw_id,
            actions.STREAM_REPLAYED,
            replayed,
            metadata={"since": since.isoformat()},
        )

    async def rotate_secret(self, principal: Principal, raw_id: str) -> CreatedStream:
        stream = await self._owned(principal, raw_id)
        if stream.kind is not StreamKind.WEBHOOK:
            raise InvalidField("id", "only a WEBHOOK stream has a signing secret")
        secret = self._new_secret()
        sealed = self._box.seal(secret)
        now = self._clock.now()

        def rotated(current: LogStream) -> LogStream:
            return current.replace(
                secret=sealed,
                previous_secret=current.secret,
                rotated_until=now + ROTATION_OVERLAP,
            )

        changed = await self._change(principal, stream.id, actions.STREAM_SECRET_ROTATED, rotated)
        return CreatedStream(changed, secret)

    async def delete(self, principal: Principal, raw_id: str) -> LogStream:
        stream = await self._owned(principal, raw_id)
        with self._administered(actions.STREAM_DELETED, principal, stream):
            if not await self._streams.delete(stream.id):
                raise NotFound("log stream", stream.id)
        return stream

    async def pause_for_plan(self, account_id: str) -> int:
        """Pause the account's delivering streams if its plan no longer includes them (a
        downgrade); how many were paused."""
        account = await self._directory.account(account_id)
        if account is None or may_stream(account, self._plans):
            return 0
        paused = 0
        for stream in await self._streams.list(account_id):
            if stream.state is not StreamState.PAUSED and await _write(
                self._streams,
                stream.id,
                lambda s: s.replace(state=StreamState.PAUSED, paused=PauseReason.PLAN),
            ):
                paused += 1
        return paused

    async def _owned(self, principal: Principal, raw_id: str) -> LogStream:
        """The stream, if the principal may manage it: another account's is NOT_FOUND, as
        one that does not exist (an id reveals nothing)."""
        checked = stream_id(raw_id)
        own = _confined(principal, None)
        stream = await self._streams.get(checked)
        if stream is None or (own is not None and stream.account != own):
            raise NotFound("log stream", checked)
        return stream

    async def _change(
        self,
        principal: Principal,
        raw_id: str,
        action: str,
        change: Callable[[LogStream], LogStream],
        *,
        metadata: dict[str, str | int | bool] | None = None,
    ) -> LogStream:
        stream = await self._owned(principal, raw_id)
        with self._administered(action, principal, stream) as record:
            changed = await _write(self._streams, stream.id, change)
            if changed is None:
                raise NotFound("log stream", stream.id)
            record.metadata = metadata
        return changed

    @contextlib.contextmanager
    def _administered(
        self, action: str, principal: Principal, stream: LogStream
    ) -> Iterator[AdminRecord]:
        """`SelfAudit.administered` in the stream's account, on the stream and its account."""
        with self._audit.administered(
            action, principal, application=account_application_id(stream.account)
        ) as record:
            record.targets = [stream_party(stream), account_party(stream.account)]
            yield record


async def _write(
    streams: LogStreamStore, id_: str, change: Callable[[LogStream], LogStream]
) -> LogStream | None:
    """Apply `change` to the stored stream by compare-and-set, reading again when another
    writer (the delivery worker) got there first; None if the stream is gone."""
    for _ in range(_WRITE_ATTEMPTS):
        current = await streams.get(id_)
        if current is None:
            return None
        changed = change(current).replace(version=current.version + 1)
        if await streams.replace(changed, expected_version=current.version):
            return changed
    raise StoreUnavailable  # it kept changing under this write


def _confined(principal: Principal, account_id: str | None) -> str | None:
    """The account a principal's stream request is about: a key's own (STREAM scope, not
    bound to one application), or the account the operator names (None: every account)."""
    match principal:
        case KeyHolder():
            require_scope(principal, Scope.STREAM)
            if principal.application is not None:
                raise Forbidden("a key bound to one application may not manage log streams")
            if account_id is not None and account_id != principal.account:
                raise Forbidden("this API key may not use that account")
            return principal.account
        case Operator() | System():
            return None if account_id is None else validation.identifier(account_id, "account")
        case _:
            assert_never(principal)
