"""A log stream as a row: id, account, created_at and version as columns (the list's order
and the compare-and-set read them), the rest as one JSON document.

Timestamps are integer microseconds since the epoch (UTC), as everywhere in the file, so a
stream reads back exactly; the filter is `filter_document`'s form (ISO 8601 times); the
destination is its kind and URL, checked again by `domain.streams.destination` on the way
back; secrets are their ciphertexts. A row that cannot be read back raises
`UnreadableStream`, naming the stream and the failure's class, never a stored value.
"""

import json
from datetime import datetime
from typing import Any

from adapters.outbound.sqlite.mappers import from_micros, to_micros
from application.reading.criteria import Position, filter_document, filter_of_document
from application.streams.model import Failure, Lease, LogStream, Progress, SealedSecret
from application.streams.ports import UnreadableStream
from domain.errors import DomainError
from domain.streams import PauseReason, StreamKind, StreamState, destination

STREAM_COLUMNS = "id, account, created_at, version, document"


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else to_micros(moment)


def _moment(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


def _sealed(secret: SealedSecret | None) -> str | None:
    return None if secret is None else secret.ciphertext


def _secret(value: str | None) -> SealedSecret | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("a secret is its ciphertext")
    return SealedSecret(value)


def stream_to_row(stream: LogStream) -> tuple[Any, ...]:
    progress, failure, lease = stream.progress, stream.failure, stream.lease
    position = progress.position
    document = {
        "name": stream.name,
        "kind": stream.destination.kind.value,
        "url": stream.destination.url,
        "filter": filter_document(stream.filter, datetime.isoformat),
        "state": stream.state.value,
        "start": to_micros(stream.start),
        "paused": None if stream.paused is None else stream.paused.value,
        "progress": {
            "position": None
            if position is None
            else {"created_at": to_micros(position.created_at), "entry_id": position.entry_id},
            "delivered": progress.delivered,
            "sequence": progress.sequence,
            "chain": progress.chain,
            "missed": progress.missed,
            "through": _micros(progress.through),
            "pending": None
            if progress.pending is None
            else {
                "created_at": to_micros(progress.pending.created_at),
                "entry_id": progress.pending.entry_id,
            },
            "pending_at": _micros(progress.pending_at),
        },
        "failure": {
            "attempts": failure.attempts,
            "since": _micros(failure.since),
            "last_error": failure.last_error,
            "retry_at": _micros(failure.retry_at),
        },
        "lease": None if lease is None else {"owner": lease.owner, "until": to_micros(lease.until)},
        "secret": _sealed(stream.secret),
        "previous_secret": _sealed(stream.previous_secret),
        "rotated_until": _micros(stream.rotated_until),
        "token": _sealed(stream.token),
    }
    return (
        stream.id,
        stream.account,
        to_micros(stream.created_at),
        stream.version,
        json.dumps(document, separators=(",", ":"), ensure_ascii=False),
    )


def stream_to_domain(row: tuple[Any, ...]) -> LogStream:
    stream_id = row[0]
    try:
        return _stream(row)
    except (DomainError, KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise UnreadableStream(str(stream_id), exc) from None


def _stream(row: tuple[Any, ...]) -> LogStream:
    stream_id, account, created_at, version, text = row
    document = json.loads(text)
    progress, failure, lease = document["progress"], document["failure"], document["lease"]
    position = progress["position"]
    return LogStream(
        id=stream_id,
        account=account,
        name=document["name"],
        destination=destination(StreamKind(document["kind"]), document["url"]),
        filter=filter_of_document(document["filter"], datetime.fromisoformat),
        state=StreamState(document["state"]),
        created_at=from_micros(created_at),
        start=from_micros(document["start"]),
        paused=None if document["paused"] is None else PauseReason(document["paused"]),
        progress=Progress(
            position=None
            if position is None
            else Position(from_micros(position["created_at"]), position["entry_id"]),
            delivered=progress["delivered"],
            sequence=progress["sequence"],
            chain=progress["chain"],
            missed=progress["missed"],
            through=_moment(progress["through"]),
            pending=None
            if progress.get("pending") is None
            else Position(
                from_micros(progress["pending"]["created_at"]), progress["pending"]["entry_id"]
            ),
            pending_at=_moment(progress.get("pending_at")),
        ),
        failure=Failure(
            attempts=failure["attempts"],
            since=_moment(failure["since"]),
            last_error=failure["last_error"],
            retry_at=_moment(failure["retry_at"]),
        ),
        lease=None
        if lease is None
        else Lease(owner=lease["owner"], until=from_micros(lease["until"])),
        secret=_secret(document["secret"]),
        previous_secret=_secret(document["previous_secret"]),
        rotated_until=_moment(document["rotated_until"]),
        token=_secret(document["token"]),
        version=version,
    )
