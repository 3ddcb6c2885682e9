"""The policy model: ``allowed()`` truth table with MQTT wildcard edge cases, and a property test
against an oracle that states the intended rules in plain terms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.security.acl import (
    Access,
    Action,
    Grant,
    Policy,
    Rule,
    allowed,
    build_policy,
    check_filter,
)
from seamline.security.identity import GatewayIdentity, Role, ServiceIdentity

A = GatewayIdentity(enterprise="f001", site="s1", gateway_id="gw01")
C = GatewayIdentity(enterprise="f001", site="s1", gateway_id="gw02")
B = GatewayIdentity(enterprise="f002", site="s1", gateway_id="gw01")
SERVICES = [ServiceIdentity(role=r, name=r.value) for r in Role]
POLICY = build_policy([A, B, C, *SERVICES])
P, R = Action.PUBLISH, Action.RECEIVE

TABLE = [
    # (who, action, topic, allowed)
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/line01/m001/data", True),
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/line01/m001/state", True),
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/roof/pv01/data", True),
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/_gateway/gw01/data", True),
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/_gateway/gw01/birth", True),
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/_gateway/gw01/status", True),
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1//m001/data", True),  # '+' matches an empty level (MQTT)
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/_gateway/gw02/birth", False),  # the neighbour's identity
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/_gateway/gw02/status", False),
    ("gw/f001/s1/gw01", P, "seamline/v1/f002/s1/line01/m001/data", False),  # another factory
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s2/line01/m001/data", False),  # another site
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/line01/_line/capacity", False),  # the finding
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/line01/_line/allocation", False),
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/line01/_line/bookings", False),
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/line01/_line/data", False),  # deny wins over +/+/data
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/_gateway/gw01/command", False),
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/line01/m001/data/extra", False),  # 8 levels
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/line01/data", False),  # 6 levels
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/+/m001/data", False),  # wildcards are not topics
    ("gw/f001/s1/gw01", P, "seamline/v1/f001/s1/#", False),
    ("gw/f001/s1/gw01", P, "", False),
    ("gw/f001/s1/gw01", P, "$SYS/broker/uptime", False),
    ("gw/f001/s1/gw01", R, "seamline/v1/f001/s1/_gateway/gw01/command", False),  # no such kind: reads nothing
    ("gw/f001/s1/gw01", R, "seamline/v1/f001/s1/line01/m001/data", False),  # writes, does not read
    ("gw/f002/s1/gw01", P, "seamline/v1/f002/s1/line01/m001/data", True),
    ("svc/ingest", R, "seamline/v1/f001/s1/line01/m001/data", True),
    ("svc/ingest", R, "seamline/v1/f002/s1/_gateway/gw01/status", True),
    ("svc/ingest", R, "seamline/v1/f001/s1/line01/_line/capacity", False),
    ("svc/ingest", P, "seamline/v1/f001/s1/line01/m001/data", False),
    ("svc/rules", P, "seamline/v1/f001/s1/line01/_line/capacity", True),
    ("svc/rules", R, "seamline/v1/f001/s1/line01/_line/bookings", True),
    ("svc/rules", P, "seamline/v1/f001/s1/line01/_line/bookings", False),
    ("svc/rules", P, "seamline/v1/f001/s1/line01/_line/allocation", False),
    ("svc/rules", P, "seamline/v1/f001/s1/_gateway/gw01/capacity", False),  # capacity lives on _line only
    ("svc/matching", R, "seamline/v1/f001/s1/line01/_line/capacity", True),
    ("svc/matching", P, "seamline/v1/f001/s1/line01/_line/capacity", False),
    ("svc/matching", P, "seamline/v1/f001/s1/line01/_line/allocation", True),
    ("svc/matching", R, "seamline/v1/f001/s1/line01/_line/allocation", True),
    ("svc/matching", P, "seamline/v1/f001/s1/line01/_line/bookings", True),
    ("svc/notify", P, "seamline/v1/f001/s1/line01/m001/data", False),
    ("svc/notify", R, "seamline/v1/f001/s1/line01/m001/data", False),
    ("svc/nobody", R, "seamline/v1/f001/s1/line01/m001/data", False),  # not in the policy
    (None, P, "seamline/v1/f001/s1/line01/m001/data", False),  # anonymous
]


@pytest.mark.parametrize(("who", "action", "topic", "expected"), TABLE)
def test_truth_table(who: str | None, action: Action, topic: str, expected: bool) -> None:
    assert allowed(POLICY, who, action, topic) is expected


def test_wildcards_in_rules() -> None:
    policy = Policy((Grant("u", "t", (Rule(Access.READWRITE, "a/#", "x"), Rule(Access.DENY, "a/b/+", "y"))),))
    assert allowed(policy, "u", P, "a")  # '#' also matches the parent level
    assert allowed(policy, "u", P, "a/x/y/z")
    assert not allowed(policy, "u", P, "a/b/c")  # deny wins
    assert allowed(policy, "u", P, "a/b/c/d")  # '+' is one level only
    assert allowed(policy, "u", P, "a/b")


@pytest.mark.parametrize("bad", ["", "a/#/b", "a/b#", "a+/b", "+a", "a\x00b"])
def test_invalid_filters_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        check_filter(bad)


def test_one_grant_per_identity() -> None:
    with pytest.raises(ValueError, match="twice"):
        build_policy([A, A])


def test_every_rule_says_why() -> None:
    assert all(r.why for g in POLICY.grants for r in g.rules)
    assert POLICY.grant("svc/notify") is not None and POLICY.grant("svc/notify").rules == ()  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------- oracle

def oracle_gateway_may_publish(g: GatewayIdentity, topic: str) -> bool:
    """The intended rule for gateways, written independently of the policy model."""
    parts = topic.split("/")
    if len(parts) != 7 or parts[:2] != ["seamline", "v1"] or any(p in ("+", "#") for p in parts):
        return False
    _, _, e, s, area, asset, kind = parts
    if (e, s) != (g.enterprise, g.site) or asset == "_line":
        return False
    if kind in ("data", "state"):
        return True
    return kind in ("birth", "status") and area == "_gateway" and asset == g.gateway_id


LEVEL = st.sampled_from(["f001", "f002", "s1", "s2", "line01", "_gateway", "_line", "gw01", "gw02", "m001", "",
                         "+", "#"])
KIND = st.sampled_from(["data", "state", "birth", "status", "capacity", "allocation", "bookings", "command", "x"])


@given(st.lists(LEVEL, min_size=2, max_size=6), KIND, st.sampled_from([A, B, C]), st.booleans())
def test_gateway_publish_matches_the_oracle(levels: list[str], kind: str, g: GatewayIdentity, prefixed: bool) -> None:
    topic = "/".join((["seamline", "v1"] if prefixed else []) + levels + [kind])
    assert allowed(POLICY, g.username, P, topic) is oracle_gateway_may_publish(g, topic)
