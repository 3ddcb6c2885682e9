"""Line-protocol encoder: exhaustive escaping cases and a property test against an independent
parser (written here, following InfluxDB 1.x's scanner) that decodes what the encoder produced."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.storage.line_protocol import (
    encode_line,
    escape_field_key,
    escape_measurement,
    escape_tag,
    format_field_value,
)


# ---------------------------------------------------------------- an independent 1.x-style parser
def _scan(s: str, i: int, stops: str) -> tuple[str, int]:
    """Raw text from i up to the first unescaped char in ``stops`` (backslash skips one char)."""
    j = i
    while j < len(s) and s[j] not in stops:
        j += 2 if s[j] == "\\" else 1
    return s[i:j], j


def _unescape(raw: str, chars: str) -> str:
    out, i = [], 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw) and raw[i + 1] in chars:
            out.append(raw[i + 1])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def _parse_value(s: str, i: int) -> tuple[object, int]:
    if s[i] == '"':
        out, j = [], i + 1
        while s[j] != '"':
            if s[j] == "\\" and s[j + 1] in '"\\':
                out.append(s[j + 1])
                j += 2
            else:
                out.append(s[j])
                j += 1
        return "".join(out), j + 1
    raw, j = _scan(s, i, ", ")
    if raw in ("true", "false"):
        return raw == "true", j
    if raw.endswith("i"):
        return int(raw[:-1]), j
    return float(raw), j


def parse_line(s: str) -> tuple[str, dict[str, str], dict[str, object], int]:
    raw_m, i = _scan(s, 0, ", ")
    tags: dict[str, str] = {}
    while s[i] == ",":
        raw_k, i = _scan(s, i + 1, "=")
        raw_v, i = _scan(s, i + 1, ", ")
        tags[_unescape(raw_k, ", =")] = _unescape(raw_v, ", =")
    assert s[i] == " "
    fields: dict[str, object] = {}
    i += 1
    while True:
        raw_k, i = _scan(s, i, "=")
        value, i = _parse_value(s, i + 1)
        fields[_unescape(raw_k, ', ="')] = value
        if s[i] == " ":
            break
        assert s[i] == ","
        i += 1
    ts = int(s[i + 1 :])
    return _unescape(raw_m, ", "), tags, fields, ts


# ---------------------------------------------------------------- exhaustive cases
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sewing_machine", "sewing_machine"),
        ("a b", "a\\ b"),
        ("a,b", "a\\,b"),
        ("a=b", "a=b"),
        ('a"b', 'a"b'),
        ("a\\b", "a\\b"),
        ("a\\\\b", "a\\\\b"),
        ("缝纫机", "缝纫机"),
        ("m,x y", "m\\,x\\ y"),
    ],
)
def test_escape_measurement(name: str, expected: str) -> None:
    assert escape_measurement(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("site", "site"),
        ("a b", "a\\ b"),
        ("a,b", "a\\,b"),
        ("a=b", "a\\=b"),
        ('"q"', '"q"'),
        ("a\\b", "a\\b"),
        ("Zone Ä,1=2", "Zone\\ Ä\\,1\\=2"),
        (" ", "\\ "),
        ("=", "\\="),
    ],
)
def test_escape_tag_and_field_key(name: str, expected: str) -> None:
    assert escape_tag(name) == expected
    assert escape_field_key(name) == expected


@pytest.mark.parametrize(
    "bad", ["", "a\nb", "a\rb", "a\tb", "\x00", "ends\\", "a\\ b", "a\\,b", "a\\=b", 'a\\"b', "\x7f"]
)
def test_unrepresentable_names_are_rejected(bad: str) -> None:
    for fn in (escape_measurement, escape_tag, escape_field_key):
        with pytest.raises(ValueError):
            fn(bad)


def test_measurement_starting_with_hash_is_rejected() -> None:
    with pytest.raises(ValueError, match="comment"):
        escape_measurement("#m")
    assert escape_tag("#m") == "#m"


def test_time_is_not_a_field_or_tag_key() -> None:
    with pytest.raises(ValueError):
        escape_field_key("time")
    with pytest.raises(ValueError):
        encode_line("m", {"time": "x"}, {"f": 1.0}, 1)
    assert encode_line("m", {"t": "time"}, {"f": 1.0}, 1) == "m,t=time f=1.0 1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1.0"),
        (0.1, "0.1"),
        (-0.0, "-0.0"),
        (1e16, "1e+16"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (3, "3i"),
        (-(2**63), "-9223372036854775808i"),
        (2**63 - 1, "9223372036854775807i"),
        (True, "true"),
        (False, "false"),
        ("", '""'),
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("ends\\", '"ends\\\\"'),
        ("two\nlines", '"two\nlines"'),
        ("a,b c=d", '"a,b c=d"'),
        ("状态", '"状态"'),
    ],
)
def test_format_field_value(value: float | int | bool | str, expected: str) -> None:
    assert format_field_value(value) == expected


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 2**63, -(2**63) - 1])
def test_non_finite_and_out_of_range_values_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError):
        format_field_value(bad)


@pytest.mark.parametrize("bad", [None, b"x", [1], {"a": 1}])
def test_unsupported_value_types_are_rejected(bad: object) -> None:
    with pytest.raises(TypeError):
        format_field_value(bad)  # type: ignore[arg-type]


def test_encode_line_sorts_tags_and_omits_empty_values() -> None:
    line = encode_line(
        "sewing_machine",
        {"site": "s1", "asset": "sm-001", "area": "", "enterprise": "acme co"},
        {"current_a": 1.5, "pieces": 3, "seq": 42, "quality": "good"},
        1_700_000_000_123,
    )
    assert line == (
        "sewing_machine,asset=sm-001,enterprise=acme\\ co,site=s1 "
        'current_a=1.5,pieces=3i,seq=42i,quality="good" 1700000000123'
    )


def test_encode_line_without_tags_and_needs_a_field() -> None:
    assert encode_line("m", {}, {"f": True}, 0) == "m f=true 0"
    with pytest.raises(ValueError, match="no fields"):
        encode_line("m", {"t": "v"}, {}, 0)


def test_encode_line_rejects_a_non_int_timestamp() -> None:
    with pytest.raises(TypeError):
        encode_line("m", {}, {"f": 1.0}, 1.5)  # type: ignore[arg-type]


def test_int_subclasses_are_written_as_plain_ints() -> None:
    import enum

    class Code(enum.IntEnum):
        RUN = 2

    assert format_field_value(Code.RUN) == "2i"


# ---------------------------------------------------------------- property: encode → parse == input
_NAME_CHARS = st.characters(blacklist_categories=("Cs", "Cc"))


def _representable(s: str) -> bool:
    return not any(s[i] == "\\" and (i + 1 == len(s) or s[i + 1] in ' ,="') for i in range(len(s)))


names = st.text(_NAME_CHARS, min_size=1, max_size=12).filter(_representable).filter(lambda s: s != "time")
measurements = names.filter(lambda s: not s.startswith("#"))
values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
)


@settings(max_examples=400, deadline=None)
@given(
    m=measurements,
    tags=st.dictionaries(names, names, max_size=4),
    fields=st.dictionaries(names, values, min_size=1, max_size=4),
    ts=st.integers(min_value=-(2**62), max_value=2**62),
)
def test_encoder_round_trips_through_an_independent_parser(
    m: str, tags: dict[str, str], fields: dict[str, float | int | bool | str], ts: int
) -> None:
    line = encode_line(m, tags, fields, ts)
    assert "\n" not in line.split('"')[0]  # nothing before the first string value ends the line
    pm, ptags, pfields, pts = parse_line(line)
    assert (pm, ptags, pts) == (m, tags, ts)
    assert pfields.keys() == fields.keys()
    for k, v in fields.items():
        assert type(pfields[k]) is type(v)
        assert pfields[k] == v
