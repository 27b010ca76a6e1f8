"""`auditlog-verify`: check an NDJSON export offline against the published seal keys.

    auditlog-verify audit-logs-acme-20261127T203100Z.ndjson \\
        --keys https://audit.example.com/.well-known/audit-seal-keys.json

    auditlog-verify --proof receipt.json --keys https://audit.example.com/.well-known/audit-seal-keys.json

`--keys` takes the JWK set as a URL or a file. With `--proof`, the file is a receipt
(`auditLogProof`'s `document`): exit 0 when it proves its entry, 1 when anything of it does
not hold or cannot be read. Exit status: 0 when the file is a whole
export whose signed trailer, rows, seals and checkpoint all hold; 1 when anything does not (a
line that cannot be read, a missing or foreign trailer, rows added, removed, duplicated,
reordered or edited, a seal or checkpoint that does not hold, or an export cut short); 2
only on bad usage (arguments,
the export file or the keys cannot be read). Entries in windows not sealed yet when the
export was made, and every entry of an export made without seals, are counted, not failed,
unless `--require-sealed` is given.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from adapters.outbound.seal_keys import PublishedSealKeys
from application.integrity.offline_verify import verify_export
from application.integrity.proving import check_proof


def _load_keys(source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        response = httpx.get(source, timeout=10)
        response.raise_for_status()
        keys: dict[str, Any] = response.json()
        return keys
    loaded: dict[str, Any] = json.loads(Path(source).read_text())
    return loaded


def _check_receipt(path: Path, keys: PublishedSealKeys) -> int:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"auditlog-verify: {exc}", file=sys.stderr)
        return 2
    try:
        document = json.loads(raw)
    except ValueError:
        problems = ["the receipt is not JSON"]
    else:
        problems = check_proof(document, keys)
    for problem in problems:
        print(f"PROOF_INVALID: {problem}")
    if not problems:
        entry, seal = document["entry"], document["seal"]
        print(
            f"entry {entry['id']} of {entry['account']} is leaf {document['leaf_index']} of "
            f"{document['leaf_count']} in seal {seal['id']}, listed by checkpoint "
            f"{document['checkpoint']['sequence']}"
        )
    print("FAILED" if problems else "OK")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="auditlog-verify", description=__doc__.splitlines()[0])
    parser.add_argument(
        "export", type=Path, help="an NDJSON export file (or, with --proof, a receipt)"
    )
    parser.add_argument(
        "--proof", action="store_true", help="the file is a receipt from auditLogProof"
    )
    parser.add_argument("--keys", required=True, help="URL or file of the seal keys (JWK set)")
    parser.add_argument(
        "--require-sealed", action="store_true", help="fail if any entry is not sealed yet"
    )
    args = parser.parse_args(argv)
    try:
        keys = PublishedSealKeys(_load_keys(args.keys))
    except (OSError, ValueError, httpx.HTTPError) as exc:
        print(f"auditlog-verify: {exc}", file=sys.stderr)
        return 2
    except (LookupError, TypeError, AttributeError):
        print("auditlog-verify: the keys are not a JWK set of Ed25519 keys", file=sys.stderr)
        return 2
    if args.proof:
        return _check_receipt(args.export, keys)
    try:
        # Bytes: a line that is not UTF-8 is reported by its number, not as bad usage.
        with args.export.open("rb") as lines:
            report = verify_export(lines, keys)
    except OSError as exc:
        print(f"auditlog-verify: {exc}", file=sys.stderr)
        return 2
    print(
        f"{report.entries} entries, {report.verified} verified against {report.seals} seals, "
        f"{report.unsealed} not sealed yet"
    )
    if report.checkpoint is not None:
        checkpoint = report.checkpoint
        print(
            f"checkpoint {checkpoint.sequence}: sealed through "
            f"{checkpoint.sealed_through.isoformat()}"
        )
    elif report.trailer is not None and report.carries_seals and not report.carries_checkpoint:
        print(
            "NO CHECKPOINT: this export carries none (made before exports did, or before the "
            "first sealing pass); an entry counts as in a closed window only by its seals"
        )
    if not report.carries_seals:
        print(
            "NO SEALS: this export was made by a key bound to one application; its trailer "
            "shows the file is whole, but no entry is checked against a seal"
        )
    if report.incomplete is not None:
        print(f"INCOMPLETE: the export was cut short ({report.incomplete})")
    for problem in report.problems:
        where = f" entry {problem.entry_id}" if problem.entry_id else ""
        window = f" window {problem.window.isoformat()}" if problem.window else ""
        print(f"{problem.kind}{where}{window}: {problem.detail}")
    failed = not report.ok or (args.require_sealed and report.unsealed > 0)
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
