"""Time-of-use tariff periods (pure): which period (sharp, peak, flat, valley, deep valley) an
instant falls in, from the configured local-time windows (see load_config.TariffConfig)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from seamline.firmware_stubs.energy.load_config import TariffConfig, TouPeriod, TouWindow

MIDNIGHT = time(0, 0)


def _inside(w: TouWindow, t: time) -> bool:
    if w.end == MIDNIGHT or w.end < w.start:  # runs to (or past) midnight
        return t >= w.start or t < w.end
    return w.start <= t < w.end


def period_at(tariff: TariffConfig, ts_ms: int) -> TouPeriod:
    """The tariff period at ``ts_ms`` (UTC epoch ms): the first window containing the local time
    (in a month it applies to), else the tariff's default."""
    local = datetime.fromtimestamp(ts_ms / 1000.0, ZoneInfo(tariff.tz))
    t = local.time()
    for w in tariff.windows:
        if (not w.months or local.month in w.months) and _inside(w, t):
            return w.period
    return tariff.default
