"""PV plant and met-station physics (pure: time in, values out; no I/O, no clock).

Clear-sky irradiance from pvlib (Ineichen, Linke turbidity climatology) at Keqiao, Shaoxing
(30.0 N, 120.6 E, Asia/Shanghai), transposed to the array plane; cloud passages attenuate it;
the module temperature follows the NOCT model and derates DC power by gamma per kelvin.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

TZ = ZoneInfo("Asia/Shanghai")
LATITUDE_DEG = 30.0
LONGITUDE_DEG = 120.6
ALTITUDE_M = 10.0
# Typical mono-Si module temperature coefficient of power (datasheets: -0.34 .. -0.45 %/K).
GAMMA_PER_K = -0.004
NOCT_C = 45.0  # nominal operating cell temperature at 800 W/m2, 20 degC ambient
INVERTER_EFFICIENCY = 0.97  # flat; real curves droop below ~10 % load, irrelevant here


@dataclass(frozen=True, slots=True)
class IrradianceDay:
    """Clear-sky irradiance of one local day, one value per minute (1441 points, W/m2)."""

    ghi_w_m2: np.ndarray
    poa_w_m2: np.ndarray


@lru_cache(maxsize=8)
def clear_sky_day(local_day: str, tilt_deg: float = 25.0, azimuth_deg: float = 180.0) -> IrradianceDay:
    """Clear-sky GHI and plane-of-array irradiance for ``local_day`` (YYYY-MM-DD, Asia/Shanghai)."""
    import pandas as pd  # heavy: import on first use, never at module import
    import pvlib

    loc = pvlib.location.Location(LATITUDE_DEG, LONGITUDE_DEG, tz="Asia/Shanghai", altitude=ALTITUDE_M)
    times = pd.date_range(local_day, periods=1441, freq="1min", tz="Asia/Shanghai")
    cs = loc.get_clearsky(times, model="ineichen")
    sp = loc.get_solarposition(times)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg, azimuth_deg, sp["apparent_zenith"], sp["azimuth"], cs["dni"], cs["ghi"], cs["dhi"]
    )
    ghi = np.clip(cs["ghi"].to_numpy(dtype=float), 0.0, None)
    poa_g = np.clip(np.nan_to_num(poa["poa_global"].to_numpy(dtype=float)), 0.0, None)
    return IrradianceDay(ghi_w_m2=ghi, poa_w_m2=poa_g)


def clear_sky_at(ts_ms: int, tilt_deg: float = 25.0, azimuth_deg: float = 180.0) -> tuple[float, float]:
    """(GHI, POA) clear-sky irradiance in W/m2 at ``ts_ms`` (UTC epoch ms), linear per minute."""
    local = datetime.fromtimestamp(ts_ms / 1000.0, tz=UTC).astimezone(TZ)
    day = clear_sky_day(local.strftime("%Y-%m-%d"), tilt_deg, azimuth_deg)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    minute = (local - midnight) / timedelta(minutes=1)
    i = min(int(minute), 1439)
    frac = minute - i
    ghi = float(day.ghi_w_m2[i] * (1 - frac) + day.ghi_w_m2[i + 1] * frac)
    poa = float(day.poa_w_m2[i] * (1 - frac) + day.poa_w_m2[i + 1] * frac)
    return ghi, poa


@dataclass(frozen=True, slots=True)
class CloudPassages:
    """Clouds crossing the site: per hour a seeded number of passages, each a smooth dip.

    Random access by time (events are drawn per hour from ``seed`` and the hour index), so the
    same (seed, time) always gives the same factor, whichever order it is asked in.
    """

    seed: int
    passages_per_hour: float = 2.0
    mean_duration_s: float = 300.0
    max_depth: float = 0.7  # thick cumulus cut beam + diffuse by up to ~70-80 %

    def _events(self, hour: int) -> tuple[tuple[float, float, float], ...]:
        return _hour_events(self, hour)

    def factor(self, ts_ms: int) -> float:
        """Fraction (0..1] of clear-sky irradiance reaching the ground at ``ts_ms``."""
        t = ts_ms / 1000.0
        hour = int(t // 3600)
        attenuation = 0.0
        for h in (hour - 1, hour):  # a passage may start in the previous hour
            for start, dur, depth in self._events(h):
                if start <= t <= start + dur:
                    attenuation = max(attenuation, depth * math.sin(math.pi * (t - start) / dur))
        return 1.0 - attenuation


# Every PV step asks for two hours' passages; drawing them anew each time was most of a PV step.
# Keyed by the (frozen) passage parameters and the hour: 256 covers a park's seeds for hours.
@lru_cache(maxsize=256)
def _hour_events(p: CloudPassages, hour: int) -> tuple[tuple[float, float, float], ...]:
    """The passages (start s, duration s, depth) of ``hour`` (hours since the epoch), from the seed."""
    rng = random.Random(p.seed * 1_000_003 + hour)
    n = min(20, int(rng.expovariate(1.0 / p.passages_per_hour)) if p.passages_per_hour > 0 else 0)
    out = []
    for _ in range(n):
        start = hour * 3600.0 + rng.uniform(0, 3600.0)
        dur = max(30.0, rng.expovariate(1.0 / p.mean_duration_s))
        out.append((start, dur, rng.uniform(0.2, p.max_depth)))
    return tuple(out)


def ambient_temp_c(ts_ms: int, *, mean_c: float = 22.0, amplitude_c: float = 5.0) -> float:
    """Diurnal ambient temperature (degC): minimum near 05:00, maximum near 14:00 local."""
    local = datetime.fromtimestamp(ts_ms / 1000.0, tz=UTC).astimezone(TZ)
    hours = local.hour + local.minute / 60.0 + local.second / 3600.0
    return mean_c + amplitude_c * math.sin(2 * math.pi * (hours - 8.0) / 24.0)


def module_temp_c(ambient_c: float, poa_w_m2: float) -> float:
    """NOCT model: cell/module temperature (degC) from ambient and in-plane irradiance."""
    return ambient_c + poa_w_m2 / 800.0 * (NOCT_C - 20.0)


@dataclass(frozen=True, slots=True)
class PvOutput:
    poa_w_m2: float
    ghi_w_m2: float
    ambient_c: float
    module_c: float
    dc_power_w: float
    dc_voltage_v: float
    ac_power_w: float


def pv_output(*, poa_w_m2: float, ghi_w_m2: float, ambient_c: float, dc_kwp: float, ac_rated_w: float) -> PvOutput:
    """DC and AC power (W) of an array of ``dc_kwp`` kWp behind an inverter of ``ac_rated_w`` W,
    with temperature derating and AC clipping at the rating."""
    t_mod = module_temp_c(ambient_c, poa_w_m2)
    dc = max(0.0, dc_kwp * 1000.0 * poa_w_m2 / 1000.0 * (1.0 + GAMMA_PER_K * (t_mod - 25.0)))
    ac = min(dc * INVERTER_EFFICIENCY, ac_rated_w)
    # MPP voltage of a ~20-module string, falls ~0.35 %/K
    v_dc = 0.0 if dc <= 0 else 620.0 * (1.0 - 0.0035 * (t_mod - 25.0))
    return PvOutput(poa_w_m2, ghi_w_m2, ambient_c, t_mod, dc, v_dc, ac)
