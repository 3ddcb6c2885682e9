"""Every InfluxDB name ingest/ and rules/ use is defined in ``storage/schema.py``, and written there only.

Two checks, each shown to fail on a planted mistake:

* the source: in ingest/ and rules/ a string literal that spells a storage name (a measurement,
  tag, field, retention policy) is an error — names come from ``seamline.storage.schema`` —
  unless it is the argument of a schema lookup (``.field("x")``, ``.fields_of(...)``, ``.tag(...)``,
  which raise for an undefined name) or listed below with its reason; an InfluxQL string must
  name only measurements, tags and fields the schema defines;
* what runs: the statements the rules engine sends (every window statement for every energy
  kind, the capacity feed's read), the lines ingest writes for every message kind and asset
  kind, and the KPI points of a computed window name only what the schema defines.

The pure KPI modules (``rules/kpi/``, ``rules/machine_kpi.py``) are not scanned: their value
names reach storage only through ``rules.kpi_points.make_point``, which checks them. Nor is
``rules/coordination/``: its SQL goes to PostgreSQL, not InfluxDB.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from seamline.contracts.assets import AssetKind, metric_specs
from seamline.contracts.examples import examples
from seamline.contracts.messages import MachineState, Quality
from seamline.contracts.topic import Topic
from seamline.ingest.points import message_lines
from seamline.ingest.validate import Accepted, TimeWindow, validate
from seamline.rules.capacity_feed import read_daily_efficiency
from seamline.rules.engine import compute_window
from seamline.rules.kpi.sewing import Aggregate
from seamline.rules.kpi.state_time import StateEvent
from seamline.rules.master_data import parse_master_data
from seamline.rules.source import AssetKey, EnergySeries, InfluxSource, MachineSeries, PolledSample, WindowData
from seamline.rules.windows import Window
from seamline.storage.query import CountingClient
from seamline.storage.schema import ALL_MEASUREMENTS, FIELDS, INGEST_SELF, TAGS, TIME, Retention, measurement

REPO = Path(__file__).resolve().parents[3]
SCANNED = ("ingest", "rules")
# rules/coordination/ talks SQL to PostgreSQL (leases, the window ledger), never to InfluxDB
NOT_SCANNED = ("rules/kpi/", "rules/machine_kpi.py", "rules/coordination/")
LOOKUPS = {"field", "fields_of", "tag"}

# (file, literal): why the literal is not a storage name there.
ALLOWED = {
    ("ingest/config.py", "state"): "MQTT message kind (topic level), not a field",
    ("ingest/config.py", "status"): "MQTT message kind (topic level), not a field",
    ("ingest/cli.py", "reason"): "key of `quarantine list --json` output",
    ("ingest/metrics.py", "reason"): "Prometheus label name",
    ("ingest/validate.py", "asset_kind"): "JSON payload key",
    ("rules/cli.py", "window"): "key of `rules once --json` output",
    ("rules/cli.py", "shift"): "key of `rules once --json` output",
    ("rules/cli.py", "status"): "the `rules status` subcommand",
    ("rules/jobs.py", "shift"): "window kind name (the 5m/1h/shift/1d jobs)",
    ("rules/master_data.py", "shift"): "master data: window kind name",
    ("rules/alerts/conditions.py", "shift"): "alert condition: KPI window kind",
    ("rules/alerts/conditions.py", "kpi"): "alert condition kind (a KPI measurement's field)",
    ("rules/alerts/conditions.py", "gateway"): "alert condition: state_duration subject",
    ("rules/alerts/lifecycle.py", "firing"): "alert lifecycle phase (Alertmanager's word)",
    ("rules/alerts/templates.py", "coverage"): "annotation template name",
}
# Modules whose SELECT ... FROM is SQL for SQLite, not InfluxQL.
SQLITE = {"ingest/quarantine.py", "rules/alerts/store.py"}

NAMES_ANYWHERE = frozenset(
    {*(m.name for m in ALL_MEASUREMENTS.values() if m.name not in {k.value for k in AssetKind})}
    | set(TAGS) | set(FIELDS) | {r.value for r in Retention} | {TIME}
    | {f for k in AssetKind for f in metric_specs(k)} | INGEST_SELF.fields
)
KNOWN_COLUMNS = frozenset(
    {TIME, *TAGS} | {f for m in ALL_MEASUREMENTS.values() for f in m.fields}
)

_INFLUXQL = re.compile(r"\b(SELECT|SHOW|DELETE|DROP)\b.*\b(FROM|ON|MEASUREMENT)\b", re.IGNORECASE | re.DOTALL)
_FROM = re.compile(r'\bFROM\s+(?:("(?:[^"\\]|\\.)+"|\w+)\.)?("(?:[^"\\]|\\.)+"|\w+|/[^/]*/)', re.IGNORECASE)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)+)"')
_CLAUSE = re.compile(r"\bSELECT\s+(.*?)\s+FROM\b|\bGROUP BY\s+(.*?)(?:\s+ORDER\b|\s+LIMIT\b|\s*$)",
                     re.IGNORECASE | re.DOTALL)
_BARE = re.compile(r"(?<![\w\"'.])([a-z_][a-z0-9_]*)(?![\w\"(])")
_FUNCTIONS = {"count", "sum", "mean", "max", "min", "last", "first", "distinct", "as", "time", "desc", "asc"}


def influxql_problems(text: str) -> list[str]:
    """Names in an InfluxQL statement that the schema does not define (measurement, tag, field)."""
    problems = []
    for m in _FROM.finditer(text):
        name = m.group(2).strip('"')
        if not name.startswith("/") and name not in ALL_MEASUREMENTS:
            problems.append(f"measurement {name!r}")
    sources = {m.group(2).strip('"') for m in _FROM.finditer(text)} | {
        m.group(1).strip('"') for m in _FROM.finditer(text) if m.group(1)}
    columns = {q for q in _QUOTED.findall(text) if q not in sources}
    for clause in _CLAUSE.finditer(text):
        body = clause.group(1) or clause.group(2) or ""
        columns |= {b for b in _BARE.findall(body) if b.lower() not in _FUNCTIONS}
    problems += [f"tag or field {c!r}" for c in sorted(columns) if c not in KNOWN_COLUMNS]
    return problems


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    text: str


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _lookup_args(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOOKUPS:
            out |= {id(a) for a in node.args}
    return out


def scan_source(path: str, source: str) -> list[Finding]:
    """Storage names spelled as literals, and InfluxQL naming what the schema lacks, in one module."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | _lookup_args(tree)
    found: list[Finding] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            if _INFLUXQL.search(text) and path not in SQLITE:
                found += [Finding(path, node.lineno, f"InfluxQL names {p}") for p in influxql_problems(text)]
            skip |= {id(v) for v in node.values}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
            continue
        if _INFLUXQL.search(node.value) and path not in SQLITE:
            found += [Finding(path, node.lineno, f"InfluxQL names {p}") for p in influxql_problems(node.value)]
        elif node.value in NAMES_ANYWHERE and (path, node.value) not in ALLOWED:
            found.append(Finding(path, node.lineno, f"storage name {node.value!r} as a literal: use the schema"))
    return found


def _modules() -> Iterator[Path]:
    for root in SCANNED:
        for p in sorted((REPO / root).rglob("*.py")):
            rel = p.relative_to(REPO).as_posix()
            if not rel.startswith(NOT_SCANNED):
                yield p


def test_ingest_and_rules_spell_no_storage_name() -> None:
    findings = [f for p in _modules() for f in scan_source(p.relative_to(REPO).as_posix(), p.read_text())]
    assert findings == [], "\n".join(f"{f.path}:{f.line}: {f.text}" for f in findings)


def test_every_allowed_literal_is_still_there() -> None:
    """An allow-list entry whose literal is gone must go too (it would hide a future mistake)."""
    for path, literal in ALLOWED:
        tree = ast.parse((REPO / path).read_text())
        assert any(isinstance(n, ast.Constant) and n.value == literal for n in ast.walk(tree)), (path, literal)


PLANTED = '''
"""A docstring may say machine_state and kpi_line."""
from seamline.storage.schema import KPI_LINE, telemetry
OK = KPI_LINE.fields_of("oee", "coverage")
BAD_MEASUREMENT = "kpi_line"
BAD_TAG = {"enterprise": "e1"}
BAD_FIELD = row.get("period_s")
Q1 = 'SELECT "oee" FROM "kpi"."kpi_lines" WHERE time > 0'
Q2 = f'SELECT "line_eficiency", coverage FROM "{rp}"."kpi_line" GROUP BY "enterprise", "linee"'
Q3 = 'SELECT "oee" FROM "kpi"."kpi_line" GROUP BY "enterprise"'
'''


def test_the_scan_finds_planted_mistakes() -> None:
    found = {(f.line, f.text) for f in scan_source("rules/planted.py", PLANTED)}
    assert found == {
        (5, "storage name 'kpi_line' as a literal: use the schema"),
        (6, "storage name 'enterprise' as a literal: use the schema"),
        (7, "storage name 'period_s' as a literal: use the schema"),
        (8, "InfluxQL names measurement 'kpi_lines'"),
        (9, "InfluxQL names tag or field 'line_eficiency'"),
        (9, "InfluxQL names tag or field 'linee'"),
    }


# ---------------------------------------------------------------------------- what runs
TZ = ZoneInfo("Asia/Shanghai")
T8 = datetime(2026, 5, 6, 8, tzinfo=TZ)
WIN = Window(T8, T8 + timedelta(hours=1))
KINDS = ("pv_inverter", "battery", "meter", "met_station", "wind_turbine")


class RecordingClient:
    """A QueryClient that answers every statement with no rows and keeps what it was sent."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def query(self, q: str, *, db: str | None = None) -> list[dict[str, Any]]:
        stmts = q.split(";\n")
        self.statements += stmts
        return [{"statement_id": i} for i in range(len(stmts))]


def _master() -> Any:
    shift = {"name": "day", "start": "08:00", "end": "17:00", "days": ["wed"]}
    assets = [{"id": "pv1", "kind": "pv_inverter", "area": "roof", "rated_power_kw": 50, "kwp": 60},
              {"id": "met1", "kind": "met_station", "area": "roof"},
              {"id": "bat1", "kind": "battery", "area": "roof", "capacity_kwh": 100},
              {"id": "wt1", "kind": "wind_turbine", "area": "hill", "rated_power_kw": 2000,
               "power_curve": [{"wind_speed_m_s": v, "power_kw": kw} for v, kw in ((3, 0), (12, 2000), (25, 2000))]},
              {"id": "meter1", "kind": "meter", "area": "main"}]
    return parse_master_data({
        "calendars": [{"id": "c", "shifts": [shift]}], "styles": [{"id": "st", "category": "x", "sam_min": 1.0}],
        "enterprises": [{"id": "e0", "name": "E", "calendar": "c", "sites": [{"id": "s1", "lines": [
            {"id": "l1", "operators": 2, "categories": ["x"], "machines": ["m0", "m1"], "style": "st"}],
            "energy_assets": assets}]}]})


def test_every_statement_the_rules_engine_sends_names_only_schema_names() -> None:
    client = RecordingClient()
    InfluxSource(client).fetch(["e0", "e1"], WIN, energy_kinds=KINDS)
    read_daily_efficiency(CountingClient(client, database="db"), _master(), rp="kpi",
                          now=datetime(2026, 5, 7, tzinfo=UTC), days=7)
    assert len(client.statements) == 6 + len(KINDS) + 1
    problems = {s: influxql_problems(s) for s in client.statements}
    assert all(not p for p in problems.values()), problems


def _line_names(line: str) -> tuple[str, list[str], list[str]]:
    """(measurement, tag keys, field keys) of one line of line protocol as ingest writes it."""
    head, fields_ts = re.split(r"(?<!\\) ", line, maxsplit=1)
    fields_text = fields_ts.rsplit(" ", 1)[0]
    name, *tags = re.split(r"(?<!\\),", head)
    pairs = re.findall(r'(?:^|,)((?:[^=,\\]|\\.)+)=(?:"(?:[^"\\]|\\.)*"|[^,]*)', fields_text)
    return name, [t.split("=", 1)[0] for t in tags], pairs


def _data_payload(kind: AssetKind) -> bytes:
    metrics = {n: (1 if s.type == "int" else 1.5) for n, s in metric_specs(kind).items()}
    if kind is AssetKind.BATTERY:
        metrics["soc_pct"] = 50.0
    sample = {"ts_ms": 1_764_291_600_000, "seq": 3, "quality": "good", "metrics": metrics}
    return json.dumps({"schema_version": 1, "asset_kind": kind.value, "samples": [sample]}).encode()


def _ingest_lines() -> list[str]:
    window = TimeWindow(max_past_ms=10**13, max_future_ms=10**13)
    lines: list[str] = []
    for topic, model in examples():
        result = validate(str(topic), model.model_dump_json().encode(), now_ms=1_764_291_600_000, window=window,
                          max_payload_bytes=1 << 20)
        if isinstance(result, Accepted):
            lines += message_lines(result.topic, result.message, received_ms=1_764_291_600_000, gaps=None)
    for kind in AssetKind:
        area = "_gateway" if kind is AssetKind.GATEWAY else "a1"
        topic = str(Topic(enterprise="e", site="s", area=area, asset="x1", kind="data"))  # type: ignore[arg-type]
        result = validate(topic, _data_payload(kind), now_ms=1_764_291_600_000, window=window,
                          max_payload_bytes=1 << 20)
        assert isinstance(result, Accepted), result
        lines += message_lines(result.topic, result.message, received_ms=1_764_291_600_000, gaps=None)
    return lines


def test_every_line_ingest_writes_names_only_schema_names() -> None:
    lines = _ingest_lines()
    seen = set()
    for line in lines:
        name, tags, fields = _line_names(line)
        measurement(name).check(tags=tags, fields=fields)
        seen.add(name)
    assert seen >= {k.value for k in AssetKind} | {"machine_state", "gateway_status", "gateway_birth", "asset_info"}
    assert INGEST_SELF.name not in seen  # self-metrics: see test_storage_schema.py


def test_the_line_parser_reads_what_ingest_writes() -> None:
    name, tags, fields = _line_names('machine_state,area=l\\ 1,asset=m1 state="idle",reason="a b",seq=3i 17')
    assert (name, tags, fields) == ("machine_state", ["area", "asset"], ["state", "reason", "seq"])


def _window_data() -> WindowData:
    t0 = WIN.start_s
    aggs = tuple(Aggregate(ts_s=t0 + 60 * k, period_s=60.0, run_s=40.0, idle_s=20.0, pieces=1) for k in range(60))
    events = (StateEvent(t0 + 600, MachineState.DOWN, "breakdown.needle"), StateEvent(t0 + 900, MachineState.IDLE))
    machines = {AssetKey("e0", "s1", "l1", m): MachineSeries(AssetKey("e0", "s1", "l1", m), aggs, events)
                for m in ("m0", "m1")}

    def polled(name_values: dict[str, float], step: float) -> tuple[PolledSample, ...]:
        return tuple(PolledSample(t0 + 30 * i, i, Quality.GOOD, {k: v + step * i for k, v in name_values.items()})
                     for i in range(121))

    def energy(asset: str, area: str, kind: str, values: dict[str, float], step: float) -> EnergySeries:
        return EnergySeries(AssetKey("e0", "s1", area, asset), kind, polled(values, step))

    series = [energy("pv1", "roof", "pv_inverter", {"ac_energy_wh": 1000.0, "operating_state": 4.0}, 100.0),
              energy("met1", "roof", "met_station", {"poa_irradiance_w_m2": 600.0}, 0.0),
              energy("bat1", "roof", "battery", {"charge_energy_wh": 0.0, "discharge_energy_wh": 0.0,
                                                 "soc_pct": 50.0, "power_w": 0.0}, 10.0),
              energy("wt1", "hill", "wind_turbine", {"energy_wh": 0.0, "status": 1.0, "wind_speed_m_s": 8.0}, 1000.0),
              energy("meter1", "main", "meter", {"import_energy_wh": 0.0, "export_energy_wh": 0.0}, 150.0)]
    return WindowData(window=WIN, machines=machines, energy={s.key: s for s in series})


class _Source:
    statements = 0

    def fetch(self, enterprises: Sequence[str], window: Window, *, energy_kinds: Any) -> WindowData:
        return _window_data()


def test_every_kpi_point_names_only_schema_names() -> None:
    report = compute_window(_Source(), _master(), WIN, label="1h")
    for p in report.points:
        m = measurement(p.measurement)
        assert m.retention is Retention.KPI
        m.check(tags=[k for k, _ in p.tags], fields=[k for k, _ in p.fields])
    assert {p.measurement for p in report.points} == {
        "kpi_machine", "kpi_downtime", "kpi_line", "kpi_pv", "kpi_battery", "kpi_wind", "kpi_factory_energy"}


@pytest.mark.parametrize("bad", ['SELECT "x" FROM "raw"."machine_state"', 'SELECT * FROM "raw"."machine_stat"'])
def test_the_statement_check_can_fail(bad: str) -> None:
    assert influxql_problems(bad)
