"""Fields a library parses (ipaddress, idna, unicodedata) are held to the rules, not to the
library's leniency: each case here was, or would be, stored verbatim without its fence."""

# ruff: noqa: RUF001 - look-alike characters are what these tests are about

import pytest

from domain import validation
from domain.errors import InvalidField

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
API_KEY = "alk_9f86d081884c7d65_QE9FQWK6wMY95kQareXrrzT9SJWGrCUqmvg1TLL2NgQ"


@pytest.mark.parametrize(
    "zone",
    [
        JWT,
        API_KEY,
        "correct horse battery staple 2026",
        "eth0",
        "\x00",
        "a\nb",
        "\u202e",
        "x" * 10_004,
    ],
    ids=["jwt", "api-key", "passphrase", "eth0", "nul", "newline", "bidi", "10004-chars"],
)
def test_an_ipv6_zone_id_is_refused_whatever_it_holds(zone: str) -> None:
    with pytest.raises(InvalidField) as raised:
        validation.ip_address(f"fe80::1%{zone}")
    assert raised.value.field == "ip"
    assert zone not in str(raised.value) or zone in ("\x00",)


@pytest.mark.parametrize(
    "value", ["١٢٧.٠.٠.١", "127.0.0.1 x", "::ffff:1.2.3.4%1", "1.2.3.4/32", "[::1]", "x" * 46]
)
def test_an_ip_with_anything_but_address_characters_is_refused(value: str) -> None:
    with pytest.raises(InvalidField):
        validation.ip_address(value)


def test_an_ip_is_still_stored_canonical() -> None:
    assert validation.ip_address(" 2001:DB8:0:0::1 ") == "2001:db8::1"
    assert validation.ip_address("203.0.113.7") == "203.0.113.7"


@pytest.mark.parametrize(
    "char",
    [
        "\u2028",  # line separator
        "\u2029",  # paragraph separator
        "\u200b",  # zero-width space
        "\u200d",  # zero-width joiner
        "\u200e",  # left-to-right mark
        "\u200f",  # right-to-left mark
        "\u061c",  # Arabic letter mark
        "\u00ad",  # soft hyphen
        "\ufeff",  # byte order mark
        "\ufe0f",  # variation selector 16
        "\U000e0100",  # variation selector 17
        "\u034f",  # combining grapheme joiner
        "\u3164",  # Hangul filler
        "\u115f",  # Hangul choseong filler
        "\U000e0041",  # tag latin capital A
        "\ud800",  # unpaired surrogate, as JSON "\ud800" decodes
        "\u00a0",  # no-break space
        "\ue000",  # private use
    ],
)
def test_free_text_refuses_invisible_and_unpaired_characters(char: str) -> None:
    with pytest.raises(InvalidField) as raised:
        validation.optional_text(f"login{char}failed", "reason", validation.REASON_MAX)
    assert raised.value.problem == "must contain only printable characters"


def test_names_refuse_invisible_characters_too() -> None:
    with pytest.raises(InvalidField):
        validation.name("Acme\ufe0f")


def test_free_text_keeps_ordinary_unicode() -> None:
    text = "Anmeldung fehlgeschlagen: Passwort falsch ✅ — 日本語 नमस्ते"
    assert validation.optional_text(text, "reason", validation.REASON_MAX) == text


@pytest.mark.parametrize("value", ["١٢٣", "abc\u0661", "ａｂｃ", "abc\u200b", "K", "\u212aelvin"])
def test_identifiers_take_ascii_only(value: str) -> None:
    with pytest.raises(InvalidField):
        validation.identifier(value, "id")


@pytest.mark.parametrize("value", ["auth.login\u200b", "auth.\u0131ogin", "auth.login\n", "auth.١"])
def test_actions_take_ascii_only(value: str) -> None:
    with pytest.raises(InvalidField):
        validation.action(value)


@pytest.mark.parametrize(
    "value", ["0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "0123456789abcdeg", ""]
)
def test_a_key_id_is_sixteen_lowercase_hex_digits(value: str) -> None:
    with pytest.raises(InvalidField) as raised:
        validation.key_id(value)
    assert raised.value.field == "id"


def test_a_key_id_as_issued_is_accepted() -> None:
    assert validation.key_id("0123456789abcdef") == "0123456789abcdef"
