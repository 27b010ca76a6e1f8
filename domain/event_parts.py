"""Who acted, on what, and the caller's own facts: an event's actor, targets and metadata.

Each is checked on construction and kept in the form its digest covers: a party as
`{"id", "type", "name"}`, targets as a list of those, metadata as a flat object. The
bounds follow the leading audit logs (WorkOS, Retraced) and keep an entry small.
"""

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain import validation
from domain.credentials import looks_like_credential
from domain.errors import InvalidField

MAX_TARGETS = 10
PARTY_ID_MAX = 128
PARTY_TYPE_MAX = 40
METADATA_MAX_KEYS = 50
METADATA_VALUE_MAX = 500
METADATA_MAX_BYTES = 8 * 1024
IDEMPOTENCY_KEY_MAX = 128
SAFE_INTEGER = 2**53 - 1
"""Numbers beyond this lose precision in JavaScript (and so in most JSON readers)."""

# Ids of people, keys and records in other systems: user_01H..., 0a1b..., svc:billing,
# alice@example.com, arn-like paths. ASCII, no spaces, bounded.
_PARTY_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:@/+=-]{0,127}")
_PARTY_TYPE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_METADATA_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")

MetadataValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Party:
    """An actor or a target: an id and a type from the caller's world, and an optional name."""

    id: str
    type: str
    name: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {"id": self.id, "type": self.type, "name": self.name}


def party(value: Any, field: str) -> Party:
    """A party checked: `id` and `type` by their patterns, `name` as free text."""
    if not isinstance(value, Party):
        raise InvalidField(field, "must be an object with id, type and an optional name")
    return Party(
        id=_party_id(value.id, f"{field}.id"),
        type=_party_type(value.type, f"{field}.type"),
        name=validation.optional_text(value.name, f"{field}.name", validation.NAME_MAX),
    )


def targets(values: Sequence[Party] | None, field: str = "targets") -> tuple[Party, ...]:
    if values is None:
        return ()
    if len(values) > MAX_TARGETS:
        raise InvalidField(field, f"must list at most {MAX_TARGETS} targets")
    return tuple(party(value, f"{field}[{index}]") for index, value in enumerate(values))


def _party_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _PARTY_ID.fullmatch(value):
        raise InvalidField(
            field,
            f"must be 1 to {PARTY_ID_MAX} characters of A-Z, a-z, 0-9 and . _ : @ / + = -, "
            "not starting with a punctuation mark other than '_'",
        )
    if looks_like_credential(value):
        raise InvalidField(field, validation.CREDENTIAL_PROBLEM)
    return value


def _party_type(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _PARTY_TYPE.fullmatch(value):
        raise InvalidField(
            field,
            f"must be 1 to {PARTY_TYPE_MAX} characters of a-z, 0-9 and '_', starting with a "
            "letter, e.g. user or api_key",
        )
    return value


def party_id_filter(value: str, field: str) -> str:
    """An id a filter looks for: the pattern an entry's party id follows."""
    return _party_id(value, field)


def party_type_filter(value: str, field: str) -> str:
    return _party_type(value, field)


def metadata(value: Any, field: str = "metadata") -> dict[str, MetadataValue] | None:
    """A flat object: at most 50 keys, each a short identifier; values strings (printable,
    bounded, no credentials), numbers (finite, integers within JavaScript's safe range),
    booleans or null; at most 8 KB as canonical JSON. Integral floats become integers, so
    1.0 and 1 are one value (JSON does not tell them apart)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidField(field, "must be an object of keys to strings, numbers, booleans or null")
    if len(value) > METADATA_MAX_KEYS:
        raise InvalidField(field, f"must have at most {METADATA_MAX_KEYS} keys")
    checked: dict[str, MetadataValue] = {}
    most_bytes = 2  # {}
    for key in sorted(value, key=str):
        if not isinstance(key, str) or not _METADATA_KEY.fullmatch(key):
            raise InvalidField(
                field,
                "keys must be 1 to 40 characters of A-Z, a-z, 0-9 and '_', starting with a letter",
            )
        item = checked[key] = _metadata_value(value[key], f"{field}.{key}")
        most_bytes += len(key) + 4 + _most_json_bytes(item)  # "key": and a comma
    # Encoded only when it might be too long: most objects are far below the bound.
    if most_bytes > METADATA_MAX_BYTES and (
        len(json.dumps(checked, separators=(",", ":"), ensure_ascii=False).encode())
        > METADATA_MAX_BYTES
    ):
        raise InvalidField(field, f"must be at most {METADATA_MAX_BYTES} bytes as JSON")
    return checked


def _most_json_bytes(value: MetadataValue) -> int:
    """At least as many bytes as `value` takes as compact JSON in UTF-8: a printable
    character is at most 4 bytes, or 2 escaped (quote, backslash); a number's text at most
    24 characters (a float's shortest repr, an integer within the safe range)."""
    if isinstance(value, str):
        return 2 + 4 * len(value)
    return 24 if value is not None and not isinstance(value, bool) else 5


def _metadata_value(value: Any, field: str) -> MetadataValue:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return validation.free_text(value, field, METADATA_VALUE_MAX)
    if isinstance(value, int):
        if abs(value) > SAFE_INTEGER:
            raise InvalidField(field, f"must be an integer within ±{SAFE_INTEGER}")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > SAFE_INTEGER:
            raise InvalidField(field, f"must be a finite number within ±{SAFE_INTEGER}")
        return int(value) if value.is_integer() else value
    raise InvalidField(field, "must be a string, a number, a boolean or null (no nesting)")


def idempotency_key(value: str | None, field: str = "idempotency_key") -> str | None:
    """At most 128 printable characters, no credentials; empty means none."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidField(field, "must be a string")
    return validation.free_text(value, field, IDEMPOTENCY_KEY_MAX)
