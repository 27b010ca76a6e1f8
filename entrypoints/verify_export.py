"""`auditlog-verify`: check an NDJSON export offline against the published seal keys.

    auditlog-verify audit-logs-acme-20261127T203100Z.ndjson \\
        --keys https://audit.example.com/.well-known/audit-seal-keys.json

    auditlog-verify audit-logs-acme-20261127T203100Z.ndjson --keys KEYS \\
        --witness https://witness.acme.example --witness-key WITNESS_PUBLIC_KEY

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
unless `--require-sealed` is given. Each `--witness` (an `auditlog-witness`; its
`--witness-key` after it, to check its cosignatures) is asked for the last checkpoint it
accepted and the account's newest seal it saw: a store cut back before the export was made
fails (`application.integrity.witness_check`), and so does a witness that cannot be asked.
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from adapters.outbound.seal_keys import PublishedSealKeys
from adapters.outbound.witness_receipts import WitnessKey, ask
from application.integrity.offline_verify import ExportReport, verify_export
from application.integrity.proving import check_proof
from application.integrity.witness_check import carried_seals, check_against_witness
from application.integrity.witnessing import WitnessUnavailable
from domain.integrity import WITNESS_UNAVAILABLE, Problem


def _load_keys(source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        response = httpx.get(source, timeout=10)
        response.raise_for_status()
        keys: dict[str, Any] = response.json()
        return keys
    loaded: dict[str, Any] = json.loads(Path(source).read_text())
    return loaded


class _WitnessKeyOf(argparse.Action):
    """`--witness-key` is the key of the `--witness` before it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:  # fmt: skip
        witnesses: list[list[Any]] = namespace.witness or []
        if not witnesses or witnesses[-1][1] is not None:
            parser.error("--witness-key goes after the --witness it is the key of, once")
        try:
            witnesses[-1][1] = WitnessKey(values)
        except ValueError as exc:
            parser.error(f"--witness-key: {exc}")


async def _ask_witnesses(
    witnesses: list[list[Any]], path: Path, report: ExportReport, keys: PublishedSealKeys
) -> list[Problem]:
    """What each witness holds against the export; one not asked is WITNESS_UNAVAILABLE."""
    if report.trailer is None:
        return []  # no account to ask for: the export fails already
    with path.open("rb") as lines:
        seals = carried_seals(lines)
    problems: list[Problem] = []
    for url, key in witnesses:
        try:
            witnessed, head = await ask(url, report.trailer.account, key)
        except WitnessUnavailable as exc:
            problems.append(Problem(WITNESS_UNAVAILABLE, f"witness {url}: {exc}"))
            continue
        problems += check_against_witness(report, seals, witnessed, head, keys, witness=url)
    return problems


def _check_receipt(path: Path, keys: PublishedSealKeys) -> int:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"auditlog-verify: {exc}", file=sys.stderr)
        return 2
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than JSON we write
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
    parser.add_argument(
        "--witness",
        action="append",
        type=lambda url: [url, None],
        metavar="URL",
        help="an auditlog-witness to check the export against; repeatable",
    )
    parser.add_argument(
        "--witness-key",
        action=_WitnessKeyOf,
        metavar="KEY",
        help="the witness's public key (base64url, as it printed it), after its --witness",
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
        if args.witness:
            report.problems += asyncio.run(_ask_witnesses(args.witness, args.export, report, keys))
    except OSError as exc:
        print(f"auditlog-verify: {exc}", file=sys.stderr)
        return 2
    if report.carries_proofs:
        print(
            f"{report.entries} entries, {report.proven} proven by receipts, "
            f"{report.unsealed} not sealed yet"
        )
    else:
        print(
            f"{report.entries} entries, {report.verified} verified against {report.seals} "
            f"seals, {report.unsealed} not sealed yet"
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
    if not report.carries_seals and not report.carries_proofs:
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
