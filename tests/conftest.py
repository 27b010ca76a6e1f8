"""Checks over the whole run."""

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def the_checkout_keeps_no_trail() -> Iterator[None]:
    """A test that starts a server on the default store gives it a data directory of its
    own: the default, ./data, is the user's, and a test writing there would mix trails."""
    before = (ROOT / "data").exists()
    yield
    if not before:
        assert not (ROOT / "data").exists(), "a test wrote ./data: give its server a data_dir"
