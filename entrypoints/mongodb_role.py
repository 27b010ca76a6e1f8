"""`auditlog-mongodb-role`: make append-only hold at the database, not only in the code.

The role lets the service insert and find audit entries, seals and checkpoints, and never
update or remove them. MongoDB's TTL monitor deletes expired documents as the server
itself, so retention keeps working. Accounts, applications, keys and the sealer's lease stay
updatable (plan changes, revocations, the lease); log streams may also be removed (a stream
is rewritten as it delivers and deleted on request). The role may not create indexes either
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

from adapters.outbound.mongo.role import create_role, privileges
from adapters.outbound.mongo.store import StoreUnreachable
from entrypoints.config import admin_client_options


def mongosh_script(database: str, role: str, user: str | None) -> str:
    definition = {"role": role, "privileges": privileges(database), "roles": []}
    lines = [f"use {database}", f"db.createRole({json.dumps(definition, indent=2)})"]
    if user:
        lines.append(
            f'db.createUser({{user: "{user}", pwd: passwordPrompt(), roles: [{{role: "{role}", '
            f'db: "{database}"}}]}})'
        )
    return "\n".join(lines)


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
        asyncio.run(
            create_role(admin_client_options(args.uri), args.db, args.role, args.user, password)
        )
    except StoreUnreachable as exc:
        print(f"auditlog-mongodb-role: MongoDB refused: {exc}", file=sys.stderr)
        return 1
    print(f"role {args.role} ready on {args.db}" + (f", user {args.user}" if args.user else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
