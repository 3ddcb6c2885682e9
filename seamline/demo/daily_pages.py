"""The daily report pages of the demo, made the way an operator makes them: the hourly KPIs of the
replayed day (``seamline rules backfill --window 1h``: the service's hourly job does this every
hour), then ``seamline report`` per factory and ``--cluster`` for the platform, into
``<workdir>/report/``."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from seamline.demo.cluster import DemoRun
from seamline.demo.plan import TZ
from seamline.demo.platform import CLI_TIMEOUT_S, plan_summary_path, platform_log, rules_config_path


def _cli(*args: str, log: Path | None = None) -> str:
    proc = subprocess.run([sys.executable, "-m", "seamline.cli", *args], capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S, check=False)
    if log is not None:
        with log.open("a") as fh:
            fh.write(f"$ seamline {args[0]} (exit {proc.returncode})\n{proc.stderr}")
    if proc.returncode != 0:
        raise RuntimeError(f"seamline {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return proc.stdout


def write_pages(run: DemoRun, enterprises: list[str], *, alertmanager: str | None = None,
                out_dir: Path | None = None, backfill: bool = True) -> dict[str, Any]:
    """Write one page per factory and the cluster page; return their paths and sizes (bytes).
    ``backfill=False`` when the hourly KPIs of the replayed day are written already."""
    cfg = rules_config_path(run)
    start = datetime.fromtimestamp(run.start_ms / 1000, TZ)
    end = datetime.fromtimestamp(run.end_ms / 1000, TZ)
    if backfill:
        _cli("rules", "backfill", "--config", str(cfg), "--from", start.isoformat(), "--to", end.isoformat(),
             "--window", "1h", log=platform_log(run))
    day = start.date().isoformat()
    out_dir = out_dir or run.stack.workdir / "report"
    common = ["--day", day, "--config", str(cfg), "--plan-summary", str(plan_summary_path(run)),
              *(["--alertmanager", alertmanager] if alertmanager else [])]
    pages = []
    for ent in enterprises:
        path = out_dir / f"{ent}-{day}.html"
        _cli("report", *common, "--enterprise", ent, "--out", str(path), log=platform_log(run))
        pages.append({"enterprise": ent, "path": str(path.resolve()), "bytes": path.stat().st_size})
    path = out_dir / f"cluster-{day}.html"
    _cli("report", *common, "--cluster", "--out", str(path), log=platform_log(run))
    pages.append({"enterprise": None, "path": str(path.resolve()), "bytes": path.stat().st_size})
    return {"day": day, "dir": str(out_dir.resolve()), "pages": pages}
