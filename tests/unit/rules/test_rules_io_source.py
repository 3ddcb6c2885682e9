"""InfluxQL window queries and row -> input conversion, against a faithful in-memory fake that
evaluates the statements ``storage.query.Select`` renders (filters, GROUP BY, LIMIT 1 DESC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seamline.contracts.messages import MachineState, Quality
from seamline.rules.source import AssetKey, InfluxSource, offline_for
from seamline.rules.spans import Span
from seamline.rules.windows import Window
from seamline.storage.query import CountingClient, Select
from seamline.storage.query_errors import QueryError
from seamline.storage.schema import MACHINE_STATE, Field, Tag

_STMT = re.compile(
    r'SELECT (?P<cols>.+?) FROM "(?P<rp>[^"]+)"\."(?P<m>[^"]+)" WHERE (?P<where>.+?) GROUP BY (?P<gb>.+?)'
    r"(?P<latest> ORDER BY time DESC LIMIT 1)?$"
)


class FakeInfluxQL:
    """Stores points per (rp, measurement); answers the SELECT subset the rules engine emits."""

    def __init__(self) -> None:
        self.points: list[tuple[str, str, dict[str, str], dict[str, Any], int]] = []
        self.requests: list[str] = []

    def add(self, measurement: str, tags: dict[str, str], fields: dict[str, Any], ts_ms: int, rp: str = "raw") -> None:
        self.points.append((rp, measurement, tags, fields, ts_ms))

    def query(self, q: str, *, db: str | None = None) -> list[dict[str, Any]]:
        self.requests.append(q)
        return [self._one(i, s.strip()) for i, s in enumerate(q.split(";\n"))]

    def _one(self, sid: int, stmt: str) -> dict[str, Any]:
        m = _STMT.match(stmt)
        assert m, f"fake cannot parse {stmt!r}"
        cols = [c.strip().strip('"') for c in m["cols"].split(",")]
        group = [g.strip().strip('"') for g in m["gb"].split(",")]
        where = m["where"]
        series: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
        for rp, meas, tags, fields, ts in self.points:
            if rp != m["rp"] or meas != m["m"] or not _matches(where, tags, fields, ts):
                continue
            if all(fields.get(c) is None for c in cols):
                continue
            series.setdefault(tuple(tags.get(g, "") for g in group), []).append((ts, fields))
        out = []
        for key, rows in sorted(series.items()):
            rows.sort(key=lambda r: r[0], reverse=bool(m["latest"]))
            rows = rows[:1] if m["latest"] else rows
            out.append({"name": m["m"], "tags": dict(zip(group, key, strict=True)), "columns": ["time", *cols],
                        "values": [[ts, *(f.get(c) for c in cols)] for ts, f in rows]})
        return {"statement_id": sid, "series": out} if out else {"statement_id": sid}


def _matches(where: str, tags: dict[str, str], fields: dict[str, Any], ts: int) -> bool:
    if m := re.search(r"\"enterprise\" = '([^']+)'", where):
        ok = tags.get("enterprise") == m[1]
    else:
        rx = re.search(r'"enterprise" =~ /(.+?)/', where)
        assert rx
        ok = re.fullmatch(rx[1].strip("^$"), tags.get("enterprise", "")) is not None
    if (lo := re.search(r"time >= (-?\d+)ms", where)) and ts < int(lo[1]):
        return False
    if (hi := re.search(r"time < (-?\d+)ms", where)) and ts >= int(hi[1]):
        return False
    if (pos := re.search(r'"(\w+)" > 0', where)) and not (fields.get(pos[1]) or 0) > 0:
        return False
    alts = re.findall(r"\"(\w+)\" = '([^']*)'", where.split(" AND ", 1)[1] if " AND " in where else "")
    if alts and not any(fields.get(f) == v for f, v in alts):
        return False
    return ok


T0 = datetime(2026, 5, 6, 0, tzinfo=UTC)
WIN = Window(T0, T0 + timedelta(hours=1))
MS0 = int(T0.timestamp() * 1000)


def _machine(fake: FakeInfluxQL, ent: str, asset: str, minute: int, **fields: Any) -> None:
    base = {"run_s": 30.0, "idle_s": 30.0, "off_s": 0.0, "down_s": 0.0, "period_s": 60.0, "pieces": 1,
            "rejects": 0, "seq": minute, "quality": "good"}
    fake.add("sewing_machine", {"enterprise": ent, "site": "s1", "area": "l1", "asset": asset},
             {**base, **fields}, MS0 + minute * 60_000)


def test_statement_count_does_not_grow_with_assets() -> None:
    fake = FakeInfluxQL()
    for i in range(50):
        _machine(fake, "e1", f"m{i}", 1)
    src = InfluxSource(fake)
    data = src.fetch(["e1"], WIN, energy_kinds=["pv_inverter", "meter"])
    assert len(data.machines) == 50
    assert (src.statements, len(fake.requests)) == (8, 1)  # 6 fixed + 2 energy kinds


def test_selects_bound_time_and_enterprises() -> None:
    sel = InfluxSource(FakeInfluxQL()).selects(["b.x", "a-1"], WIN, ["battery"])
    text = sel[0].render()
    assert text.startswith('SELECT "run_s", "idle_s"')
    ahead = MS0 + 3_600_000 + 1_800_000  # aggregates and events: 30 min look-ahead for open idle periods
    assert f"time >= {MS0 - 60_000}ms AND time < {ahead}ms" in text
    assert '"enterprise" =~ /^(?:a\\-1|b\\.x)$/' in text
    assert '"period_s" > 0' in text
    events, before = sel[1].render(), sel[2].render()
    assert events.startswith('SELECT "state", "reason" FROM "raw"."machine_state"')
    assert f"time >= {MS0}ms AND time < {ahead}ms" in events and "ORDER BY" not in events
    assert f"time >= {MS0 - 259_200_000}ms AND time < {MS0}ms" in before
    assert before.endswith("ORDER BY time DESC LIMIT 1")
    assert sel[3].render().endswith("ORDER BY time DESC LIMIT 1") and "time >=" not in sel[3].render()
    assert sel[-1].measurement.name == "battery" and sel[-1].start_ms == MS0 - 120_000
    with pytest.raises(ValueError, match="at least one enterprise"):
        Select(measurement=MACHINE_STATE, fields=(), rp="raw", enterprises=(), group_by=(Tag.ASSET,), start_ms=0,
               end_ms=1)


def test_rows_become_typed_inputs_and_other_enterprises_are_not_read() -> None:
    fake = FakeInfluxQL()
    _machine(fake, "e1", "m1", 0, quality="historical", pieces=3)
    _machine(fake, "e1", "m1", 1)
    _machine(fake, "e2", "m9", 1)
    fake.add("sewing_machine", {"enterprise": "e1", "site": "s1", "area": "l1", "asset": "m1"},
             {"current_a": 1.0, "seq": 7, "quality": "good"}, MS0 + 5_000)  # a raw sample: not an aggregate
    tags = {"enterprise": "e1", "site": "s1", "area": "l1", "asset": "m1"}
    fake.add("machine_state", tags, {"state": "idle", "reason": "none"}, MS0 - 7_200_000)  # not the latest before
    fake.add("machine_state", tags, {"state": "down", "reason": "breakdown.needle"}, MS0 - 3_600_000)
    fake.add("machine_state", tags, {"state": "idle", "previous": "down", "reason": "repaired"}, MS0 + 60_000)
    fake.add("machine_state", tags, {"state": "running", "previous": "idle"}, MS0 + 90_000)
    fake.add("machine_state", tags, {"state": "idle", "previous": "running"}, MS0 + 3_900_000)  # look-ahead
    fake.add("machine_state", tags, {"state": "off", "previous": "idle"}, MS0 + 5_400_000)  # beyond it
    fake.add("asset_info", {**tags, "asset_kind": "sewing_machine"}, {"gateway": "gwA"}, MS0 - 10)
    data = InfluxSource(fake).fetch(["e1"], WIN, energy_kinds=[])
    m1 = data.machines[AssetKey("e1", "s1", "l1", "m1")]
    assert [(a.ts_s - T0.timestamp(), a.pieces, a.quality) for a in m1.aggregates] == [
        (0.0, 3, Quality.HISTORICAL), (60.0, 1, Quality.GOOD)]
    assert [(e.ts_s - T0.timestamp(), e.state, e.reason) for e in m1.state_events] == [
        (-3600.0, MachineState.DOWN, "breakdown.needle"), (60.0, MachineState.IDLE, "repaired"),
        (90.0, MachineState.RUNNING, "none"), (3900.0, MachineState.IDLE, "none")]
    assert set(data.machines) == {AssetKey("e1", "s1", "l1", "m1")}
    assert data.asset_gateway == {AssetKey("e1", "s1", "l1", "m1"): "gwA"}


def test_energy_samples_and_gateway_offline_spans() -> None:
    fake = FakeInfluxQL()
    inv = {"enterprise": "e1", "site": "s1", "area": "roof", "asset": "pv1"}
    for i, ts in enumerate(range(MS0 - 60_000, MS0 + 180_000, 60_000)):
        fake.add("pv_inverter", inv, {"ac_energy_wh": 1000.0 + i, "operating_state": 4, "seq": i,
                                      "quality": "stale" if i == 2 else "good"}, ts)
    gw = {"enterprise": "e1", "site": "s1", "gateway": "g1"}
    fake.add("gateway_status", gw, {"state": "offline"}, MS0 - 600_000)  # offline since before the window
    fake.add("gateway_status", gw, {"state": "online"}, MS0 + 120_000)
    fake.add("gateway_status", gw, {"state": "offline"}, MS0 + 1_800_000)
    data = InfluxSource(fake).fetch(["e1"], WIN, energy_kinds=["pv_inverter"])
    pv = data.energy[AssetKey("e1", "s1", "roof", "pv1")]
    assert [r.value for r in pv.readings("ac_energy_wh")] == [1000.0, 1001.0, 1002.0, 1003.0]
    assert pv.codes("operating_state") == [(T0.timestamp() - 60, 4), (T0.timestamp(), 4), (T0.timestamp() + 120, 4)]
    assert pv.observations()[0].seq == 0
    key = AssetKey("e1", "s1", "roof", "pv1")  # no birth info, but the site has one gateway
    spans = offline_for(data, key, until_s=WIN.end_s).spans
    t = T0.timestamp()
    assert spans == (Span(t - 600, t + 120), Span(t + 1800, WIN.end_s))


def test_result_count_mismatch_is_an_error() -> None:
    class Short:
        def query(self, q: str, *, db: str | None = None) -> list[dict[str, Any]]:
            return []

    sel = Select(measurement=MACHINE_STATE, fields=(Field.STATE,), rp="raw", enterprises=("e",),
                 group_by=(Tag.ASSET,), start_ms=0, end_ms=1)
    with pytest.raises(QueryError, match="1 statements sent but 0 results"):
        CountingClient(Short(), database="db").run([sel])
