"""The load model and the cluster traffic plan: the distribution's bounds, a fraction as a prefix,
the arithmetic of the rates, and every planned message accepted by ingest's contract validation."""

from __future__ import annotations

import time
from functools import cache

import pytest

from bench import cluster_traffic as ct
from bench.load_model import (
    ClusterAssumptions,
    MachineRates,
    cluster_load,
    draw_factories,
    factory_count,
    measure_machine_rates,
    park,
)
from seamline.contracts.kinds import AssetKind
from seamline.ingest.validate import Accepted, TimeWindow, validate


@cache
def rates() -> MachineRates:
    return measure_machine_rates(seeds=1)


def test_machines_per_factory_stay_in_bounds_and_a_fraction_is_a_prefix() -> None:
    a = ClusterAssumptions()
    fs = draw_factories(a)
    assert len(fs) == 7600
    assert all(20 <= f.machines <= 100 for f in fs)
    assert 40 < sum(f.machines for f in fs) / len(fs) < 60  # median 45, truncated at 20 and 100
    assert all(f.lines == -(-f.machines // 25) and f.meters == 1 + f.lines for f in fs)
    assert draw_factories(a)[:100] == draw_factories(ClusterAssumptions(factories=100))
    assert draw_factories(ClusterAssumptions(seed=17)) != fs
    with pytest.raises(ValueError):
        ClusterAssumptions(machines_min=0)


def test_measured_rates_come_from_the_edge_derivation() -> None:
    r = rates()
    assert r.aggregates_per_h == pytest.approx(60, abs=0.1)  # nodes report all day: one aggregate a minute
    assert r.state_changes_per_h_peak > r.state_changes_per_h_shift > 0
    assert 200 < r.aggregate_bytes < 500 and 100 < r.state_bytes < 300


def test_cluster_load_is_the_sum_of_its_assets_rates() -> None:
    a = ClusterAssumptions(modbus_poll_s=2.0, reconnects_per_gateway_day=0.0)
    fs = draw_factories(a)
    r = MachineRates(aggregates_per_h=60.0, state_changes_per_h_peak=360.0, state_changes_per_h_shift=300.0,
                     aggregate_bytes=300.0, state_bytes=200.0)
    load = cluster_load(a, fs, r, fraction=0.01)
    part = fs[:factory_count(a, 0.01)]
    machines = sum(f.machines for f in part)
    energy = sum(f.energy_assets for f in part) + park(a, 0.01).assets
    assert load.factories == 76 and load.gateways == 77 and load.machines == machines
    assert load.msgs_per_s == pytest.approx(machines / 60 + machines / 10 + energy / 2 + 77 / 60)
    assert load.points_per_s == pytest.approx(load.msgs_per_s)
    whole = cluster_load(a, fs, r)
    assert whole.machines == sum(f.machines for f in fs) and whole.msgs_per_s > 50 * load.msgs_per_s


def test_every_planned_message_is_contract_valid_and_seqs_run_per_asset() -> None:
    a = ClusterAssumptions()
    fs = draw_factories(a)[:3]
    plan = ct.plan_traffic(a, fs, park(a, 0.001), rates())
    now = int(time.time() * 1000)
    window = TimeWindow(max_past_ms=86_400_000, max_future_ms=600_000)
    msgs: list[tuple[str, bytes]] = []
    for g in plan.gateways:
        msgs += ct.birth_messages(g, ts_ms=now)
    for slot in plan.wheel[:20]:
        for x in slot:
            if x.kind is AssetKind.SEWING_MACHINE:
                msgs.append((x.data_topic, ct.aggregate_payload(x, rates(), period_start_ms=now - 60_000)))
                msgs.append((x.state_topic, ct.state_payload(x, rates(), ts_ms=now)))
            elif x.kind is AssetKind.GATEWAY:
                msgs.append((x.data_topic, ct.telemetry_payload(x, ts_ms=now, published=5)))
            else:
                msgs.append((x.data_topic, ct.modbus_payload(x, ts_ms=now, poll_s=1.0)))
    kinds = {x.kind for slot in plan.wheel[:20] for x in slot}
    assert {AssetKind.SEWING_MACHINE, AssetKind.METER} <= kinds
    for topic, payload in msgs:
        result = validate(topic, payload, now_ms=now, window=window, max_payload_bytes=256 * 1024)
        assert isinstance(result, Accepted), (topic, result)
    m = plan.machines[0]
    assert m.seq == 2 and m.last_state_ms == now  # aggregate then state change: one counter per asset
    assert len({(x.data_topic) for x in plan.assets}) == len(list(plan.assets))


def test_the_schedule_sends_each_asset_at_its_period() -> None:
    a = ClusterAssumptions(modbus_poll_s=5.0)
    fs = draw_factories(a)[:4]
    plan = ct.plan_traffic(a, fs, park(a, 0.001), rates(), burst_spread_s=2.0)
    per_minute: dict[int, int] = {}
    for slot in plan.wheel:
        for x in slot:
            per_minute[id(x)] = per_minute.get(id(x), 0) + 1
    for x in plan.assets:
        want = 1 if x.kind in (AssetKind.SEWING_MACHINE, AssetKind.GATEWAY) else 12
        assert per_minute[id(x)] == want, x
    for g in plan.gateways:  # every machine of a gateway in the same slot, inside the spread
        slots = {i for i, s in enumerate(plan.wheel) for x in s if x in g.machines}
        assert len(slots) <= 1 and all(i < 20 for i in slots)
    with pytest.raises(ValueError):
        ct.plan_traffic(ClusterAssumptions(modbus_poll_s=7.0), fs, park(a, 0.001), rates())


def test_sizing_divides_the_load_by_what_one_process_takes_at_the_target_utilization() -> None:
    from bench.cluster_sizing import Measured, Target, size

    m = Measured(broker_us_per_msg=20.0, ingest_us_per_msg=100.0, influxd_us_per_point=40.0,
                 influxd_mb_per_series=0.01)
    rows = size(m, Target(msgs_per_s=80_000, points_per_s=80_000, series=2_000_000, connections=7_601))
    counts = {r.component.split(" (")[0]: r.count for r in rows}
    # broker: 0.5 × 10⁶ / 20 = 25 000 msg/s each; ingest: 5 000 each; influx: 80 000 × 40 µs / 0.5 = 6.4
    # cores, 2 000 000 × 0.01 MB = 19.5 GB > half of 32 GB -> 2 nodes
    assert counts == {"MQTT brokers": 4, "ingest workers": 16, "InfluxDB nodes": 2}
    assert "25,000 msg/s per broker" in rows[0].arithmetic and "6.4 cores" in rows[2].arithmetic
    with pytest.raises(ValueError):
        size(m, Target(msgs_per_s=1, points_per_s=1, series=1, connections=1), utilization=0)
