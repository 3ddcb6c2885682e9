"""The demo's composition: start, simulate, drain, count, then the analytics on what was stored."""

from __future__ import annotations

import logging
from typing import Any, TextIO

from seamline.demo import cluster, summary
from seamline.demo.plan import DemoOptions


def run_demo(opts: DemoOptions, *, progress: TextIO | None = None) -> dict[str, Any]:
    def say(msg: str) -> None:
        if progress is not None:
            print(f"demo: {msg}", file=progress, flush=True)

    # pymodbus logs every server start at INFO; the demo's own progress lines are enough
    logging.getLogger("pymodbus").setLevel(logging.WARNING)
    say(f"starting servers, {opts.factories} factory gateways{' + energy park' if opts.energy else ''}, "
        f"{opts.ingest_workers} ingest workers in {opts.workdir}")
    run = cluster.start(opts)
    try:
        hours = (run.end_ms - run.start_ms) / 3_600_000
        say(f"replaying {hours:.1f} h of {opts.factories * opts.lines * opts.machines} machines at {opts.speed:g}x "
            f"(~{hours * 3600 / opts.speed:.0f} s)")
        cluster.simulate(run)
        say("stopping edge agents gracefully and letting ingest drain")
        cluster.drain(run)
        say("counting what reached InfluxDB")
        return summary.build(run)
    finally:
        cluster.stop(run)
