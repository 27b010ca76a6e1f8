"""Emails are stored in one form a filter can match: IDNA 2008 (UTS 46) A-label domains, NFKC
lowercased local parts whose letters keep to one script."""

# ruff: noqa: RUF001, RUF003 - look-alike characters are what these tests are about

import pytest

from application.reading.criteria import LogFilter
from domain import validation
from domain.errors import InvalidField


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("bob@bücher.example", "bob@xn--bcher-kva.example"),
        ("bob@xn--bcher-kva.example", "bob@xn--bcher-kva.example"),
        ("Bob@BÜCHER.Example", "bob@xn--bcher-kva.example"),
        # IDNA 2008 keeps ß (IDNA 2003, Python's codec, made it "ss": another domain).
        ("bob@straße.de", "bob@xn--strae-oqa.de"),
        # Full-width letters and the ideographic full stop are mapped by UTS 46.
        ("bob@ｅｘａｍｐｌｅ．ｃｏｍ", "bob@example.com"),
        ("bob@例え。テスト", "bob@xn--r8jz45g.xn--zckzah"),
        # A Cyrillic а in the domain: stored as its A-label, so it cannot pass for example.com.
        ("bob@ex\u0430mple.com", "bob@xn--exmple-4nf.com"),
        # UTS 46 removes what it ignores (zero-width space, soft hyphen): nothing invisible
        # is stored, and the address is the one it displays as.
        ("bob@exa\u200bmple.com", "bob@example.com"),
        ("bob@exa\u00admple.com", "bob@example.com"),
        # The local part: NFKC (full-width to ASCII), lowercased, ß kept.
        ("ＢＯＢ@example.com", "bob@example.com"),
        ("Straße@example.com", "straße@example.com"),
        ("алиса@example.com", "алиса@example.com"),
        ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
        ("tarō.山田@example.jp", "tarō.山田@example.jp"),
        # Marks after their letter (Devanagari vowel signs; a decomposed é, then NFC).
        ("नमस्ते@example.in", "नमस्ते@example.in"),
        ("jose\u0301@example.com", "jos\u00e9@example.com"),
    ],
)
def test_an_address_is_stored_in_its_normal_form(given: str, stored: str) -> None:
    assert validation.email(given) == stored


@pytest.mark.parametrize(
    "value",
    [
        "\u0430lice@example.com",  # Cyrillic а + Latin lice
        "p\u0430ypal@example.com",
        "\u03bfscar@example.com",  # Greek ο + Latin
        "ivan.иванов@example.com",
    ],
)
def test_a_local_part_that_mixes_scripts_is_refused(value: str) -> None:
    with pytest.raises(InvalidField) as raised:
        validation.email(value)
    assert raised.value.field == "email"
    assert raised.value.problem == "must not mix scripts in its local part"


@pytest.mark.parametrize(
    "value",
    [
        '"bob"@example.com',  # quoted local part
        '"bob smith"@example.com',
        "bob(comment)@example.com",
        "bob@(comment)example.com",
        "bob smith@example.com",
        "bob\u00a0smith@example.com",
        "bob@[1.2.3.4]",
        "bob@[IPv6:::1]",
        "bob@example.com.",
        "bob@example..com",
        "bob@" + "a" * 64 + ".com",
        "bob@" + "ü" * 60 + ".com",  # 60 letters, over 63 once punycoded
        "bob@xn--zz.com",  # not valid punycode
        "bob@ab--cd.com",  # hyphens in the 3rd and 4th place are reserved
        "bob@under_score.com",
        "bob＠example.com",  # full-width @ is not an @
        "\u0301bob@example.com",  # a mark with nothing to mark
        "bob\u200b@example.com",
        "x" * 2_000 + "@example.com",
    ],
)
def test_malformed_addresses_are_refused(value: str) -> None:
    with pytest.raises(InvalidField) as raised:
        validation.email(value)
    assert raised.value.field == "email"


def test_a_local_part_of_more_than_64_octets_is_refused_even_under_64_characters() -> None:
    with pytest.raises(InvalidField):
        validation.email("ü" * 33 + "@example.com")  # 33 characters, 66 octets


def test_a_filter_on_either_form_of_a_domain_matches_the_stored_form() -> None:
    stored = validation.email("bob@bücher.example")
    assert LogFilter(email="bob@xn--bcher-kva.example").email == stored
    assert LogFilter(email="BOB@Bücher.Example").email == stored


def test_a_filter_names_its_own_field() -> None:
    with pytest.raises(InvalidField) as raised:
        LogFilter(email="\u0430lice@example.com")
    assert raised.value.field == "filter.email"
