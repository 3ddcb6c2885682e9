"""Simulated energy devices: physics state + register image + recorded ground truth.

Devices advance lazily to a simulated time (``advance_to(now_ms)``) in fixed steps; the server
calls that on every Modbus read. ``truth()`` returns the engineering values (keyed by the
contract metric names of contracts/assets.py) the registers were encoded from, so tests can
compare what the poller published with what the device meant.

Cost: ``image()`` is cached per state (a new physics step, fault or missing point rebuilds it),
and with ``refresh_s`` set a device refreshes its registers only on that grid of simulated time,
like real devices that update their Modbus image once a second: then a poll that reads several
blocks, and every meter of a park that asks for the same instant, cost one computation.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from seamline.firmware_stubs.energy import solar, sunspec_image, vendor_map, wind
from seamline.firmware_stubs.energy.battery import ONE_WAY_EFFICIENCY, BatteryState, step_battery
from seamline.firmware_stubs.energy.counters import EnergyCounter
from seamline.firmware_stubs.energy.feeder import FeederFlow, FlowHistory

STEP_S = 1.0  # physics step; a 1 s poll never sees a step coarser than itself
MAX_STEPS_PER_ADVANCE = 20_000  # beyond this the step widens, so a long gap costs bounded CPU
STATUS_HISTORY_MAX = 10_000  # bounded status timeline; older entries dropped (and counted)
# Lifetime counter readings at simulation start: a fresh 0 would read as SunSpec acc32 "not
# implemented", and real devices in the field are years into their counters.
INITIAL_COUNTER_WH = 1_234_567.0

Truth = Mapping[str, float | int | None]


class Fault(enum.Enum):
    TRIP = "trip"  # inverter/turbine fault stop
    MAINTENANCE = "maintenance"  # turbine stopped by the operator


class PvState(enum.IntEnum):
    """SunSpec 103 St."""

    OFF = 1
    SLEEPING = 2
    MPPT = 4
    FAULT = 7


ImageKey = tuple[int, Fault | None, frozenset[str], str]  # (state version, fault, missing points, name)


@dataclass
class _Base:
    name: str
    unit_id: int = 1
    step_s: float = STEP_S
    # Simulated seconds between register refreshes, on a grid of epoch time shared by all devices
    # with the same value; None = refresh to the exact instant of every read.
    refresh_s: float | None = None
    missing_points: set[str] = field(default_factory=set)  # forced to the "not implemented" sentinel
    fault: Fault | None = None
    _t_ms: int | None = None
    _status: list[tuple[int, int]] = field(default_factory=list)
    status_dropped: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _version: int = 0  # bumped on every physics step: what the image cache is keyed on
    _image_key: ImageKey | None = None
    _image: list[int] | None = None
    image_builds: int = 0  # register images actually encoded (the rest were served from cache)

    base_address: int = sunspec_image.SUNSPEC_BASE

    def __post_init__(self) -> None:
        if self.refresh_s is not None and self.refresh_s < 0.001:
            raise ValueError(f"{self.name}: refresh_s must be >= 0.001 s or None, got {self.refresh_s}")

    @property
    def t_ms(self) -> int | None:
        """Simulated instant (UTC epoch ms) the device state and its registers stand for."""
        with self._lock:
            return self._t_ms

    def refresh_instant_ms(self, now_ms: int) -> int:
        """The instant the registers show when read at ``now_ms``: the last refresh at or before it."""
        if self.refresh_s is None:
            return now_ms
        period_ms = round(self.refresh_s * 1000.0)
        return now_ms - now_ms % period_ms

    def advance_to(self, now_ms: int) -> None:
        target_ms = self.refresh_instant_ms(now_ms)
        with self._lock:
            if self._t_ms is None:
                self._t_ms = target_ms
                self._step(target_ms, 0.0)
                self._version += 1
                return
            gap_s = (target_ms - self._t_ms) / 1000.0
            if gap_s <= 0:
                return
            n = min(MAX_STEPS_PER_ADVANCE, max(1, round(gap_s / self.step_s)))
            dt_s = gap_s / n
            for i in range(1, n + 1):
                self._step(self._t_ms + round(i * dt_s * 1000.0), dt_s)
            self._t_ms = target_ms
            self._version += 1

    def image(self) -> list[int]:
        """The whole register image (from ``base_address``) of the current state. Built once per
        state: a physics step, a fault or a changed missing point makes the next call rebuild it.
        The list is shared between callers: copy it before changing it."""
        with self._lock:
            key: ImageKey = (self._version, self.fault, frozenset(self.missing_points), self.name)
            if self._image is not None and self._image_key == key:
                return self._image
        img = self._build_image()  # outside the lock: truth() takes it
        with self._lock:
            self.image_builds += 1
            if self._version == key[0]:  # a step meanwhile: keep the image, not the stale key
                self._image_key, self._image = key, img
        return img

    def _record_status(self, ts_ms: int, code: int) -> None:
        if not self._status or self._status[-1][1] != code:
            if len(self._status) >= STATUS_HISTORY_MAX:
                self._status.pop(0)
                self.status_dropped += 1
            self._status.append((ts_ms, code))

    def status_timeline(self) -> list[tuple[int, int]]:
        """(ts_ms, status code) at every change, oldest first."""
        with self._lock:
            return list(self._status)

    def _blank(self, values: dict[str, Any]) -> dict[str, Any]:
        return {k: (None if k in self.missing_points else v) for k, v in values.items()}

    def _step(self, ts_ms: int, dt_s: float) -> None:
        raise NotImplementedError

    def _build_image(self) -> list[int]:
        raise NotImplementedError

    def truth(self) -> Truth:
        raise NotImplementedError


def _common(model: str, serial: str) -> list[int]:
    return sunspec_image.encode_model(1, {"Mn": "Seamline Sim", "Md": model, "Vr": "1.0.0", "SN": serial, "DA": 1})


@dataclass
class PvInverter(_Base):
    dc_kwp: float = 55.0
    ac_rated_w: float = 50_000.0
    clouds_seed: int = 0
    energy: EnergyCounter = field(default_factory=lambda: EnergyCounter(offset_wh=INITIAL_COUNTER_WH))
    _out: solar.PvOutput | None = None
    _state: PvState = PvState.OFF

    def _step(self, ts_ms: int, dt_s: float) -> None:
        ghi, poa = solar.clear_sky_at(ts_ms)
        k = solar.CloudPassages(seed=self.clouds_seed).factor(ts_ms)
        out = solar.pv_output(
            poa_w_m2=poa * k, ghi_w_m2=ghi * k, ambient_c=solar.ambient_temp_c(ts_ms),
            dc_kwp=self.dc_kwp, ac_rated_w=self.ac_rated_w,
        )  # fmt: skip
        if self.fault is not None:
            self._state = PvState.FAULT
            out = solar.PvOutput(out.poa_w_m2, out.ghi_w_m2, out.ambient_c, out.ambient_c, 0.0, 0.0, 0.0)
        else:
            self._state = PvState.MPPT if out.ac_power_w > 0 else PvState.SLEEPING
        self.energy = self.energy.add(out.ac_power_w * dt_s / 3600.0)
        self._out = out
        self._record_status(ts_ms, int(self._state))

    def ac_power_w(self) -> float:
        with self._lock:
            return self._out.ac_power_w if self._out else 0.0

    def truth(self) -> Truth:
        with self._lock:
            o = self._out
            assert o is not None, "advance_to() first"
            running = o.ac_power_w > 0
            values = {
                "ac_power_w": o.ac_power_w, "ac_energy_wh": float(self.energy.register_value),
                "dc_power_w": o.dc_power_w, "dc_voltage_v": o.dc_voltage_v,
                "ac_voltage_v": 400.0 if running else None, "ac_current_a": o.ac_power_w / (400.0 * 3**0.5),
                "ac_frequency_hz": 50.0, "cabinet_temp_c": o.ambient_c + o.ac_power_w / self.ac_rated_w * 15.0,
                "operating_state": int(self._state), "rated_power_w": self.ac_rated_w,
            }  # fmt: skip
            return self._blank(values)

    def _build_image(self) -> list[int]:
        t = self.truth()
        phase_v = None if t["ac_voltage_v"] is None else 230.9
        m103 = {
            "A": t["ac_current_a"], "AphA": t["ac_current_a"], "AphB": t["ac_current_a"],
            "AphC": t["ac_current_a"], "A_SF": -2, "PPVphAB": t["ac_voltage_v"], "PPVphBC": t["ac_voltage_v"],
            "PPVphCA": t["ac_voltage_v"], "PhVphA": phase_v, "PhVphB": phase_v, "PhVphC": phase_v, "V_SF": -1,
            "W": t["ac_power_w"], "W_SF": 1, "Hz": t["ac_frequency_hz"], "Hz_SF": -2,
            "WH": t["ac_energy_wh"], "WH_SF": 0, "DCV": t["dc_voltage_v"], "DCV_SF": -1,
            "DCW": t["dc_power_w"], "DCW_SF": 1, "TmpCab": t["cabinet_temp_c"], "Tmp_SF": -1,
            "St": t["operating_state"], "Evt1": 0, "Evt2": 0,
        }  # fmt: skip
        m120 = {"DERTyp": 4, "WRtg": self.ac_rated_w, "WRtg_SF": 1, "VARtg": self.ac_rated_w, "VARtg_SF": 1}
        return sunspec_image.device_image(
            [_common("SL-PV50K", self.name), sunspec_image.encode_model(103, m103),
             sunspec_image.encode_model(120, m120)]
        )  # fmt: skip


@dataclass
class MetStation(_Base):
    clouds_seed: int = 0
    _values: dict[str, Any] = field(default_factory=dict)

    def _step(self, ts_ms: int, dt_s: float) -> None:
        ghi, poa = solar.clear_sky_at(ts_ms)
        k = solar.CloudPassages(seed=self.clouds_seed).factor(ts_ms)
        amb = solar.ambient_temp_c(ts_ms)
        self._values = {
            "poa_irradiance_w_m2": float(round(poa * k)), "ghi_w_m2": float(round(ghi * k)),
            "ambient_temp_c": amb, "module_temp_c": solar.module_temp_c(amb, poa * k), "wind_speed_m_s": 3.0,
        }  # fmt: skip

    def truth(self) -> Truth:
        with self._lock:
            return self._blank(dict(self._values))

    def _build_image(self) -> list[int]:
        t = self.truth()
        return sunspec_image.device_image(
            [
                _common("SL-MET1", self.name),
                sunspec_image.encode_model(307, {"TmpAmb": t["ambient_temp_c"], "WndSpd": t["wind_speed_m_s"]}),
                sunspec_image.encode_model(
                    302,
                    {"repeating[0].GHI": t["ghi_w_m2"], "repeating[0].POAI": t["poa_irradiance_w_m2"]},
                    repeats={"repeating": 1},
                ),
                sunspec_image.encode_model(303, {"temp[0].TmpBOM": t["module_temp_c"]}, repeats={"temp": 1}),
            ]
        )


@dataclass
class Battery(_Base):
    """Demand (W, + discharge) comes from ``demand_w(ts_ms)``: the site's self-consumption control."""

    nameplate_wh: float = 200_000.0
    soh_pct: float = 97.0
    max_power_w: float = 100_000.0
    demand_w: Callable[[int], float] = lambda _ts: 0.0
    # the BMS window and the conversion losses (see battery.step_battery)
    soc_min_pct: float = 0.0
    soc_max_pct: float = 100.0
    initial_soc_pct: float = 50.0
    one_way_efficiency: float = ONE_WAY_EFFICIENCY
    state: BatteryState | None = None
    _power_w: float = 0.0
    flows: FlowHistory = field(default_factory=FlowHistory)  # what its feeder meter reads back

    def _step(self, ts_ms: int, dt_s: float) -> None:
        if self.state is None:
            cap = self.nameplate_wh * self.soh_pct / 100.0
            self.state = BatteryState(capacity_wh=cap, stored_wh=cap * self.initial_soc_pct / 100.0)
        want = max(-self.max_power_w, min(self.max_power_w, self.demand_w(ts_ms)))
        if dt_s > 0:
            self.state, self._power_w = step_battery(self.state, power_w=want, dt_s=dt_s, eta=self.one_way_efficiency,
                                                     soc_min_pct=self.soc_min_pct, soc_max_pct=self.soc_max_pct)
        # grid side: charging is import, discharging export
        self.flows.record(ts_ms, FeederFlow(-self._power_w, self.state.charged_wh, self.state.discharged_wh))
        # SunSpec 802 ChaSt: 3 DISCHARGING, 4 CHARGING, 6 HOLDING
        self._record_status(ts_ms, 4 if self._power_w < 0 else 3 if self._power_w > 0 else 6)

    def power_w(self) -> float:
        with self._lock:
            return self._power_w

    def feeder_at(self, ts_ms: int) -> FeederFlow:
        """What a meter on this battery's AC feeder sees at ``ts_ms``: the power and lifetime energies
        the battery really stepped with (its power is constant over each step, so the energies are
        exact at any instant inside one). Advances the battery to ``ts_ms`` first if it is behind."""
        self.advance_to(ts_ms)
        with self._lock:
            return self.flows.at(ts_ms)

    def truth(self) -> Truth:
        with self._lock:
            s = self.state
            assert s is not None, "advance_to() first"
            values = {
                "soc_pct": s.soc_pct, "soh_pct": self.soh_pct, "power_w": self._power_w,
                "charge_energy_wh": s.charged_wh, "discharge_energy_wh": s.discharged_wh,
                "capacity_wh": s.capacity_wh, "operating_state": self._status[-1][1] if self._status else None,
            }  # fmt: skip
            return self._blank(values)

    def _build_image(self) -> list[int]:
        t = self.truth()
        m802 = {
            "AHRtg": self.nameplate_wh / 768.0, "AHRtg_SF": 0, "WHRtg": self.nameplate_wh, "WHRtg_SF": 2,
            "WChaRteMax": self.max_power_w, "WDisChaRteMax": self.max_power_w, "WChaDisChaMax_SF": 2,
            "SoC": t["soc_pct"], "SoC_SF": -1, "SoH": t["soh_pct"], "SoH_SF": -1, "ChaSt": t["operating_state"],
            "LocRemCtl": 1, "AlmRst": 0, "Typ": 4, "State": 2, "Evt1": 0, "Evt2": 0, "EvtVnd1": 0, "EvtVnd2": 0,
            "V": 768.0, "V_SF": -1, "CellV_SF": -3, "A": (t["power_w"] or 0.0) / 768.0, "A_SF": -1, "AMax_SF": 0,
            "W": t["power_w"], "W_SF": 1, "SetOp": 1, "SetInvState": 2,
        }  # fmt: skip
        return sunspec_image.device_image([_common("SL-BESS200", self.name), sunspec_image.encode_model(802, m802)])


@dataclass
class WindTurbine(_Base):
    seed: int = 0
    turbine_type: str = wind.DEFAULT_TURBINE
    energy: EnergyCounter = field(default_factory=lambda: EnergyCounter(offset_wh=INITIAL_COUNTER_WH))
    vmap: vendor_map.VendorMap = field(default_factory=vendor_map.load_vendor_map)
    _wind: wind.WindSpeedProcess | None = None
    _values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.base_address = self.vmap.first_address

    def _step(self, ts_ms: int, dt_s: float) -> None:
        if self._wind is None:
            self._wind = wind.WindSpeedProcess(seed=self.seed)
        v = self._wind.step(dt_s) if dt_s > 0 else self._wind.speed_m_s
        curve = wind.power_curve(self.turbine_type)
        if self.fault is Fault.MAINTENANCE:
            status = wind.TurbineStatus.MAINTENANCE
        elif self.fault is Fault.TRIP:
            status = wind.TurbineStatus.FAULT
        elif v > wind.CUT_OUT_M_S:
            status = wind.TurbineStatus.STORM_STOP
        elif curve.power_at(v) <= 0:
            status = wind.TurbineStatus.IDLE_LOW_WIND
        else:
            status = wind.TurbineStatus.OPERATING
        p = curve.power_at(v) if status is wind.TurbineStatus.OPERATING else 0.0
        self.energy = self.energy.add(p * dt_s / 3600.0)
        self._values = {
            "wind_speed_m_s": round(v, 2), "power_w": float(round(p)),
            "rotor_speed_rpm": round(wind.rotor_rpm(v, p > 0), 1), "status": int(status),
        }  # fmt: skip
        self._record_status(ts_ms, int(status))

    def truth(self) -> Truth:
        with self._lock:
            return self._blank({**self._values, "energy_wh": float(self.energy.register_value)})

    def unwrapped_energy_wh(self) -> float:
        """Counter reading as if the register never wrapped (offset + true total)."""
        with self._lock:
            return float(int((self.energy.offset_wh + self.energy.total_wh) // self.energy.resolution_wh))

    def _build_image(self) -> list[int]:
        return vendor_map.encode_vendor_image(self.vmap, self.truth())
