"""The simulated cluster, run once per test session: the end-to-end checks and the dashboards'
query test read the same run (its InfluxDB data stays in ``workdir``/influxdb after the run)."""

from __future__ import annotations

from typing import Any

import pytest

from seamline.demo.cluster import DemoRun
from seamline.demo.main import run_demo
from seamline.demo.plan import DemoOptions
from seamline.demo.stack import DATABASE


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Runs the cluster once; returns the summary plus what the checks need from the live stack."""
    seen: dict[str, Any] = {}

    def inspect(run: DemoRun, summary: dict[str, Any]) -> None:
        client = run.stack.influxql()
        seen["stored"] = {m: client.query(f'SELECT * FROM "raw"."{m}" GROUP BY "enterprise","area","asset"',
                                          db=DATABASE) for m in ("sewing_machine", "machine_state")}
        seen["node_messages"] = run.node_messages
        seen["kpi_points"] = client.query('SELECT COUNT("coverage") FROM "kpi"./.*/', db=DATABASE)

    # two lines per factory: machine ids repeat across lines (m001 on each), as in real factories
    # energy polled every 50 simulated s (0.05 s of wall time at 1 000x)
    opts = DemoOptions.quick(workdir=tmp_path_factory.mktemp("demo"), record=True, lines=2, machines=3,
                             energy_poll_s=0.05)
    summary = run_demo(opts, inspect=inspect)
    return {"summary": summary, "workdir": opts.workdir, **seen}
