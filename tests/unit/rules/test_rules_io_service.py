"""Jobs (which windows, schedule in local time, lease-guarded ticks), capacity feed with fakes,
HTTP retry, config errors. Bookings: tests/unit/rules/test_rules_bookings.py."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from seamline.rules.bookings import Bookings
from seamline.rules.capacity_feed import (
    CapacityFeed,
    HttpPostError,
    Publisher,
    RetryPolicy,
    post_with_retry,
)
from seamline.rules.config import ConfigError, load_config
from seamline.rules.jobs import RulesService, recent_tasks, schedule
from seamline.rules.kpi_points import FencingError, KpiPointWriter
from seamline.rules.lease import NoLease
from seamline.rules.master_data import MasterData, parse_master_data
from seamline.rules.source import WindowData
from seamline.rules.windows import Window
from seamline.storage.query import CountingClient

TZ = ZoneInfo("Asia/Shanghai")


def master() -> MasterData:
    shift = {"name": "day", "start": "08:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
    return parse_master_data({
        "kpi": {"windows": ["5m", "1h", "shift", "1d"], "recompute_windows": 3, "capacity_days": 2},
        "calendars": [{"id": "c", "shifts": [shift]}],
        "enterprises": [{"id": "e0", "name": "E", "calendar": "c", "sites": [{"id": "s1", "lines": [
            {"id": "l1", "operators": 2, "categories": ["x"], "machine_count": 2}]}]}],
    })


class FakeSource:
    statements = 0

    def fetch(self, enterprises: Sequence[str], window: Window, *, energy_kinds: Iterable[str]) -> WindowData:
        return WindowData(window)


class RecordingWriter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, lines: Sequence[str]) -> None:
        self.lines += lines

    def close(self) -> None:
        return None


class NotHeld:
    token = None

    def acquire(self) -> int | None:
        return None

    def check(self) -> None:
        raise FencingError("not held")

    def release(self) -> None:
        return None

    def owns(self, enterprise_id: str) -> bool:
        return False


def test_daily_windows_recomputed_are_local_days() -> None:
    now = datetime(2026, 5, 6, 0, 2, tzinfo=TZ)
    tasks = recent_tasks(master(), "1d", now)
    assert [t.window.start for t in tasks] == [datetime(2026, 5, d, 16, tzinfo=UTC) for d in (2, 3, 4, 5)]
    assert {t.label for t in tasks} == {"1d"}


def test_shift_tasks_are_the_started_shifts_of_the_lookback() -> None:
    tasks = recent_tasks(master(), "shift", datetime(2026, 5, 6, 9, tzinfo=TZ))
    assert [(t.window.start.astimezone(TZ).day, t.shift) for t in tasks] == [(5, "day"), (6, "day")]


def test_schedule_fires_after_local_boundaries() -> None:
    sched = BackgroundScheduler(timezone=UTC)
    service = RulesService(source=FakeSource(), master=master(), writer=KpiPointWriter(RecordingWriter()),
                           lease=NoLease())
    ids = schedule(sched, service, delay_s=30, shift_every_min=15, capacity_every_min=None, renew_s=20,
                   misfire_grace_s=60)
    assert ids == ["5m@Asia/Shanghai", "1h@Asia/Shanghai", "1d@Asia/Shanghai", "shift", "lease"]
    now = datetime(2026, 5, 6, 13, 7, tzinfo=TZ)
    fire = {j.id: j.trigger.get_next_fire_time(None, now) for j in sched.get_jobs()}
    assert fire["5m@Asia/Shanghai"] == datetime(2026, 5, 6, 13, 10, 30, tzinfo=TZ)
    assert fire["1h@Asia/Shanghai"] == datetime(2026, 5, 6, 14, 0, 30, tzinfo=TZ)
    assert fire["1d@Asia/Shanghai"] == datetime(2026, 5, 7, 0, 0, 30, tzinfo=TZ)


def test_a_tick_without_the_lease_computes_and_writes_nothing() -> None:
    rec = RecordingWriter()
    service = RulesService(source=FakeSource(), master=master(), writer=KpiPointWriter(rec), lease=NotHeld())
    report = service.tick("1h", now=datetime(2026, 5, 6, 9, tzinfo=TZ))
    assert report.skipped and rec.lines == [] and service.skipped_ticks == 1


def test_a_tick_with_the_lease_writes_every_recent_window() -> None:
    rec = RecordingWriter()
    service = RulesService(source=FakeSource(), master=master(), writer=KpiPointWriter(rec), lease=NoLease())
    report = service.tick("1h", now=datetime(2026, 5, 6, 9, 30, tzinfo=TZ))
    assert (report.windows, report.points) == (4, 4)  # one kpi_line point per window (no machines seen)
    assert sorted({line.rsplit(" ", 1)[1] for line in rec.lines}) == [
        str(int(datetime(2026, 5, 6, h, tzinfo=TZ).timestamp() * 1000)) for h in (6, 7, 8, 9)]


class FakeKpiClient:
    def query(self, q: str, *, db: str | None = None) -> list[dict[str, object]]:
        return [{"statement_id": 0}]


class FakePublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bool, int]] = []

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool) -> None:
        self.sent.append((topic, retain, qos))


class NoBookings:
    def read(self) -> Bookings:
        return Bookings(source="fake")


def _feed(pub: FakePublisher, fence: object) -> CapacityFeed:
    @contextlib.contextmanager
    def opener() -> Iterator[Publisher]:
        yield pub

    return CapacityFeed(client=CountingClient(FakeKpiClient(), database="db"), master=master(), kpi_rp="kpi",
                        bookings=NoBookings(), publisher=opener, poster=None, http_url=None,
                        fence=fence)  # type: ignore[arg-type]


def test_feed_publishes_retained_qos1_with_default_efficiency() -> None:
    pub = FakePublisher()
    report = _feed(pub, NoLease()).run(datetime(2026, 5, 6, 12, tzinfo=TZ))
    assert pub.sent == [("seamline/v1/e0/s1/l1/_line/capacity", True, 1)]
    msg = report.messages[0]
    assert (msg.efficiency, msg.confidence) == (0.5, 0.0)
    assert [d.available_std_min for d in msg.days] == [2 * 540 * 0.5, 2 * 540 * 0.5]


def test_feed_without_the_lease_sends_nothing() -> None:
    pub = FakePublisher()
    with pytest.raises(FencingError):
        _feed(pub, NotHeld()).run(datetime(2026, 5, 6, 12, tzinfo=TZ))
    assert pub.sent == []


class FlakyPoster:
    def __init__(self, failures: int, *, retryable: bool = True) -> None:
        self.failures, self.retryable, self.calls = failures, retryable, 0

    def post(self, url: str, body: bytes) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise HttpPostError("HTTP 503", retryable=self.retryable)


def test_post_retries_with_capped_jittered_backoff_then_gives_up() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, backoff_s=1.0, max_backoff_s=2.0)
    assert post_with_retry(FlakyPoster(2), "http://x", b"[]", policy, sleep=waits.append, rng=random.Random(1)) == 3
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0
    poster = FlakyPoster(10)
    with pytest.raises(HttpPostError):
        post_with_retry(poster, "http://x", b"[]", policy, sleep=waits.append)
    assert poster.calls == 4 and max(waits) <= 2.0
    permanent = FlakyPoster(1, retryable=False)
    with pytest.raises(HttpPostError):
        post_with_retry(permanent, "http://x", b"[]", policy, sleep=waits.append)
    assert permanent.calls == 1


def test_config_errors_name_file_key_and_expectation(tmp_path: Path) -> None:
    cfg = tmp_path / "rules.yaml"
    cfg.write_text("master_data: m.yaml\ninflux: {url: ftp://x, timeout_s: -1}\nshard: 2/2\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    text = str(err.value)
    assert f"{cfg}: influx.url:" in text and f"{cfg}: influx.timeout_s:" in text and "shard" in text
    cfg.write_text("master_data: m.yaml\nlease: {kind: file}\n")
    with pytest.raises(ConfigError, match=r"lease\.path: required"):
        load_config(cfg)
    cfg.write_text("master_data: m.yaml\nlease: {kind: file, path: l/rules.lease}\nshard: 1/2\n")
    loaded = load_config(cfg)
    assert loaded.master_data == tmp_path / "m.yaml" and loaded.lease.path == tmp_path / "l/rules.lease"
    assert loaded.shard_spec.index == 1 and timedelta(seconds=loaded.lease.ttl_s) > timedelta(0)
    cfg.write_text("master_data: m.yaml\ncapacity: {bookings_path: bookings.json}\n")
    with pytest.raises(ConfigError, match=r"capacity: .*bookings_path was removed.*_line/bookings"):
        load_config(cfg)
