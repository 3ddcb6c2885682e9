"""Typed InfluxQL statements for dashboard panels, built from :mod:`seamline.storage.schema` objects.

A :class:`Statement` names its measurement by the schema's :class:`~seamline.storage.schema.Measurement`
and checks every field, tag and template-variable filter against it when it is built
(:class:`~seamline.storage.schema.SchemaError`), so a panel cannot query a name seamline does not
write. :meth:`Statement.render` gives the text Grafana's InfluxDB data source runs in raw mode,
with Grafana's macros left in place: ``$timeFilter``, ``$__interval`` and the dashboard's template
variables (``"enterprise" =~ /^$enterprise$/``: a variable with "All" expands to a regex there).

An :class:`Outer` statement aggregates over a :class:`Statement` (an InfluxQL subquery), e.g. the
number of gateways whose last status is ``online``; its columns may only name the inner aliases.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from seamline.storage.influxql import quote_ident, quote_string
from seamline.storage.schema import TIME, Measurement, SchemaError, TagName

__all__ = [
    "DASHBOARD_INTERVAL",
    "Agg",
    "Column",
    "DaysAhead",
    "DaysBack",
    "FamilyColumn",
    "FieldIs",
    "Fill",
    "Outer",
    "Statement",
    "TagIs",
    "VarMatch",
]

# Grafana's per-panel interval macro: the time range divided by the panel's max data points,
# rounded to a "nice" interval and never below the data source's minimum interval.
DASHBOARD_INTERVAL = "$__interval"


class Agg(enum.StrEnum):
    """InfluxQL aggregates and selectors a panel column may apply to a field."""

    MEAN = "mean"
    SUM = "sum"
    LAST = "last"
    FIRST = "first"
    MAX = "max"
    MIN = "min"
    COUNT = "count"
    SPREAD = "spread"


class Fill(enum.StrEnum):
    NONE = "none"
    NULL = "null"
    ZERO = "0"
    PREVIOUS = "previous"


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One output column: ``agg(field)`` (or the raw field when ``agg`` is None), optionally
    ``non_negative_derivative(..., per)`` (a counter's rate per ``per``, e.g. ``1s``) and scaled by
    ``scale`` (e.g. 0.001 for W -> kW, 100 for a ratio -> %, or a numeric variable ``$name``).
    ``alias`` names the column."""

    field: str
    agg: Agg | None = None
    alias: str | None = None
    rate_per: str | None = None
    scale: float | str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.scale, str) and not (self.scale.startswith("$") and self.scale[1:].isidentifier()):
            raise ValueError(f"a scale is a number or a $variable, got {self.scale!r}")

    @property
    def name(self) -> str:
        return self.alias or self.field

    def render(self) -> str:
        expr = quote_ident(self.field)
        if self.agg is not None:
            expr = f"{self.agg.value}({expr})"
        if self.rate_per is not None:
            expr = f"non_negative_derivative({expr}, {self.rate_per})"
        if self.scale is not None:
            expr = f"{expr} * {self.scale if isinstance(self.scale, str) else format(self.scale, 'g')}"
        return f"{expr} AS {quote_ident(self.name)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class FamilyColumn:
    """``agg(/^prefix/)`` over a field family (``quarantined_<reason>``): one output column per
    field, named by InfluxDB ``<agg>_<field>`` (``difference``: ``non_negative_difference_<field>``,
    the counter's increase per interval). Its :attr:`name` is that prefix followed by ``*``."""

    prefix: str
    agg: Agg = Agg.MAX
    difference: bool = False

    @property
    def field(self) -> str:
        return self.prefix

    @property
    def name(self) -> str:
        return ("non_negative_difference_" if self.difference else f"{self.agg.value}_") + self.prefix + "*"

    def render(self) -> str:
        expr = f"{self.agg.value}(/^{self.prefix}/)"
        return f"non_negative_difference({expr})" if self.difference else expr


@dataclass(frozen=True, slots=True)
class VarMatch:
    """``"tag" =~ /^$var$/``: the dashboard variable ``var`` (one value, several, or All) on ``tag``."""

    tag: TagName
    var: str

    def render(self) -> str:
        return f"{quote_ident(self.tag)} =~ /^${self.var}$/"


@dataclass(frozen=True, slots=True)
class TagIs:
    """``"tag" = 'value'`` — a fixed tag value, or ``$var`` for a single-valued variable."""

    tag: TagName
    value: str

    def render(self) -> str:
        return f"{quote_ident(self.tag)} = {quote_string(self.value)}"


@dataclass(frozen=True, slots=True)
class FieldIs:
    """``"field" <op> value`` on a field (string fields compare to quoted text)."""

    field: str
    op: str
    value: str | float

    def __post_init__(self) -> None:
        if self.op not in ("=", "!=", ">", ">=", "<", "<="):
            raise ValueError(f"unsupported comparison {self.op!r}")

    def render(self) -> str:
        value = quote_string(self.value) if isinstance(self.value, str) else f"{self.value:g}"
        return f"{quote_ident(self.field)} {self.op} {value}"


@dataclass(frozen=True, slots=True)
class DaysAhead:
    """A fixed window from yesterday to ``days`` ahead of now, instead of the dashboard's range
    (free capacity is about the days to come, whatever the time picker shows)."""

    days: int

    def render(self) -> str:
        return f"time > now() - 1d AND time < now() + {self.days}d"


@dataclass(frozen=True, slots=True)
class DaysBack:
    """A fixed window of the last ``days`` days, instead of the dashboard's range (a per-mu grade is
    stamped at the start of its period, a quarter or a year ago, whatever the time picker shows)."""

    days: int

    def render(self) -> str:
        return f"time > now() - {self.days}d"


Condition = VarMatch | TagIs | FieldIs


def _group_by(interval: str | None, tags: Sequence[str]) -> str:
    parts = ([f"time({interval})"] if interval else []) + [quote_ident(t) for t in tags]
    return f" GROUP BY {', '.join(parts)}" if parts else ""


def _tail(interval: str | None, fill: Fill | None, tz: str | None, limit: int | None, desc: bool) -> str:
    out = ""
    if interval and fill is not None:
        out += f" fill({fill.value})"
    if desc:
        out += " ORDER BY time DESC"
    if limit is not None:
        out += f" LIMIT {limit}"
    if tz:
        out += f" tz({quote_string(tz)})"
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    """``SELECT columns FROM rp.measurement WHERE <time> AND conditions GROUP BY ...``.

    ``rp`` is the deployment's name of the measurement's retention policy. ``interval`` groups
    by time (``$__interval`` by default for aggregates; None for raw points). ``tags`` are the
    GROUP BY tags (one series per combination)."""

    measurement: Measurement
    rp: str
    columns: tuple[Column | FamilyColumn, ...]
    where: tuple[Condition, ...] = ()
    interval: str | None = DASHBOARD_INTERVAL
    tags: tuple[TagName, ...] = ()
    fill: Fill | None = Fill.NULL
    window: DaysAhead | DaysBack | None = None
    tz: str | None = None
    limit: int | None = None
    desc: bool = False

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError(f"{self.measurement.name}: a statement needs at least one column")
        conds = self.where
        self.measurement.check(
            tags=(*self.tags, *(c.tag for c in conds if isinstance(c, VarMatch | TagIs))),
            fields=(*(c.field for c in self.columns if isinstance(c, Column)),
                    *(c.field for c in conds if isinstance(c, FieldIs))),
        )
        families = [c.prefix for c in self.columns if isinstance(c, FamilyColumn)]
        if bad := sorted(set(families) - set(self.measurement.families)):
            raise SchemaError(f"measurement {self.measurement.name!r} has no field family {bad}")
        raw = [c.name for c in self.columns if isinstance(c, Column) and c.agg is None and c.rate_per is None]
        if self.interval is not None and raw:
            raise ValueError(f"{self.measurement.name}: GROUP BY time needs aggregated columns, not {raw}")
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names) or TIME in names:
            raise ValueError(f"{self.measurement.name}: column names must be unique and not {TIME!r}: {names}")

    @property
    def output(self) -> tuple[str, ...]:
        """The columns of every result series: ``time`` first, then the aliases."""
        return (TIME, *(c.name for c in self.columns))

    def render(self) -> str:
        cols = ", ".join(c.render() for c in self.columns)
        source = f"{quote_ident(self.rp)}.{quote_ident(self.measurement.name)}"
        where = [self.window.render() if self.window else "$timeFilter", *(c.render() for c in self.where)]
        return (f"SELECT {cols} FROM {source} WHERE {' AND '.join(where)}"
                + _group_by(self.interval, self.tags) + _tail(self.interval, self.fill, self.tz, self.limit, self.desc))


@dataclass(frozen=True, slots=True, kw_only=True)
class Outer:
    """``SELECT columns FROM (inner) WHERE conditions GROUP BY ...``: aggregates over ``inner``'s
    result; columns and conditions may name only ``inner``'s output columns, tags only its tags."""

    inner: Statement
    columns: tuple[Column, ...]
    where: tuple[FieldIs, ...] = ()
    interval: str | None = None
    tags: tuple[TagName, ...] = ()
    fill: Fill | None = None

    def __post_init__(self) -> None:
        known = set(self.inner.output[1:])
        bad = sorted({c.field for c in self.columns} - known | {c.field for c in self.where} - known)
        if bad:
            raise SchemaError(f"subquery over {self.inner.measurement.name!r} has no columns {bad}")
        if not set(self.tags) <= set(self.inner.tags):
            raise SchemaError(f"subquery over {self.inner.measurement.name!r} is not grouped by {self.tags}")

    @property
    def measurement(self) -> Measurement:
        return self.inner.measurement

    @property
    def output(self) -> tuple[str, ...]:
        return (TIME, *(c.name for c in self.columns))

    def render(self) -> str:
        cols = ", ".join(c.render() for c in self.columns)
        q = f"SELECT {cols} FROM ({self.inner.render()})"
        if self.where:
            q += " WHERE " + " AND ".join(c.render() for c in self.where)
        return q + _group_by(self.interval, self.tags) + _tail(self.interval, self.fill, None, None, False)
