"""``seamline rules run``'s /metrics: APScheduler's real job events in, Prometheus text out over
the stdlib HTTP server."""

from __future__ import annotations

import threading
import urllib.request

from apscheduler.schedulers.background import BackgroundScheduler

from seamline.metrics_http import MetricsServer
from seamline.rules.health import RulesHealth


def test_job_outcomes_and_the_lease_are_scraped() -> None:
    health = RulesHealth(holder="rules-a")
    scheduler = BackgroundScheduler()
    health.listen(scheduler)
    done = threading.Event()

    def broken() -> None:
        raise RuntimeError("influx away")

    scheduler.add_job(lambda: 3, id="5m@Asia/Shanghai")
    scheduler.add_job(broken, id="capacity")
    scheduler.add_job(lambda: (done.set(), "token-7")[1], id="lease")
    server = MetricsServer(health.families, bind="127.0.0.1", port=0)
    server.start()
    scheduler.start()
    try:
        assert done.wait(30)
        scheduler.shutdown(wait=True)
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as r:
            text = r.read().decode()
    finally:
        server.close()
    lines = set(text.splitlines())
    assert 'seamline_rules_job_failures_total{job="capacity"} 1.0' in lines
    assert 'seamline_rules_job_failures_total{job="5m@Asia/Shanghai"} 0.0' in lines
    assert 'seamline_rules_lease_held{holder="rules-a"} 1.0' in lines
    assert any(line.startswith('seamline_rules_job_last_success_timestamp_seconds{job="lease"} ') for line in lines)
    assert not any(line.startswith('seamline_rules_job_last_success_timestamp_seconds{job="capacity"}')
                   for line in lines)
    assert any(line.startswith('seamline_rules_job_duration_seconds{job="capacity"} ') for line in lines)
    assert "# TYPE seamline_rules_job_missed_total counter" in lines


def test_a_missed_run_is_counted_and_a_lost_lease_shows_zero() -> None:
    health = RulesHealth(holder="rules-b")
    health.missed_run("1h@Asia/Shanghai")
    health.finished("lease", ok=True, retval=None)
    text = "\n".join(f"{f.name} {dict(f.values)}" for f in health.families())
    assert "seamline_rules_job_missed_total {(('job', '1h@Asia/Shanghai'),): 1.0" in text
    assert "seamline_rules_lease_held {(('holder', 'rules-b'),): 0.0}" in text


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _late(health: RulesHealth) -> dict[str, float]:
    fam = next(f for f in health.families() if f.name == "seamline_rules_windows_late")
    return {dict(labels)["job"]: v for labels, v in fam.values.items()}


def test_windows_late_counts_closed_windows_past_due_that_no_tick_covered() -> None:
    from datetime import UTC, datetime

    from seamline.rules.health import LateWindows, window_jobs

    start = datetime(2026, 5, 4, 0, 1, tzinfo=UTC).timestamp()  # 08:01 Asia/Shanghai
    clock = Clock(start)
    jobs = window_jobs(["5m@Asia/Shanghai", "1h@Asia/Shanghai", "lease", "shift", "capacity"])
    assert set(jobs) == {"5m@Asia/Shanghai", "1h@Asia/Shanghai"}
    health = RulesHealth(holder="r", clock=clock, windows=jobs, late=LateWindows(delay_s=30, grace_s=300))
    clock.t = start + 4 * 60 + 30 + 300  # 08:05 closed, its tick due 08:05:30, grace to 08:10:30
    assert _late(health) == {"5m@Asia/Shanghai": 1.0, "1h@Asia/Shanghai": 0.0}
    health.finished("5m@Asia/Shanghai", ok=True, retval=None, scheduled_s=start + 4 * 60 + 30)
    assert _late(health)["5m@Asia/Shanghai"] == 0.0
    clock.t = start + 3600 + 4 * 60  # 09:05: the 08:10 ... 09:00 windows were never computed, 09:05 not due
    health.finished("5m@Asia/Shanghai", ok=False, scheduled_s=start + 3600 + 4 * 60 - 270)  # a failed tick
    assert _late(health) == {"5m@Asia/Shanghai": 10.0, "1h@Asia/Shanghai": 0.0}  # 08:10..08:55 ends: 10
    clock.t += 30 + 300
    assert _late(health) == {"5m@Asia/Shanghai": 12.0, "1h@Asia/Shanghai": 1.0}  # 09:00 and 09:05 due too


def test_a_fenced_tick_covers_nothing_and_a_skipped_one_covers_its_windows() -> None:
    from datetime import UTC, datetime

    from seamline.rules.health import LateWindows, window_jobs
    from seamline.rules.jobs import TickReport

    start = datetime(2026, 5, 4, 0, 0, 10, tzinfo=UTC).timestamp()
    clock = Clock(start)
    health = RulesHealth(holder="r", clock=clock, windows=window_jobs(["5m@UTC"]), late=LateWindows(0, 0))
    clock.t = start + 600  # 00:05 and 00:10 ended
    health.finished("5m@UTC", ok=True, retval=TickReport("5m", 2, 0, 0, fenced=True), scheduled_s=clock.t)
    assert _late(health) == {"5m@UTC": 2.0}
    health.finished("5m@UTC", ok=True, retval=TickReport("5m", 0, 0, 0, skipped=True), scheduled_s=clock.t)
    assert _late(health) == {"5m@UTC": 0.0}


def test_alert_evaluation_failures_are_a_counter() -> None:
    failures = [0]
    health = RulesHealth(holder="r", alert_failures=lambda: failures[0])
    failures[0] = 3
    fam = next(f for f in health.families() if f.name == "seamline_rules_alert_evaluation_failures_total")
    assert fam.kind == "counter" and fam.values == {(): 3.0}
