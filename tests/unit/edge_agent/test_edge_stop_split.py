"""The stop split the agent adds to each aggregate (edge_agent.stop_split through
MachineDerivation): an idle period's seconds are decided in the period where its length is
known, its earlier seconds arrive as stop_late_s, and a checkpoint keeps what is undecided.
The rules-side equality with the event scan: tests/unit/rules/test_rules_aggregate_path.py."""

from __future__ import annotations

from seamline.edge_agent.aggregate import MachineDerivation, RawSample
from seamline.edge_agent.state import Thresholds
from seamline.edge_agent.wire import DataPayload

T0 = 1_767_225_600_000  # a whole minute
TH = Thresholds(stop_threshold_s=120.0)


def samples(start_s: int, n: int, current_a: float) -> list[RawSample]:
    return [RawSample(T0 + (start_s + i) * 1000, current_a) for i in range(n)]


def splits(out: list[object]) -> dict[int, dict[str, float]]:
    """period start (s after T0) -> its split fields"""
    rows = {}
    for m in out:
        if isinstance(m, DataPayload):
            s = m.samples[0]
            rows[(s.ts_ms - T0) // 1000] = {k: float(v) for k, v in s.metrics.items()
                                            if k in ("stop_s", "stop_late_s", "idle_open_s", "state_known_s")}
    return rows


def test_an_idle_period_over_the_threshold_is_a_stop_in_every_period_it_covers() -> None:
    """Sewing 0-30 s, idle 30-210 s (180 s >= 120 s), sewing again: the idle event is stamped at
    30 s; the first period leaves its 30 idle seconds open, the third (where the idle period reaches
    120 s, at 150 s) reports them late."""
    d = MachineDerivation(thresholds=TH, period_s=60)
    out = d.process([*samples(0, 30, 3.2), *samples(30, 180, 0.45), *samples(210, 60, 3.2)])
    out += d.flush()  # the last burst is decided when it ends (here: the stream ends)
    s = splits(out)
    assert s[0] == {"state_known_s": 60.0, "stop_s": 0.0, "stop_late_s": 0.0, "idle_open_s": 30.0}
    assert s[60]["stop_s"] == 0.0 and s[60]["idle_open_s"] == 90.0  # 90 s idle so far, < 120 s
    assert s[120]["stop_s"] == 60.0 and s[120]["stop_late_s"] == 90.0 and s[120]["idle_open_s"] == 0.0
    assert s[180]["stop_s"] == 30.0
    stops = sum(v["stop_s"] + v["stop_late_s"] for v in s.values())
    assert stops == 180.0  # the whole idle period, once


def test_a_short_idle_period_is_no_stop() -> None:
    d = MachineDerivation(thresholds=TH, period_s=60)
    out = d.process([*samples(0, 50, 3.2), *samples(50, 60, 0.45), *samples(110, 70, 3.2)])
    out += d.flush()
    s = splits(out)
    assert sum(v["stop_s"] + v["stop_late_s"] for v in s.values()) == 0.0
    assert s[0]["idle_open_s"] == 10.0 and s[60]["idle_open_s"] == 0.0


def test_a_checkpoint_keeps_the_undecided_idle_period() -> None:
    d = MachineDerivation(thresholds=TH, period_s=60)
    out = d.process([*samples(0, 30, 3.2), *samples(30, 100, 0.45)])
    restored = MachineDerivation.from_bytes(d.to_bytes(), thresholds=TH, period_s=60)
    out += restored.process([*samples(130, 80, 0.45), *samples(210, 60, 3.2)])
    out += restored.flush()
    s = splits(out)
    assert sum(v["stop_s"] + v["stop_late_s"] for v in s.values()) == 180.0
