"""Signed seals over made-up windows, for the seal contracts and the Beanie seal tests."""

import dataclasses
from datetime import UTC, datetime, timedelta

from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from domain.integrity import Seal, new_seal

WINDOW = timedelta(minutes=1)
# Window-aligned (a whole minute), at MongoDB's millisecond precision, and later than the
# wall clock, so no store's own expiry deletes a seal while a test runs.
T0 = datetime(2036, 3, 2, 10, 0, tzinfo=UTC)
KEYS = Ed25519SealKeys(new_signing_key())


def signed_seal(
    account: str = "acme",
    *,
    window: int = 0,
    entries: int = 2,
    previous: Seal | None = None,
    retention: list[timedelta] | None = None,
    start_of_first: datetime = T0,
) -> Seal:
    """A seal over `entries` made-up rows of window number `window` after `start_of_first`,
    signed."""
    start = start_of_first + window * WINDOW
    retention = retention or [timedelta(days=90)] * entries
    rows = [
        (
            f"{account}-{window}-{i}".ljust(24, "0"),
            start + timedelta(seconds=i, milliseconds=123),
            start + timedelta(seconds=i, milliseconds=123) + retention[i],
            f"{window:02d}{i:02d}".ljust(64, "a"),
        )
        for i in range(entries)
    ]
    seal = new_seal(
        account=account,
        window_start=start,
        window=WINDOW,
        entries=rows,
        previous=None if previous is None else previous.link(),
        sealed_at=start + WINDOW + timedelta(minutes=2, milliseconds=7),
    )
    return dataclasses.replace(seal, key_id=KEYS.key_id, signature=KEYS.sign(seal.message()))
