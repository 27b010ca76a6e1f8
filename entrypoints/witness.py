"""`auditlog-witness`: keep the service's checkpoints outside its database, and countersign.

    auditlog-witness --data ~/auditlog-witness --service-key=X [--service-key=X2]
                     [--host 127.0.0.1] [--port 8700]

`--service-key` is a public key the service signs checkpoints with: the `x` of a key in its
`/.well-known/audit-seal-keys.json` (give each, current and retired; after `=`, as a key may
start with `-`). At first start the witness creates `--data` (0700) and its own Ed25519 key
in it (0600), printed once; it keeps what it accepted in a SQLite file there. Run it where
the service's operators cannot reach (a customer's own machine), behind HTTPS unless the
service pushes to it over loopback.
"""

import argparse
import base64
import binascii
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from adapters.inbound.http.connections import header_deadline_protocol
from adapters.inbound.http.witness import witness_app
from adapters.observability.logs import configure_logging
from adapters.outbound.clock import SystemClock
from adapters.outbound.data_dir import DataDirectory, DataDirError
from adapters.outbound.seal_keys import (
    Ed25519SealKeys,
    PublicKey,
    PublishedSealKeys,
    key_id,
    new_signing_key,
)
from adapters.outbound.witness_ledger import LEDGER_FILE, LedgerUnusable, SqliteWitnessLedger
from application.integrity.countersigning import Countersigning
from domain.credentials import KnownSecrets

KEY_FILE = "witness-key"
log = logging.getLogger("auditlog.witness")


class _UsageError(Exception):
    pass


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="auditlog-witness",
        description="Accept the audit log service's signed checkpoints in one chain, refuse "
        "a rewind or a split view, and countersign.",
    )
    parser.add_argument("--data", type=Path, required=True, help="directory it keeps all in")
    parser.add_argument(
        "--service-key",
        action="append",
        required=True,
        metavar="KEY",
        help="base64url Ed25519 public key of the service (the `x` of its seal JWK); repeat "
        "for retired keys",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    return parser.parse_args(argv)


def service_keys(texts: Sequence[str]) -> PublishedSealKeys:
    """The keys checkpoints must be signed with; `_UsageError` naming the position of one that
    is not a key (a public key is no secret, but a private one pasted by mistake is)."""
    keys = []
    for position, text in enumerate(texts, start=1):
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise _UsageError(
                f"--service-key #{position} is not a base64url Ed25519 public key (32 bytes)"
            )
        keys.append(PublicKey(key_id(raw), raw, current=True).jwk())
    return PublishedSealKeys({"keys": keys})


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    configure_logging(level="INFO", development=False)
    try:
        trusted = service_keys(args.service_key)
        data = DataDirectory(args.data)
        data.ensure()
        seed, made_now = data.secret(KEY_FILE, new_signing_key)
        ledger = SqliteWitnessLedger.open(args.data / LEDGER_FILE)
    except (_UsageError, DataDirError, LedgerUnusable) as exc:
        log.error("%s", exc)
        return 2
    configure_logging(level="INFO", development=False, known_secrets=KnownSecrets(seed))
    keys = Ed25519SealKeys(seed)
    public = keys.public_keys[0].jwk()["x"]
    if made_now:
        # Printed once, to give to whoever checks this witness's countersignatures.
        print(f"witness public key (kept in {args.data / KEY_FILE}): {public}", flush=True)
    log.info("witness key id %s; ledger %s", keys.key_id, args.data / LEDGER_FILE)
    app = witness_app(
        Countersigning(ledger=ledger, service_keys=trusted, signer=keys, clock=SystemClock()),
        witness_key=public,
    )
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        server_header=False,
        http=header_deadline_protocol(10.0),
        timeout_keep_alive=5,
        limit_concurrency=101,
        proxy_headers=False,
    )
    # After a graceful stop uvicorn raises the signal again; with this, a clean stop exits 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = uvicorn.Server(config)
    try:
        server.run()
    finally:
        ledger.close()
    return 0 if server.started else 3


if __name__ == "__main__":
    sys.exit(main())
