"""InfluxQL reads as values: build a :class:`Select` from schema names, render it, run a batch of
them in one request (:class:`CountingClient`) and decode the answer into :class:`Series`.

Every read is InfluxQL (``/query``, ``epoch=ms``), so the same statements run on InfluxDB 1.x, on
2.x through a DBRP mapping and on 3.x. One :class:`Select` covers all assets of a batch of
enterprises for one measurement (``GROUP BY`` the identity tags), so the number of statements per
window does not grow with the number of assets. A Select checks its measurement, tags and fields
against :mod:`seamline.storage.schema` when it is built (:class:`~seamline.storage.schema.SchemaError`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from seamline.storage.influxql import quote_ident, quote_string
from seamline.storage.query_client import QueryClient
from seamline.storage.query_errors import QueryError, QueryRefusedError
from seamline.storage.schema import Measurement, Tag, TagName

__all__ = ["AggregateFn", "CountingClient", "FieldEquals", "Row", "Select", "Series", "SeriesIs", "TagIn",
           "decode", "enterprise_condition"]

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldEquals:
    """``field = 'value'`` (string fields only); several in one Select are OR-ed."""

    field: str
    value: str

    def render(self) -> str:
        return f"{quote_ident(self.field)} = {quote_string(self.value)}"


@dataclass(frozen=True, slots=True)
class AggregateFn:
    """``fn("field") AS "fn_field"``: one InfluxQL aggregate over the rows a Select keeps."""

    fn: Literal["sum", "count", "min", "max"]
    field: str

    @property
    def alias(self) -> str:
        return f"{self.fn}_{self.field}"

    def render(self) -> str:
        return f"{self.fn}({quote_ident(self.field)}) AS {quote_ident(self.alias)}"


@dataclass(frozen=True, slots=True)
class SeriesIs:
    """``tag = 'value' AND ...``: one series (or a few) by its tags; several in one Select are
    OR-ed, e.g. the machines the aggregate path leaves to their events (ids repeat across
    enterprises, so ``asset`` alone would read every enterprise's machine of that name)."""

    tags: tuple[tuple[TagName, str], ...]

    def __post_init__(self) -> None:
        if not self.tags:
            raise ValueError("SeriesIs needs at least one tag")

    def render(self) -> str:
        return "(" + " AND ".join(f"{quote_ident(t)} = {quote_string(v)}" for t, v in self.tags) + ")"


@dataclass(frozen=True, slots=True, kw_only=True)
class TagIn:
    """``tag`` is one of ``values`` (e.g. the KPI ``window`` tag in ``1d``, ``1h``): filters on the
    server, so a reader of daily points is not sent every 5-minute point of the day too."""

    tag: TagName
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError(f"TagIn({self.tag!r}) needs at least one value")

    def render(self) -> str:
        return "(" + " OR ".join(f"{quote_ident(self.tag)} = {quote_string(v)}" for v in self.values) + ")"


@dataclass(frozen=True, slots=True, kw_only=True)
class Select:
    """``SELECT fields FROM rp.measurement WHERE enterprise in (...) AND time in [start, end)``.

    ``rp`` is the deployment's name of the measurement's retention policy (``influx.raw_rp`` /
    ``kpi_rp``). ``positive`` keeps rows whose numeric field is > 0 (e.g. aggregates:
    ``period_s``); ``any_of`` keeps rows matching one of the string conditions; ``latest``
    returns only the newest row per series (``ORDER BY time DESC LIMIT 1``); ``tags_in`` keeps
    rows whose tags take one of the given values; ``aggregates`` replace ``fields`` by one row per
    series of aggregates over them (columns named ``fn_field``). Times in UTC ms."""

    measurement: Measurement
    fields: tuple[str, ...]
    rp: str
    enterprises: tuple[str, ...]
    group_by: tuple[TagName, ...]
    start_ms: int | None
    end_ms: int
    positive: str | None = None
    any_of: tuple[FieldEquals, ...] = ()
    latest: bool = False
    tags_in: tuple[TagIn, ...] = ()
    aggregates: tuple[AggregateFn, ...] = ()
    series: tuple[SeriesIs, ...] = ()

    def __post_init__(self) -> None:
        if not self.enterprises:
            raise ValueError("a Select needs at least one enterprise")
        if self.start_ms is not None and self.start_ms >= self.end_ms:
            raise ValueError(f"empty time range [{self.start_ms}, {self.end_ms}) ms")
        named = [*self.fields, *((self.positive,) if self.positive else ()), *(c.field for c in self.any_of),
                 *(a.field for a in self.aggregates)]
        tags = (Tag.ENTERPRISE, *self.group_by, *(t.tag for t in self.tags_in),
                *(t for s in self.series for t, _ in s.tags))
        self.measurement.check(tags=tags, fields=named)

    def render(self) -> str:
        """The statement. Field conditions (``positive``, ``any_of``) filter a subquery that holds
        the tag and time conditions: InfluxDB 1.x matches a field condition in the outer ``WHERE``
        against every series of the measurement before the tags narrow them, so its cost grew with
        the database (a database of 380 000 machines: 175–375 ms per statement for a batch of 150
        machines, 3–23 ms as a subquery; the same rows)."""
        cols = ", ".join(quote_ident(f) for f in self.fields) if self.fields else "*"
        if self.aggregates:
            cols = ", ".join(a.render() for a in self.aggregates)
        times = ([f"time >= {self.start_ms}ms"] if self.start_ms is not None else []) + [f"time < {self.end_ms}ms"]
        tags = [enterprise_condition(self.enterprises), *(t.render() for t in self.tags_in)]
        if self.series:
            tags.append("(" + " OR ".join(c.render() for c in self.series) + ")")
        on_fields = [f"{quote_ident(self.positive)} > 0"] if self.positive else []
        if self.any_of:
            on_fields.append("(" + " OR ".join(c.render() for c in self.any_of) + ")")
        source = f"{quote_ident(self.rp)}.{quote_ident(self.measurement.name)}"
        if on_fields:
            inner = " AND ".join([tags[0], *times, *tags[1:]])
            source = f"(SELECT {self._inner_columns()} FROM {source} WHERE {inner})"
            where = [*times, *on_fields]
        else:
            where = [tags[0], *times, *tags[1:]]
        q = f"SELECT {cols} FROM {source} WHERE {' AND '.join(where)}"
        q += " GROUP BY " + ", ".join(quote_ident(t) for t in self.group_by)
        if self.latest:
            q += " ORDER BY time DESC LIMIT 1"
        return q

    def _inner_columns(self) -> str:
        """What the subquery of a field condition keeps: the fields read or aggregated and those
        the condition names (all fields when the statement reads them all)."""
        if not self.fields and not self.aggregates:
            return "*"
        named = [*self.fields, *(a.field for a in self.aggregates), *((self.positive,) if self.positive else ()),
                 *(c.field for c in self.any_of)]
        return ", ".join(quote_ident(f) for f in dict.fromkeys(named))


def enterprise_condition(enterprises: Sequence[str]) -> str:
    """``"enterprise" = 'x'`` for one id, an anchored regex for several (ids are ``[A-Za-z0-9_.-]``)."""
    tag = quote_ident(Tag.ENTERPRISE)
    if len(enterprises) == 1:
        return f"{tag} = {quote_string(enterprises[0])}"
    alternatives = "|".join(re.escape(e) for e in sorted(enterprises))
    return f"{tag} =~ /^(?:{alternatives})$/"


@dataclass(frozen=True, slots=True)
class Series:
    """One result series: its tags and rows (column name -> value, ``time`` in UTC ms)."""

    tags: Mapping[str, str]
    rows: tuple[Row, ...]


def decode(result: Mapping[str, Any]) -> list[Series]:
    """The series of one statement's result (``results[i]`` of an ``epoch=ms`` answer)."""
    out: list[Series] = []
    for s in result.get("series", []) or []:
        cols = s["columns"]
        rows = tuple(dict(zip(cols, values, strict=True)) for values in s.get("values", []) or [])
        out.append(Series(tags=dict(s.get("tags") or {}), rows=rows))
    return out


class CountingClient:
    """Wraps a :class:`~seamline.storage.query_client.QueryClient`, sends a batch of statements in
    one request and counts them. Raises :class:`~seamline.storage.query_errors.QueryError`."""

    def __init__(self, client: QueryClient, *, database: str) -> None:
        self._client = client
        self._database = database
        self.statements = 0
        self.requests = 0

    def run(self, selects: Sequence[Select]) -> list[list[Series]]:
        """Decoded series per select, in order (one HTTP request for the whole batch)."""
        if not selects:
            return []
        try:
            results = self._client.query(";\n".join(s.render() for s in selects), db=self._database)
        except QueryRefusedError as exc:
            raise self._explain(selects, exc) from exc
        self.requests += 1
        self.statements += len(selects)
        if len(results) != len(selects):
            raise QueryError(f"{len(selects)} statements sent but {len(results)} results returned")
        by_id = sorted(results, key=lambda r: int(r.get("statement_id", 0)))
        return [decode(r) for r in by_id]

    def _explain(self, selects: Sequence[Select], exc: QueryRefusedError) -> QueryRefusedError:
        """InfluxDB 1.x answers "not executed" for every statement of a batch when one fails to
        prepare: run them one by one (bounded by the batch) to name the culprit."""
        for sel in selects:
            try:
                self._client.query(sel.render(), db=self._database)
            except QueryRefusedError as single:
                return QueryRefusedError(f"database {self._database!r}: {single} (is the retention policy "
                                         f"{sel.rp!r} created? see `seamline db init`)", status=single.status)
        return QueryRefusedError(f"database {self._database!r}: {exc}", status=exc.status)
