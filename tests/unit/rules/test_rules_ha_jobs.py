"""The jobs over owned parts (each under its own fence and ledger key), the ledger job's gap
detection and catch-up, with in-memory fakes that keep the real ledger's promises."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from seamline.rules.catchup import (
    Catchup,
    CatchupSettings,
    backfill_keys,
    due_windows,
    gap_keys,
    missing_windows,
    task_for,
)
from seamline.rules.coordination.window_ledger import Recorded
from seamline.rules.jobs import RulesService
from seamline.rules.kpi_points import Fence, FencingError, KpiPoint, KpiPointWriter
from seamline.rules.lease import NoLease, shard_of
from seamline.rules.ledger import WindowKey, digest
from seamline.rules.master_data import MasterData, parse_master_data
from seamline.rules.ownership import NotOwned, Part
from seamline.rules.source import WindowData
from seamline.rules.windows import Window, WindowSize, aligned_windows

SH, LON = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/London")


def master(n: int = 6) -> MasterData:
    shift = {"name": "day", "start": "08:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
    ents = [{"id": f"e{i}", "name": f"E{i}", "calendar": "c", "timezone": "Europe/London" if i % 3 == 2 else
             "Asia/Shanghai", "sites": [{"id": "s1", "lines": [
                 {"id": "l1", "operators": 2, "categories": ["x"], "machine_count": 2}]}]} for i in range(n)]
    return parse_master_data({"kpi": {"windows": ["5m", "1h", "shift"], "recompute_windows": 1},
                              "calendars": [{"id": "c", "shifts": [shift]}], "enterprises": ents})


class FakeSource:
    statements = 0

    def fetch(self, enterprises: Sequence[str], window: Window, *, energy_kinds: Iterable[str]) -> WindowData:
        return WindowData(window)


class Recording:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, lines: Sequence[str]) -> None:
        self.lines += lines

    def close(self) -> None:
        return None


class Switch:
    """A fence an operator (the test) can fail."""

    def __init__(self) -> None:
        self.ok = True

    def check(self) -> None:
        if not self.ok:
            raise FencingError("lost")


@dataclass
class FakeOwnership:
    """Parts by shard (shard_of over ``count``) for the shards in ``held`` (shard -> token)."""

    held: dict[int, int]
    count: int = 2
    fences: dict[int, Switch] = field(default_factory=dict)

    def key(self, shard: int) -> str:
        return f"rules/shard/{shard}of{self.count}"

    def parts(self, m: MasterData) -> list[Part]:
        out = []
        for k, token in sorted(self.held.items()):
            ents = [e for e in m.enterprises if shard_of(e.id, self.count) == k]
            if ents:
                fence = self.fences.setdefault(k, Switch())
                out.append(Part(self.key(k), token, m.model_copy(update={"enterprises": ents}), fence))
        return out

    def owns(self, enterprise_id: str) -> bool:
        return shard_of(enterprise_id, self.count) in self.held

    def fence_for(self, enterprise_id: str) -> Fence:
        k = shard_of(enterprise_id, self.count)
        return self.fences.setdefault(k, Switch()) if k in self.held else NotOwned(enterprise_id)


@dataclass
class FakeLedger:
    """In memory, as PgLedger: begin/finish/abandon per key and token, claimable = pending or
    running under an older token than the shard's current one."""

    rows: dict[tuple[str, str, str, datetime], dict[str, object]] = field(default_factory=dict)
    runs: list[tuple[WindowKey, int, str]] = field(default_factory=list)
    fail_begin_for: set[str] = field(default_factory=set)

    @staticmethod
    def _k(key: WindowKey) -> tuple[str, str, str, datetime]:
        return key.shard, key.scope, key.label, key.window.start

    def begin(self, key: WindowKey, token: int) -> None:
        if key.shard in self.fail_begin_for:
            raise FencingError("stale token in the database")
        self.rows[self._k(key)] = {"key": key, "status": "running", "token": token}

    def finish(self, key: WindowKey, token: int, points: Sequence[KpiPoint]) -> None:
        self.rows[self._k(key)].update(status="done", token=token)
        self.runs.append((key, token, digest(points)))

    def abandon(self, key: WindowKey, token: int) -> None:
        self.rows[self._k(key)].update(status="pending")

    def enqueue(self, keys: Sequence[WindowKey]) -> int:
        for k in keys:
            self.rows[self._k(k)] = {"key": k, "status": "pending", "token": 0}
        return len(keys)

    def claimable(self, held: Sequence[tuple[str, int]], *, limit: int, stale_s: float) -> list[WindowKey]:
        tokens = dict(held)
        out = [r["key"] for r in self.rows.values() if r["key"].shard in tokens  # type: ignore[attr-defined]
               and (r["status"] == "pending" or (r["status"] == "running"
                                                 and r["token"] < tokens[r["key"].shard]))]  # type: ignore
        return sorted(out, key=lambda k: k.window.start)[:limit]  # type: ignore[no-any-return]

    def recorded(self, shard: str, *, since: datetime, settle_s: float) -> Recorded:
        first: dict[tuple[str, str], datetime] = {}
        for (sh, sc, lb, t), r in self.rows.items():
            if sh == shard and r["key"].shift is None:  # type: ignore[attr-defined]
                first[(sc, lb)] = min(first.get((sc, lb), t), t)
        final = frozenset((sc, lb, t) for (sh, sc, lb, t), r in self.rows.items()
                          if sh == shard and r["status"] == "done" and t >= since)
        return Recorded(first, final)

    def drop(self, key: WindowKey) -> None:
        self.rows.pop(self._k(key), None)

    def prune(self, *, keep_days: float) -> int:
        return 0


def service(own: FakeOwnership, ledger: FakeLedger, rec: Recording) -> RulesService:
    return RulesService(source=FakeSource(), master=master(), writer=KpiPointWriter(rec), lease=NoLease(),
                        ownership=own, ledger=ledger)


NOW = datetime(2026, 5, 6, 9, 2, tzinfo=SH)


def test_a_tick_computes_only_owned_shards_each_on_the_books_with_its_token() -> None:
    own, ledger, rec = FakeOwnership({0: 7}), FakeLedger(), Recording()
    report = service(own, ledger, rec).tick("1h", now=NOW)
    mine = {e.id for e in master().enterprises if shard_of(e.id, 2) == 0}
    assert report.windows == 2 * len({e.timezone for e in master().enterprises if e.id in mine})  # open + 1 closed
    assert {r["key"].shard for r in ledger.rows.values()} == {"rules/shard/0of2"}  # type: ignore[attr-defined]
    assert all(r["status"] == "done" and r["token"] == 7 for r in ledger.rows.values())
    written = {line.split("enterprise=")[1].split(",")[0] for line in rec.lines if "enterprise=" in line}
    assert written == mine


def test_a_lost_part_stops_while_the_other_parts_go_on() -> None:
    own, ledger, rec = FakeOwnership({0: 3, 1: 4}), FakeLedger(), Recording()
    own.parts(master())
    own.fences[0].ok = False  # shard 0's tasks come first: the fenced part must not stop shard 1's
    report = service(own, ledger, rec).tick("1h", now=NOW)
    assert report.fenced
    done = {str(r["key"].shard) for r in ledger.rows.values() if r["status"] == "done"}  # type: ignore[attr-defined]
    assert done == {"rules/shard/1of2"}
    assert rec.lines and all(shard_of(line.split("enterprise=")[1].split(",")[0], 2) == 1 for line in rec.lines)


def test_a_stale_token_in_the_database_stops_the_part_before_computing() -> None:
    own, ledger, rec = FakeOwnership({0: 3}), FakeLedger(fail_begin_for={"rules/shard/0of2"}), Recording()
    report = service(own, ledger, rec).tick("5m", now=NOW)
    assert report.fenced and rec.lines == [] and ledger.runs == []


def test_a_failed_computation_goes_back_to_pending() -> None:
    class Broken(FakeSource):
        def fetch(self, enterprises: Sequence[str], window: Window, *, energy_kinds: Iterable[str]) -> WindowData:
            raise RuntimeError("InfluxDB fell over")

    own, ledger = FakeOwnership({0: 1, 1: 1}), FakeLedger()
    svc = service(own, ledger, Recording())
    svc.source = Broken()
    with pytest.raises(RuntimeError):
        svc.tick("1h", now=NOW)
    assert [r["status"] for r in ledger.rows.values()] == ["pending"]


def test_catchup_recomputes_the_window_a_dead_owner_left_running_and_the_pending_ones() -> None:
    own, ledger, rec = FakeOwnership({0: 5, 1: 5}), FakeLedger(), Recording()
    svc = service(own, ledger, rec)
    part = svc.owner.parts(svc.master)[0]
    w1, w2, w3 = aligned_windows(NOW - timedelta(hours=3), NOW - timedelta(hours=1), WindowSize.HOUR, SH)[:3]
    scope = "Asia/Shanghai"
    ledger.begin(WindowKey(part.key, scope, "1h", w1), 4)  # the previous owner (token 4) died mid-window
    ledger.begin(WindowKey(part.key, scope, "1h", w2), 5)  # this replica is computing it right now
    ledger.enqueue([WindowKey(part.key, scope, "1h", w3)])
    cu = Catchup(svc, ledger, CatchupSettings(delay_s=30, horizon_h=0.01))
    cu.run(now=NOW)
    assert [(k.window, t) for k, t, _ in ledger.runs] == [(w1, 5), (w3, 5)]
    assert ledger.rows[(part.key, scope, "1h", w2.start)]["status"] == "running"


def test_gap_detection_enqueues_closed_windows_not_computed_after_they_closed() -> None:
    m = master()
    shanghai = [e for e in m.enterprises if e.timezone == "Asia/Shanghai"]
    part = Part("p", 1, m.model_copy(update={"enterprises": shanghai}), Switch())
    hours = aligned_windows(NOW - timedelta(hours=6), NOW, WindowSize.HOUR, SH)
    first = hours[0].start
    final = frozenset(("Asia/Shanghai", "1h", w.start) for w in hours if w.start.hour % 2 == 0)
    s = CatchupSettings(delay_s=30, grace_s=300, horizon_h=4)
    keys = gap_keys(part, Recorded({("Asia/Shanghai", "1h"): first}, final), NOW, s)
    cutoff = NOW - timedelta(seconds=330)
    expect = [w for w in hours if w.end <= cutoff and w.start >= NOW - timedelta(hours=5) and w.start.hour % 2]
    assert [k.window for k in keys] == expect and {k.label for k in keys} == {"1h"}
    # no first window on the books (a fresh shard): nothing is backfilled on its own
    assert gap_keys(part, Recorded({}, frozenset()), NOW, s) == []


def test_due_and_missing_windows() -> None:
    now = datetime(2026, 5, 6, 1, 7, tzinfo=UTC)
    due = due_windows(now - timedelta(minutes=30), now, WindowSize.FIVE_MINUTES, LON, settle_s=90)
    assert due[0].start == datetime(2026, 5, 6, 0, 35, tzinfo=UTC)
    assert due[-1].end == datetime(2026, 5, 6, 1, 5, tzinfo=UTC)
    assert missing_windows(due, frozenset(w.start for w in due[1:])) == due[:1]


def test_backfill_keys_put_every_enterprise_window_in_its_own_shard_once() -> None:
    m = master()
    start, end = datetime(2026, 5, 6, 8, tzinfo=SH), datetime(2026, 5, 6, 10, tzinfo=SH)
    keys = backfill_keys(m, lambda e: f"s{shard_of(e, 3)}", ["1h", "shift"], start, end)
    assert len({(k.shard, k.scope, k.label, k.window.start) for k in keys}) == len(keys)
    hourly = [k for k in keys if k.label == "1h"]
    zones_per_shard = {(f"s{shard_of(e.id, 3)}", e.timezone) for e in m.enterprises}
    assert len(hourly) == 2 * len(zones_per_shard)
    shifts = [k for k in keys if k.label == "shift"]
    assert {k.scope.split(":")[0] for k in shifts} == {e.id for e in m.enterprises if e.timezone == "Asia/Shanghai"}
    for k in keys:
        task = task_for(k, Part(k.shard, 1, m, Switch()))
        assert task is not None and task.window == k.window and task.shift == k.shift
    assert task_for(WindowKey("s0", "e99:day", "shift", hourly[0].window, "day"), Part("s0", 1, m, Switch())) is None


def test_the_periodic_shift_job_writes_under_the_fence_but_is_not_on_the_books() -> None:
    own, ledger, rec = FakeOwnership({0: 1, 1: 1}), FakeLedger(), Recording()
    report = service(own, ledger, rec).tick("shift", now=datetime(2026, 5, 6, 12, tzinfo=SH))
    assert report.windows > 0 and rec.lines and ledger.rows == {}
    own.fences[0].ok = own.fences[1].ok = False
    assert service(own, ledger, Recording()).tick("shift", now=datetime(2026, 5, 6, 12, tzinfo=SH)).fenced
