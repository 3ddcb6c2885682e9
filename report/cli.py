"""``seamline report``: one self-contained HTML page for a factory's day, or the cluster's.

    seamline report --day 2026-05-06 --enterprise f001 --config rules.yaml --out f001-2026-05-06.html
                    [--alertmanager http://127.0.0.1:9093 ...] [--plan-summary plan-summary.json]
                    [--send ops-email --notify-config notify.yaml]
    seamline report --day 2026-05-06 --cluster --config rules.yaml --out cluster-2026-05-06.html

``--config`` is the rules service's file: InfluxDB (KPI points), the MQTT broker (retained capacity
and allocations) and master data (enterprises, lines, calendars, time zones). Exit 0 when the page
was written (a source that could not be read is named on the page and on stderr), 1 when InfluxDB
cannot be read or the e-mail was not delivered, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seamline.errors import UsageError

if TYPE_CHECKING:
    from seamline.notify.config import NotifyConfig
    from seamline.report.cluster_model import ClusterReport
    from seamline.report.model import FactoryReport

# The bound for a factory-day page; the page still gets written, with a warning.
FACTORY_PAGE_MAX_BYTES = 1_000_000


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("report", help="daily HTML report of a factory or the cluster")
    p.add_argument("--day", required=True, type=_day, help="local calendar day, YYYY-MM-DD")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--enterprise", help="enterprise id from master data (default: the only one)")
    who.add_argument("--cluster", action="store_true", help="the platform's page: every enterprise")
    p.add_argument("--config", type=Path, required=True, help="the rules service config (rules.yaml)")
    p.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    p.add_argument("--alertmanager", action="append", default=[], metavar="URL",
                   help="Alertmanager peer to read the alerts from (repeat for HA peers; default: none)")
    p.add_argument("--plan-summary", type=Path, default=None,
                   help="the plan summary of `seamline match --summary-out` (unmet orders)")
    p.add_argument("--send", metavar="CHANNEL", help="e-mail the page through this notify e-mail channel")
    p.add_argument("--notify-config", type=Path, help="notify.yaml holding the --send channel")
    p.add_argument("--max-factories", type=int, default=200, help="cluster: enterprises listed (default 200)")
    p.set_defaults(handler=run)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    from seamline.report.delivery import DeliveryError
    from seamline.storage.query_errors import QueryError

    if args.send and not args.notify_config:
        raise UsageError("--send needs --notify-config")
    if args.max_factories < 1:
        raise UsageError(f"--max-factories must be >= 1, got {args.max_factories}")
    try:
        return _run(args)
    except QueryError as exc:
        print(f"seamline report: KPI points not read: {exc}", file=sys.stderr)
        return 1
    except DeliveryError as exc:
        print(f"seamline report: {args.out} written but not sent: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from seamline.report import delivery
    from seamline.report.cluster_model import cluster_report
    from seamline.report.gather import gather
    from seamline.report.model import factory_report
    from seamline.report.render import render_cluster, render_factory
    from seamline.report.wiring import sources_for
    from seamline.rules.config import load_config
    from seamline.rules.master_data import load_master_data

    cfg = load_config(args.config)
    master = load_master_data(cfg.master_data)
    enterprise = None if args.cluster else _enterprise(args.enterprise, [e.id for e in master.enterprises])
    channel = delivery.email_channel(_notify_config(args.notify_config), args.send) if args.send else None
    sources = sources_for(cfg, cluster=args.cluster, alertmanagers=args.alertmanager,
                          plan_summary=args.plan_summary, clock=lambda: datetime.now(UTC))
    inputs = gather(sources, master, args.day, enterprise)
    report: FactoryReport | ClusterReport
    if enterprise is None:
        report = cluster_report(master, inputs, max_factories=args.max_factories)
        html = render_cluster(report).encode()
    else:
        report = factory_report(master, enterprise, inputs)
        html = render_factory(report).encode()
    write_atomically(args.out, html)
    for n in report.notes:
        print(f"seamline report: note: {n.en}", file=sys.stderr)
    print(f"seamline report: wrote {args.out} ({len(html)} bytes, {inputs.kpis.statements} InfluxQL statements)")
    if enterprise is not None and len(html) > FACTORY_PAGE_MAX_BYTES:
        print(f"seamline report: warning: {args.out} is {len(html)} bytes, more than {FACTORY_PAGE_MAX_BYTES}",
              file=sys.stderr)
    if channel is not None:
        subject, body = delivery.subject_and_body(report)
        mail = delivery.report_email(channel, subject=subject, body=body, html=html, filename=args.out.name)
        delivery.send(channel, mail)
        print(f"seamline report: sent {args.out.name} through {args.send} to {len(channel.to)} recipients")
    return 0


def _enterprise(given: str | None, known: list[str]) -> str:
    if given is None:
        if len(known) == 1:
            return known[0]
        raise UsageError(f"give --enterprise (one of {', '.join(known[:10])}{' ...' if len(known) > 10 else ''}) "
                         "or --cluster")
    if given not in known:
        raise UsageError(f"--enterprise {given!r} is not in master data (e.g. {', '.join(known[:10])})")
    return given


def _notify_config(path: Path) -> NotifyConfig:
    from seamline.notify.config import load_config

    return load_config(path)
