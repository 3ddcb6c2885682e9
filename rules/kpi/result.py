"""The value every KPI returns: values with units, the window, its data coverage and flags."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from seamline.rules.coverage import Coverage
from seamline.rules.windows import Window


class Flag(enum.StrEnum):
    LOW_COVERAGE = "low_coverage"  # observed share of the basis below the configured threshold
    NO_DATA = "no_data"  # nothing observed: values are None
    NO_PLANNED_TIME = "no_planned_time"  # nothing planned in the window
    CLIPPED = "clipped"  # a ratio fell outside [0, 1]; ``raw`` keeps the computed value
    NO_EVENTS = "no_events"  # e.g. MTBF without any breakdown
    COUNTER_RESET = "counter_reset"
    COUNTER_ROLLOVER = "counter_rollover"
    IMPLAUSIBLE_INCREMENT = "implausible_increment"  # counter step above the physical maximum, dropped
    SOC_CORRECTED = "soc_corrected"  # battery RTE corrected for a SoC difference
    SPLIT_BY_PIECES = "split_by_pieces"  # a line's share of its site's energy by pieces, not sub-meters
    NO_SOURCE_DATA = "no_source_data"  # green attribution: the park's generation was not observed


@dataclass(frozen=True, slots=True)
class KpiValue:
    """One number of a KPI. ``raw`` is the value before clipping (equal when not clipped)."""

    name: str
    unit: str
    value: float | None
    raw: float | None = None


@dataclass(frozen=True, slots=True)
class KpiResult:
    kpi: str
    window: Window
    coverage: Coverage
    values: tuple[KpiValue, ...]
    flags: frozenset[Flag] = frozenset()

    def __getitem__(self, name: str) -> float | None:
        return self.item(name).value

    def item(self, name: str) -> KpiValue:
        for v in self.values:
            if v.name == name:
                return v
        raise KeyError(f"{self.kpi} has no value {name!r}; it has {[v.name for v in self.values]}")


def ratio(name: str, numerator: float, denominator: float, *, unit: str = "fraction") -> tuple[KpiValue, bool]:
    """``numerator / denominator`` clipped to [0, 1]; ``None`` when the denominator is not positive.
    Returns the value and whether it was clipped."""
    if denominator <= 0:
        return KpiValue(name, unit, None, None), False
    raw = numerator / denominator
    value = min(1.0, max(0.0, raw))
    return KpiValue(name, unit, value, raw), value != raw


def build(
    kpi: str,
    window: Window,
    coverage: Coverage,
    values: Iterable[KpiValue],
    flags: Iterable[Flag] = (),
    *,
    coverage_threshold: float,
) -> KpiResult:
    """Assemble a result, adding ``low_coverage``/``no_data`` from the coverage."""
    all_flags = set(flags)
    if coverage.fraction < coverage_threshold:
        all_flags.add(Flag.LOW_COVERAGE)
    if coverage.observed_s <= 0:
        all_flags.add(Flag.NO_DATA)
    return KpiResult(kpi, window, coverage, tuple(values), frozenset(all_flags))
