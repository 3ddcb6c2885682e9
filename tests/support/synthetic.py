"""Synthetic telemetry with known truth, in the storage schema (``seamline.storage.schema``) for tests, bench, demo.

Sewing machines come from ``firmware_stubs.sewing.machine.prepare_machine`` (its truth timeline,
not its 1 s samples): the truth is cut into 60 s edge aggregates (seconds per state, pieces
finished in the period, stamped at the period start) and its state changes become
``machine_state`` events the way the edge agent emits them (``edge_agent.state``) when it
decides states perfectly: debounced — an ``idle`` event only after ``idle_after_s`` (3 s)
without sewing, ``off`` after ``off_after_s`` (2 s) unpowered, each stamped when the new state
began; an andon ``down`` at once, and ``idle``/``repaired`` when it is repaired; event times
strictly increasing (1 ms apart at least). Unlike the edge, idle events carry the truth's idle
reason (``no_work``, ``changeover``, ``break``) where it has one, to exercise stop reasons.

The truth's operating time uses the same definition as the rules (:mod:`rules.kpi.operating_time`),
computed independently here: consecutive idle segments are merged, and idle runs at least
``stop_threshold_s`` long are stops. Energy assets are simple closed-form signals whose
integrals are known.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from seamline.contracts.messages import MachineState, StateChangeMessage
from seamline.contracts.topic import MessageKind, Topic
from seamline.edge_agent.stop_split import EventTimeline
from seamline.firmware_stubs.sewing.machine import MachineProfile, TruthSegment, prepare_machine
from seamline.firmware_stubs.sewing.shift import ShiftPattern
from seamline.firmware_stubs.sewing.truth import MachineTruth, state_runs
from seamline.ingest.points import state_lines as ingest_state_lines
from seamline.storage.line_protocol import encode_line
from seamline.storage.sewing_sums import derived_fields

# edge_agent.state.Thresholds defaults (ms): the edge's state-change debounce.
EDGE_IDLE_AFTER_MS = 3_000
EDGE_OFF_AFTER_MS = 2_000


@dataclass(frozen=True, slots=True)
class EdgeEvent:
    ts_ms: int
    state: MachineState
    previous: MachineState | None
    previous_duration_s: float | None
    reason: str


def edge_events(truth: Iterable[TruthSegment], *, idle_after_ms: int = EDGE_IDLE_AFTER_MS,
                off_after_ms: int = EDGE_OFF_AFTER_MS, idle_reasons: bool = True) -> list[EdgeEvent]:
    """The state changes the edge agent would emit for this truth (see the module docstring).
    ``idle_reasons=False``: idle events carry no truth reason (``no_work``, ``changeover``), as the
    edge agent's debounced idle does not (edge_agent/state.py); only ``repaired`` stays."""
    out: list[EdgeEvent] = []
    state: MachineState | None = None
    since_ms = 0

    def enter(new: MachineState, at_ms: int, reason: str = "none") -> None:
        nonlocal state, since_ms
        if new is state:
            return
        ts = at_ms if not out else max(at_ms, out[-1].ts_ms + 1)
        out.append(EdgeEvent(ts, new, state, None if state is None else max(0.0, (ts - since_ms) / 1000), reason))
        state, since_ms = new, ts

    for run in state_runs(truth):
        if run.state is MachineState.DOWN:
            enter(MachineState.DOWN, run.start_ms, run.reason)
            continue
        if state is MachineState.DOWN:
            enter(MachineState.IDLE, run.start_ms, "repaired")
        if run.state is MachineState.RUNNING:
            enter(MachineState.RUNNING, run.start_ms)
        elif run.state is MachineState.IDLE:
            if state in (None, MachineState.OFF) or run.duration_ms >= idle_after_ms:
                enter(MachineState.IDLE, run.start_ms, run.reason if idle_reasons else "none")
        elif state is None or run.duration_ms >= off_after_ms:
            enter(MachineState.OFF, run.start_ms)
    return out


def simulate_truth(machine_id: str, start_ms: int, end_ms: int, *, seed: int, sam_min: float = 12.0,
                   shift: ShiftPattern | None = None) -> MachineTruth:
    sim = prepare_machine(profile=MachineProfile(machine_id=machine_id, sam_min=sam_min), start_ms=start_ms,
                          end_ms=end_ms, seed=seed, shift=shift)
    return MachineTruth(tuple(sim.truth), tuple(t for t in sim.timeline.pieces_ms if t < end_ms))


def _tags(enterprise: str, site: str, area: str, asset: str) -> dict[str, str]:
    return {"enterprise": enterprise, "site": site, "area": area, "asset": asset}


def aggregate_lines(truth: MachineTruth, tags: dict[str, str], start_ms: int, end_ms: int, *,
                    period_s: int = 60, skip: tuple[int, int] | None = None, quality: str = "good",
                    stop_split_s: float | None = None, idle_reasons: bool = True) -> list[str]:
    """60 s aggregates of the truth over ``[start_ms, end_ms)``; periods starting inside ``skip``
    (ms) are left out (a data gap), and the pieces made meanwhile arrive with the first aggregate
    after it as ``pieces_unobserved``, as the edge reports a counter's increase across an outage.
    ``stop_split_s``: with the edge's split of the state events at that threshold
    (``edge_agent.stop_split.EventTimeline`` over :func:`edge_events`), as split-capable edges send."""
    split = None if stop_split_s is None else _Split(edge_events(truth.truth, idle_reasons=idle_reasons), stop_split_s)
    period_ms = period_s * 1000
    first = start_ms - start_ms % period_ms
    n = (end_ms - first + period_ms - 1) // period_ms
    secs = [dict.fromkeys(MachineState, 0) for _ in range(n)]
    for seg in truth.truth:
        t = max(seg.start_ms, first)
        while t < min(seg.end_ms, end_ms):
            k = (t - first) // period_ms
            nxt = min(seg.end_ms, first + (k + 1) * period_ms, end_ms)
            secs[k][seg.state] += nxt - t
            t = nxt
    pieces = [0] * n
    for p in truth.pieces_ms:
        if first <= p < end_ms:
            pieces[(p - first) // period_ms] += 1
    out = []
    unobserved = 0
    for k in range(n):
        ts = first + k * period_ms
        if skip is not None and skip[0] <= ts < skip[1]:
            unobserved += pieces[k]
            continue
        s = secs[k]
        fields: dict[str, float | int | str] = {
            "run_s": s[MachineState.RUNNING] / 1000, "idle_s": s[MachineState.IDLE] / 1000,
            "off_s": s[MachineState.OFF] / 1000, "down_s": s[MachineState.DOWN] / 1000,
            "period_s": float(period_s), "pieces": pieces[k], "rejects": 0, "samples": period_s, "seq": k,
            "quality": quality,
        }
        if unobserved:
            fields["pieces_unobserved"], unobserved = unobserved, 0
            assert skip is not None
            fields["unobserved_s"] = (ts - skip[0]) / 1000
        if split is not None:
            fields.update(split.metrics(ts, ts + period_ms))
        fields.update(derived_fields(fields, good=quality == "good"))  # as ingest stores them
        out.append(encode_line("sewing_machine", tags, fields, ts))
    return out


class _Split:
    """The edge's split of ``events`` per period, fed as the agent is (events up to a little past
    each period's end)."""

    def __init__(self, events: list[EdgeEvent], threshold_s: float) -> None:
        self.events, self.threshold_s, self.added = events, threshold_s, 0
        self.timeline = EventTimeline(threshold_s)

    def metrics(self, start_ms: int, end_ms: int) -> dict[str, float | int]:
        while self.added < len(self.events) and self.events[self.added].ts_ms < end_ms + 5_000:
            e = self.events[self.added]
            self.timeline.add(e.ts_ms, e.state, e.reason)
            self.added += 1
        return self.timeline.split(start_ms, end_ms).metrics(self.threshold_s)


def state_lines(truth: MachineTruth, tags: dict[str, str], *, skip: tuple[int, int] | None = None,
                idle_reasons: bool = True) -> list[str]:
    """The lines ingest writes for each edge state change (:func:`edge_events` as messages through
    ``ingest.points.state_lines``: the ``machine_state`` point and, for a change that may start or
    end a down, its ``machine_down`` copy); those inside ``skip`` (ms) left out."""
    topic = Topic(enterprise=tags["enterprise"], site=tags["site"], area=tags["area"], asset=tags["asset"],
                  kind=MessageKind.STATE)
    out = []
    for i, e in enumerate(edge_events(truth.truth, idle_reasons=idle_reasons)):
        if skip is not None and skip[0] <= e.ts_ms < skip[1]:
            continue
        out += ingest_state_lines(topic, StateChangeMessage(
            ts_ms=e.ts_ms, seq=i, state=e.state, previous=e.previous, previous_duration_s=e.previous_duration_s,
            reason=e.reason))
    return out


def gateway_status_lines(enterprise: str, site: str, gateway: str, events: Iterable[tuple[int, bool]]) -> list[str]:
    tags = {"enterprise": enterprise, "site": site, "gateway": gateway}
    return [encode_line("gateway_status", tags, {"state": "online" if on else "offline"}, ts)
            for ts, on in events]


def pv_lines(tags: dict[str, str], start_ms: int, end_ms: int, *, power_kw: float, poll_s: int = 30,
             start_wh: float = 0.0) -> list[str]:
    """A PV inverter producing constant ``power_kw`` (MPPT state 4): energy = power × hours."""
    out = []
    for i, ts in enumerate(range(start_ms, end_ms, poll_s * 1000)):
        wh = start_wh + power_kw * 1000 * (ts - start_ms) / 3.6e6
        out.append(encode_line("pv_inverter", tags, {"ac_power_w": power_kw * 1000, "ac_energy_wh": wh,
                                                     "operating_state": 4, "seq": i, "quality": "good"}, ts))
    return out


def met_lines(tags: dict[str, str], start_ms: int, end_ms: int, *, poa_w_m2: float, poll_s: int = 30) -> list[str]:
    return [encode_line("met_station", tags, {"poa_irradiance_w_m2": poa_w_m2, "seq": i, "quality": "good"}, ts)
            for i, ts in enumerate(range(start_ms, end_ms, poll_s * 1000))]


def meter_lines(tags: dict[str, str], start_ms: int, end_ms: int, *, import_kw: float, poll_s: int = 30) -> list[str]:
    out = []
    for i, ts in enumerate(range(start_ms, end_ms, poll_s * 1000)):
        wh = import_kw * 1000 * (ts - start_ms) / 3.6e6
        out.append(encode_line("meter", tags, {"power_w": import_kw * 1000, "import_energy_wh": wh,
                                               "export_energy_wh": 0.0, "seq": i, "quality": "good"}, ts))
    return out


def battery_lines(tags: dict[str, str], start_ms: int, end_ms: int, *, capacity_kwh: float,
                  poll_s: int = 30) -> list[str]:
    """Charges at capacity/2 per hour for the first half, discharges for the second (SoC back)."""
    out = []
    half = (end_ms - start_ms) / 2
    rate_w = capacity_kwh * 1000 / 2
    for i, ts in enumerate(range(start_ms, end_ms, poll_s * 1000)):
        t = ts - start_ms
        ch = rate_w * min(t, half) / 3.6e6
        dis = rate_w * max(0.0, t - half) / 3.6e6
        soc = 50 + 100 * (ch - dis) / (capacity_kwh * 1000)
        out.append(encode_line("battery", tags, {"charge_energy_wh": ch, "discharge_energy_wh": dis,
                                                 "soc_pct": soc, "seq": i, "quality": "good"}, ts))
    return out


def wind_lines(tags: dict[str, str], start_ms: int, end_ms: int, *, speed_m_s: float, power_kw: float,
               poll_s: int = 30) -> list[str]:
    out = []
    for i, ts in enumerate(range(start_ms, end_ms, poll_s * 1000)):
        wh = power_kw * 1000 * (ts - start_ms) / 3.6e6
        gust = speed_m_s * (1 + 0.05 * math.sin(i / 10))
        out.append(encode_line("wind_turbine", tags, {"wind_speed_m_s": gust, "power_w": power_kw * 1000,
                                                      "energy_wh": wh, "status": 1, "seq": i, "quality": "good"}, ts))
    return out


machine_tags = _tags
