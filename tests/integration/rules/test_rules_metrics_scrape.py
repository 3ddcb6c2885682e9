"""``/metrics`` of a real ``seamline rules run`` (issue 14): the lease held, each job's last
success, every window job's windows late, and the alert evaluations counted as failures once its
InfluxDB (a real 1.x server of the test's own) is stopped while the service runs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from seamline.localstack import InfluxdProcess, free_port
from tests.support.metrics_scrape import scrape

pytestmark = pytest.mark.integration
SEAMLINE = str(Path(sys.executable).parent / "seamline")
REPO = Path(__file__).resolve().parents[3]


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def rules_config(tmp: Path, *, influx_url: str, metrics_port: int) -> Path:
    (tmp / "alerts.yaml").write_text(yaml.safe_dump({
        "enabled": True, "interval_s": 0.5, "evaluation_delay_s": 0, "state_path": "alerts.sqlite3",
        "alertmanager": {"peers": []},
    }))
    path = tmp / "rules.yaml"
    path.write_text(yaml.safe_dump({
        "master_data": str(REPO / "rules" / "master_data.sample.yaml"),
        "influx": {"url": influx_url, "database": "seamline", "timeout_s": 2, "query_timeout_s": 2},
        "mqtt": {"host": "127.0.0.1", "port": free_port()},
        "capacity": {"enabled": False},
        "alerts": "alerts.yaml",
        "lease": {"holder": "rules-scrape"},
        "metrics": {"port": metrics_port},
    }))
    return path


ALERT_FAILURES = "seamline_rules_alert_evaluation_failures_total"
ALERTS_DONE = 'seamline_rules_job_last_success_timestamp_seconds{job="alerts"}'


def test_rules_run_metrics_while_influxdb_is_there_then_stopped(tmp_path: Path) -> None:
    influx = InfluxdProcess(workdir=tmp_path / "influxd")
    influx.start()
    port = free_port()
    config = rules_config(tmp_path, influx_url=influx.url, metrics_port=port)
    init = subprocess.run([SEAMLINE, "db", "init", "--config", str(config)], capture_output=True, text=True,
                          timeout=120)
    assert init.returncode == 0, init.stderr
    proc = subprocess.Popen([SEAMLINE, "rules", "run", "--config", str(config)], stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: scrape(port).get(ALERTS_DONE, 0) > 0, "a first alert evaluation")
        first = scrape(port)[ALERTS_DONE]
        wait_for(lambda: scrape(port).get(ALERTS_DONE, 0) > first, "a second alert evaluation")
        up = scrape(port)
        assert up[ALERT_FAILURES] == 0.0  # InfluxDB answered every evaluation
        assert up['seamline_rules_lease_held{holder="rules-scrape"}'] == 1.0
        assert up['seamline_rules_job_failures_total{job="alerts"}'] == 0.0
        assert 'seamline_rules_job_last_success_timestamp_seconds{job="lease"}' in up
        for job in ("1h@Asia/Shanghai", "1d@Asia/Shanghai"):  # the sample master data's windows
            assert up[f'seamline_rules_windows_late{{job="{job}"}}'] == 0.0  # nothing due since start
        person = subprocess.run([SEAMLINE, "status", "--config", str(config)], capture_output=True, text=True,
                                timeout=60)
        assert person.returncode == 0, person.stderr
        assert "windows_late" in person.stdout and "alert_evaluation_failures_total" in person.stdout
        influx.stop()
        wait_for(lambda: scrape(port).get(ALERT_FAILURES, 0) >= 2, "failed evaluations counted")
        down = scrape(port)
        assert down[ALERTS_DONE] > up[ALERTS_DONE]  # the job goes on, its evaluations fail and are counted
        assert down['seamline_rules_lease_held{holder="rules-scrape"}'] == 1.0
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=60)[1]
        influx.stop()
    assert proc.returncode == 143, err
    assert "alerts not evaluated (InfluxDB)" in err and "Traceback" not in err
