"""The energy sites of a simulated cluster: each factory's grid meter (and optional line
sub-meters) drawing the load of its own simulated sewing floor, and the park with PV, a
dispatched battery, its grid meter and wind turbines.

How the meters follow the floor: both simulations are deterministic from their seeds, so the
meter stub runs the very machine simulations the sewing nodes run (``prepare_floor`` of the same
``FloorSpec``) — shared in one process (the demo), recomputed identically in another (``seamline
sim energy --factories``). No timeline crosses a process boundary, and the true states a meter
draws are the ones the nodes' currents come from (comms faults of the nodes do not change what
the machines physically draw). See docs/energy-model.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from seamline.firmware_stubs.energy.factory_load import FactoryLoad, FloorMachine, build_factory_load
from seamline.firmware_stubs.energy.load_config import EnergySimConfig
from seamline.firmware_stubs.energy.site import Dispatch, Site, build_site
from seamline.firmware_stubs.sewing.floor import FloorSpec, PreparedNode
from seamline.firmware_stubs.sewing.shift import CalendarBlock, ShiftPattern, always_working


def _blocks(shift: ShiftPattern | None, start_ms: int, end_ms: int) -> list[CalendarBlock]:
    return shift.blocks(start_ms, end_ms) if shift else always_working(start_ms, end_ms)


def factory_loads(cfg: EnergySimConfig, spec: FloorSpec, prepared: Sequence[PreparedNode]) -> dict[str, FactoryLoad]:
    """Each factory's load over the floor's window, from its machines' true timelines."""
    tz = spec.shift.tz if spec.shift else "Asia/Shanghai"
    blocks = _blocks(spec.shift, spec.start_ms, spec.end_ms)
    out = {}
    for ent in spec.enterprises:
        machines = [FloorMachine(p.node.addr.line, p.node.profile, p.sim.timeline)
                    for p in prepared if p.node.addr.enterprise == ent]
        out[ent] = build_factory_load(cfg.factory_spec(ent), cfg.motors, machines, blocks, tz=tz,
                                      start_ms=spec.start_ms, end_ms=spec.end_ms)
    return out


def park_load(cfg: EnergySimConfig, shift: ShiftPattern | None, start_ms: int, end_ms: int) -> FactoryLoad:
    """The park's own load (services: no sewing lines) over ``[start_ms, end_ms)``."""
    tz = shift.tz if shift else "Asia/Shanghai"
    return build_factory_load(cfg.park, cfg.motors, [], _blocks(shift, start_ms, end_ms), tz=tz,
                              start_ms=start_ms, end_ms=end_ms)


def factory_site(cfg: EnergySimConfig, enterprise: str, load: FactoryLoad, *, seed: int) -> Site:
    """A factory's grid meter (meter1) and, when configured, a sub-meter per line (line01m, ..)."""
    lines = dict(load.lines) if cfg.factory_spec(enterprise).line_meters else {}
    return build_site(pv=0, battery=0, meter=1, wind=0, seed=seed, load=load, line_loads=lines)


def park_site(cfg: EnergySimConfig, load: FactoryLoad, *, pv: int, battery: int, meter: int, wind: int, seed: int,
              battery_meters: bool) -> Site:
    return build_site(pv=pv, battery=battery, meter=meter, wind=wind, seed=seed, battery_meters=battery_meters,
                      load=load, dispatch=Dispatch(cfg.battery, cfg.tariff))
