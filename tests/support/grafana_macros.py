"""What Grafana's InfluxDB data source does to a raw InfluxQL query before sending it, for tests
that run the dashboards' queries on a real InfluxDB (there is no Grafana server here).

Emulated from Grafana's documented behaviour:

* ``$timeFilter`` -> ``time >= <from>ms and time <= <to>ms``;
* ``$__interval`` / ``$__interval_ms`` -> the time range divided by the panel's max data points
  (Grafana's default is the panel's pixel width; we take ``DEFAULT_MAX_DATA_POINTS``), never below
  the data source's minimum interval, rounded like Grafana's ``kbn.roundInterval``;
* ``$var`` / ``${var}`` -> the variable's value; inside a regex (``=~ /^$var$/``) a multi-value or
  "All"-capable variable's values are regex-escaped and joined as ``(a|b)``; a custom "All" value
  (``.*``) is inserted as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Selection", "expand", "interval_ms", "render_interval"]

DEFAULT_MAX_DATA_POINTS = 1000

# (upper bound of the raw interval in ms, the interval Grafana rounds it to in ms): kbn.roundInterval.
_ROUNDING: tuple[tuple[float, int], ...] = (
    (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1_500, 1_000), (3_500, 2_000),
    (7_500, 5_000), (12_500, 10_000), (17_500, 15_000), (25_000, 20_000), (45_000, 30_000), (90_000, 60_000),
    (210_000, 120_000), (450_000, 300_000), (750_000, 600_000), (1_050_000, 900_000), (1_500_000, 1_200_000),
    (2_700_000, 1_800_000), (5_400_000, 3_600_000), (9_000_000, 7_200_000), (16_200_000, 10_800_000),
    (32_400_000, 21_600_000), (86_400_000, 43_200_000), (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000), (3_628_800_000, 2_592_000_000),
)
_YEAR_MS = 31_536_000_000


def _round(raw_ms: float) -> int:
    for bound, value in _ROUNDING:
        if raw_ms <= bound:
            return value
    return _YEAR_MS


def interval_ms(from_ms: int, to_ms: int, *, max_data_points: float | None, min_interval_ms: int) -> int:
    """``$__interval_ms`` for a panel over [from_ms, to_ms]."""
    points = max_data_points or DEFAULT_MAX_DATA_POINTS
    return max(_round((to_ms - from_ms) / points), min_interval_ms)


def render_interval(ms: int) -> str:
    """``$__interval`` text for ``ms`` (the largest whole unit, as Grafana writes it)."""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


@dataclass(frozen=True, slots=True)
class Selection:
    """A variable's selected values; ``all_value`` when "All" with a custom all value is chosen;
    ``regex_escape`` when Grafana escapes it in a regex (multi-value or include-All variables)."""

    values: tuple[str, ...]
    all_value: str | None = None
    regex_escape: bool = True

    def in_regex(self) -> str:
        if self.all_value is not None:
            return self.all_value
        vals = [re.sub(r"([\\^$*+?.()|{}\[\]/])", r"\\\1", v) if self.regex_escape else v for v in self.values]
        return vals[0] if len(vals) == 1 else "(" + "|".join(vals) + ")"

    def plain(self) -> str:
        if self.all_value is not None:
            return self.all_value
        return self.values[0] if len(self.values) == 1 else "{" + ",".join(self.values) + "}"


_REGEX_VAR = re.compile(r"/\^\$\{?(\w+)\}?\$/")
_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def expand(query: str, *, from_ms: int, to_ms: int, max_data_points: float | None, min_interval_ms: int,
           variables: Mapping[str, Selection]) -> str:
    """``query`` as Grafana sends it to InfluxDB (KeyError for a variable not given)."""
    iv = interval_ms(from_ms, to_ms, max_data_points=max_data_points, min_interval_ms=min_interval_ms)
    q = query.replace("$timeFilter", f"time >= {from_ms}ms and time <= {to_ms}ms")
    q = q.replace("$__interval_ms", str(iv)).replace("$__interval", render_interval(iv))
    q = _REGEX_VAR.sub(lambda m: "/^" + variables[m.group(1)].in_regex() + "$/", q)
    return _VAR.sub(lambda m: variables[m.group(1) or m.group(2)].plain(), q)


def used_variables(query: str) -> Sequence[str]:
    """Names of the dashboard variables ``query`` refers to (Grafana's own ``$__`` macros excluded)."""
    names = {m.group(1) or m.group(2) for m in _VAR.finditer(query)}
    return sorted(n for n in names if not n.startswith("__") and n != "timeFilter")
