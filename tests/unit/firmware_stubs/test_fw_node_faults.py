from __future__ import annotations

import itertools
import json
import random

import pytest
from pydantic import ValidationError

from seamline.contracts.messages import SewingMachineData, StateChangeMessage, parse_data
from seamline.firmware_stubs.faults import (
    NO_FAULTS,
    FaultLog,
    FaultPlan,
    GarbageKind,
    garbage_payload,
    schedule_faults,
)
from seamline.firmware_stubs.sewing.machine import MachineProfile, MachineSimulation, prepare_machine
from seamline.firmware_stubs.sewing.node import MAX_BATCH, NodeAddress, Outgoing, batch_for_speed, plan_node

T0 = 1_740_960_000_000
HOUR = 3_600_000
ADDR = NodeAddress(enterprise="f001", site="s1", line="line01", machine="m001")


def sim(hours: float = 1.0, **kw: object) -> MachineSimulation:
    return prepare_machine(profile=MachineProfile(**kw), start_ms=T0, end_ms=T0 + int(hours * HOUR), seed=2)  # type: ignore[arg-type]


def plan(s: MachineSimulation, faults: FaultPlan = NO_FAULTS, batch: int = 60) -> tuple[list[Outgoing], FaultLog]:
    rng = random.Random(9)
    end = s.truth[-1].end_ms
    sched = schedule_faults(faults, start_ms=T0, end_ms=end, rng=rng)
    log = FaultLog()
    return list(plan_node(s, addr=ADDR, batch_max=batch, faults=sched, log=log, rng=rng)), log


def seqs_of(msgs: list[Outgoing]) -> list[int]:
    return [q for m in msgs if m.kind != "garbage" for q in m.seqs]


def test_no_faults_every_seq_once_in_order_and_valid() -> None:
    s = sim(breakdown_rate_per_h=3.0)
    msgs, log = plan(s)
    n = s.sampler.count + len(s.andon)
    assert seqs_of(msgs) == list(range(n))
    assert [m.send_ms for m in msgs] == sorted(m.send_ms for m in msgs)
    for m in msgs:
        if m.kind == "data":
            parsed = parse_data(m.payload)
            assert isinstance(parsed, SewingMachineData)
            assert [x.seq for x in parsed.samples] == list(m.seqs)
            assert len(m.seqs) <= 60
            assert m.topic == "seamline/v1/f001/s1/line01/m001/data"
        else:
            st = StateChangeMessage.model_validate_json(m.payload)
            assert st.state.value in ("down", "idle") and m.topic.endswith("/state")
    assert log.lost == [] and log.duplicated_seqs == []
    assert sum(m.kind == "state" for m in msgs) == len(s.andon) > 0


def test_batching_follows_speed() -> None:
    assert batch_for_speed(1.0) == 1
    assert batch_for_speed(10.0) == 10
    assert batch_for_speed(1000.0) == MAX_BATCH
    assert batch_for_speed(0.0) == MAX_BATCH
    msgs, _ = plan(sim(0.1, breakdown_rate_per_h=0), batch=1)
    assert len(msgs) == 360 and all(len(m.seqs) == 1 for m in msgs)
    assert msgs[0].send_ms == T0 + 1000  # sent when its second is over


def test_disconnect_without_buffer_loses_exactly_the_window() -> None:
    s = sim(breakdown_rate_per_h=0)
    window = (T0 + 600_000, T0 + 900_000)
    msgs, log = plan(s, FaultPlan(disconnect_windows_ms=(window,)))
    lost = {q for q, _, _ in log.lost}
    # samples whose window ends inside the offline window
    assert lost == set(range(600 - 1, 900 - 1))
    assert set(seqs_of(msgs)) == set(range(3600)) - lost
    assert log.offline == [window]
    assert log.lost_seq_ranges() == [(599, 898)]
    assert all(not (window[0] <= m.send_ms < window[1]) for m in msgs)


def test_disconnect_with_buffer_keeps_newest_n_and_sends_on_reconnect() -> None:
    s = sim(breakdown_rate_per_h=0)
    window = (T0 + 600_000, T0 + 900_000)
    msgs, log = plan(s, FaultPlan(disconnect_windows_ms=(window,), buffer_samples=100))
    assert len(log.lost) == 300 - 100 and log.buffer_dropped == 200 and log.buffered == 100
    assert sorted(seqs_of(msgs)) == sorted(set(range(3600)) - {q for q, _, _ in log.lost})
    resent = [m for m in msgs if m.send_ms == window[1] and m.kind == "data"]
    assert sum(len(m.seqs) for m in resent) >= 100


def test_duplicates_are_byte_identical_and_logged() -> None:
    msgs, log = plan(sim(breakdown_rate_per_h=0), FaultPlan(duplicate_prob=0.2))
    assert 5 < len(log.duplicated_seqs) < 25  # 60 messages x 0.2
    pairs = [(a, b) for a, b in itertools.pairwise(msgs) if a.payload == b.payload]
    assert len(pairs) == len(log.duplicated_seqs)
    assert all(b.duplicate and not a.duplicate and a.seqs == b.seqs for a, b in pairs)
    assert sorted(set(seqs_of(msgs))) == list(range(3600))


def test_clock_skew_offsets_device_timestamps() -> None:
    msgs, log = plan(sim(0.2, breakdown_rate_per_h=0), FaultPlan(clock_skew_s=-12.5))
    first = parse_data(msgs[0].payload)
    assert first.samples[0].ts_ms == T0 - 12_500
    assert log.skew_ms == -12_500


@pytest.mark.parametrize("kind", list(GarbageKind))
def test_every_garbage_kind_is_rejected_by_the_contract(kind: GarbageKind) -> None:
    with pytest.raises((ValidationError, ValueError)):
        parse_data(garbage_payload(kind, ts_ms=T0, seq=3))


def test_garbage_bursts_on_data_topic_and_logged() -> None:
    msgs, log = plan(sim(2.0, breakdown_rate_per_h=0), FaultPlan(garbage_rate_per_h=3.0, garbage_burst=4))
    garbage = [m for m in msgs if m.kind == "garbage"]
    assert len(garbage) == sum(log.garbage.values()) > 0 and len(garbage) % 4 == 0
    assert all(m.topic.endswith("/data") and m.seqs == () for m in garbage)
    assert seqs_of(msgs) == list(range(7200))


def test_schedule_is_deterministic_and_windows_disjoint() -> None:
    p = FaultPlan(disconnect_rate_per_h=5.0, garbage_rate_per_h=2.0)
    a = schedule_faults(p, start_ms=T0, end_ms=T0 + 8 * HOUR, rng=random.Random(4))
    b = schedule_faults(p, start_ms=T0, end_ms=T0 + 8 * HOUR, rng=random.Random(4))
    assert a == b and len(a.offline) > 10
    for (_, e1), (s2, _) in zip(a.offline, a.offline[1:], strict=False):
        assert e1 < s2
    s0, e0 = a.offline[0]
    assert a.offline_window(s0) == (s0, e0) and a.offline_window(e0) is None


def test_invalid_fault_plan_rejected() -> None:
    with pytest.raises(ValueError):
        FaultPlan(duplicate_prob=1.5)
    with pytest.raises(ValueError):
        FaultPlan(disconnect_windows_ms=((5, 5),))


def test_nan_garbage_really_contains_nan() -> None:
    assert b"NaN" in garbage_payload(GarbageKind.NAN, ts_ms=T0, seq=1)
    assert json.loads(garbage_payload(GarbageKind.WRONG_SCHEMA_VERSION, ts_ms=T0, seq=1))["schema_version"] == 2
