"""API keys: the secret format, matching by hash only, and revocation."""

import secrets
from dataclasses import fields
from datetime import UTC, datetime

import pytest

from domain.tenancy import ApiKey, Scope, compose_secret, hash_secret, key_id_of

KEY_ID = "0123456789abcdef"
TOKEN = "A" * 20 + "b-_" + "9" * 20
SECRET = compose_secret(KEY_ID, TOKEN)


def key_for(secret: str) -> ApiKey:
    return ApiKey(
        id=KEY_ID,
        account="acme",
        application=None,
        scopes=frozenset({Scope.READ}),
        secret_hash=hash_secret(secret),
        revoked=False,
        created_at=datetime(2026, 1, 15, tzinfo=UTC),
    )


def test_key_matches_its_exact_secret() -> None:
    assert key_for(SECRET).matches(SECRET)


@pytest.mark.parametrize(
    "other",
    [SECRET[:-1], SECRET + "x", SECRET.upper(), SECRET.swapcase(), " " + SECRET, "", "alk_"],
)
def test_key_does_not_match_any_other_secret(other: str) -> None:
    assert not key_for(SECRET).matches(other)


def test_key_does_not_match_its_own_hash() -> None:
    key = key_for(SECRET)
    assert not key.matches(key.secret_hash)


def test_key_keeps_a_hash_that_is_not_the_secret() -> None:
    key = key_for(SECRET)
    assert key.secret_hash != SECRET
    assert TOKEN not in key.secret_hash


def test_composed_secret_yields_its_key_id_back() -> None:
    token = secrets.token_urlsafe(32)
    assert key_id_of(compose_secret(KEY_ID, token)) == KEY_ID


def test_composed_secret_has_the_alk_prefix() -> None:
    assert compose_secret("0123456789abcdef", "tok") == "alk_0123456789abcdef_tok"


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "alk_",
        "Bearer " + SECRET,
        SECRET + "\n",
        SECRET + "A",
        SECRET[:-1],
        "xyz_" + SECRET[4:],
        compose_secret("0123456789ABCDEF", TOKEN),
        compose_secret("0123456789abcde", TOKEN),
        compose_secret(KEY_ID, "A" * 42 + "="),
        compose_secret(KEY_ID, "A" * 42 + "+"),
        f"alk_{KEY_ID}{TOKEN}",
    ],
)
def test_key_id_of_a_malformed_secret_is_none(malformed: str) -> None:
    assert key_id_of(malformed) is None


def test_revoke_returns_a_revoked_copy_and_leaves_the_original_alone() -> None:
    key = key_for(SECRET)
    revoked = key.revoke()
    assert revoked.revoked is True
    assert key.revoked is False
    unchanged = [f.name for f in fields(ApiKey) if f.name != "revoked"]
    assert all(getattr(revoked, name) == getattr(key, name) for name in unchanged)
