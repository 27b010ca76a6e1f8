"""Metadata's 8 KB bound is exact whatever its values hold, though it is only encoded when a
cheap bound says it might be over (event_parts._most_json_bytes)."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidField
from domain.event_parts import METADATA_MAX_BYTES, metadata


def _size(value: dict[str, object]) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _filled(unit: str, total: int) -> dict[str, object]:
    """Keys a1, a2... of up to 500 characters of `unit`, as close to `total` bytes as the
    unit allows without passing it."""
    value: dict[str, object] = {}
    index = 0
    while True:
        index += 1
        key = f"a{index}"
        room = total - _size({**value, key: ""})
        per = len(json.dumps(unit, ensure_ascii=False).encode()) - 2
        count = min(500, room // per)
        if count <= 0:
            return value
        value[key] = unit * count


@pytest.mark.parametrize("unit", ["x", "é", "€", "𝄞", '"', "\\"])
def test_metadata_at_the_bound_passes_and_one_byte_over_is_refused(unit: str) -> None:
    at_bound = _filled(unit, METADATA_MAX_BYTES)
    # Top up with one-byte characters to land exactly on the bound.
    missing = METADATA_MAX_BYTES - _size(at_bound)
    if missing >= 6:
        at_bound["z"] = "x" * (missing - 6)  # "z":"" and a comma
    assert _size(at_bound) <= METADATA_MAX_BYTES
    assert metadata(at_bound) == at_bound
    over = {**at_bound, "zz": "x" * max(0, METADATA_MAX_BYTES - _size(at_bound))}
    assert _size(over) > METADATA_MAX_BYTES
    with pytest.raises(InvalidField) as refused:
        metadata(over)
    assert refused.value.field == "metadata"


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-(2**53 - 1), max_value=2**53 - 1),
    st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S"]), max_size=500),
)


@settings(derandomize=True, max_examples=300)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,39}", fullmatch=True), VALUES, max_size=50
    )
)
def test_metadata_is_refused_exactly_when_its_json_is_over_8_kb(value: dict[str, object]) -> None:
    try:
        checked = metadata(value)
    except InvalidField as refused:
        if refused.field != "metadata":
            return  # a value refused on its own (a credential-shaped string)
        assert _size(value) > METADATA_MAX_BYTES
    else:
        assert checked is not None
        assert _size(checked) <= METADATA_MAX_BYTES
