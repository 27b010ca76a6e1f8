"""The service's own secrets are recognised wherever they appear, in any case or width."""

# ruff: noqa: RUF001 - look-alike characters are what these tests are about

import pytest

from domain import validation
from domain.credentials import KnownSecrets, looks_like_credential
from domain.errors import InvalidField

HUMAN = "correct horse battery staple 2026"
SEAL_KEY = "q2F6Uq1m7Zt0m0N7bKc4Xg3vO9pR1sT5uV8wY2zA4bC"


def test_a_human_chosen_token_is_not_credential_shaped_which_is_why_it_must_be_known() -> None:
    assert not looks_like_credential(f"reason: {HUMAN}")


@pytest.mark.parametrize(
    "text",
    [
        HUMAN,
        f"user typed {HUMAN} into the reason",
        HUMAN.upper(),
        HUMAN.title(),
        "ｃｏｒｒｅｃｔ horse battery staple 2026",  # full-width
        f"x{SEAL_KEY}y",
    ],
)
def test_contains_finds_a_secret_anywhere_in_any_case(text: str) -> None:
    assert KnownSecrets(HUMAN, SEAL_KEY).contains(text)


@pytest.mark.parametrize("text", ["correct horse battery", "horse battery staple 2026", "", "ok"])
def test_contains_needs_the_whole_secret(text: str) -> None:
    assert not KnownSecrets(HUMAN).contains(text)


def test_redact_replaces_every_occurrence_and_keeps_the_rest() -> None:
    known = KnownSecrets(HUMAN, SEAL_KEY)
    text = f"a {HUMAN} b {HUMAN.upper()} c {SEAL_KEY}"
    assert known.redact(text) == "a [redacted] b [redacted] c [redacted]"


def test_redact_maps_a_full_width_match_back_onto_the_original_text() -> None:
    text = "before ｃｏｒｒｅｃｔ horse battery staple 2026 after"
    assert KnownSecrets(HUMAN).redact(text) == "before [redacted] after"


def test_no_secrets_recognise_nothing_and_change_nothing() -> None:
    assert not KnownSecrets()
    assert not KnownSecrets(None, "").contains(HUMAN)
    assert KnownSecrets().redact(HUMAN) == HUMAN


def test_a_short_secret_is_refused_rather_than_matched_in_every_word() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        KnownSecrets("admin")


def test_the_value_is_immutable_and_its_repr_shows_no_secret() -> None:
    known = KnownSecrets(HUMAN)
    assert HUMAN not in repr(known)
    assert "horse" not in repr(known)
    with pytest.raises(AttributeError):
        known._folded = ()  # type: ignore[misc]


def test_without_known_secrets_names_the_field_in_the_credential_wording() -> None:
    with pytest.raises(InvalidField) as raised:
        validation.without_known_secrets(KnownSecrets(HUMAN), id="acme", name=f"Acme {HUMAN}")
    assert raised.value.field == "name"
    assert raised.value.problem == validation.CREDENTIAL_PROBLEM
    assert HUMAN not in str(raised.value)


def test_in_any_finds_a_secret_in_one_of_the_texts_in_any_case() -> None:
    known = KnownSecrets(HUMAN)
    assert known.in_any(["nothing here", f"typed {HUMAN.upper()}", "or here"])
    assert not known.in_any(["nothing here", "or here"])
    assert not known.in_any([])


def test_in_any_never_finds_a_secret_spanning_two_texts() -> None:
    known = KnownSecrets(HUMAN)
    half = len(HUMAN) // 2
    assert not known.in_any([HUMAN[:half], HUMAN[half:]])


def test_a_secret_holding_nul_is_still_found_and_never_spans_two_texts() -> None:
    secret = "abcdefgh\x00ijklmnopq"
    known = KnownSecrets(secret)
    assert known.in_any(["x", f"<{secret}>"])
    assert not known.in_any(["abcdefgh", "ijklmnopq"])
