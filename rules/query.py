"""InfluxQL statements the rules engine runs, as values: build, render, and decode their results.

Every read is InfluxQL (``/query``, ``epoch=ms``), so the same statements run on InfluxDB 1.x, on
2.x through a DBRP mapping and on 3.x. One :class:`Select` covers all assets of a batch of
enterprises for one measurement (``GROUP BY`` the identity tags), so the number of statements per
window does not grow with the number of assets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from seamline.ingest.db_init import DbInitError, quote_ident

Row = Mapping[str, Any]


class QueryClient(Protocol):
    """What :class:`ingest.db_init.InfluxQLClient` offers: run statements, return ``results``."""

    def query(self, q: str, *, db: str | None = None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldEquals:
    """``field = 'value'`` (string fields only); several in one Select are OR-ed."""

    field: str
    value: str

    def render(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace("'", "\\'")
        return f"{quote_ident(self.field)} = '{escaped}'"


@dataclass(frozen=True, slots=True, kw_only=True)
class Select:
    """``SELECT fields FROM rp.measurement WHERE enterprise in (...) AND time in [start, end)``.

    ``positive`` keeps rows whose numeric field is > 0 (e.g. aggregates: ``period_s``);
    ``any_of`` keeps rows matching one of the string conditions; ``latest`` returns only the
    newest row per series (``ORDER BY time DESC LIMIT 1``)."""

    measurement: str
    fields: tuple[str, ...]
    rp: str
    enterprises: tuple[str, ...]
    group_by: tuple[str, ...]
    start_ms: int | None
    end_ms: int
    positive: str | None = None
    any_of: tuple[FieldEquals, ...] = ()
    latest: bool = False

    def __post_init__(self) -> None:
        if not self.enterprises:
            raise ValueError("a Select needs at least one enterprise")
        if self.start_ms is not None and self.start_ms >= self.end_ms:
            raise ValueError(f"empty time range [{self.start_ms}, {self.end_ms}) ms")

    def render(self) -> str:
        cols = ", ".join(quote_ident(f) for f in self.fields) if self.fields else "*"
        where = [enterprise_condition(self.enterprises)]
        if self.start_ms is not None:
            where.append(f"time >= {self.start_ms}ms")
        where.append(f"time < {self.end_ms}ms")
        if self.positive:
            where.append(f"{quote_ident(self.positive)} > 0")
        if self.any_of:
            where.append("(" + " OR ".join(c.render() for c in self.any_of) + ")")
        q = f"SELECT {cols} FROM {quote_ident(self.rp)}.{quote_ident(self.measurement)} WHERE {' AND '.join(where)}"
        q += " GROUP BY " + ", ".join(quote_ident(t) for t in self.group_by)
        if self.latest:
            q += " ORDER BY time DESC LIMIT 1"
        return q


def enterprise_condition(enterprises: Sequence[str]) -> str:
    """``"enterprise" = 'x'`` for one id, an anchored regex for several (ids are ``[A-Za-z0-9_.-]``)."""
    if len(enterprises) == 1:
        return f"\"enterprise\" = '{enterprises[0]}'"
    alternatives = "|".join(re.escape(e) for e in sorted(enterprises))
    return f'"enterprise" =~ /^(?:{alternatives})$/'


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


class QueryError(Exception):
    """A statement failed; the message names it and the server's reason."""


class CountingClient:
    """Wraps a :class:`QueryClient`, sends a batch of statements in one request and counts them."""

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
        except DbInitError as exc:
            raise self._explain(selects, exc) from exc
        self.requests += 1
        self.statements += len(selects)
        if len(results) != len(selects):
            raise ValueError(f"{len(selects)} statements sent but {len(results)} results returned")
        by_id = sorted(results, key=lambda r: int(r.get("statement_id", 0)))
        return [decode(r) for r in by_id]

    def _explain(self, selects: Sequence[Select], exc: DbInitError) -> QueryError:
        """InfluxDB 1.x answers "not executed" for every statement of a batch when one fails to
        prepare: run them one by one (bounded by the batch) to name the culprit."""
        for sel in selects:
            try:
                self._client.query(sel.render(), db=self._database)
            except DbInitError as single:
                return QueryError(f"database {self._database!r}: {single} (is the retention policy {sel.rp!r} "
                                  "created? see `seamline db init`)")
        return QueryError(f"database {self._database!r}: {exc}")
