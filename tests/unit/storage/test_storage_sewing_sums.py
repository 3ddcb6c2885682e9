"""The fields ingest derives for a sewing aggregate (seamline.storage.sewing_sums), worked numbers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from seamline.contracts.messages import parse_data
from seamline.contracts.topic import MessageKind, Topic
from seamline.ingest.points import data_lines
from seamline.storage.sewing_sums import (
    DOWN,
    EXACT,
    PACKED,
    WIDTHS,
    count_limits,
    derived_fields,
    key_base,
    pack,
    sums_key,
    unpack,
)

# A steady 60 s period split at 300 s: every state second known, no reason, no gap.
STEADY: dict[str, Any] = {"period_s": 60.0, "run_s": 50.0, "idle_s": 10.0, "state_known_s": 60.0, "pieces": 3,
                          "event_down_s": 0.0, "event_off_s": 4.5, "stop_s": 7.0, "stop_late_s": 120.0,
                          "idle_open_s": 0.0, "idle_reason_s": 0.0, "breakdowns": 0, "stop_threshold_s": 300.0}
BASE = 60_000 * 10**9 + 300_000  # key_base(60 000 ms, 300 000 ms)


def test_the_key_of_a_steady_period() -> None:
    assert key_base(60_000, 300_000) == BASE
    assert sums_key(STEADY, good=True) == 4 * BASE + EXACT == 240_000_001_200_002
    assert derived_fields(STEADY, good=True) == {
        "counts": (1 << 48) + (3 << 28), "off_down_ms": 0, "run_idle_ms": (50_000 << 31) + 10_000,
        "sums_key": 4 * BASE + 2, "unavailable_stops_ms": (4_500 << 31) + 127_000}


def test_a_packed_sum_holds_each_parts_sum() -> None:
    """Two days of 60 s periods (2 880) holding the most each part may hold: every part's sum
    comes back, and the sum is a positive int64."""
    for name, parts in PACKED.items():
        most = count_limits(60_000) if name == "counts" else (60_000,) * len(parts)
        one = pack(most, WIDTHS[name])
        assert unpack(one * 2880, WIDTHS[name]) == tuple(m * 2880 for m in most)
        assert one * 2880 < 2**63 and sum(WIDTHS[name]) <= 63
    assert count_limits(60_000) == (11, 364, 11, 2)


@pytest.mark.parametrize("change", [{"run_s": 50.0004}, {"pieces": 365}, {"idle_s": 2**31 / 1000}],
                         ids=["not-whole-ms", "too-many-pieces", "beyond-its-bits"])
def test_a_figure_that_does_not_pack_makes_the_period_inexact(change: dict[str, Any]) -> None:
    assert sums_key({**STEADY, **change}, good=True) == 4 * BASE


@pytest.mark.parametrize(("change", "low_bits"), [
    ({"event_down_s": 12.0}, EXACT + DOWN),
    ({"breakdowns": 1, "event_down_s": 0.001}, EXACT + DOWN),
    ({"state_known_s": 59.0}, 0),
    ({"idle_reason_s": 3.0}, 0),
    ({"pieces_unobserved": 4}, 0),
    ({"unobserved_s": 120.0}, 0),
    ({"event_down_s": 2.0, "idle_reason_s": 1.0}, DOWN),
], ids=["down", "breakdown", "state-unknown", "idle-reason", "pieces-across-gap", "gap", "down-not-exact"])
def test_what_the_low_bits_say(change: dict[str, Any], low_bits: int) -> None:
    assert sums_key({**STEADY, **change}, good=True) == 4 * BASE + low_bits


def test_no_key_base_when_not_good_without_the_split_or_out_of_range() -> None:
    assert sums_key(STEADY, good=False) == 0  # stale or historical
    assert sums_key({k: v for k, v in STEADY.items() if k != "stop_threshold_s"}, good=True) == 0
    assert sums_key({**STEADY, "stop_threshold_s": 2e6}, good=True) == 0  # 23 days: outside the key
    assert key_base(0, 300_000) == key_base(60_000, 10**9) == 0
    assert derived_fields({"current_a": 0.4, "speed_spm": 3000}, good=True) == {}  # a raw sample
    no_split = derived_fields({"period_s": 60.0, "run_s": 60.0}, good=True)
    assert no_split["sums_key"] == 0 and no_split["run_idle_ms"] == 60_000 << 31  # packed all the same
    assert derived_fields(STEADY, good=False) == {**derived_fields(STEADY, good=True), "sums_key": 0}


def test_a_period_of_another_length_or_threshold_has_another_base() -> None:
    assert sums_key({**STEADY, "period_s": 30.0, "state_known_s": 30.0}, good=True) == 4 * key_base(30_000, 300_000) + 2
    assert sums_key({**STEADY, "stop_threshold_s": 240.0}, good=True) == 4 * key_base(60_000, 240_000) + 2
    # the largest key fits an int64 field with room for a day's sum of 1 440 periods
    assert 4 * key_base(10**9 - 1, 10**9 - 1) + 3 < 2**63


@pytest.mark.parametrize(("quality", "key"), [("good", 4 * BASE + EXACT), ("stale", 0), ("historical", 0)])
def test_ingest_writes_the_derived_fields_with_the_point(quality: str, key: int) -> None:
    msg = parse_data(json.dumps({"schema_version": 1, "asset_kind": "sewing_machine", "samples": [
        {"ts_ms": 1_767_225_600_000, "seq": 7, "quality": quality, "metrics": STEADY}]}).encode())
    topic = Topic(enterprise="e1", site="s1", area="l1", asset="m1", kind=MessageKind.DATA)
    [line] = data_lines(topic, msg.asset_kind, msg.samples)
    assert f",sums_key={key}i," in line
    assert f",run_idle_ms={(50_000 << 31) + 10_000}i," in line and f",counts={(1 << 48) + (3 << 28)}i," in line
