"""The evaluator's InfluxDB reads: every rule's :class:`~seamline.rules.alerts.queries.Query`
rendered as InfluxQL (schema names only) and sent in one request per evaluation; the answer
decoded into :data:`~seamline.rules.alerts.queries.Facts`.

Queries of the enterprises' data are :class:`~seamline.storage.query.Select`s over the owned
enterprises; ingest's self-metrics carry no enterprise (tag ``worker``) and are read only by the
replica that owns the platform's alerts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from seamline.rules.alerts.queries import Facts, Query, is_platform
from seamline.storage.influxql import quote_ident
from seamline.storage.query import Select, Series, TagIn, decode
from seamline.storage.query_client import QueryClient
from seamline.storage.query_errors import QueryError
from seamline.storage.schema import INGEST_SELF, Retention, Tag, measurement


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


class InfluxFacts:
    def __init__(self, client: QueryClient, *, database: str, raw_rp: str, kpi_rp: str) -> None:
        self.client = client
        self.database = database
        self.rps = {Retention.RAW: raw_rp, Retention.KPI: kpi_rp}
        self.requests = 0
        self.statements = 0

    def statement(self, q: Query, enterprises: Sequence[str], as_of: datetime) -> str:
        start = _ms(as_of) - int(q.back_s * 1000)
        end = _ms(as_of) + int(q.ahead_s * 1000) + 1
        m = measurement(q.measurement)
        rp = self.rps[m.retention]
        if is_platform(q):
            cols = ", ".join(quote_ident(f) for f in q.fields) if q.fields else "*"
            text = (f"SELECT {cols} FROM {quote_ident(rp)}.{quote_ident(INGEST_SELF.name)} "
                    f"WHERE time >= {start}ms AND time < {end}ms GROUP BY {quote_ident(Tag.WORKER)}")
            return text + (" ORDER BY time DESC LIMIT 1" if q.latest else "")
        group = tuple(t for t in m.tags if t not in (Tag.WINDOW, Tag.SHIFT))
        tags_in = (TagIn(tag=Tag.WINDOW, values=(q.window,)),) if q.window is not None else ()
        return Select(measurement=m, fields=q.fields, rp=rp, enterprises=tuple(enterprises), group_by=group,
                      start_ms=start, end_ms=end, latest=q.latest, tags_in=tags_in).render()

    def read(self, queries: Sequence[Query], enterprises: Sequence[str], as_of: datetime, *,
             platform: bool) -> Facts:
        wanted = [q for q in queries if platform or not is_platform(q)]
        if not wanted:
            return {}
        text = ";\n".join(self.statement(q, enterprises, as_of) for q in wanted)
        results = self.client.query(text, db=self.database)
        self.requests += 1
        self.statements += len(wanted)
        if len(results) != len(wanted):
            raise QueryError(f"{len(wanted)} statements sent but {len(results)} results returned")
        by_id = sorted(results, key=lambda r: int(r.get("statement_id", 0)))
        out: dict[Query, list[Series]] = {}
        for q, r in zip(wanted, by_id, strict=True):
            out[q] = decode(r)
        return out
