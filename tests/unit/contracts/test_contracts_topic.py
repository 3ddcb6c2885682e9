"""Topic grammar: build, parse, reject invalid levels, wildcard matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.contracts.topic import (
    GATEWAY_AREA,
    LINE_ASSET,
    MAX_LEVEL_CHARS,
    MessageKind,
    Topic,
    TopicError,
    matches,
    shared,
    subscription,
    validate_level,
)

GOOD_LEVELS = [
    "f001", "line-01", "m.001", "M_01", "a", "x" * MAX_LEVEL_CHARS, "织造一厂", "Zürich", "line 3",
    "ä-ö_ü.1", "0", "-", "a_", "e=mc2", "comma,ok",
]
BAD_LEVELS = [
    ("", "empty"),
    ("+", "'+'"),
    ("#", "'#'"),
    ("a+b", "'+'"),
    ("a#", "'#'"),
    ("a/b", "'/'"),
    ("/", "'/'"),
    ("$SYS", "reserved for the broker"),
    ("$share", "reserved for the broker"),
    ("x" * (MAX_LEVEL_CHARS + 1), "characters, max"),
    ("a\x00b", "control character U+0000"),
    ("a\nb", "control character U+000A"),
    ("a\tb", "control character U+0009"),
    ("\x7f", "control character U+007F"),
    ("a\u200bb", "control character U+200B"),  # zero-width space is a format char (Cf)
    ("a\u2028b", "control character U+2028"),
    (" lead", "whitespace"),
    ("trail ", "whitespace"),
    ("_hidden", "reserved for seamline"),
]


@pytest.mark.parametrize("level", GOOD_LEVELS)
def test_valid_levels_are_accepted(level: str) -> None:
    assert validate_level(level) == level


@pytest.mark.parametrize(("level", "why"), BAD_LEVELS)
def test_invalid_levels_are_rejected_with_reason(level: str, why: str) -> None:
    with pytest.raises(TopicError, match=why.replace("+", r"\+").replace("$", r"\$")):
        validate_level(level)


def test_non_string_level_rejected() -> None:
    with pytest.raises(TopicError, match="must be a string"):
        validate_level(5)  # type: ignore[arg-type]


@pytest.mark.parametrize("level", GOOD_LEVELS)
@pytest.mark.parametrize("position", ["enterprise", "site", "area", "asset"])
def test_build_parse_round_trip(level: str, position: str) -> None:
    levels = {"enterprise": "f001", "site": "s1", "area": "line01", "asset": "m001"}
    levels[position] = level
    for kind in MessageKind:
        t = Topic(**levels, kind=kind)
        assert Topic.parse(str(t)) == t
        assert str(t) == f"seamline/v1/{t.enterprise}/{t.site}/{t.area}/{t.asset}/{kind.value}"


@pytest.mark.parametrize(("level", "why"), BAD_LEVELS)
@pytest.mark.parametrize("position", ["enterprise", "site", "area", "asset"])
def test_constructor_rejects_bad_level_in_every_position(level: str, why: str, position: str) -> None:
    levels = {"enterprise": "f001", "site": "s1", "area": "line01", "asset": "m001"}
    levels[position] = level
    with pytest.raises(TopicError):
        Topic(**levels, kind=MessageKind.DATA)


@pytest.mark.parametrize(
    "raw",
    [
        "seamline/v1/f001/s1/line01/m001",  # 6 levels
        "seamline/v1/f001/s1/line01/m001/data/x",  # 8 levels
        "seamline/v2/f001/s1/line01/m001/data",  # wrong version
        "Seamline/v1/f001/s1/line01/m001/data",  # root is case-sensitive
        "other/v1/f001/s1/line01/m001/data",
        "seamline/v1/f001/s1/line01/m001/nope",  # unknown kind
        "seamline/v1/f001/s1/line01/m001/DATA",
        "seamline/v1/+/s1/line01/m001/data",
        "seamline/v1/#",
        "seamline/v1/f001/s1/line01//data",
        "/seamline/v1/f001/s1/line01/m001",
        "seamline/v1/f001/s1/_other/m001/data",
        "seamline/v1/f001/s1/line01/_m/data",
        "",
    ],
)
def test_parse_rejects(raw: str) -> None:
    with pytest.raises(TopicError):
        Topic.parse(raw)


def test_parse_rejects_non_string() -> None:
    with pytest.raises(TopicError):
        Topic.parse(b"seamline/v1/a/b/c/d/data")  # type: ignore[arg-type]


def test_reserved_gateway_and_line_topics() -> None:
    g = Topic.gateway(enterprise="f001", site="s1", gateway_id="gw01", kind=MessageKind.STATUS)
    assert str(g) == f"seamline/v1/f001/s1/{GATEWAY_AREA}/gw01/status"
    assert g.is_gateway
    assert Topic.parse(str(g)) == g
    c = Topic.line(enterprise="f001", site="s1", line="line01", kind=MessageKind.CAPACITY)
    assert str(c) == f"seamline/v1/f001/s1/line01/{LINE_ASSET}/capacity"
    assert not c.is_gateway
    with pytest.raises(TopicError):
        Topic.gateway(enterprise="f001", site="s1", gateway_id="_gw", kind=MessageKind.STATUS)


def test_kind_given_as_string_is_normalised_and_unknown_rejected() -> None:
    t = Topic(enterprise="e", site="s", area="a", asset="x", kind="data")  # type: ignore[arg-type]
    assert t.kind is MessageKind.DATA
    with pytest.raises(TopicError, match="unknown message kind"):
        Topic(enterprise="e", site="s", area="a", asset="x", kind="bogus")  # type: ignore[arg-type]


def test_topic_is_frozen_and_hashable() -> None:
    t = Topic(enterprise="e", site="s", area="a", asset="x", kind=MessageKind.DATA)
    with pytest.raises(AttributeError):
        t.asset = "y"  # type: ignore[misc]
    assert len({t, Topic.parse(str(t))}) == 1


def test_subscription_and_shared() -> None:
    assert subscription() == "seamline/v1/+/+/+/+/+"
    assert subscription(enterprise="f001", kind=MessageKind.DATA) == "seamline/v1/f001/+/+/+/data"
    assert subscription(area=GATEWAY_AREA) == f"seamline/v1/+/+/{GATEWAY_AREA}/+/+"
    assert shared("ingest", subscription(kind="data")) == "$share/ingest/seamline/v1/+/+/+/+/data"
    with pytest.raises(TopicError):
        subscription(enterprise="a/b")
    with pytest.raises(TopicError):
        shared("a+b", "x")


MATCH_CASES = [
    ("seamline/v1/+/+/+/+/data", "seamline/v1/f/s/a/x/data", True),
    ("seamline/v1/+/+/+/+/data", "seamline/v1/f/s/a/x/state", False),
    ("seamline/v1/f/#", "seamline/v1/f/s/a/x/data", True),
    ("seamline/v1/f/#", "seamline/v1/g/s/a/x/data", False),
    ("seamline/#", "seamline", True),
    ("#", "seamline/v1/f/s/a/x/data", True),
    ("#", "$SYS/broker/uptime", False),
    ("+/v1/f/s/a/x/data", "$x/v1/f/s/a/x/data", False),
    ("seamline/v1/+/+/+/+", "seamline/v1/f/s/a/x/data", False),
    ("seamline/v1/+/+/+/+/+/+", "seamline/v1/f/s/a/x/data", False),
    ("$share/g/seamline/v1/+/+/+/+/data", "seamline/v1/f/s/a/x/data", True),
    ("seamline/v1/f/s/a/x/data", "seamline/v1/f/s/a/x/data", True),
    ("seamline/v1/f/s/a/x/data", "seamline/v1/f/s/a/y/data", False),
    ("seamline/+/f", "seamline//f", True),
]


@pytest.mark.parametrize(("flt", "topic", "expected"), MATCH_CASES)
def test_matches(flt: str, topic: str, expected: bool) -> None:
    assert matches(flt, topic) is expected


level_chars = st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"),
                            blacklist_characters="+#/\\$_ ")


@given(st.lists(st.text(level_chars, min_size=1, max_size=MAX_LEVEL_CHARS), min_size=4, max_size=4),
       st.sampled_from(list(MessageKind)))
def test_property_any_valid_levels_round_trip(levels: list[str], kind: MessageKind) -> None:
    t = Topic(enterprise=levels[0], site=levels[1], area=levels[2], asset=levels[3], kind=kind)
    assert Topic.parse(str(t)) == t
    assert matches(subscription(), str(t))
