"""Field rules shared by entries, filters and the tenancy records.

Each function returns the value in its stored form or raises `InvalidField` naming the field.
Patterns use `re.fullmatch`, never `$`, which would accept a trailing newline.
"""

import ipaddress
import re

from domain.credentials import looks_like_credential
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
_LOCAL_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


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
    """Normalise (surrounding space, case) and check an address; return it lowercased."""
    address = value.strip().lower()
    if len(address) > EMAIL_MAX:
        raise InvalidField(field, f"must be at most {EMAIL_MAX} characters")
    local, at, domain = address.rpartition("@")
    if not at or not _valid_local_part(local) or not _valid_domain(domain):
        raise InvalidField(field, "is not a valid email address")
    return address


def _valid_local_part(local: str) -> bool:
    if not 0 < len(local) <= 64:
        return False
    return all(atom and all(_atext(ch) for ch in atom) for atom in local.split("."))


def _atext(ch: str) -> bool:
    # Internationalised addresses (RFC 6531) may use any letter or digit beyond ASCII.
    return bool(_LOCAL_ATOM.fullmatch(ch)) or (not ch.isascii() and ch.isalnum())


def _valid_domain(domain: str) -> bool:
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or len(labels) < 2 or labels[-1].isdigit():
        return False
    return all(_DNS_LABEL.fullmatch(label) for label in labels)


def ip_address(value: str, field: str = "ip") -> str:
    """Check an IPv4 or IPv6 address and return its canonical text."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise InvalidField(field, "must be a valid IPv4 or IPv6 address") from None


def text(value: str, field: str, max_length: int) -> str:
    """Printable text of bounded length: no control, format or bidi-override characters."""
    if len(value) > max_length:
        raise InvalidField(field, f"must be at most {max_length} characters")
    if not value.isprintable():
        raise InvalidField(field, "must contain only printable characters")
    return value


def name(value: str, field: str = "name") -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InvalidField(field, "must not be blank")
    return text(cleaned, field, NAME_MAX)


def free_text(value: str, field: str, max_length: int) -> str:
    """Caller-written text kept in an entry: printable, bounded, and holding no credential."""
    checked = text(value, field, max_length)
    if looks_like_credential(checked):
        raise InvalidField(
            field, "must not contain credentials such as tokens, API keys or passwords"
        )
    return checked


def optional_text(value: str | None, field: str, max_length: int) -> str | None:
    """Optional free text: absent and empty both mean 'nothing to say'."""
    if value is None or value == "":
        return None
    return free_text(value, field, max_length)
