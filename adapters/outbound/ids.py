"""Entry ids: the hex of a BSON ObjectId.

Unique across processes and machines without coordination, and 24 fixed-width hex digits,
so ids compare as text exactly as ObjectIds do and (created_at, id) is a total order for
keyset pagination on every backend.
"""

from bson import ObjectId


class ObjectIdGenerator:
    def new_entry_id(self) -> str:
        return str(ObjectId())
