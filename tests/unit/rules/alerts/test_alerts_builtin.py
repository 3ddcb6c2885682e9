"""Every built-in rule fires on the scenario built for it (tests/support/alert_scenarios.py) and
stays quiet on the same scenario with its data removed, and under its coverage floor; the
README table is the scenarios' table. Runs the real evaluator (SQLite store, notify's ledger)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from seamline.contracts.alerts import AlertLabels
from seamline.notify.alert_ledger import AlertLedger
from seamline.rules.alerts.builtin import BUILTIN_RULES
from seamline.rules.alerts.evaluator import AlertEvaluator
from seamline.rules.alerts.queries import Facts, Query
from seamline.rules.alerts.store import AlertStore
from seamline.rules.lease import NoLease
from seamline.rules.master_data import load_master_data
from seamline.rules.ownership import WholeLease
from tests.support.alert_scenarios import SCENARIOS, START, Scenario, facts_at, readme_table, rule

REPO = Path(__file__).resolve().parents[4]
MASTER = load_master_data(REPO / "rules" / "master_data.sample.yaml")


class ScenarioSource:
    def __init__(self, sc: Scenario, *, with_data: bool = True, coverage: float | None = None) -> None:
        self.sc, self.with_data, self.coverage = sc, with_data, coverage

    def read(self, queries: Sequence[Query], enterprises: Sequence[str], as_of: datetime, *,
             platform: bool) -> Facts:
        facts = facts_at(self.sc, as_of, with_data=self.with_data, coverage=self.coverage)
        return {q: facts.get(q, []) for q in queries}


def run(sc: Scenario, tmp_path: Path, **kw: object) -> tuple[list[AlertLabels], AlertLedger, AlertEvaluator]:
    ledger = AlertLedger()
    ev = AlertEvaluator(rules=[rule(sc.rule_id)], source=ScenarioSource(sc, **kw),  # type: ignore[arg-type]
                        owner=WholeLease(NoLease()), master=MASTER, ledger=ledger,
                        store=AlertStore(tmp_path / "state.sqlite3"), evaluation_delay_s=60)
    fired: list[AlertLabels] = []
    for i in range(sc.minutes * 2):
        fired += ev.evaluate(START + timedelta(seconds=30 * i)).fired
    return fired, ledger, ev


def test_every_builtin_rule_has_a_scenario() -> None:
    assert sorted(s.rule_id for s in SCENARIOS) == sorted(BUILTIN_RULES)


@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda s: s.rule_id)
def test_fires_on_its_scenario(sc: Scenario, tmp_path: Path) -> None:
    fired, ledger, _ = run(sc, tmp_path)
    assert len(fired) == 1, fired
    labels = fired[0]
    r = rule(sc.rule_id)
    assert labels.alertname == r.alertname and labels.severity == r.severity and labels.rule == r.id
    assert labels.gateway == sc.gateway_label
    posted = ledger.batch(START + timedelta(minutes=sc.minutes))
    assert len(posted) == 1 and posted[0].labels == labels
    ann = posted[0].annotations
    assert ann.value is not None and ann.threshold is not None and ann.summary_en and ann.runbook_url
    assert "{" not in ann.summary and "{" not in (ann.summary_en or "")


@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda s: s.rule_id)
def test_quiet_without_its_data(sc: Scenario, tmp_path: Path) -> None:
    fired, ledger, _ = run(sc, tmp_path, with_data=False)
    assert fired == [] and ledger.batch(START + timedelta(minutes=sc.minutes)) == []


@pytest.mark.parametrize("sc", [s for s in SCENARIOS if rule(s.rule_id).condition.coverage_floor > 0],
                         ids=lambda s: s.rule_id)
def test_quiet_under_its_coverage_floor(sc: Scenario, tmp_path: Path) -> None:
    floor = rule(sc.rule_id).condition.coverage_floor
    fired, _, _ = run(sc, tmp_path, coverage=floor - 0.05)
    assert fired == []


def test_readme_table_is_the_scenarios() -> None:
    readme = (REPO / "rules" / "alerts" / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme
