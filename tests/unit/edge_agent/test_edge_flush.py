"""Flushing a machine's derivation at end of stream (graceful agent stop): partial periods are
emitted with their true length, and what arrives afterwards never overwrites them."""

from __future__ import annotations

import itertools

from seamline.edge_agent.aggregate import MachineDerivation, RawSample
from seamline.edge_agent.state import Thresholds
from seamline.edge_agent.wire import DataPayload, StatePayload

T0 = 1_767_225_600_000  # a whole minute
TH = Thresholds()


def running(start_s: int, n: int) -> list[RawSample]:
    return [RawSample(T0 + (start_s + i) * 1000, 3.2, 4500.0, (start_s + i) * 75, 0) for i in range(n)]


def aggregates(out: list[object]) -> list[tuple[int, float, float, int]]:
    rows = []
    for m in out:
        if isinstance(m, DataPayload):
            s = m.samples[0]
            rows.append((s.ts_ms - T0, s.metrics["period_s"], s.metrics["run_s"], int(s.metrics["samples"])))
    return rows


def test_flush_emits_the_open_period_with_its_true_length() -> None:
    d = MachineDerivation(thresholds=TH, period_s=60)
    out = d.process(running(0, 90))
    out += d.flush()
    assert aggregates(out) == [(0, 60.0, 60.0, 60), (60_000, 30.0, 30.0, 30)]


def test_samples_after_a_flush_start_a_window_of_their_own() -> None:
    d = MachineDerivation(thresholds=TH, period_s=60)
    out = d.process(running(0, 90)) + d.flush()
    restored = MachineDerivation.from_bytes(d.to_bytes(), thresholds=TH, period_s=60)
    out += restored.process(running(90, 60)) + restored.flush()
    rows = aggregates(out)
    assert rows == [(0, 60.0, 60.0, 60), (60_000, 30.0, 30.0, 30), (90_000, 30.0, 30.0, 30), (120_000, 30.0, 30.0, 30)]
    assert len({r[0] for r in rows}) == len(rows), "two aggregates share a timestamp: one would overwrite the other"
    assert sum(r[3] for r in rows) == 150 and sum(r[2] for r in rows) == 150.0


def test_flush_of_an_idle_derivation_emits_nothing() -> None:
    d = MachineDerivation(thresholds=TH, period_s=60)
    assert d.flush() == []


def test_seq_continues_across_flush() -> None:
    d = MachineDerivation(thresholds=TH, period_s=60)
    out = d.process(running(0, 90)) + d.flush() + d.process(running(90, 61))
    seqs = [m.samples[0].seq if isinstance(m, DataPayload) else m.seq for m in out]
    assert seqs == list(range(len(seqs)))


def test_state_changes_of_one_machine_never_share_a_millisecond() -> None:
    """Repaired at 12:00:00.000 and off for lunch at the same instant must stay two points."""
    from seamline.contracts.kinds import MachineState
    from seamline.edge_agent.aggregate import Andon

    d = MachineDerivation(thresholds=TH, period_s=60)
    items: list[RawSample | Andon] = [Andon(T0 + 5_000, MachineState.DOWN, "breakdown.needle")]
    items += [RawSample(T0 + i * 1000, 0.45, 0.0, 0, 0) for i in range(10)]
    items += [Andon(T0 + 10_000, MachineState.IDLE, "repaired")]
    items += [RawSample(T0 + i * 1000, 0.0, 0.0, 0, 0) for i in range(10, 20)]
    out = d.process(items) + d.flush()
    times = [m.ts_ms for m in out if isinstance(m, StatePayload)]
    assert len(times) >= 3
    assert all(b > a for a, b in itertools.pairwise(times)), times


def test_counter_increase_across_an_outage_is_reported_as_unobserved() -> None:
    """Pieces made while the gateway was down (a gap longer than outage_gap_s) are real output,
    but OEE over observed time must not credit them to the first minute after the gap."""
    d = MachineDerivation(thresholds=Thresholds(outage_gap_s=300.0), period_s=60)
    before = [RawSample(T0 + i * 1000, 3.2, 4500.0, i * 75, i // 20) for i in range(60)]  # pieces 0..2
    after = [RawSample(T0 + (600 + i) * 1000, 3.2, 4500.0, (600 + i) * 75, 30 + i // 20) for i in range(60)]
    out = d.process(before + after) + d.flush()
    aggs = {m.samples[0].ts_ms - T0: m.samples[0].metrics for m in out if isinstance(m, DataPayload)}
    first, resumed = aggs[0], aggs[600_000]
    assert (first.get("pieces"), first.get("pieces_unobserved")) == (2, None)
    assert (resumed.get("pieces"), resumed.get("pieces_unobserved")) == (2, 28)  # 2 -> 30 across the gap
    assert resumed.get("stitches_unobserved") == 600 * 75 - 59 * 75 and resumed.get("stitches") == 59 * 75


def test_counter_increase_across_a_short_drop_out_is_credited_normally() -> None:
    d = MachineDerivation(thresholds=Thresholds(outage_gap_s=300.0), period_s=60)
    before = [RawSample(T0 + i * 1000, 3.2, 4500.0, i * 75, i // 20) for i in range(60)]
    after = [RawSample(T0 + (180 + i) * 1000, 3.2, 4500.0, (180 + i) * 75, 9 + i // 20) for i in range(60)]
    out = d.process(before + after) + d.flush()
    aggs = {m.samples[0].ts_ms - T0: m.samples[0].metrics for m in out if isinstance(m, DataPayload)}
    blip = aggs[180_000]  # 2 -> 11 over a 2 min blip
    assert (blip.get("pieces"), blip.get("pieces_unobserved")) == (9, None)


def _bursts(start_s: int, n_s: int) -> list[RawSample]:
    """Sewing 6 s, handling 6 s, repeated: half the time running."""
    return [RawSample(T0 + (start_s + i) * 1000, 3.2 if (i // 6) % 2 == 0 else 0.45, None, None, None)
            for i in range(n_s)]


def test_a_lost_repaired_press_is_inferred_from_sustained_sewing() -> None:
    from seamline.contracts.kinds import MachineState
    from seamline.edge_agent.aggregate import Andon

    d = MachineDerivation(thresholds=TH, period_s=60)
    items: list[RawSample | Andon] = [Andon(T0 + 10_000, MachineState.DOWN, "breakdown.needle")]
    items += [RawSample(T0 + i * 1000, 0.45, None, None, None) for i in range(600)]  # 10 min standing
    items += _bursts(600, 600)  # then 10 min sewing, "repaired" never arrives
    out = d.process(items) + d.flush()
    changes = [(m.ts_ms - T0, m.state, m.reason) for m in out if isinstance(m, StatePayload)]
    inferred = [c for c in changes if c[2] == "repaired.inferred"]
    assert len(inferred) == 1
    assert 600_000 + 110_000 <= inferred[0][0] <= 600_000 + 130_000  # after 60 s of sewing (~2 min of bursts)
    down_s = sum(m.samples[0].metrics.get("down_s", 0) for m in out if isinstance(m, DataPayload))
    assert 700 <= down_s <= 740  # the breakdown ends there, not at the end of the stream


def test_a_mechanics_test_stitches_stay_inside_the_breakdown() -> None:
    from seamline.contracts.kinds import MachineState
    from seamline.edge_agent.aggregate import Andon

    d = MachineDerivation(thresholds=TH, period_s=60)
    items: list[RawSample | Andon] = [Andon(T0 + 10_000, MachineState.DOWN, "breakdown.thread")]
    items += [RawSample(T0 + i * 1000, 0.45, None, None, None) for i in range(300)]
    items += _bursts(300, 60)  # 30 s of test sewing
    items += [RawSample(T0 + (360 + i) * 1000, 0.45, None, None, None) for i in range(240)]
    out = d.process(items) + d.flush()
    reasons = [m.reason for m in out if isinstance(m, StatePayload)]
    assert "repaired.inferred" not in reasons
    run_s = sum(m.samples[0].metrics.get("run_s", 0) for m in out if isinstance(m, DataPayload))
    assert run_s == 0  # sewing during a breakdown is down time, not running


def test_an_outage_reports_how_long_the_gap_was() -> None:
    d = MachineDerivation(thresholds=Thresholds(outage_gap_s=300.0), period_s=60)
    before = [RawSample(T0 + i * 1000, 3.2, 4500.0, i * 75, i // 20) for i in range(60)]
    after = [RawSample(T0 + (600 + i) * 1000, 3.2, 4500.0, (600 + i) * 75, 30 + i // 20) for i in range(60)]
    out = d.process(before + after) + d.flush()
    aggs = {m.samples[0].ts_ms - T0: m.samples[0].metrics for m in out if isinstance(m, DataPayload)}
    assert aggs[600_000].get("unobserved_s") == 540.0  # last sample covered [59 s, 60 s); next at 600 s
    assert aggs[0].get("unobserved_s") is None
