"""What a garment factory's meter draws, built from the simulated floor it serves (pure).

Components (each a :class:`PowerProfile`, W over UTC ms):

- ``machines``: every sewing machine's motor from its true timeline: 0 W while unpowered (off,
  lunch, a motor breakdown), the motor's idle figure while powered and not sewing (idle, tea
  break, no work, a needle or thread breakdown), and while sewing the idle figure plus the
  running share scaled by needle speed — the same shape the simulated motor current follows;
- ``pressing``: steam irons per line, on standby while the shift works and pressing each finished
  piece at full power, so pressing follows output;
- ``lighting``: W/m² of floor while the shift works (a fraction at lunch);
- ``air``: ventilation, plus cooling in the cooling months, over the working day;
- ``compressor``: unloaded while the shift works, loaded in proportion to the machines sewing;
- ``base``: the night base load, around the clock.

The site meter integrates the sum; a line's sub-meter integrates that line's machines and irons.
Figures come from :mod:`load_config` (their sources: docs/energy-model.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from seamline.contracts.messages import MachineState
from seamline.firmware_stubs.energy.load_config import FactoryLoadSpec, MotorFigures, MotorKind
from seamline.firmware_stubs.energy.power_profile import PowerProfile
from seamline.firmware_stubs.sewing.machine import MachineProfile
from seamline.firmware_stubs.sewing.operator import Timeline
from seamline.firmware_stubs.sewing.shift import BlockKind, CalendarBlock

COMPONENTS = ("machines", "pressing", "lighting", "air", "compressor", "base")
LINE_COMPONENTS = ("machines", "pressing")
_SHIFT_ON = frozenset({BlockKind.WORK, BlockKind.BREAK, BlockKind.NO_WORK})  # irons hot, compressor on
_DAY_SPAN = _SHIFT_ON | {BlockKind.LUNCH}  # ventilation / cooling run through lunch


class LoadSource(Protocol):
    """What a meter integrates: power (W) at an instant and running energy (Wh) up to it."""

    def power_w_at(self, ts_ms: int) -> float: ...

    def energy_wh(self, ts_ms: int) -> float: ...


@dataclass(frozen=True, slots=True)
class FloorMachine:
    """One simulated machine as the load model needs it (from ``PreparedNode``)."""

    line: str
    profile: MachineProfile
    timeline: Timeline


@dataclass(frozen=True, slots=True, eq=False)
class LoadParts:
    """Named component profiles and their sum (what a meter on them integrates)."""

    parts: Mapping[str, PowerProfile]
    total: PowerProfile

    @classmethod
    def of(cls, parts: Mapping[str, PowerProfile]) -> LoadParts:
        return cls(dict(parts), PowerProfile.sum(parts.values()))

    def power_w_at(self, ts_ms: int) -> float:
        return self.total.power_w_at(ts_ms)

    def energy_wh(self, ts_ms: int) -> float:
        return self.total.energy_wh(ts_ms)

    def parts_wh(self, ts_ms: int) -> dict[str, float]:
        """Each component's running energy (Wh) at ``ts_ms``."""
        return {name: p.energy_wh(ts_ms) for name, p in self.parts.items()}


@dataclass(frozen=True, slots=True, eq=False)
class FactoryLoad:
    """The site's components (what its grid meter draws), and per line its machines and irons
    (what a line's sub-meter draws)."""

    site: LoadParts
    lines: Mapping[str, LoadParts]
    floor_m2: float
    machines: int

    def power_w_at(self, ts_ms: int) -> float:
        return self.site.power_w_at(ts_ms)

    def energy_wh(self, ts_ms: int) -> float:
        return self.site.energy_wh(ts_ms)


def motor_w(fig: MotorFigures, profile: MachineProfile, state: MachineState, powered: bool, speed_spm: float) -> float:
    """A machine's motor power (W) in one true state."""
    if not powered:
        return 0.0
    if state is MachineState.RUNNING:
        return fig.idle_w + (fig.run_w - fig.idle_w) * speed_spm / profile.nominal_speed_spm
    return fig.idle_w


def machine_profile(m: FloorMachine, fig: MotorFigures, start_ms: int, end_ms: int) -> PowerProfile:
    segs = m.timeline.segments
    watts = [motor_w(fig, m.profile, s.state, s.powered, s.speed_spm) for s in segs]
    return PowerProfile.from_intervals(start_ms, end_ms, [s.start_ms for s in segs], [s.end_ms for s in segs], watts)


def _calendar(blocks: Sequence[CalendarBlock], start_ms: int, end_ms: int, watts_of: dict[BlockKind, float],
              extra: tuple[list[int], list[int], list[float]] | None = None) -> PowerProfile:
    starts, ends, watts = ([], [], []) if extra is None else extra
    for b in blocks:
        w = watts_of.get(b.kind, 0.0)
        if w:
            starts.append(b.start_ms)
            ends.append(b.end_ms)
            watts.append(w)
    return PowerProfile.from_intervals(start_ms, end_ms, starts, ends, watts)


def _air(spec: FactoryLoadSpec, blocks: Sequence[CalendarBlock], floor_m2: float, tz: ZoneInfo, start_ms: int,
         end_ms: int) -> PowerProfile:
    starts, ends, watts = [], [], []
    for b in blocks:
        if b.kind in _DAY_SPAN:
            month = datetime.fromtimestamp(b.start_ms / 1000, tz).month
            w_m2 = spec.ventilation_w_m2 + (spec.cooling_w_m2 if month in spec.cooling_months else 0.0)
            starts.append(b.start_ms)
            ends.append(b.end_ms)
            watts.append(w_m2 * floor_m2)
    return PowerProfile.from_intervals(start_ms, end_ms, starts, ends, watts)


def _pressing(spec: FactoryLoadSpec, blocks: Sequence[CalendarBlock], pieces_ms: list[int], start_ms: int,
              end_ms: int) -> PowerProfile:
    p = spec.pressing
    if p.stations_per_line == 0:  # nothing pressed on the line (e.g. a central finishing room elsewhere)
        return PowerProfile.constant(start_ms, end_ms, 0.0)
    press_ms = round(p.press_s_per_piece * 1000)
    pulses = (list(pieces_ms), [t + press_ms for t in pieces_ms], [p.press_w] * len(pieces_ms))
    standby = dict.fromkeys(_SHIFT_ON, p.standby_w * p.stations_per_line)
    return _calendar(blocks, start_ms, end_ms, standby, extra=pulses)


def _compressor(spec: FactoryLoadSpec, blocks: Sequence[CalendarBlock], machines: Sequence[FloorMachine],
                start_ms: int, end_ms: int) -> PowerProfile:
    c = spec.compressor
    if c is None:
        return PowerProfile.constant(start_ms, end_ms, 0.0)
    loaded_w = c.loaded_w_per_machine * len(machines)
    unloaded_w = loaded_w * c.unloaded_fraction
    span = loaded_w - unloaded_w
    per_machine = span * (1 - c.base_duty) / max(1, len(machines))
    starts, ends, watts = [], [], []
    for m in machines:  # the loaded share that follows the machines sewing
        for s in m.timeline.segments:
            if s.state is MachineState.RUNNING:
                starts.append(s.start_ms)
                ends.append(s.end_ms)
                watts.append(per_machine)
    on = dict.fromkeys(_SHIFT_ON, unloaded_w + span * c.base_duty)
    return _calendar(blocks, start_ms, end_ms, on, extra=(starts, ends, watts))


def with_lead(blocks: Sequence[CalendarBlock], lead_ms: int) -> list[CalendarBlock]:
    """The calendar as the building sees it: the last ``lead_ms`` of off-shift time before a work
    period count as working time (facilities come on before the machines)."""
    out: list[CalendarBlock] = []
    for b, nxt in zip(blocks, [*blocks[1:], None], strict=True):
        if b.kind is BlockKind.OFF_SHIFT and nxt is not None and nxt.kind is BlockKind.WORK and lead_ms > 0:
            cut = max(b.start_ms, b.end_ms - lead_ms)
            if cut > b.start_ms:
                out.append(CalendarBlock(b.start_ms, cut, BlockKind.OFF_SHIFT))
            out.append(CalendarBlock(cut, b.end_ms, BlockKind.WORK))
        else:
            out.append(b)
    return out


def build_factory_load(spec: FactoryLoadSpec, motors: Mapping[MotorKind, MotorFigures],
                       machines: Sequence[FloorMachine], blocks: Sequence[CalendarBlock], *, tz: str,
                       start_ms: int, end_ms: int) -> FactoryLoad:
    """The factory's load over ``[start_ms, end_ms)`` from its machines' true timelines and the
    shift calendar ``blocks`` (tiling the same window) the factory works to; the building's
    loads start ``spec.lead_min`` before each day's first work period."""
    zone = ZoneInfo(tz)
    blocks = with_lead(blocks, round(spec.lead_min * 60_000))
    floor_m2 = spec.floor_area_m2(len(machines))
    lines: dict[str, LoadParts] = {}
    for line in sorted({m.line for m in machines}):
        on_line = [m for m in machines if m.line == line]
        fig = motors[spec.line_motors.get(line, spec.motor)]
        pieces = sorted(t for m in on_line for t in m.timeline.pieces_ms if t < end_ms)
        lines[line] = LoadParts.of({
            "machines": PowerProfile.sum(machine_profile(m, fig, start_ms, end_ms) for m in on_line),
            "pressing": _pressing(spec, blocks, pieces, start_ms, end_ms),
        })
    zero = PowerProfile.constant(start_ms, end_ms, 0.0)
    lit = {k: spec.lighting_w_m2 * floor_m2 for k in _SHIFT_ON} | {
        BlockKind.LUNCH: spec.lighting_w_m2 * floor_m2 * spec.lighting_lunch_fraction}
    parts = {
        "machines": PowerProfile.sum([ln.parts["machines"] for ln in lines.values()] or [zero]),
        "pressing": PowerProfile.sum([ln.parts["pressing"] for ln in lines.values()] or [zero]),
        "lighting": _calendar(blocks, start_ms, end_ms, lit),
        "air": _air(spec, blocks, floor_m2, zone, start_ms, end_ms),
        "compressor": _compressor(spec, blocks, machines, start_ms, end_ms),
        "base": PowerProfile.constant(start_ms, end_ms, spec.base_w),
    }
    return FactoryLoad(LoadParts.of(parts), lines, floor_m2, len(machines))
