"""`auditlog-verify --proof` on files that are not receipts: one clear FAILED and exit 1, never
a traceback, whatever the file holds."""

import json
from pathlib import Path

import pytest

from entrypoints.verify_export import main


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-deeper-than-the-parser"),
        pytest.param(b"\xff\xfe not utf-8", id="not-utf-8"),
        pytest.param(b"{}", id="empty-object"),
        pytest.param(json.dumps({"proof": 1, "entry": None}).encode(), id="entry-null"),
    ],
)
def test_a_file_that_is_not_a_receipt_fails_in_one_line(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keys.json").write_text('{"keys": []}')
    (tmp_path / "receipt.json").write_bytes(content)
    code = main(["--proof", str(tmp_path / "receipt.json"), "--keys", str(tmp_path / "keys.json")])
    out = capsys.readouterr()
    assert code == 1
    assert out.out.rstrip().endswith("FAILED")
    assert "PROOF_INVALID" in out.out
    assert "Traceback" not in out.out + out.err
