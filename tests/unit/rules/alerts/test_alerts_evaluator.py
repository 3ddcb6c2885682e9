"""The evaluator's contract beyond single rules: a restart resumes from the store (same startsAt,
the resolve still posted), only owned enterprises are evaluated and a lost one is forgotten, a
failed fence stores and posts nothing, no data keeps a firing alert firing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from seamline.notify.alert_ledger import AlertLedger
from seamline.rules.alerts.evaluator import AlertEvaluator
from seamline.rules.alerts.queries import Facts, Query
from seamline.rules.alerts.store import AlertStore
from seamline.rules.kpi_points import FencingError, NoFence
from seamline.rules.lease import NoLease
from seamline.rules.master_data import load_master_data
from seamline.rules.ownership import NotOwned, WholeLease
from seamline.storage.query import Series
from tests.support.alert_scenarios import LINE, MACHINE, START, E, S, ms, rule, topology

REPO = Path(__file__).resolve().parents[4]
MASTER = load_master_data(REPO / "rules" / "master_data.sample.yaml")
DOWN = rule("machine_down").model_copy(update={"keep_firing_for_s": 0.0})  # resolve at once


class MachineSource:
    """m001 down from ``down_at`` until ``up_at`` (if set); ``gap``: no machine rows at all."""

    def __init__(self, down_at: datetime, up_at: datetime | None = None) -> None:
        self.down_at, self.up_at, self.gap = down_at, up_at, False
        self.asked: list[Sequence[str]] = []

    def read(self, queries: Sequence[Query], enterprises: Sequence[str], as_of: datetime, *,
             platform: bool) -> Facts:
        self.asked.append(list(enterprises))
        rows = [{"time": ms(self.down_at), "state": "down", "reason": "breakdown.motor"}]
        if self.up_at is not None:
            rows.append({"time": ms(self.up_at), "state": "running", "reason": "none"})
        rows = [r for r in rows if int(r["time"]) <= ms(as_of)]  # type: ignore[call-overload]
        facts: dict[Query, list[Series]] = dict(topology(as_of))
        q = next(q for q in queries if q.measurement == "machine_state")
        tags = {"enterprise": E, "site": S, "area": LINE, "asset": MACHINE}
        facts[q] = [] if self.gap else [Series(tags, (max(rows, key=lambda r: r["time"]),))]  # type: ignore[arg-type, return-value]
        return facts


class Owner:
    def __init__(self) -> None:
        self.mine = {"f001", "f002"}
        self.fence_fails = False

    def parts(self, master: object) -> list[object]:
        return []

    def owns(self, enterprise_id: str) -> bool:
        return enterprise_id in self.mine

    def fence_for(self, enterprise_id: str) -> NoFence | NotOwned:
        return NotOwned(enterprise_id) if self.fence_fails or enterprise_id not in self.mine else NoFence()


def evaluator(tmp_path: Path, source: MachineSource, owner: object | None = None) -> AlertEvaluator:
    return AlertEvaluator(rules=[DOWN], source=source, owner=owner or WholeLease(NoLease()),  # type: ignore[arg-type]
                          master=MASTER, ledger=AlertLedger(), store=AlertStore(tmp_path / "s.sqlite3"),
                          evaluation_delay_s=60)


def test_restart_resumes_with_the_same_starts_at_and_posts_the_resolve(tmp_path: Path) -> None:
    src = MachineSource(START - timedelta(minutes=15))
    first = evaluator(tmp_path, src)
    assert len(first.evaluate(START).fired) == 1
    starts = first.ledger.batch(START)[0].starts_at
    # "restart": a new evaluator on the same store; the machine was repaired meanwhile
    src.up_at = START + timedelta(seconds=30)
    second = evaluator(tmp_path, src)
    report = second.evaluate(START + timedelta(minutes=3))
    assert report.fired == [] and len(report.resolved) == 1
    (posted,) = second.ledger.batch(START + timedelta(minutes=3))
    assert posted.starts_at == starts and posted.ends_at == START + timedelta(minutes=3)


def test_restart_without_change_fires_nothing_new(tmp_path: Path) -> None:
    src = MachineSource(START - timedelta(minutes=15))
    evaluator(tmp_path, src).evaluate(START)
    second = evaluator(tmp_path, src)
    assert second.evaluate(START + timedelta(seconds=30)).fired == []
    assert second.ledger.firing(START + timedelta(seconds=30)) == 1


def test_evaluation_delay_hides_the_newest_data(tmp_path: Path) -> None:
    src = MachineSource(START - timedelta(minutes=15), up_at=START - timedelta(seconds=30))
    ev = evaluator(tmp_path, src)
    assert len(ev.evaluate(START).fired) == 1  # as_of = START - 60 s: the repair is not seen yet
    said = ev.ledger.batch(START)[0].annotations
    assert len(ev.evaluate(START + timedelta(seconds=60)).resolved) == 1
    resolved = ev.ledger.batch(START + timedelta(seconds=60))[0]
    assert resolved.annotations == said and said.value == "14"  # what was wrong, not the 0 it is now


def test_no_data_keeps_firing(tmp_path: Path) -> None:
    src = MachineSource(START - timedelta(minutes=15))
    ev = evaluator(tmp_path, src)
    ev.evaluate(START)
    src.gap = True
    for i in range(1, 20):
        report = ev.evaluate(START + timedelta(seconds=30 * i))
        assert report.resolved == [] and report.firing == 1


def test_only_owned_enterprises_and_a_lost_one_is_forgotten(tmp_path: Path) -> None:
    src, owner = MachineSource(START - timedelta(minutes=15)), Owner()
    owner.mine = {"f002"}
    ev = evaluator(tmp_path, src, owner)
    assert ev.evaluate(START).fired == [] and src.asked[-1] == ["f002"]
    owner.mine = {"f001", "f002"}
    assert len(ev.evaluate(START + timedelta(seconds=30)).fired) == 1
    owner.mine = {"f002"}
    ev.evaluate(START + timedelta(seconds=60))
    assert ev.ledger.batch(START + timedelta(seconds=60)) == []  # the new owner posts it now


def test_failed_fence_stores_and_posts_nothing(tmp_path: Path) -> None:
    src, owner = MachineSource(START - timedelta(minutes=15)), Owner()
    owner.fence_fails = True
    ev = evaluator(tmp_path, src, owner)
    report = ev.evaluate(START)
    assert report.fired == [] and report.fenced == ["f001"]
    assert ev.ledger.batch(START) == [] and ev.store.load() == {}


def test_fencing_error_type() -> None:
    try:
        NotOwned("f001").check()
    except FencingError as exc:
        assert "f001" in str(exc)
