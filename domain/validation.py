"""Field rules shared by entries, filters and the tenancy records.

Each function returns the value in its stored form or raises `InvalidField` naming the field.
Patterns use `re.fullmatch`, never `$`, which would accept a trailing newline, and spell
digits `[0-9]`, never `\\d`, which matches every script's digits. Library parsers
(`ipaddress`, `idna`) are loose in their own ways; each is fenced in before it is called.

`idna` is the one library the domain imports: IDNA 2008 / UTS 46 is an algorithm over
tables, like the standard library's codec (which is IDNA 2003, and maps `ß` to `ss`).
"""

import functools
import ipaddress
import re
import unicodedata

import idna

from domain.credentials import KnownSecrets, looks_like_credential
from domain.errors import InvalidField

ACTION_MAX = 64
EMAIL_MAX = 254
REASON_MAX = 500
USER_AGENT_MAX = 512
REQUEST_ID_MAX = 128
NAME_MAX = 200

_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# An account's reserved application: `_` and the account id. Created ids cannot start with `_`.
_APPLICATION_ID = re.compile(r"_?[a-z0-9][a-z0-9_-]{0,62}")
# An API key's id: 8 random bytes in lowercase hex (the secret's `alk_<id>_` part).
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_LOCAL_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# The longest address text: IPv6 with an embedded IPv4 (`ffff:...:255.255.255.255`).
_IP_MAX = 45
_IP_CHARS = re.compile(r"[0-9A-Fa-f:.]{2,45}")
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt) that `isprintable` lets
# through because they are marks or letters: variation selectors, the combining grapheme
# joiner, Hangul fillers, Khmer and Mongolian invisibles. Each renders as nothing.
_INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def action(value: str, field: str = "action") -> str:
    if len(value) > ACTION_MAX:
        raise InvalidField(field, f"must be at most {ACTION_MAX} characters")
    if not _ACTION.fullmatch(value):
        raise InvalidField(field, "must be dotted lowercase words, e.g. auth.login or mfa.enrolled")
    return value


def identifier(value: str, field: str) -> str:
    if not _ID.fullmatch(value):
        raise InvalidField(
            field,
            "must be 1 to 63 characters of a-z, 0-9, '_' or '-', starting with a letter or digit",
        )
    return value


def key_id(value: str, field: str = "id") -> str:
    if not _KEY_ID.fullmatch(value):
        raise InvalidField(field, "must be an API key id: 16 lowercase hexadecimal digits")
    return value


def application_id(value: str, field: str = "application") -> str:
    """An application id, or an account's reserved application (`_<account id>`)."""
    if not _APPLICATION_ID.fullmatch(value):
        raise InvalidField(
            field,
            "must be an application id (1 to 63 characters of a-z, 0-9, '_' or '-', starting "
            "with a letter or digit) or an account's reserved application, '_<account id>'",
        )
    return value


def email(value: str, field: str = "email") -> str:
    """Check an address and return its stored form, the one filters compare with.

    Surrounding space is removed. The local part is NFKC-normalised and lowercased, and its
    letters must not mix scripts (a Cyrillic a, U+0430, in a Latin name); the domain is IDNA 2008
    (UTS 46, non-transitional) in its ASCII form, so `bob@bücher.example` and
    `bob@xn--bcher-kva.example` are one address. Quoted local parts, comments, IP-literal
    domains and a trailing dot are refused.
    """
    if len(value) > 4 * EMAIL_MAX:  # before any normalisation works on it
        raise InvalidField(field, f"must be at most {EMAIL_MAX} characters")
    local, at, domain = value.strip().rpartition("@")
    local = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", local).lower())
    ascii_domain = _ascii_domain(domain) if at else None
    if ascii_domain is None or not _valid_local_part(local):
        raise InvalidField(field, "is not a valid email address")
    if not _single_script(local):
        raise InvalidField(field, "must not mix scripts in its local part")
    address = f"{local}@{ascii_domain}"
    if len(address) > EMAIL_MAX:
        raise InvalidField(field, f"must be at most {EMAIL_MAX} characters")
    return address


def _valid_local_part(local: str) -> bool:
    if not 0 < len(local.encode()) <= 64:  # octets (RFC 5321, RFC 6531)
        return False
    return all(atom and _valid_atom(atom) for atom in local.split("."))


def _valid_atom(atom: str) -> bool:
    # Internationalised addresses (RFC 6531) may use letters, marks and digits beyond ASCII;
    # a mark only after the character it modifies.
    for index, ch in enumerate(atom):
        if _LOCAL_ATOM.fullmatch(ch):
            continue
        category = unicodedata.category(ch)
        if ch.isascii() or category[0] not in "LMN" or (category[0] == "M" and index == 0):
            return False
    return True


# Scripts that UTS 39's "highly restrictive" level lets one identifier mix.
_SCRIPT_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_SCRIPT_ALIASES = {"CJK": "HAN", "IDEOGRAPHIC": "HAN"}
# Modifier letters (U+02BC, the kana length mark U+30FC) are shared between scripts: not counted.
_SCRIPT_LETTERS = frozenset({"Lu", "Ll", "Lt", "Lo"})


def _single_script(local: str) -> bool:
    """Letters from one script, or one of the mixes UTS 39 allows (Latin with Han and kana).

    The script is read from the character's Unicode name (`CYRILLIC SMALL LETTER A`): the
    standard library has no script property, and for letters the name's first word is it.
    """
    scripts = set()
    for ch in local:
        if ch.isascii():
            if ch.isalpha():
                scripts.add("LATIN")
        elif unicodedata.category(ch) in _SCRIPT_LETTERS:
            word = unicodedata.name(ch, "UNKNOWN").split(" ")[0].split("-")[0]
            scripts.add(_SCRIPT_ALIASES.get(word, word))
    return len(scripts) <= 1 or any(scripts <= allowed for allowed in _SCRIPT_MIXES)


@functools.lru_cache(maxsize=4096)
def _ascii_domain(domain: str, min_labels: int = 2) -> str | None:
    """The domain's A-label form under UTS 46, or None if it is not a host name.

    Kept for the domains seen last (at most 4,096 of at most 1,012 characters): a tenant's
    events come from a few domains, and IDNA was a third of an event's validation."""
    if not domain or len(domain) > 4 * 253:
        return None
    try:
        ascii_domain = idna.encode(domain, uts46=True, std3_rules=True, transitional=False)
    except (idna.IDNAError, UnicodeError):
        return None
    text = ascii_domain.decode("ascii")
    labels = text.split(".")
    # A trailing dot (an empty last label) is refused here; idna accepts it.
    if len(text) > 253 or len(labels) < min_labels or labels[-1].isdigit():
        return None
    if not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return None
    return text


def host_name(value: str) -> str | None:
    """A host name in its IDNA ASCII form (one label, like `localhost`, allowed), or None."""
    return _ascii_domain(value, 1)


def ip_address(value: str, field: str = "ip") -> str:
    """Check an IPv4 or IPv6 address and return its canonical text.

    Only address characters are let through to `ipaddress`: it keeps anything after an IPv6
    zone id (`fe80::1%<anything>`), and a zone id means nothing off the host that set it.
    """
    candidate = value.strip()
    if len(candidate) > _IP_MAX:
        raise InvalidField(field, f"must be at most {_IP_MAX} characters")
    if not _IP_CHARS.fullmatch(candidate):
        raise InvalidField(field, "must be a valid IPv4 or IPv6 address, without a zone id (%...)")
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        raise InvalidField(field, "must be a valid IPv4 or IPv6 address") from None


def text(value: str, field: str, max_length: int) -> str:
    """Printable text of bounded length: no control, format, separator (other than the
    space), surrogate, private-use, unassigned or invisible characters, so no bidi marks,
    zero-width characters, line separators or variation selectors."""
    if len(value) > max_length:
        raise InvalidField(field, f"must be at most {max_length} characters")
    if not value.isprintable() or _INVISIBLE.search(value):
        raise InvalidField(field, "must contain only printable characters")
    return value


def name(value: str, field: str = "name") -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InvalidField(field, "must not be blank")
    return text(cleaned, field, NAME_MAX)


# One wording for a credential-shaped value and for one of the service's own secrets: the
# answer must not tell a caller that it has guessed a secret rather than sent a token.
CREDENTIAL_PROBLEM = "must not contain credentials such as tokens, API keys or passwords"


def free_text(value: str, field: str, max_length: int) -> str:
    """Caller-written text kept in an entry: printable, bounded, and holding no credential."""
    checked = text(value, field, max_length)
    if looks_like_credential(checked):
        raise InvalidField(field, CREDENTIAL_PROBLEM)
    return checked


def without_known_secrets(known: KnownSecrets, **values: str | None) -> None:
    """Refuse, naming the first field, a value that holds one of the service's own secrets."""
    for field, value in values.items():
        if value and known.contains(value):
            raise InvalidField(field, CREDENTIAL_PROBLEM)


def optional_text(value: str | None, field: str, max_length: int) -> str | None:
    """Optional free text: absent and empty both mean 'nothing to say'."""
    if value is None or value == "":
        return None
    return free_text(value, field, max_length)
