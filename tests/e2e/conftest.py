"""The simulated cluster, run once per session and shared by the end-to-end modules that check
its data path (test_e2e_cluster), its daily report pages in a browser (test_e2e_report_browser) and
every dashboard panel's query (test_e2e_dashboards: its InfluxDB data stays in ``workdir``/influxdb)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from seamline.alertmanager.client import AlertmanagerClient
from seamline.contracts import seqranges
from seamline.contracts.alerts import AlertAnnotations, AlertLabels, PostableAlert, Severity
from seamline.demo import repair
from seamline.demo.cluster import DemoRun
from seamline.demo.daily_pages import write_pages
from seamline.demo.main import run_demo
from seamline.demo.plan import DemoOptions
from seamline.demo.stack import DATABASE
from seamline.localstack import AlertmanagerProcess
from seamline.storage.query_client import InfluxQLClient

NO_RECEIVER = "route:\n  receiver: none\nreceivers:\n  - name: none\n"


def _alert(run: DemoRun, asset: str, severity: Severity, minutes_in: int) -> PostableAlert:
    """An alert of f001 that began ``minutes_in`` after the replayed window started and still fires."""
    began = datetime.fromtimestamp(run.start_ms / 1000, UTC) + timedelta(minutes=minutes_in)
    labels = AlertLabels(alertname="machine_down", severity=severity, enterprise="f001", site="s1", area="line01",
                         asset=asset, gateway="gw-f001")
    notes = AlertAnnotations(summary=f"机器 {asset} 停机", summary_en=f"Machine {asset} is down", value="25",
                             threshold="10", unit="min", coverage="0.95")
    return PostableAlert(labels=labels, annotations=notes, startsAt=began,
                         endsAt=datetime.now(UTC) + timedelta(minutes=10))


def _pages_with_alerts(run: DemoRun, workdir: Path) -> dict[str, Any]:
    """The day's pages once more, with two f001 alerts in a real Alertmanager."""
    am = AlertmanagerProcess(workdir=workdir / "alertmanager", config_text=NO_RECEIVER)
    am.start()
    try:
        AlertmanagerClient(am.url).post_alerts([_alert(run, "m001", Severity.CRITICAL, 40),
                                                _alert(run, "m002", Severity.WARNING, 95)])
        return write_pages(run, run.options.enterprises, alertmanager=am.url, out_dir=workdir / "report-alerts",
                           backfill=False)  # the demo wrote the day's hourly KPIs already
    finally:
        am.stop()


def _seq_lost(client: InfluxQLClient) -> dict[str, list[tuple[int, int]]]:
    """Per asset key: the ranges the confirmer stored as definitively lost (``seq_lost``)."""
    out: dict[str, list[tuple[int, int]]] = {}
    res = client.query('SELECT "from_seq", "to_seq" FROM "raw"."seq_lost" GROUP BY "enterprise","site","area","asset"',
                       db=DATABASE)
    for s in res[0].get("series", []):
        key = "/".join(s["tags"][t] for t in ("enterprise", "site", "area", "asset"))
        out[key] = seqranges.merge((int(v[1]), int(v[2])) for v in s["values"])
    return out


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Runs the cluster once; returns the summary plus what the checks need from the live stack."""
    seen: dict[str, Any] = {}
    workdir = tmp_path_factory.mktemp("demo")

    def inspect(run: DemoRun, summary: dict[str, Any]) -> None:
        client = run.stack.influxql()
        seen["stored"] = {m: client.query(f'SELECT * FROM "raw"."{m}" GROUP BY "enterprise","area","asset"',
                                          db=DATABASE) for m in ("sewing_machine", "machine_state")}
        seen["node_messages"] = run.node_messages
        seen["kpi_points"] = client.query('SELECT COUNT("coverage") FROM "kpi"./.*/', db=DATABASE)
        seen["pages_with_alerts"] = _pages_with_alerts(run, workdir)
        # as the demo ran it (a later test serves the same data directory again with its own config)
        seen["influxdb_conf"] = (workdir / "influxdb" / "influxdb.conf").read_text()
        seen["stored_seq_ranges"] = repair.stored_ranges(run)  # after the broker restart's repair and the drain
        seen["seq_lost"] = _seq_lost(client)

    # two lines per factory: machine ids repeat across lines (m001 on each), as in real factories
    # energy polled every 50 simulated s (0.05 s of wall time at 1 000x)
    opts = DemoOptions.quick(workdir=workdir, record=True, lines=2, machines=3, energy_poll_s=0.05)
    summary = run_demo(opts, inspect=inspect)
    yield {"summary": summary, "workdir": opts.workdir, **seen}
