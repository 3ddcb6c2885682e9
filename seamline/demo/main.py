"""The demo's composition: start, simulate, drain, count, then the analytics on what was stored."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from seamline.demo import alerts, analytics, cluster, daily_pages, master, platform, summary
from seamline.demo.cluster import DemoRun
from seamline.demo.dashboards import export_dashboards
from seamline.demo.plan import TZ, DemoOptions

# The stages say() numbers: servers, replay, drain, count, KPIs, platform, report, alerts, dashboards
# (the broker-restart run adds the repair).
STAGES = 9


def run_demo(opts: DemoOptions, *, progress: TextIO | None = None,
             inspect: Callable[[DemoRun, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the cluster end to end and return the summary. ``inspect(run, summary)`` is called
    while the servers still run (the end-to-end tests query InfluxDB and the broker there)."""
    # Stages numbered as they start ("demo [3/9]: ..."): a person or a log sees how far the run is.
    total, started = STAGES + (1 if opts.broker_restart else 0), [0]

    def say(msg: str, *, stage: bool = False) -> None:
        if stage:
            started[0] += 1
        if progress is not None:
            where = f" [{started[0]}/{total}]" if stage else ""
            print(f"demo{where}: {msg}", file=progress, flush=True)

    # pymodbus logs every server start at INFO; the demo's own progress lines are enough
    logging.getLogger("pymodbus").setLevel(logging.WARNING)
    say(f"starting servers, {opts.factories} factory gateways{' + energy park' if opts.energy else ''}, "
        f"{opts.ingest_workers} ingest workers in {opts.workdir}", stage=True)
    run = cluster.start(opts)
    try:
        hours = (run.end_ms - run.start_ms) / 3_600_000
        say(f"replaying {hours:.1f} h of {opts.factories * opts.lines * opts.machines} machines at {opts.speed:g}x "
            f"(~{hours * 3600 / opts.speed:.0f} s)", stage=True)
        cluster.simulate(run, progress=progress)
        repaired = None
        if opts.broker_restart:
            from seamline.demo import repair

            say(f"central broker restarted {run.broker_restarts}x mid-stream; repairing with seamline ingest confirm",
                stage=True)
            repaired = repair.repair(run)
            say(f"repair: {repaired['missing_before']} seq missing before, {repaired['repaired']} repaired, "
                f"{repaired['definitively_lost']} definitively lost")
        say("stopping edge agents gracefully and letting ingest drain", stage=True)
        cluster.drain(run)
        say("counting what reached InfluxDB", stage=True)
        out = summary.build(run)
        if repaired is not None:
            out["repair"] = repaired
            for k in ("repaired", "repaired_ranges", "definitively_lost", "definitively_lost_ranges"):
                out[k] = repaired[k]
        assert run.floor is not None
        month = datetime.fromtimestamp(run.start_ms / 1000, TZ).strftime("%Y-%m")
        doc = master.master_data(run.floor, run.plant, opts.enterprises, month)
        master_path = master.write(run.stack.workdir / "config" / "master.yaml", doc)
        say("computing the shift's KPIs with the rules engine", stage=True)
        t0 = time.monotonic()
        out["kpis"], _ = analytics.compute_kpis(run, master_path)
        say("daily KPIs, capacity feed, order matching, capacity after booking", stage=True)
        t1 = time.monotonic()
        out |= platform.run_platform(run, master_path, doc)
        say("daily report pages: the hourly KPIs, then seamline report per factory and for the cluster", stage=True)
        t2 = time.monotonic()
        out["report"] = daily_pages.write_pages(run, opts.enterprises)
        for page in out["report"]["pages"]:
            say(f"report page: {page['path']} ({page['bytes'] / 1024:.0f} kB)")
        say("alerts: the built-in rules over the day, through Alertmanager and seamline notify", stage=True)
        t3 = time.monotonic()
        out["alerts"] = alerts.run_alerts(run, master_path)
        say(f"alerts: fired {out['alerts']['fired']}, notifications {out['alerts']['notifications']}")
        out["timings_s"] |= {"kpis": round(t1 - t0, 1), "platform": round(t2 - t1, 1),
                             "report": round(t3 - t2, 1), "alerts": round(time.monotonic() - t3, 1)}
        out["dashboards"] = export_dashboards(run)
        say(f"Grafana dashboards exported to {out['dashboards']['directory']}", stage=True)
        if inspect is not None:
            inspect(run, out)
        return out
    finally:
        cluster.stop(run)
