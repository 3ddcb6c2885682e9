"""Wind turbine physics (pure): autocorrelated Weibull wind through a real power curve.

Wind speed: a Gaussian AR(1) process (correlation time ``tau_s``) mapped through the normal CDF and
the inverse Weibull CDF, so the marginal distribution is exactly Weibull(k, c) while successive
seconds stay correlated. Power: windpowerlib's published power curve of the turbine type.
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass
from functools import cache

import numpy as np

DEFAULT_TURBINE = "E48/800"  # Enercon E-48, 800 kW, 48 m rotor: park-scale turbine
CUT_OUT_M_S = 25.0  # E-48 storm control stops at ~25 m/s (10-min mean)
ROTOR_RADIUS_M = 24.0
TIP_SPEED_RATIO = 7.0  # near optimum for three-blade rotors
ROTOR_RPM_MIN, ROTOR_RPM_MAX = 16.0, 31.5  # E-48 operating speed range


class TurbineStatus(enum.IntEnum):
    """Vendor status codes (WTUR.TurSt in this vendor's map). Documented in wind_turbine_map.yaml."""

    OPERATING = 1
    IDLE_LOW_WIND = 2
    MAINTENANCE = 3
    FAULT = 4
    STORM_STOP = 5


@dataclass(frozen=True, slots=True)
class PowerCurve:
    wind_speed_m_s: tuple[float, ...]
    power_w: tuple[float, ...]

    @property
    def rated_w(self) -> float:
        return max(self.power_w)

    def power_at(self, v_m_s: float) -> float:
        """Electrical power (W) at hub wind speed ``v_m_s``: linear between curve points, 0 below
        the first point and above cut-out."""
        if v_m_s < self.wind_speed_m_s[0] or v_m_s > CUT_OUT_M_S:
            return 0.0
        p: float = float(np.interp(v_m_s, self.wind_speed_m_s, self.power_w))
        return p


@cache
def power_curve(turbine_type: str = DEFAULT_TURBINE) -> PowerCurve:
    """The power curve windpowerlib ships for ``turbine_type`` (see ``get_turbine_types()``)."""
    from windpowerlib import WindTurbine  # pandas-heavy: on first use only

    wt = WindTurbine(turbine_type=turbine_type, hub_height=76.0)
    pc = wt.power_curve
    return PowerCurve(tuple(float(v) for v in pc["wind_speed"]), tuple(float(p) for p in pc["value"]))


def weibull_from_normal(z: float, *, k: float, c_m_s: float) -> float:
    """Map a standard normal deviate to a Weibull(k, c) speed (m/s) via the CDFs."""
    u = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    u = min(max(u, 1e-12), 1.0 - 1e-12)
    return c_m_s * math.pow(-math.log(1.0 - u), 1.0 / k)


def weibull_mean(k: float, c_m_s: float) -> float:
    """Mean of Weibull(k, c) in m/s: c * Gamma(1 + 1/k)."""
    return c_m_s * math.gamma(1.0 + 1.0 / k)


class WindSpeedProcess:
    """Seeded, autocorrelated Weibull wind speeds, advanced in steps of ``dt_s`` seconds."""

    def __init__(self, *, seed: int, k: float = 2.0, c_m_s: float = 7.0, tau_s: float = 600.0) -> None:
        if k <= 0 or c_m_s <= 0 or tau_s <= 0:
            raise ValueError("k, c and tau must be > 0")
        self.k, self.c_m_s, self.tau_s = k, c_m_s, tau_s
        self._rng = random.Random(seed)
        self._z = self._rng.gauss(0.0, 1.0)

    @property
    def speed_m_s(self) -> float:
        return weibull_from_normal(self._z, k=self.k, c_m_s=self.c_m_s)

    def step(self, dt_s: float) -> float:
        """Advance ``dt_s`` seconds; return the new wind speed (m/s)."""
        phi = math.exp(-dt_s / self.tau_s)
        self._z = phi * self._z + math.sqrt(1.0 - phi * phi) * self._rng.gauss(0.0, 1.0)
        return self.speed_m_s


def rotor_rpm(v_m_s: float, producing: bool) -> float:
    """Rotor speed (rpm) at constant tip-speed ratio, limited to the operating range; 0 when parked."""
    if not producing:
        return 0.0
    rpm = TIP_SPEED_RATIO * v_m_s * 60.0 / (2.0 * math.pi * ROTOR_RADIUS_M)
    return min(max(rpm, ROTOR_RPM_MIN), ROTOR_RPM_MAX)
