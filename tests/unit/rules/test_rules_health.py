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
