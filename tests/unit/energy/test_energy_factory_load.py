"""What a factory's meter draws, from the machines' true timelines and the shift calendar."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from seamline.contracts.messages import MachineState
from seamline.firmware_stubs.energy.cluster_sites import factory_loads
from seamline.firmware_stubs.energy.factory_load import (
    COMPONENTS,
    FactoryLoad,
    FloorMachine,
    build_factory_load,
    motor_w,
)
from seamline.firmware_stubs.energy.load_config import (
    EnergySimConfig,
    FactoryLoadSpec,
    MotorFigures,
    MotorKind,
    load_energy_sim_config,
)
from seamline.firmware_stubs.sewing.floor import FloorSpec, IdleLine, prepare_floor
from seamline.firmware_stubs.sewing.machine import MachineProfile
from seamline.firmware_stubs.sewing.operator import Segment, Timeline
from seamline.firmware_stubs.sewing.shift import BlockKind, CalendarBlock, ShiftPattern

TZ = ZoneInfo("Asia/Shanghai")
H = 3_600_000
MIN = 60_000
SERVO = MotorFigures(idle_w=15, run_w=250)
CLUTCH = MotorFigures(idle_w=200, run_w=330)
MOTORS = {MotorKind.SERVO: SERVO, MotorKind.CLUTCH: CLUTCH}
PROFILE = MachineProfile()  # nominal 4 500 spm


def ms(day: int, h: int, m: int = 0) -> int:
    return int(datetime(2025, 3, day, h, m, tzinfo=TZ).timestamp() * 1000)


def seg(a: int, b: int, state: MachineState, powered: bool = True, speed: float = 0.0) -> Segment:
    return Segment(a, b, state, "x", powered, speed)


def test_motor_power_by_true_state() -> None:
    assert motor_w(SERVO, PROFILE, MachineState.OFF, False, 0) == 0
    assert motor_w(SERVO, PROFILE, MachineState.IDLE, True, 0) == 15
    assert motor_w(SERVO, PROFILE, MachineState.DOWN, True, 0) == 15  # needle/thread: powered, standing
    assert motor_w(SERVO, PROFILE, MachineState.DOWN, False, 0) == 0  # a motor fault: unpowered
    assert motor_w(SERVO, PROFILE, MachineState.RUNNING, True, 4500) == 250
    assert motor_w(SERVO, PROFILE, MachineState.RUNNING, True, 2250) == pytest.approx(132.5)
    assert motor_w(CLUTCH, PROFILE, MachineState.IDLE, True, 0) == 200  # a clutch motor spins on


T0, T1 = ms(3, 8), ms(3, 10)  # a Monday, 08:00-10:00 of work
WORK = [CalendarBlock(T0, T1, BlockKind.WORK)]
QUIET = FactoryLoadSpec(pressing={"stations_per_line": 0}, compressor=None, lighting_w_m2=0, ventilation_w_m2=0,
                        cooling_w_m2=0, base_w=0, lead_min=0)


def machine(segments: list[Segment], pieces: tuple[int, ...] = (), line: str = "line01") -> FloorMachine:
    return FloorMachine(line, PROFILE, Timeline(tuple(segments), pieces, ()))


def load_of(spec: FactoryLoadSpec, machines: list[FloorMachine], blocks: list[CalendarBlock] = WORK,
            start: int = T0, end: int = T1) -> FactoryLoad:
    return build_factory_load(spec, MOTORS, machines, blocks, tz="Asia/Shanghai", start_ms=start, end_ms=end)


def kwh(load: FactoryLoad, part: str) -> float:
    return load.site.parts[part].energy_between_wh(T0, T1) / 1000


def test_a_line_that_breaks_down_draws_less() -> None:
    sewing = [seg(T0, T1, MachineState.RUNNING, speed=4500)]
    broken = [seg(T0, T0 + H, MachineState.RUNNING, speed=4500), seg(T0 + H, T1, MachineState.DOWN, powered=False)]
    assert kwh(load_of(QUIET, [machine(sewing)]), "machines") == pytest.approx(0.5)  # 250 W x 2 h
    assert kwh(load_of(QUIET, [machine(broken)]), "machines") == pytest.approx(0.25)


def test_clutch_motors_draw_more_than_servos_for_the_same_work() -> None:
    work = [seg(T0, T0 + H, MachineState.RUNNING, speed=4500), seg(T0 + H, T1, MachineState.IDLE)]
    servo = kwh(load_of(QUIET, [machine(work)]), "machines")
    clutch = kwh(load_of(QUIET.model_copy(update={"motor": MotorKind.CLUTCH}), [machine(work)]), "machines")
    assert (servo, clutch) == (pytest.approx(0.265), pytest.approx(0.53))


def test_pressing_follows_output() -> None:
    spec = QUIET.model_copy(update={"pressing": QUIET.pressing.model_copy(
        update={"stations_per_line": 1, "standby_w": 250, "press_w": 1000, "press_s_per_piece": 36})})
    idle = [seg(T0, T1, MachineState.IDLE)]
    few = load_of(spec, [machine(idle, pieces=(T0 + 10 * MIN,))])
    many = load_of(spec, [machine(idle, pieces=tuple(T0 + k * MIN for k in range(1, 101)))])
    assert kwh(few, "pressing") == pytest.approx(0.5 + 0.01)  # standby 2 h + one piece: 1 kW x 36 s
    assert kwh(many, "pressing") == pytest.approx(0.5 + 1.0)
    assert many.lines["line01"].total.energy_between_wh(T0, T1) / 1000 == pytest.approx(1.5 + 0.03)  # + motors


def test_building_loads_follow_the_calendar_and_the_compressor_the_machines() -> None:
    spec = FactoryLoadSpec(motor=MotorKind.SERVO, floor_m2=100, lighting_w_m2=10, lighting_lunch_fraction=0.5,
                           ventilation_w_m2=2, cooling_w_m2=5, cooling_months=[3], base_w=500, lead_min=0,
                           pressing={"stations_per_line": 0},
                           compressor={"loaded_w_per_machine": 1000, "unloaded_fraction": 0.2, "base_duty": 0.5})
    blocks = [CalendarBlock(T0, T0 + H, BlockKind.WORK), CalendarBlock(T0 + H, T1, BlockKind.LUNCH)]
    sewing = machine([seg(T0, T0 + H // 2, MachineState.RUNNING, speed=4500), seg(T0 + H // 2, T1, MachineState.OFF,
                                                                                   powered=False)])
    load = load_of(spec, [sewing], blocks)
    assert kwh(load, "lighting") == pytest.approx(1.0 + 0.5)  # 1 kW, half at lunch
    assert kwh(load, "air") == pytest.approx(0.7 * 2)  # 7 W/m² in March, a cooling month here, through lunch
    assert kwh(load, "base") == pytest.approx(1.0)
    # on for the working hour: 200 W unloaded + 50 % of 800 W; + 50 % of 800 W while the machine sews
    assert kwh(load, "compressor") == pytest.approx(0.6 + 0.2)


def test_a_sunday_draws_only_the_base_load() -> None:
    cfg = load_energy_sim_config()
    start, end = ms(9, 0), ms(10, 0)  # Sunday 2025-03-09, whole day
    spec = FloorSpec(factories=1, lines=2, machines=4, start_ms=start, end_ms=end, seed=3, shift=ShiftPattern())
    load = factory_loads(cfg, spec, prepare_floor(spec))["f001"]
    parts = {k: p.energy_between_wh(start, end) / 1000 for k, p in load.site.parts.items()}
    assert parts["base"] == pytest.approx(cfg.factory.base_w * 24 / 1000)
    assert all(parts[k] == 0 for k in COMPONENTS if k != "base"), parts


def test_the_site_meter_draws_the_sum_of_components_and_lines_their_machines_and_irons() -> None:
    cfg = load_energy_sim_config()
    start, end = ms(3, 7, 30), ms(3, 17, 30)
    spec = FloorSpec(factories=1, lines=2, machines=3, start_ms=start, end_ms=end, seed=9, shift=ShiftPattern())
    nodes = prepare_floor(spec)
    load = factory_loads(cfg, spec, nodes)["f001"]
    parts = sum(p.energy_between_wh(start, end) for p in load.site.parts.values())
    assert load.site.total.energy_between_wh(start, end) == pytest.approx(parts, rel=1e-12)
    lines = sum(ld.total.energy_between_wh(start, end) for ld in load.lines.values())
    assert lines == pytest.approx(sum(load.site.parts[k].energy_between_wh(start, end)
                                      for k in ("machines", "pressing")), rel=1e-12)
    # oracle: the motors' energy straight from the true segments
    oracle_wh = sum(motor_w(SERVO, p.node.profile, s.state, s.powered, s.speed_spm) * (s.end_ms - s.start_ms) / H
                    for p in nodes for s in p.sim.timeline.segments)
    assert load.site.parts["machines"].energy_between_wh(start, end) == pytest.approx(oracle_wh, rel=1e-9)


def test_an_idle_line_saves_production_energy_only() -> None:
    cfg = EnergySimConfig()
    start, end = ms(3, 7, 30), ms(3, 12, 0)
    idle = IdleLine("f002", "line01", ms(3, 9), ms(3, 11))
    spec = FloorSpec(factories=2, lines=1, machines=4, start_ms=start, end_ms=end, seed=2, shift=ShiftPattern(),
                     twins=(("f002", "f001"),), idle_lines=(idle,))
    loads = factory_loads(cfg, spec, prepare_floor(spec))
    a, b = ({k: p.energy_between_wh(start, end) for k, p in loads[e].site.parts.items()} for e in ("f001", "f002"))
    for k in ("lighting", "air", "base"):
        assert a[k] == b[k]
    for k in ("machines", "pressing", "compressor"):
        assert b[k] < a[k]


def test_facilities_come_on_before_the_shift() -> None:
    spec = QUIET.model_copy(update={"lighting_w_m2": 10.0, "floor_m2": 100.0, "lead_min": 15.0})
    blocks = [CalendarBlock(ms(3, 7), T0, BlockKind.OFF_SHIFT), *WORK]
    load = load_of(spec, [], blocks, start=ms(3, 7))
    assert load.site.parts["lighting"].power_w_at(ms(3, 7, 40)) == 0
    assert load.site.parts["lighting"].power_w_at(ms(3, 7, 50)) == 1000
