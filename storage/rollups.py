"""Downsampling: rollups of the raw telemetry into retention policies kept for years.

A rollup (``every: 1h``) is a retention policy ``rollup_1h`` holding, per asset and interval, every
telemetry measurement under its own name and fields (so a dashboard reads ``rollup_1h.meter`` the
way it reads ``raw.meter``), computed by one InfluxDB 1.x continuous query per measurement:

* sewing machines: amounts of the period (``run_s`` .. ``down_s``, ``period_s``, ``stitches``,
  ``pieces``, ``rejects``, ``samples``, the ``*_unobserved`` figures, any other seconds or counts)
  are **summed**, ``current_max_a`` is the **max**, counters since boot (``*_total``) and what
  describes the period's end (``idle_open_s``, ``stop_threshold_s``) the **last**, the rest
  (current, speed) the **mean**;
* energy assets: energy counters (unit Wh) and enumerations (status codes) the **last** value,
  the rest (power, voltage, irradiance, SoC, ...) the **mean**;
* ``seq`` holds the **number of raw samples** rolled up (``count(seq)``): with the polling interval
  it says how much of the interval was observed.

The gateway's self-telemetry is not rolled up. ``offset`` shifts the interval boundaries
(``-8h`` makes ``1d`` a local day in Asia/Shanghai); ``RESAMPLE FOR`` (default two intervals)
recomputes the recent intervals so late data is included; older late data (a long gateway outage
replayed from its spool) needs :func:`backfill_statement` (``seamline db rollup``).

Each CQ's name ends with a fingerprint of its text: ``seamline db init`` creates what is missing,
replaces a CQ whose definition changed (InfluxDB cannot alter one) and drops ``rollup_*`` CQs no
longer configured. Retention policies are never dropped. Continuous queries are InfluxDB 1.x only
(2.x/3.x: tasks, not created here).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from seamline.contracts.assets import AssetKind, metric_specs
from seamline.storage.influxql import duration_s, quote_ident
from seamline.storage.schema import Field, Measurement, telemetry

__all__ = [
    "CQ_PREFIX",
    "RollupSpec",
    "aggregate_for",
    "aggregations",
    "backfill_statement",
    "continuous_queries",
    "rolled_up_kinds",
]

CQ_PREFIX = "rollup_"
# Amounts of an aggregation period add up over an interval ...
_SUMMED_UNITS = frozenset({"s", "stitches", "pieces", "samples", "count"})
# ... except these seconds, which describe the period's end or a setting, not time spent in it
# (the stop split's open idle period and threshold, edge aggregate split 1).
_SEWING_STATES = frozenset({"idle_open_s", "stop_threshold_s"})


@dataclass(frozen=True, slots=True, kw_only=True)
class RollupSpec:
    """``every``: the interval (InfluxQL duration); ``duration``: how long the rollup is kept
    (``INF`` = forever); ``offset``: shift of the interval boundaries; ``resample_for``: how far back
    each run recomputes (default two intervals)."""

    every: str
    duration: str
    offset: str = "0s"
    resample_for: str | None = None

    def __post_init__(self) -> None:
        if duration_s(self.every) <= 0:
            raise ValueError(f"rollup interval {self.every!r}: expected a positive duration such as 1h or 1d")
        duration_s(self.duration)
        duration_s(self.offset.removeprefix("-"))
        if self.resample_for is not None and duration_s(self.resample_for) < duration_s(self.every):
            raise ValueError(f"rollup {self.every}: resample_for must be at least the interval")

    @property
    def rp(self) -> str:
        return f"{CQ_PREFIX}{self.every}"

    @property
    def resample(self) -> str:
        return self.resample_for or f"{2 * duration_s(self.every)}s"


def rolled_up_kinds() -> tuple[AssetKind, ...]:
    return tuple(k for k in AssetKind if k is not AssetKind.GATEWAY)


def aggregate_for(kind: AssetKind, name: str, unit: str) -> str:
    """The InfluxQL aggregate that rolls ``kind``'s metric ``name`` (in ``unit``) up over an interval."""
    if kind is not AssetKind.SEWING_MACHINE:
        return "last" if unit in ("Wh", "enum") else "mean"
    if name.endswith("_total") or name in _SEWING_STATES:
        return "last"
    if name.endswith("_max_a"):
        return "max"
    return "sum" if unit in _SUMMED_UNITS else "mean"


def aggregations(kind: AssetKind) -> dict[str, str]:
    """Field → InfluxQL aggregate for ``kind``'s rollup (``seq`` → ``count``)."""
    out = {name: aggregate_for(kind, name, spec.unit) for name, spec in sorted(metric_specs(kind).items())}
    out[Field.SEQ] = "count"
    return out


def _select(database: str, raw_rp: str, spec: RollupSpec, m: Measurement, kind: AssetKind) -> str:
    fields = ", ".join(f"{fn}({quote_ident(m.field(f))}) AS {quote_ident(f)}" for f, fn in aggregations(kind).items())
    db = quote_ident(database)
    return (f"SELECT {fields} INTO {db}.{quote_ident(spec.rp)}.{quote_ident(m.name)} "
            f"FROM {db}.{quote_ident(raw_rp)}.{quote_ident(m.name)}")


def _group(spec: RollupSpec) -> str:
    offset = "" if duration_s(spec.offset.removeprefix("-")) == 0 else f", {spec.offset}"
    return f"GROUP BY time({spec.every}{offset}), *"


def continuous_queries(database: str, raw_rp: str, rollups: Iterable[RollupSpec]) -> dict[str, str]:
    """CQ name → ``CREATE CONTINUOUS QUERY`` statement, for every rollup and rolled-up kind."""
    out: dict[str, str] = {}
    for spec in rollups:
        for kind in rolled_up_kinds():
            m = telemetry(kind)
            body = (f"RESAMPLE EVERY {spec.every} FOR {spec.resample} BEGIN "
                    f"{_select(database, raw_rp, spec, m, kind)} {_group(spec)} END")
            name = f"{spec.rp}_{m.name}_{hashlib.sha256(body.encode()).hexdigest()[:8]}"
            out[name] = f"CREATE CONTINUOUS QUERY {quote_ident(name)} ON {quote_ident(database)} {body}"
    return out


def backfill_statement(database: str, raw_rp: str, spec: RollupSpec, kind: AssetKind, *, start_ms: int,
                       end_ms: int) -> str:
    """The CQ's query run once over ``[start_ms, end_ms)``: rolls up (again) data that arrived too late."""
    m = telemetry(kind)
    return (f"{_select(database, raw_rp, spec, m, kind)} WHERE time >= {start_ms}ms AND time < {end_ms}ms "
            f"{_group(spec)}")
