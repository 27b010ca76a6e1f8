"""Log streams on Beanie: a document per stream, the stream's JSON document in `stream`
(`stream_documents`) beside the fields it is found, ordered and compared-and-set by.

A write names the version it read: `update_one` matches `_id` and that version, and is
atomic on one document, so of two racing writers at one version exactly one matches. Reads
go to the collection itself, not through the Beanie model: a document altered by hand is
reported as an `UnreadableStream`, not as a pydantic validation error.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING

from adapters.outbound.mongo.documents import LogStreamDocument
from adapters.outbound.mongo.errors import StoreCalls
from adapters.outbound.mongo.stream_documents import stream_of_document, stream_to_document
from application.streams.model import LogStream
from application.streams.ports import Readable, read_each

_OLDEST_FIRST = [("created_at", ASCENDING), ("_id", ASCENDING)]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _fields(stream: LogStream) -> dict[str, Any]:
    return {
        "account": stream.account,
        "created_at": (stream.created_at - _EPOCH) // timedelta(microseconds=1),
        "version": stream.version,
        "stream": stream_to_document(stream),
    }


def _read(document: dict[str, Any]) -> LogStream:
    return stream_of_document(document.get("stream"), str(document.get("_id")))


class BeanieLogStreams:
    def __init__(self, calls: StoreCalls) -> None:
        self._call = calls

    @staticmethod
    def _collection() -> Any:
        return LogStreamDocument.get_motor_collection()

    async def add(self, stream: LogStream) -> None:
        async with self._call("log stream", stream.id):
            await self._collection().insert_one({"_id": stream.id, **_fields(stream)})

    async def get(self, stream_id: str) -> LogStream | None:
        async with self._call():
            document = await self._collection().find_one({"_id": stream_id})
        return None if document is None else _read(document)

    async def list(self, account: str | None = None) -> list[LogStream]:
        query = {} if account is None else {"account": account}
        async with self._call():
            documents = await self._collection().find(query, sort=_OLDEST_FIRST).to_list(None)
        return [_read(document) for document in documents]

    async def readable(self) -> Readable:
        async with self._call():
            documents = await self._collection().find({}, sort=_OLDEST_FIRST).to_list(None)
        return read_each(documents, _read)

    async def replace(self, stream: LogStream, *, expected_version: int) -> bool:
        written = stream.replace(version=expected_version + 1)
        async with self._call():
            result = await self._collection().update_one(
                {"_id": stream.id, "version": expected_version}, {"$set": _fields(written)}
            )
        return bool(result.matched_count == 1)

    async def delete(self, stream_id: str) -> bool:
        async with self._call():
            result = await self._collection().delete_one({"_id": stream_id})
        return bool(result.deleted_count == 1)
