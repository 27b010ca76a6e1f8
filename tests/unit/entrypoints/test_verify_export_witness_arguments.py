"""`auditlog-verify --witness URL [--witness-key KEY]`: each key belongs to the witness named
before it; one misplaced or not a key is bad usage (exit 2), before anything is read."""

import pytest

from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from entrypoints.verify_export import main

KEY = Ed25519SealKeys(new_signing_key()).public_keys[0].jwk()["x"]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--witness-key", KEY, "--witness", "http://w"], "goes after the --witness"),
        (["--witness", "http://w", "--witness-key", KEY, "--witness-key", KEY], "once"),
        (["--witness", "http://w", "--witness-key", "AAAA"], "--witness-key: not a base64url"),
    ],
)
def test_a_witness_key_out_of_place_or_not_a_key_is_bad_usage(
    arguments: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["export.ndjson", "--keys", "keys.json", *arguments])

    assert exited.value.code == 2
    assert error in capsys.readouterr().err
