"""The append-only role: what it may do on each collection, and making it as an administrator.

Entries, seals and checkpoints may be found and inserted, never updated or removed; accounts,
applications, keys and the sealer's lease stay updatable; log streams, rewritten as they
deliver and deleted on request, may also be removed. No index may be created by the
role (a TTL index is a way to delete): `create_role` makes them first, as the administrator.
"""

from typing import Any

from pymongo.errors import PyMongoError

from adapters.outbound.mongo.client import ClientOptions
from adapters.outbound.mongo.documents import (
    AccountDocument,
    ApiKeyDocument,
    ApplicationDocument,
    AuditLogDocument,
    CheckpointDocument,
    LogStreamDocument,
    SealDocument,
    SealerStateDocument,
)
from adapters.outbound.mongo.store import MongoStore, StoreUnreachable, why

APPEND_ONLY = tuple(d.Settings.name for d in (AuditLogDocument, SealDocument, CheckpointDocument))
UPDATABLE = tuple(
    d.Settings.name
    for d in (AccountDocument, ApplicationDocument, ApiKeyDocument, SealerStateDocument)
)
REMOVABLE = (LogStreamDocument.Settings.name,)


def privileges(database: str) -> list[dict[str, Any]]:
    granted = [
        {
            "resource": {"db": database, "collection": name},
            "actions": ["find", "insert", "listIndexes"],
        }
        for name in APPEND_ONLY
    ]
    granted += [
        {
            "resource": {"db": database, "collection": name},
            "actions": ["find", "insert", "update", "listIndexes"],
        }
        for name in UPDATABLE
    ]
    granted += [
        {
            "resource": {"db": database, "collection": name},
            "actions": ["find", "insert", "update", "remove", "listIndexes"],
        }
        for name in REMOVABLE
    ]
    granted.append({"resource": {"db": database, "collection": ""}, "actions": ["listCollections"]})
    return granted


async def create_role(
    options: ClientOptions, database: str, role: str, user: str | None, password: str | None
) -> None:
    """Create or update the role (and a user holding it). StoreUnreachable, without the
    driver's message, if the database cannot be reached or refuses."""
    # Collections and indexes first, as the administrator: the role cannot make them.
    store = await MongoStore.open(options, database=database, manage_indexes=True)
    try:
        db = store.client[database]
        existing = await db.command({"rolesInfo": role})
        command = "updateRole" if existing.get("roles") else "createRole"
        await db.command({command: role, "privileges": privileges(database), "roles": []})
        if user:
            users = await db.command({"usersInfo": user})
            command = "updateUser" if users.get("users") else "createUser"
            await db.command(
                {command: user, "pwd": password, "roles": [{"role": role, "db": database}]}
            )
    except PyMongoError as exc:
        raise StoreUnreachable(why(exc, options)) from None
    finally:
        await store.close()
