"""Stream secrets are stored encrypted: the ciphertext reveals nothing, opens only with the
same key, and an edit or another key is SecretUnreadable (never garbage)."""

import pytest

from adapters.outbound.secret_box import FernetSecretBox
from application.streams.model import SealedSecret
from application.streams.ports import SecretUnreadable

KEY = "a-deployment-stream-secrets-key-32"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_a_sealed_secret_opens_with_the_same_key_and_holds_no_trace_of_it() -> None:
    box = FernetSecretBox(KEY)
    sealed = box.seal(SECRET)
    assert SECRET not in sealed.ciphertext
    assert "MfKQ9r8G" not in sealed.ciphertext
    assert FernetSecretBox(KEY).open(sealed) == SECRET
    assert SECRET not in repr(sealed)
    assert KEY not in repr(box)


def test_two_seals_of_one_secret_differ() -> None:
    box = FernetSecretBox(KEY)
    assert box.seal(SECRET).ciphertext != box.seal(SECRET).ciphertext


def test_another_key_cannot_open_it() -> None:
    sealed = FernetSecretBox(KEY).seal(SECRET)
    with pytest.raises(SecretUnreadable):
        FernetSecretBox(KEY + "x").open(sealed)


@pytest.mark.parametrize("ciphertext", ["", "not fernet", "gAAAAA" + "A" * 80, "é"])
def test_an_edited_or_foreign_ciphertext_is_unreadable(ciphertext: str) -> None:
    with pytest.raises(SecretUnreadable):
        FernetSecretBox(KEY).open(SealedSecret(ciphertext))


def test_a_flipped_character_is_unreadable() -> None:
    sealed = FernetSecretBox(KEY).seal(SECRET).ciphertext
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    with pytest.raises(SecretUnreadable):
        FernetSecretBox(KEY).open(SealedSecret(flipped))


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        FernetSecretBox("short")
