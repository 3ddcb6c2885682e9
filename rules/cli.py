"""``seamline rules run|backfill|once|capacity|carbon|status`` (see rules/README.md)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seamline.errors import UsageError
from seamline.logsetup import configure, effective_level
from seamline.progress import Progress
from seamline.rules.bookings import BookingsUnavailableError
from seamline.rules.bootstrap import make_catchup, make_service
from seamline.rules.config import RulesConfig, load_config, load_service_config
from seamline.rules.coordination.database import CoordinationUnavailable
from seamline.rules.engine import compute_window
from seamline.rules.jobs import SIZES, range_tasks, recent_tasks, schedule
from seamline.rules.kpi_points import FencingError
from seamline.rules.mqtt_publisher import PublishError
from seamline.sample_config import add_sample_config
from seamline.stop_signal import StopSignals
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


def _reported(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Runtime failures of InfluxDB or the MQTT broker become one line on stderr and exit code 1,
    not a traceback."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (QueryError, BookingsUnavailableError, PublishError, CoordinationUnavailable, FencingError) as exc:
            print(f"seamline rules: {exc}", file=sys.stderr)
            return 1

    return wrapped


def _run(args: argparse.Namespace) -> int:
    from apscheduler.schedulers.blocking import BlockingScheduler

    cfg = load_service_config(args.config)
    configure(effective_level(cfg.logging.level, verbose=getattr(args, "verbose", 0), quiet=getattr(args, "quiet", 0)),
              cfg.logging.format)
    signals = StopSignals().install()  # before any work: a stop during start-up is graceful too
    if getattr(args, "verbose", 0) < 2:  # a line per job run is debug noise
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    service = make_service(cfg)
    catchup = make_catchup(cfg, service)
    alerts = _alerts_runtime(cfg, service)
    scheduler = BlockingScheduler(timezone=UTC)
    ids = schedule(scheduler, service, delay_s=cfg.jobs.delay_s, shift_every_min=cfg.jobs.shift_every_min,
                   capacity_every_min=cfg.capacity.interval_min if cfg.capacity.enabled else None,
                   renew_s=cfg.lease.renew_s, misfire_grace_s=cfg.jobs.misfire_grace_s,
                   ledger=catchup.run if catchup is not None else None, ledger_every_s=cfg.ledger.every_s,
                   alerts=alerts.tick if alerts is not None else None,
                   alerts_every_s=alerts.config.interval_s if alerts is not None else 30.0)
    shards = f"{cfg.shard_count} dynamic shards" if cfg.shards == "dynamic" else f"shard {cfg.shard}"
    log.info("rules service %s: %d enterprises (%s, lease %s), jobs %s", cfg.lease.holder,
             len(service.master.enterprises), shards, cfg.lease.kind, ids)

    metrics = _metrics(cfg, scheduler, ids, alerts)
    threading.Thread(target=_stop_when_signalled, args=(signals, scheduler), name="rules-stop", daemon=True).start()
    if alerts is not None:
        alerts.start()
    try:
        if not signals.event.is_set():  # a signal before start: the stop thread found nothing to shut down
            scheduler.start()
    finally:
        if alerts is not None:
            alerts.close()
        if metrics is not None:
            metrics.close()
        service.lease.release()
    return signals.exit_code(0)


def _stop_when_signalled(signals: StopSignals, scheduler: Any) -> None:
    """Shut the scheduler down at the first SIGTERM/SIGINT. A signal during start-up may come before
    the scheduler runs: retried until it does (or the process ends without starting it)."""
    from apscheduler.schedulers import SchedulerNotRunningError

    signals.event.wait()
    while True:
        try:
            scheduler.shutdown(wait=False)
            return
        except SchedulerNotRunningError:
            time.sleep(0.1)


def _metrics(cfg: RulesConfig, scheduler: Any, job_ids: list[str], alerts: Any) -> Any:
    """``/metrics`` (job durations, last successes, misses, windows late, alert failures, lease) when
    ``metrics.port`` is set."""
    if not cfg.metrics.port:
        return None
    from seamline.metrics_http import MetricsServer
    from seamline.rules.health import LateWindows, RulesHealth, window_jobs

    health = RulesHealth(holder=cfg.lease.holder, windows=window_jobs(job_ids),
                         late=LateWindows(delay_s=cfg.jobs.delay_s, grace_s=cfg.jobs.misfire_grace_s),
                         alert_failures=(lambda: alerts.failures) if alerts is not None else None)
    health.listen(scheduler)
    server = MetricsServer(health.families, bind=cfg.metrics.bind, port=cfg.metrics.port)
    log.info("metrics on http://%s:%d/metrics", cfg.metrics.bind, server.start())
    return server


def _alerts_runtime(cfg: RulesConfig, service: Any) -> Any:
    """The alert evaluator and sender when ``alerts:`` names a config (enabled), else None."""
    if cfg.alerts is None:
        return None
    from seamline.rules.alerts.config import load_alerts_config
    from seamline.rules.alerts.service import make_alerts

    acfg = load_alerts_config(cfg.alerts)
    if not acfg.enabled:
        return None
    if not acfg.alertmanager.peers:
        log.warning("alerts: no alertmanager.peers configured; alerts are evaluated and stored, not sent")
    return make_alerts(acfg, influx=cfg.influx, master=service.master, lease=service.lease, owner=service.owner)


def _check_config(args: argparse.Namespace) -> int:
    """Validate the rules config, its master data and its alerts config; print a summary."""
    from seamline.rules.alerts.config import load_alerts_config, resolve_rules
    from seamline.rules.master_data import load_master_data

    cfg = load_service_config(args.config)
    master = load_master_data(cfg.master_data)
    print(f"{args.config}: ok; master data {cfg.master_data}: {len(master.enterprises)} enterprises")
    if cfg.alerts is None:
        print("alerts: not configured")
        return 0
    acfg = load_alerts_config(cfg.alerts)
    rules = resolve_rules(acfg, source=str(cfg.alerts))
    state = "enabled" if acfg.enabled else "disabled"
    print(f"{cfg.alerts}: ok ({state}); {len(rules)} rules every {acfg.interval_s:g} s, evaluation delay "
          f"{acfg.evaluation_delay_s:g} s, {len(acfg.alertmanager.peers)} Alertmanager peers")
    for r in rules:
        c = r.condition
        print(f"  {r.id}: {r.severity.value}, {c.kind} {c.op.value} {c.threshold:g} (clear {c.clear_at:g}), "
              f"for {r.for_s:g} s, keep firing {r.keep_firing_for_s:g} s")
    return 0


def _backfill(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    start, end = _instant(args.from_, "--from"), _instant(args.to, "--to")
    if not end > start:
        raise UsageError("--to must be after --from")
    service = make_service(cfg)
    sizes = args.window or [s for s in SIZES if s in service.master.kpi.windows]
    if cfg.shards == "dynamic":
        return _enqueue_backfill(service, sizes, start, end)
    if service.lease.acquire() is None:
        print("rules backfill: another replica holds the lease; not writing", file=sys.stderr)
        return 1
    for size in sizes:
        tasks = range_tasks(service.master, size, start, end)
        sys.stderr.write(f"{size}: {len(tasks)} windows\n")
        with Progress(len(tasks), f"{size} windows", unit="windows") as bar:
            report = service.run_tasks(tasks, size, progress=lambda done, _total: bar.update(done - bar.done))
        sys.stderr.write(f"{size}: {report.points} points, {report.statements} InfluxQL statements\n")
        if report.fenced:
            print("rules backfill: the lease was lost (another replica took over); stopped", file=sys.stderr)
            return 1
    service.lease.release()
    return 0


def _enqueue_backfill(service: Any, sizes: list[str], start: datetime, end: datetime) -> int:
    """Dynamic shards: the windows go into the ledger as pending; each shard's owner computes them
    (``seamline rules status`` shows the progress)."""
    from seamline.rules.catchup import backfill_keys

    keys = backfill_keys(service.master, service.lease.shard_name, sizes, start, end)
    service.ledger.enqueue(keys)
    shards = len({k.shard for k in keys})
    sys.stderr.write(f"{len(keys)} windows of {shards} shards enqueued; the live replicas compute them\n")
    return 0


def _status(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    if cfg.lease.kind != "postgres":
        raise UsageError(f"{args.config}: rules status reads PostgreSQL: needs lease.kind: postgres")
    report = _status_report(cfg)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"live replicas of {cfg.lease.name}: {', '.join(report['replicas']) or '(none)'}")
    for row in report["leases"]:
        state = f"expires in {row['expires_in_s']:.1f} s" if row["expires_in_s"] > 0 else "expired"
        print(f"  {row['name']}: {row['holder']} token {row['token']} ({state})")
    print("ledger: " + ", ".join(f"{n} {s}" for s, n in sorted(report["windows"].items())))
    return 0


def _status_report(cfg: RulesConfig) -> dict[str, Any]:
    from seamline.rules.bootstrap import make_coordination
    from seamline.rules.coordination.membership import Membership
    from seamline.rules.coordination.window_ledger import PgLedger

    coord = make_coordination(cfg)
    table = coord.lease.table  # type: ignore[attr-defined]  # PgLease and ShardLeases
    prefix = f"{cfg.lease.name}/"
    live = Membership(table.db, group=cfg.lease.name, replica=cfg.lease.holder, ttl_s=cfg.lease.ttl_s).live()
    assert isinstance(coord.ledger, PgLedger)
    return {"replicas": sorted(live),
            "leases": [{"name": r.name, "holder": r.holder, "token": r.token, "expires_in_s": r.expires_in_s}
                       for r in table.rows(prefix)],
            "windows": coord.ledger.summary(prefix)}


def _once(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    at = _instant(args.at, "--at")
    if args.write and cfg.shards == "dynamic":
        raise UsageError("rules once --write: with dynamic shards only the shard's owner writes; use rules backfill "
                         "(it enqueues the windows for the owners)")
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
    if cfg.shards == "dynamic" and not args.dry_run:
        raise UsageError("rules capacity: with dynamic shards the running replicas publish, each for the shards it "
                         "holds; --dry-run builds every line here")
    now = datetime.now(UTC)
    if args.dry_run:
        messages = dataclasses.replace(service.feed, ownership=None).build(now)
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
    cc = rs.add_parser("check-config", help="validate the rules config, master data and alert rules")
    cc.add_argument("--config", type=Path, required=True)
    cc.set_defaults(handler=_check_config)
    st = rs.add_parser("status", help="live replicas, lease holders and the window ledger (lease.kind postgres)")
    st.add_argument("--config", type=Path, required=True)
    st.add_argument("--json", action="store_true")
    st.set_defaults(handler=_reported(_status))
    add_sample_config(rs, "rules")
