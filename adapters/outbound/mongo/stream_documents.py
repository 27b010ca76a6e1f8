"""A log stream as MongoDB keeps it: the stream's fields as one JSON-valued document (the
`stream` field of `LogStreamDocument`), and back.

Times are ISO 8601 strings in UTC at microsecond precision, so every instant reads back
exactly (BSON dates keep milliseconds only); the destination is its kind and URL, parsed
again on read (`destination`), and the filter is `filter_document`'s. Secrets are their
ciphertexts only. A document that cannot be read back as a valid stream raises
`UnreadableStream`, naming the stream and the kind of fault, never a stored value.
"""

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from application.reading.criteria import Position, filter_document, filter_of_document
from application.streams.model import Failure, Lease, LogStream, Progress, SealedSecret
from application.streams.ports import UnreadableStream
from domain.errors import InvalidField
from domain.streams import PauseReason, StreamKind, StreamState, destination


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a stored time without an offset")
    return moment.astimezone(UTC)


def _maybe(value: datetime | None) -> str | None:
    return None if value is None else _moment(value)


def _maybe_parse(value: str | None) -> datetime | None:
    return None if value is None else _parse(value)


def _sealed(value: SealedSecret | None) -> str | None:
    return None if value is None else value.ciphertext


def _unsealed(value: str | None) -> SealedSecret | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("a stored secret that is not a string")
    return SealedSecret(value)


def stream_to_document(stream: LogStream) -> dict[str, Any]:
    progress, failure, lease = stream.progress, stream.failure, stream.lease
    position = progress.position
    return {
        "id": stream.id,
        "account": stream.account,
        "name": stream.name,
        "kind": stream.destination.kind.value,
        "url": stream.destination.url,
        "filter": filter_document(stream.filter, _moment),
        "state": stream.state.value,
        "created_at": _moment(stream.created_at),
        "start": _moment(stream.start),
        "paused": None if stream.paused is None else stream.paused.value,
        "progress": {
            "position": None
            if position is None
            else [_moment(position.created_at), position.entry_id],
            "delivered": progress.delivered,
            "sequence": progress.sequence,
            "chain": progress.chain,
            "missed": progress.missed,
            "through": _maybe(progress.through),
            "pending": None
            if progress.pending is None
            else [_moment(progress.pending.created_at), progress.pending.entry_id],
            "pending_at": _maybe(progress.pending_at),
        },
        "failure": {
            "attempts": failure.attempts,
            "since": _maybe(failure.since),
            "last_error": failure.last_error,
            "retry_at": _maybe(failure.retry_at),
        },
        "lease": None if lease is None else {"owner": lease.owner, "until": _moment(lease.until)},
        "secret": _sealed(stream.secret),
        "previous_secret": _sealed(stream.previous_secret),
        "rotated_until": _maybe(stream.rotated_until),
        "token": _sealed(stream.token),
        "version": stream.version,
    }


_FIELDS = frozenset(f.name for f in fields(LogStream))


def stream_of_document(document: Any, stream_id: str) -> LogStream:
    """The stream `stream_to_document` wrote; `UnreadableStream` if it is not one."""
    try:
        return _stream(document)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, InvalidField) as exc:
        raise UnreadableStream(stream_id, exc) from None


def _stored_position(stored: Any) -> Position | None:
    if stored is None:
        return None
    created_at, entry_id = stored
    if not isinstance(entry_id, str):
        raise TypeError("a stored position whose entry id is not a string")
    return Position(_parse(created_at), entry_id)


def _stream(document: dict[str, Any]) -> LogStream:
    if not isinstance(document, dict) or set(document) - {"kind", "url"} != _FIELDS - {
        "destination"
    }:
        raise KeyError("the stored fields are not a log stream's")
    progress, failure, lease = document["progress"], document["failure"], document["lease"]
    position = _stored_position(progress["position"])
    return LogStream(
        id=_text(document["id"]),
        account=_text(document["account"]),
        name=_text(document["name"]),
        destination=destination(StreamKind(document["kind"]), document["url"], "url"),
        filter=filter_of_document(document["filter"], _parse),
        state=StreamState(document["state"]),
        created_at=_parse(document["created_at"]),
        start=_parse(document["start"]),
        paused=None if document["paused"] is None else PauseReason(document["paused"]),
        progress=Progress(
            position=position,
            delivered=_count(progress["delivered"]),
            sequence=_count(progress["sequence"]),
            chain=_text(progress["chain"]),
            missed=_count(progress["missed"]),
            through=_maybe_parse(progress["through"]),
            pending=_stored_position(progress.get("pending")),
            pending_at=_maybe_parse(progress.get("pending_at")),
        ),
        failure=Failure(
            attempts=_count(failure["attempts"]),
            since=_maybe_parse(failure["since"]),
            last_error=failure["last_error"],
            retry_at=_maybe_parse(failure["retry_at"]),
        ),
        lease=None
        if lease is None
        else Lease(owner=_text(lease["owner"]), until=_parse(lease["until"])),
        secret=_unsealed(document["secret"]),
        previous_secret=_unsealed(document["previous_secret"]),
        rotated_until=_maybe_parse(document["rotated_until"]),
        token=_unsealed(document["token"]),
        version=_count(document["version"]),
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a stored text that is not a string")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError("a stored count that is not a natural number")
    return value
