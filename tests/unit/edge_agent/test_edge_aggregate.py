"""edge_agent.aggregate: periods, counter deltas, seq numbering and checkpoint round trips."""

from __future__ import annotations

import itertools
import math
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.contracts.kinds import MachineState
from seamline.edge_agent.aggregate import Andon, MachineDerivation, PeriodAggregator, RawSample, counter_delta
from seamline.edge_agent.state import Slice, Thresholds
from seamline.edge_agent.wire import DataPayload, StatePayload

T0 = 1_767_225_600_000  # a whole minute
TH = Thresholds()


def rms(fraction: float) -> float:
    return math.sqrt(fraction * 3.2**2 + (1 - fraction) * 0.45**2)


def test_counter_delta_handles_reboot() -> None:
    assert counter_delta(None, 50) == 0
    assert counter_delta(100, 130) == 30
    assert counter_delta(100, 100) == 0
    assert counter_delta(100, 7) == 7  # node rebooted: counting restarted at 0


def test_slices_are_split_at_period_boundaries() -> None:
    agg = PeriodAggregator(60)
    agg.add_slice(Slice(T0 + 59_500, T0 + 60_700, MachineState.RUNNING))
    agg.add_slice(Slice(T0 + 60_700, T0 + 120_000, MachineState.IDLE))
    out = agg.close_until(T0 + 120_000)
    assert [(ts - T0, m["run_s"], m["idle_s"], m["period_s"]) for ts, m in out] == [
        (0, 0.5, 0.0, 60.0),
        (60_000, 0.7, 59.3, 60.0),
    ]


def test_open_period_is_not_emitted_before_its_end() -> None:
    agg = PeriodAggregator(60)
    agg.add_slice(Slice(T0, T0 + 59_999, MachineState.IDLE))
    assert agg.close_until(T0 + 59_999) == []
    agg.add_slice(Slice(T0 + 59_999, T0 + 60_000, MachineState.IDLE))
    assert len(agg.close_until(T0 + 60_000)) == 1


def test_sample_metrics_of_a_period() -> None:
    agg = PeriodAggregator(60)
    samples = [
        RawSample(T0 + 58_000, 1.0, 1000.0, 900, 4),  # previous period: sets the counter base
        RawSample(T0 + 60_000, 3.0, 4500.0, 975, 5),
        RawSample(T0 + 61_000, 1.0, None, 20, 0),  # node reboot
        RawSample(T0 + 62_000, 2.0, 1500.0, 95, 1),
    ]
    for s in samples:
        agg.add_sample(s)
    agg.add_slice(Slice(T0 + 58_000, T0 + 120_000, MachineState.IDLE))
    (_, first), (ts, m) = agg.close_until(T0 + 120_000)
    assert first["stitches"] == 0 and first["stitches_total"] == 900
    assert ts == T0 + 60_000
    assert m["current_a"] == 2.0
    assert m["current_max_a"] == 3.0
    assert m["speed_spm"] == 3000.0
    assert (m["stitches"], m["pieces"]) == (75 + 20 + 75, 1 + 0 + 1)
    assert (m["stitches_total"], m["pieces_total"]) == (95, 1)
    assert (m["idle_s"], m["run_s"], m["off_s"], m["down_s"]) == (60.0, 0.0, 0.0, 0.0)


def _stream(n_s: int) -> list[RawSample | Andon]:
    items: list[RawSample | Andon] = []
    stitches = 0
    for k in range(n_s):
        phase = k % 17
        current = 0.0 if 140 <= k < 150 else [0.45, rms(0.3), 3.2, 3.1, 3.3, rms(0.6)][phase] if phase < 6 else 0.45
        stitches += 75 if 2 <= phase <= 4 else 0
        items.append(RawSample(T0 + k * 1000, current, None, stitches, k // 40))
    items.append(Andon(T0 + 200_500, MachineState.DOWN, "breakdown.needle"))
    items.append(Andon(T0 + 230_250, MachineState.IDLE, "repaired"))
    return sorted(items, key=lambda i: i.ts_ms)  # device-time order, as the agent feeds it


def test_derivation_emits_aggregates_and_events_with_consecutive_seq() -> None:
    d = MachineDerivation(thresholds=TH, period_s=60)
    out = d.process(_stream(300))
    seqs = [m.seq if isinstance(m, StatePayload) else m.samples[0].seq for m in out]
    assert seqs == list(range(len(out)))
    aggs = [m.samples[0] for m in out if isinstance(m, DataPayload)]
    assert [a.ts_ms - T0 for a in aggs] == [0, 60_000, 120_000, 180_000]
    for a in aggs:
        m = a.metrics
        assert m.get("run_s", 0) + m.get("idle_s", 0) + m.get("off_s", 0) + m.get("down_s", 0) == 60.0
    assert aggs[2].metrics["off_s"] == 10.0
    assert aggs[3].metrics["down_s"] == 29.75  # 200.5 s .. 230.25 s
    downs = [m for m in out if isinstance(m, StatePayload) and m.state == MachineState.DOWN]
    assert [(m.ts_ms - T0, m.reason) for m in downs] == [(200_500, "breakdown.needle")]


def test_redelivered_input_is_skipped() -> None:
    d = MachineDerivation(thresholds=TH, period_s=60)
    stream = _stream(130)
    first = d.process(stream)
    assert d.process(stream) == []
    assert d.skipped == len(stream)
    assert first


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=299), min_size=1, max_size=4, unique=True))
def test_checkpoint_anywhere_gives_the_same_messages(cuts: list[int]) -> None:
    stream = _stream(300)
    whole = MachineDerivation(thresholds=TH, period_s=60).process(stream)
    d = MachineDerivation(thresholds=TH, period_s=60)
    got = []
    bounds = [0, *sorted(cuts), len(stream)]
    for a, b in itertools.pairwise(bounds):
        got += d.process(stream[a:b])
        d = MachineDerivation.from_bytes(d.to_bytes(), thresholds=TH, period_s=60)
    assert got == whole


def test_checkpoint_blob_holds_only_its_own_bytes() -> None:
    # A batch checkpoints every machine it touched; orjson's bytes would each keep a ~16 KB buffer.
    d = MachineDerivation(thresholds=TH, period_s=60)
    d.process(_stream(100))
    blobs = [d.to_bytes()]  # orjson's key cache fills on first use
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        blobs += [d.to_bytes() for _ in range(50)]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 50 * 2 * len(blobs[0]), f"{held / 50:.0f} bytes held per {len(blobs[0])}-byte blob"


def test_from_bytes_rejects_foreign_blobs() -> None:
    for blob in (b"[]", b'{"v": 99}'):
        try:
            MachineDerivation.from_bytes(blob, thresholds=TH, period_s=60)
        except ValueError:
            continue
        raise AssertionError(f"accepted {blob!r}")
