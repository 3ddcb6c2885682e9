"""``seamline rules run|backfill|once|capacity|carbon`` (see rules/README.md)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seamline.errors import UsageError
from seamline.rules.bookings import BookingsUnavailableError
from seamline.rules.bootstrap import make_service
from seamline.rules.config import load_config
from seamline.rules.engine import compute_window
from seamline.rules.jobs import SIZES, range_tasks, recent_tasks, schedule
from seamline.rules.mqtt_publisher import PublishError
from seamline.storage.query_errors import QueryError

log = logging.getLogger(__name__)


def _instant(text: str, what: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what}: expected an ISO 8601 time like 2026-05-04T08:00+08:00, got {text!r}") from None
    if t.tzinfo is None:
        raise UsageError(f"{what}: {text!r} has no UTC offset (add +08:00 or Z)")
    return t


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} windows")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _reported(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Runtime failures of InfluxDB or the MQTT broker become one line on stderr and exit code 1,
    not a traceback."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (QueryError, BookingsUnavailableError, PublishError) as exc:
            print(f"seamline rules: {exc}", file=sys.stderr)
            return 1

    return wrapped


def _run(args: argparse.Namespace) -> int:
    from apscheduler.schedulers.blocking import BlockingScheduler

    cfg = load_config(args.config)
    if getattr(args, "verbose", 0) < 2:  # a line per job run is debug noise
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    service = make_service(cfg)
    scheduler = BlockingScheduler(timezone=UTC)
    ids = schedule(scheduler, service, delay_s=cfg.jobs.delay_s, shift_every_min=cfg.jobs.shift_every_min,
                   capacity_every_min=cfg.capacity.interval_min if cfg.capacity.enabled else None,
                   renew_s=cfg.lease.renew_s, misfire_grace_s=cfg.jobs.misfire_grace_s)
    log.info("rules service: %d enterprises (shard %s), jobs %s", len(service.master.enterprises), cfg.shard, ids)

    def stop(signum: int, _frame: Any) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    try:
        scheduler.start()
    finally:
        service.lease.release()
    return 0


def _backfill(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    start, end = _instant(args.from_, "--from"), _instant(args.to, "--to")
    if not end > start:
        raise UsageError("--to must be after --from")
    service = make_service(cfg)
    sizes = args.window or [s for s in SIZES if s in service.master.kpi.windows]
    if service.lease.acquire() is None:
        print("rules backfill: another replica holds the lease; not writing", file=sys.stderr)
        return 1
    for size in sizes:
        tasks = range_tasks(service.master, size, start, end)
        sys.stderr.write(f"{size}: {len(tasks)} windows\n")
        report = service.run_tasks(tasks, size, progress=_progress)
        sys.stderr.write(f"{size}: {report.points} points, {report.statements} InfluxQL statements\n")
    service.lease.release()
    return 0


def _once(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    at = _instant(args.at, "--at")
    service = make_service(cfg)
    tasks = [t for t in recent_tasks(service.master, args.window, at) if t.window.contains(at)]
    out: list[dict[str, Any]] = []
    for t in tasks:
        report = compute_window(service.source, t.master, t.window, label=t.label, shift=t.shift,
                                energy=service.energy, batch_machines=service.batch_machines,
                                green_ledger=service.green_ledger)
        if args.write:
            service.writer.write(report.points)
        out.append({"window": [t.window.start.isoformat(), t.window.end.isoformat()], "label": t.label,
                    "shift": t.shift, "statements": report.statements,
                    "points": [{"measurement": p.measurement, "tags": dict(p.tags), "fields": dict(p.fields)}
                               for p in report.points]})
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for w in out:
            print(f"{w['label']} {w['window'][0]} .. {w['window'][1]}: {len(w['points'])} points")
            for p in w["points"]:
                tags = ",".join(f"{k}={v}" for k, v in p["tags"].items() if k != "window")
                shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in p["fields"].items()}
                print(f"  {p['measurement']} {tags} {shown}")
    return 0


def _capacity(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    service = make_service(cfg)
    if service.feed is None:
        raise UsageError(f"{args.config}: capacity.enabled is false")
    now = datetime.now(UTC)
    if args.dry_run:
        messages = service.feed.build(now)
    else:
        report = service.publish_capacity(now=now)
        if report is None:
            print("rules capacity: lease not held; nothing sent", file=sys.stderr)
            return 1
        messages = list(report.messages)
    if args.json:
        json.dump([m.model_dump(mode="json") for m in messages], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for m in messages:
            free = sum(d.free_std_min for d in m.days)
            print(f"{m.enterprise}/{m.site}/{m.line}: efficiency {m.efficiency:.3f} (confidence "
                  f"{m.confidence:.2f}), free {free:.0f} std min over {len(m.days)} days")
    return 0


def _carbon(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    service = make_service(cfg)
    if service.carbon is None:
        raise UsageError(f"{args.config}: the carbon feed needs master data `green` and capacity.enabled")
    now = datetime.now(UTC)
    if args.dry_run:
        messages = service.carbon.build(now)
    else:
        published = service.publish_carbon(now=now)
        if published is None:
            print("rules carbon: lease not held; nothing sent", file=sys.stderr)
            return 1
        messages = published
    if args.json:
        json.dump([m.model_dump(mode="json") for m in messages], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for m in messages:
            share = "-" if m.green_share is None else f"{100 * m.green_share:.1f} %"
            per = "-" if m.co2e_kg_per_piece is None else f"{m.co2e_kg_per_piece:.4f}"
            print(f"{m.enterprise}/{m.site}/{m.line}: green share {share}, {per} kg CO2e per piece over "
                  f"{len(m.days)} days")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("rules", help="KPIs from telemetry, capacity feed")
    rs = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    run = rs.add_parser("run", help="run the scheduled KPI jobs (blocks)")
    run.add_argument("--config", type=Path, required=True)
    run.set_defaults(handler=_reported(_run))
    bf = rs.add_parser("backfill", help="compute and write KPIs of a past time range")
    bf.add_argument("--config", type=Path, required=True)
    bf.add_argument("--from", dest="from_", required=True, help="ISO time with offset")
    bf.add_argument("--to", required=True, help="ISO time with offset")
    bf.add_argument("--window", action="append", choices=SIZES, help="window kinds (default: master data's)")
    bf.set_defaults(handler=_reported(_backfill))
    once = rs.add_parser("once", help="compute the window containing --at and print it")
    once.add_argument("--config", type=Path, required=True)
    once.add_argument("--window", choices=SIZES, required=True)
    once.add_argument("--at", required=True, help="ISO time with offset")
    once.add_argument("--json", action="store_true")
    once.add_argument("--write", action="store_true", help="also write the points to RP kpi")
    once.set_defaults(handler=_reported(_once))
    cap = rs.add_parser("capacity", help="publish the capacity feed now")
    cap.add_argument("--config", type=Path, required=True)
    cap.add_argument("--json", action="store_true")
    cap.add_argument("--dry-run", action="store_true", help="build and print, do not publish or POST")
    cap.set_defaults(handler=_reported(_capacity))
    carbon = rs.add_parser("carbon", help="publish each line's green share and CO2e per piece now")
    carbon.add_argument("--config", type=Path, required=True)
    carbon.add_argument("--json", action="store_true")
    carbon.add_argument("--dry-run", action="store_true", help="build and print, do not publish")
    carbon.set_defaults(handler=_reported(_carbon))
