"""Unique indexes for the embedded store, checked the way MongoDB checks them: by a lookup.

mongomock (4.3) checks a unique index by scanning the whole collection on every insert (an
insert at 5,000 stored entries takes about 28 ms, a batch of 5,000 into an empty collection
about 46 s), and its `create_indexes`, which Beanie calls, drops `partialFilterExpression`:
a partial unique index becomes a total one, so a second entry without an idempotency key
in an account would clash. `prepare` makes the partial indexes again with `create_index`,
which keeps the filter (the index then lists as MongoDB lists it, and mongomock's own check
honours it), and replaces the scan, on the collection the repository writes through, by a
map from each unique index's key to the id of the document holding it.

A holder in the map counts only while it is stored and still holds that key, so deletions
(the TTL sweep, a test tampering) need no hook. Writes through another handle on the
collection fall back to mongomock's own scan, correct but slow. It reaches into mongomock's
`Collection` and mongomock-motor's wrapper of it (pinned versions); the contract and adapter
suites prove both halves, so an upgrade that moves the internals fails loudly.
"""

from collections.abc import Callable, Mapping
from typing import Any

from beanie import Document
from mongomock import DuplicateKeyError, filtering, helpers

_DUPLICATE_KEY = 11000


class _UniqueKeys:
    """Stands in for mongomock's `Collection._ensure_uniques(document)`, which is called with
    the document already in the store and removes it again if this raises."""

    def __init__(self, collection: Any, scan: Callable[[Any], None]) -> None:
        self._collection = collection
        self._scan = scan
        self._holders: dict[tuple[str, tuple[Any, ...]], Any] = {}

    def __call__(self, document: Mapping[str, Any]) -> None:
        store = self._collection._store
        for name, index in store.indexes.items():
            if not index.get("unique"):
                continue
            key = _key(index, document)
            if key is None:
                continue
            try:
                holder = self._holders.get((name, key))
            except TypeError:  # an array or a subdocument in the key: not worth a map
                self._scan(document)
                return
            held = holder not in (None, document["_id"]) and holder in store
            if held and _key(index, store[holder]) == key:
                fields = [field for field, _ in index["key"]]
                raise DuplicateKeyError(
                    "E11000 Duplicate Key Error",
                    _DUPLICATE_KEY,
                    {
                        "keyPattern": dict.fromkeys(fields, 1),
                        "keyValue": dict(zip(fields, key, strict=True)),
                    },
                )
            self._holders[name, key] = document["_id"]


def _key(index: Mapping[str, Any], document: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The document's key in the index, or None if the index does not hold it."""
    partial = index.get("partialFilterExpression")
    if partial is not None and not filtering.filter_applies(partial, document):  # type: ignore[no-untyped-call]
        return None
    values = []
    for field, _ in index["key"]:
        try:
            values.append(helpers.get_value_by_dot(document, field))  # type: ignore[no-untyped-call]
        except KeyError:
            values.append(None)
    if index.get("sparse") and all(value is None for value in values):
        return None
    return tuple(values)


async def prepare(model: type[Document]) -> None:
    """Make the model's partial indexes as MongoDB would, and check its unique indexes by
    lookup. Run once, on an empty collection, after Beanie made the indexes."""
    collection: Any = model.get_motor_collection()
    present = await collection.index_information()
    for index in getattr(model.Settings, "indexes", []):
        options = dict(index.document)
        if "partialFilterExpression" not in options or options["name"] not in present:
            continue
        keys = options.pop("key")
        await collection.drop_index(options["name"])
        await collection.create_index(list(keys.items()), **options)
    inner = collection._AsyncMongoMockCollection__collection  # mongomock's own Collection
    inner._ensure_uniques = _UniqueKeys(inner, inner._ensure_uniques)
