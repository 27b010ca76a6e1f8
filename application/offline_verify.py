"""Checking an NDJSON export offline: its seals against the published keys, and each entry
against the seal of its window. What an export can prove is that each entry in it is
genuine; whether entries are absent from it depends on the filter it was made with."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.ports import SealKeys
from domain.integrity import (
    INJECTED,
    MODIFIED,
    SEAL_INVALID,
    Problem,
    Seal,
    entry_digest,
    merkle_root,
    window_of,
)

_ROW_TO_FIELD = {
    "id": "id", "account": "account", "application": "application", "action": "action",
    "success": "success", "email": "email", "reason": "reason", "ip": "ip",
    "userAgent": "user_agent", "requestId": "request_id", "createdAt": "created_at",
    "expiresAt": "expires_at",
}  # fmt: skip


@dataclass
class ExportReport:
    entries: int = 0
    verified: int = 0
    unsealed: int = 0
    seals: int = 0
    incomplete: str | None = None
    """The `_error` code if the export was cut short."""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.incomplete is None


def verify_export(lines: Iterable[str], keys: SealKeys) -> ExportReport:
    report = ExportReport()
    rows: list[dict[str, Any]] = []
    seals: list[Seal] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
            if "_seal" in document:
                seals.append(_seal(document["_seal"]))
            elif "_error" in document:
                report.incomplete = str(document["_error"])
            else:
                rows.append(document)
        except (ValueError, TypeError) as exc:
            report.problems.append(Problem(SEAL_INVALID, f"line {number} cannot be read: {exc}"))
    report.seals = len(seals)
    listed = _check_seals(seals, keys, report)
    for row in rows:
        report.entries += 1
        _check_row(row, seals, listed, report)
    return report


def _seal(document: Any) -> Seal:
    if not isinstance(document, dict) or not {"key_id", "signature"} <= document.keys():
        raise ValueError("a seal needs a body, a key_id and a signature")
    body = {k: v for k, v in document.items() if k not in ("id", "key_id", "signature")}
    seal = Seal.from_body(
        body, key_id=str(document["key_id"]), signature=str(document["signature"])
    )
    if seal.body() != body:
        raise ValueError("the seal does not round-trip")
    return seal


def _check_seals(
    seals: list[Seal], keys: SealKeys, report: ExportReport
) -> dict[str, tuple[Seal, str]]:
    """Entry id -> (its seal, its sealed digest), over the seals that verify."""
    listed: dict[str, tuple[Seal, str]] = {}
    by_id = {seal.id: seal for seal in seals}
    for seal in seals:
        if not keys.verify(seal.key_id, seal.message(), seal.signature):
            report.problems.append(
                Problem(SEAL_INVALID, "the signature does not verify", window=seal.window_start)
            )
            continue
        if merkle_root([e.digest for e in seal.entries]) != seal.merkle_root:
            report.problems.append(
                Problem(SEAL_INVALID, "the Merkle root does not match", window=seal.window_start)
            )
            continue
        previous = seal.previous
        predecessor = None if previous is None else by_id.get(previous.seal_id)
        if previous is not None and predecessor is not None and predecessor.hash() != previous.hash:
            report.problems.append(
                Problem(SEAL_INVALID, "the previous seal was altered", window=seal.window_start)
            )
        for entry in seal.entries:
            listed[entry.id] = (seal, entry.digest)
    return listed


def _check_row(
    row: dict[str, Any],
    seals: list[Seal],
    listed: dict[str, tuple[Seal, str]],
    report: ExportReport,
) -> None:
    entry_id = str(row.get("id"))
    try:
        digest = entry_digest({name: row[key] for key, name in _ROW_TO_FIELD.items()})
    except KeyError as exc:
        report.problems.append(Problem(MODIFIED, f"the entry lacks {exc}", entry_id))
        return
    if entry_id in listed:
        seal, sealed = listed[entry_id]
        if digest != sealed:
            report.problems.append(
                Problem(
                    MODIFIED, "the entry differs from what was sealed", entry_id, seal.window_start
                )
            )
        else:
            report.verified += 1
        return
    created = datetime.fromisoformat(str(row["createdAt"]))
    covering = [s for s in seals if s.window_start <= created < s.window_end]
    if covering:
        report.problems.append(
            Problem(
                INJECTED,
                "the entry is not in its window's seal",
                entry_id,
                covering[0].window_start,
            )
        )
    elif any(s.window_start > created for s in seals):
        # Its window closed before a later one was sealed, and an entry that was live when
        # exported kept its window's seal alive: that seal would be in the file.
        length = seals[0].window_end - seals[0].window_start
        report.problems.append(
            Problem(INJECTED, "the entry's window was closed but no seal in the file lists it",
                    entry_id, window_of(created, length))
        )  # fmt: skip
    else:
        report.unsealed += 1
