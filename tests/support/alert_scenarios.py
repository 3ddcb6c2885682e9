"""One scenario per built-in alert rule: the facts (InfluxDB rows as the evaluator's queries
return them) in which the rule must fire, as a function of the evaluation time ``as_of``.
``tests/unit/rules/alerts/test_alerts_builtin.py`` runs each through the real evaluator: it fires
on the scenario, and stays quiet on the same scenario with the rule's data removed (and, for rules
with a coverage floor, with the coverage under it). :func:`readme_table` is the table in
rules/alerts/README.md (a test keeps them equal)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from seamline.rules.alerts.builtin import WHY
from seamline.rules.alerts.conditions import KpiCondition
from seamline.rules.alerts.config import AlertRule, AlertsConfig, resolve_rules
from seamline.rules.alerts.queries import ASSET_GATEWAYS, GATEWAYS, Facts, Query, queries_for
from seamline.storage.query import Series

E, S, LINE, MACHINE, GW = "f001", "s1", "line01", "m001", "gw1"
# Monday 2026-05-04 10:00 in Shanghai: the day shift (08:00-17:30 local) is running.
START = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
SHIFT_START = datetime(2026, 5, 4, 0, 0, tzinfo=UTC)


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def last_closed_hour(as_of: datetime) -> datetime:
    return as_of.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def rule(rule_id: str) -> AlertRule:
    return next(r for r in resolve_rules(AlertsConfig()) if r.id == rule_id)


def topology(as_of: datetime, *, gateway: str = "online", since: datetime | None = None) -> Facts:
    since = since or as_of - timedelta(days=1)
    info = Series({"enterprise": E, "site": S, "area": LINE, "asset": MACHINE, "asset_kind": "sewing_machine"},
                  ({"time": ms(as_of - timedelta(days=2)), "gateway": GW},))
    status = Series({"enterprise": E, "site": S, "gateway": GW}, ({"time": ms(since), "state": gateway},))
    return {ASSET_GATEWAYS: [info], GATEWAYS: [status]}


def _own(rule_id: str, series: list[Series]) -> Facts:
    return {queries_for(rule(rule_id).condition)[0]: series}


def _rows(t0: datetime, t1: datetime, field: str, v0: float, v1: float, n: int = 5) -> tuple[dict[str, object], ...]:
    step = (t1 - t0) / (n - 1)
    return tuple({"time": ms(t0 + i * step), field: v0 + (v1 - v0) * i / (n - 1)} for i in range(n))


def _kpi(rule_id: str, tags: dict[str, str], at: datetime, value: float, coverage: float) -> Facts:
    cond = rule(rule_id).condition
    assert isinstance(cond, KpiCondition)
    field = cond.field
    row = {"time": ms(at), field: value, "coverage": coverage}
    if field == "coverage":
        row = {"time": ms(at), "coverage": value}
    return _own(rule_id, [Series(tags, (row,))])


LINE_TAGS = {"enterprise": E, "site": S, "line": LINE}
PV = {"enterprise": E, "site": S, "area": "roof", "asset": "inv01"}
WT = {"enterprise": E, "site": S, "area": "park", "asset": "wt01"}
BAT = {"enterprise": E, "site": S, "area": "ess", "asset": "bat01"}
GW_TELEMETRY = {"enterprise": E, "site": S, "area": "_gateway", "asset": GW}


def _gateway_metric(rule_id: str, field: str, v0: float, v1: float) -> Callable[[datetime, float], Facts]:
    return lambda a, c: _own(rule_id, [Series(GW_TELEMETRY, _rows(a - timedelta(minutes=12), a, field, v0, v1))])


def _ingest(rule_id: str, field: str, v1: float) -> Callable[[datetime, float], Facts]:
    return lambda a, c: _own(rule_id, [Series({"worker": "w1"}, _rows(a - timedelta(minutes=9), a, field, 0, v1))])


def _capacity(a: datetime, c: float) -> Facts:
    day = datetime(2026, 5, 3, 16, 0, tzinfo=UTC)  # local midnight 2026-05-04 in Shanghai
    rows = tuple({"time": ms(day + timedelta(days=i)), "available_std_min": av, "booked_std_min": bk,
                  "confidence": c} for i, (av, bk) in enumerate([(400, 380), (300, 500), (400, 0)]))
    return _own("order_at_risk", [Series(LINE_TAGS, rows)])


@dataclass(frozen=True, slots=True)
class Scenario:
    rule_id: str
    what: str  # what the scenario injects (README)
    facts: Callable[[datetime, float], Facts]  # (as_of, coverage) -> the rule's own rows
    coverage: float = 1.0  # the scenario's coverage; rules with a floor are also run under it
    minutes: int = 40  # evaluations run every 30 s for this long
    gateway: str = "online"
    gateway_label: str | None = None  # expected `gateway` label


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("machine_down", "m001 `down` (breakdown.needle) since 15 min",
             lambda a, c: _own("machine_down", [Series({"enterprise": E, "site": S, "area": LINE, "asset": MACHINE},
                                                       ({"time": ms(a - timedelta(minutes=15)), "state": "down",
                                                         "reason": "breakdown.needle"},))]),
             gateway_label=GW),
    Scenario("line_efficiency_low", "line01 shift-so-far efficiency 0.30, coverage 0.95",
             lambda a, c: _kpi("line_efficiency_low", {**LINE_TAGS, "window": "shift", "shift": "day"}, SHIFT_START,
                               0.30, c), coverage=0.95),
    Scenario("line_oee_low", "line01 shift-so-far OEE 0.15, coverage 0.95",
             lambda a, c: _kpi("line_oee_low", {**LINE_TAGS, "window": "shift", "shift": "day"}, SHIFT_START, 0.15, c),
             coverage=0.95),
    Scenario("gateway_offline", "gw1's Last Will (offline) 10 min ago", lambda a, c: {}, gateway="offline",
             gateway_label=GW),
    Scenario("asset_silent", "m001's last sample 20 min ago, gw1 online",
             lambda a, c: {q: [Series({"enterprise": E, "site": S, "area": LINE, "asset": MACHINE},
                                      ({"time": ms(a - timedelta(minutes=20)), "seq": 7},))]
                           for q in queries_for(rule("asset_silent").condition)[:1]}, gateway_label=GW),
    Scenario("kpi_coverage_low", "line01's last closed hour: coverage 0.5",
             lambda a, c: _kpi("kpi_coverage_low", {**LINE_TAGS, "window": "1h"}, last_closed_hour(a), 0.5, c),
             minutes=70),
    Scenario("gateway_spool_filling", "gw1's oldest spooled message 15 min old",
             _gateway_metric("gateway_spool_filling", "spool_oldest_age_s", 880, 900), gateway_label=GW),
    Scenario("gateway_spool_dropping", "gw1's spool dropped 50 messages in 12 min",
             _gateway_metric("gateway_spool_dropping", "dropped", 100, 150), gateway_label=GW),
    Scenario("ingest_quarantining", "worker w1 quarantined 40 messages in 9 min",
             _ingest("ingest_quarantining", "quarantined_invalid_payload", 40)),
    Scenario("ingest_write_failing", "worker w1 retried 20 writes in 9 min",
             _ingest("ingest_write_failing", "write_retries_total", 20)),
    Scenario("pv_performance_low", "inv01's last closed hour PR 0.50, coverage 0.95",
             lambda a, c: _kpi("pv_performance_low", {**PV, "window": "1h"}, last_closed_hour(a), 0.5, c),
             coverage=0.95, minutes=130, gateway_label=GW),
    Scenario("wind_unavailable", "wt01 available 0.10 of the last closed hour, coverage 0.95",
             lambda a, c: _kpi("wind_unavailable", {**WT, "window": "1h"}, last_closed_hour(a), 0.1, c),
             coverage=0.95, gateway_label=GW),
    Scenario("wind_under_power_curve", "wt01 produced 0.40 of its power curve last hour, coverage 0.95",
             lambda a, c: _kpi("wind_under_power_curve", {**WT, "window": "1h"}, last_closed_hour(a), 0.4, c),
             coverage=0.95, minutes=70, gateway_label=GW),
    Scenario("battery_soc_low", "bat01 SoC 5 %",
             lambda a, c: _own("battery_soc_low", [Series(BAT, _rows(a - timedelta(minutes=8), a, "soc_pct", 6, 5))]),
             gateway_label=GW),
    Scenario("battery_soc_high", "bat01 SoC 98 %",
             lambda a, c: _own("battery_soc_high",
                               [Series(BAT, _rows(a - timedelta(minutes=8), a, "soc_pct", 97, 98))]),
             gateway_label=GW),
    Scenario("order_at_risk", "line01 booked 380 + 500 std min, measured capacity 400 + 300: 180 short by "
             "tomorrow, confidence 0.9", _capacity, coverage=0.9),
)


def facts_at(sc: Scenario, as_of: datetime, *, with_data: bool = True, coverage: float | None = None) -> Facts:
    gw_since = as_of - timedelta(days=1) if sc.gateway == "online" else START - timedelta(minutes=10)
    out: dict[Query, list[Series]] = dict(topology(as_of, gateway=sc.gateway, since=gw_since))
    if sc.rule_id == "gateway_offline" and not with_data:
        out[GATEWAYS] = []
    if with_data:
        out.update(sc.facts(as_of, sc.coverage if coverage is None else coverage))
    return out


def readme_table() -> str:
    """The README table: rule, default threshold and why, the scenario it fires on; every row's
    claims are what test_alerts_builtin.py checks for that scenario."""
    lines = ["| rule | severity | default and why | test scenario (fires) | quiet without the data | "
             "quiet under the coverage floor |", "|---|---|---|---|---|---|"]
    for sc in SCENARIOS:
        r = rule(sc.rule_id)
        floor = r.condition.coverage_floor
        cov = f"yes (floor {floor:g})" if floor > 0 else "n/a"
        lines.append(f"| `{r.id}` | {r.severity.value} | {WHY[r.id]} | {sc.what} | yes | {cov} |")
    return "\n".join(lines) + "\n"
