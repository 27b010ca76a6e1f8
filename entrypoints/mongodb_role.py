"""`auditlog-mongodb-role`: make append-only hold at the database, not only in the code.

The role lets the service insert and find audit entries and seals, and never update or
remove them. MongoDB's TTL monitor deletes expired documents as the server itself, so
retention keeps working. Accounts, applications, keys and the sealer's lease stay
updatable (plan changes, revocations, the lease). The role may not create indexes either
(a TTL index is a way to delete): `create` makes them, as the administrator, and the
service runs with AUDITLOG_MONGODB_MANAGE_INDEXES=false.

    auditlog-mongodb-role print                      # the mongosh commands, to review and run
    auditlog-mongodb-role create --uri "$ADMIN_URI" --user auditlog \
        --password-env AUDITLOG_DB_PASSWORD

Then connect the service as that user: AUDITLOG_MONGODB_URI=mongodb://auditlog:...@host/auditlog
"""

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient
from pymongo.errors import PyMongoError

from adapters.mongo.client import ClientOptions
from adapters.mongo.store import MongoStore, StoreUnreachable

APPEND_ONLY = ("audit_logs", "audit_seals")
UPDATABLE = ("accounts", "applications", "api_keys", "seal_leases")


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
    granted.append({"resource": {"db": database, "collection": ""}, "actions": ["listCollections"]})
    return granted


def mongosh_script(database: str, role: str, user: str | None) -> str:
    definition = {"role": role, "privileges": privileges(database), "roles": []}
    lines = [f"use {database}", f"db.createRole({json.dumps(definition, indent=2)})"]
    if user:
        lines.append(
            f'db.createUser({{user: "{user}", pwd: passwordPrompt(), roles: [{{role: "{role}", '
            f'db: "{database}"}}]}})'
        )
    return "\n".join(lines)


async def create(
    uri: str, database: str, role: str, user: str | None, password: str | None
) -> None:
    # Collections and indexes first, as the administrator: the role cannot make them.
    store = await MongoStore.open(ClientOptions(uri=uri), database=database)
    await store.close()
    client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(uri, serverSelectionTimeoutMS=5_000)
    try:
        db = client[database]
        existing = await db.command({"rolesInfo": role})
        command = "updateRole" if existing.get("roles") else "createRole"
        await db.command({command: role, "privileges": privileges(database), "roles": []})
        if user:
            users = await db.command({"usersInfo": user})
            command = "updateUser" if users.get("users") else "createUser"
            await db.command(
                {command: user, "pwd": password, "roles": [{"role": role, "db": database}]}
            )
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="auditlog-mongodb-role", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("print", "create"):
        command = sub.add_parser(name)
        command.add_argument("--db", default="auditlog")
        command.add_argument("--role", default="auditlogService")
        command.add_argument("--user")
    sub.choices["create"].add_argument("--uri", required=True, help="a URI allowed to create roles")
    sub.choices["create"].add_argument(
        "--password-env", help="variable holding the user's password"
    )
    args = parser.parse_args(argv)
    if args.command == "print":
        print(mongosh_script(args.db, args.role, args.user))
        return 0
    password = os.environ.get(args.password_env or "") if args.user else None
    if args.user and not password:
        print(
            "auditlog-mongodb-role: --user needs --password-env naming a set variable",
            file=sys.stderr,
        )
        return 2
    try:
        asyncio.run(create(args.uri, args.db, args.role, args.user, password))
    except (PyMongoError, StoreUnreachable) as exc:
        print(f"auditlog-mongodb-role: MongoDB refused: {exc}", file=sys.stderr)
        return 1
    print(f"role {args.role} ready on {args.db}" + (f", user {args.user}" if args.user else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
