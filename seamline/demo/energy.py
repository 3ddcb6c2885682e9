"""The demo's energy equipment: a park (PV field with met station, battery with a meter on its
feeder, grid meter, wind turbines) behind its own gateway, and at each factory a grid meter (and
a sub-meter per line where configured) drawing the load of that factory's simulated floor — real
Modbus TCP servers on loopback, polled by the gateways' edge agents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import seamline.firmware_stubs.energy
from seamline.demo.configs import modbus_device
from seamline.firmware_stubs.clock import SimClock
from seamline.firmware_stubs.energy.cluster_sites import factory_loads, factory_site, park_load, park_site
from seamline.firmware_stubs.energy.devices import _Base
from seamline.firmware_stubs.energy.factory_load import FactoryLoad
from seamline.firmware_stubs.energy.load_config import EnergySimConfig
from seamline.firmware_stubs.energy.server import EnergyStubHost
from seamline.firmware_stubs.energy.site import Site
from seamline.firmware_stubs.sewing.floor import FloorSpec, PreparedNode
from seamline.localstack import free_port

PARK = "park"
def poll_hold_s(speed: float, poll_wall_s: float) -> float:
    """How long (simulated s) one polled sample vouches for in the demo: 1.5 poll intervals. At high
    replay speeds a poll covers many simulated seconds; the rules engine is told so instead of
    pretending the park was polled every second."""
    return max(120.0, 1.5 * poll_wall_s * speed)
TURBINE_MAP = Path(seamline.firmware_stubs.energy.__file__).parent / "wind_turbine_map.yaml"
AREA_OF = {"pv_inverter": "pvfield", "met_station": "pvfield", "battery": "storage", "meter": "grid",
           "wind_turbine": "windfarm"}
KIND_OF = {"PvInverter": "pv_inverter", "MetStation": "met_station", "Battery": "battery", "Meter": "meter",
           "WindTurbine": "wind_turbine"}
FEEDER_AREA = AREA_OF["battery"]  # a battery's feeder meter sits with the battery, not at the grid connection
LINE_METER_AREA = "floor"  # a line's sub-meter sits on the sewing floor's distribution boards


def area_of(site: Site, dev: _Base) -> str:
    """The device's area (topic level): by kind, except that a battery's feeder meter is with its
    battery and a line's sub-meter on the floor."""
    if any(dev is m for m in site.feeder_meters):
        return FEEDER_AREA
    if site.line_of(dev) is not None:
        return LINE_METER_AREA
    return AREA_OF[KIND_OF[type(dev).__name__]]


@dataclass(slots=True)
class EnergyPlant:
    host: EnergyStubHost
    config: EnergySimConfig
    sites: dict[str, Site] = field(default_factory=dict)  # enterprise -> its devices
    loads: dict[str, FactoryLoad] = field(default_factory=dict)  # enterprise -> what its meters draw
    devices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # enterprise -> modbus config

    def count_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for site in self.sites.values():
            for d in site.devices:
                kind = KIND_OF[type(d).__name__]
                out[kind] = out.get(kind, 0) + 1
        return out


def plant_loads(cfg: EnergySimConfig, spec: FloorSpec, prepared: Sequence[PreparedNode]) -> dict[str, FactoryLoad]:
    """What every site's meters will draw: each factory's load from its machines in ``prepared``
    (the very simulations the sewing nodes publish), and the park's own."""
    loads = factory_loads(cfg, spec, prepared)
    loads[PARK] = park_load(cfg, spec.shift, spec.start_ms, spec.end_ms)
    return loads


def build_plant(cfg: EnergySimConfig, spec: FloorSpec, loads: dict[str, FactoryLoad], *, seed: int,
                clock: SimClock, speed: float, poll_wall_s: float) -> EnergyPlant:
    """The park and every factory of ``spec``, each site's meters drawing its load from
    :func:`plant_loads`. ``speed``: simulated seconds per wall second; the physics step grows with
    it (1 s at real time, 20 s at 1 000x) so the stubs cost bounded CPU while still stepping far
    finer than a poll (the meters' counters are exact whatever the step)."""
    plant = EnergyPlant(host=EnergyStubHost(clock=clock), config=cfg, loads=loads)
    plant.sites[PARK] = park_site(cfg, plant.loads[PARK], pv=2, battery=1, meter=1, wind=2, seed=seed,
                                  battery_meters=True)
    for i, ent in enumerate(spec.enterprises):
        plant.sites[ent] = factory_site(cfg, ent, plant.loads[ent], seed=seed + 1 + i)
    for ent, site in plant.sites.items():
        entries = []
        for dev in site.devices:
            dev.step_s = max(1.0, speed / 50.0)
            port = free_port()
            asset = dev.name
            dev.name = f"{ent}-{asset}"  # unique on the shared stub host; the asset id stays short
            plant.host.add(dev, port=port)
            kind = KIND_OF[type(dev).__name__]
            entries.append(modbus_device(asset=asset, area=area_of(site, dev), kind=kind, port=port,
                                         map_file=TURBINE_MAP if kind == "wind_turbine" else None,
                                         poll_interval_s=poll_wall_s))
        plant.devices[ent] = entries
    return plant
