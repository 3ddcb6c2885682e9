"""``seamline ingest --config FILE`` and ``seamline ingest quarantine list|replay``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seamline.errors import InputError, UsageError
from seamline.ingest.config import load_config
from seamline.logsetup import configure, effective_level
from seamline.sample_config import add_sample_config
from seamline.stop_signal import StopSignals


def register(sub: Any) -> None:
    p = sub.add_parser("ingest", help="MQTT -> InfluxDB ingest (shared subscription, acks after durable write)")
    p.add_argument("--config", type=Path, help="ingest YAML (see ingest/ingest.sample.yaml)")
    p.set_defaults(handler=_run)
    isub = p.add_subparsers(dest="ingest_command", metavar="SUBCOMMAND")
    q = isub.add_parser("quarantine", help="inspect or replay quarantined messages")
    qsub = q.add_subparsers(dest="quarantine_command", metavar="ACTION", required=True)
    ql = qsub.add_parser("list", help="list quarantined entries (oldest first)")
    ql.add_argument("--config", dest="sub_config", type=Path, help="ingest YAML")
    ql.add_argument("--reason", help="only this reason code (e.g. bad_json, db_rejected)")
    ql.add_argument("--limit", type=int, default=100, help="at most this many entries (default 100)")
    ql.add_argument("--json", action="store_true", help="one JSON object per line")
    ql.set_defaults(handler=_list)
    qr = qsub.add_parser("replay", help="re-validate and write what passes now; the rest stays")
    qr.add_argument("--config", dest="sub_config", type=Path, help="ingest YAML")
    qr.add_argument("--reason", help="only this reason code")
    qr.set_defaults(handler=_replay)
    cc = isub.add_parser("check-config", help="validate the config and the files it names; print a summary")
    cc.add_argument("--config", dest="sub_config", type=Path, help="ingest YAML")
    cc.set_defaults(handler=_check_config)
    add_sample_config(isub, "ingest")
    c = isub.add_parser("confirm", help="confirm stored seq ranges to the gateways, ask them to resend holes, "
                        "count what they report lost")
    c.add_argument("--config", dest="sub_config", type=Path, help="ingest YAML")
    c.add_argument("--interval", type=float, default=30.0, help="seconds between rounds (default 30)")
    c.add_argument("--grace", type=float, default=60.0, help="seconds a hole stays open before a resend (default 60)")
    c.add_argument("--window", type=float, default=86_400.0, help="seconds of device time looked at (default 86400)")
    c.add_argument("--once", action="store_true", help="one round, print its figures as JSON, exit")
    c.set_defaults(handler=_confirm)


def _config_path(args: argparse.Namespace) -> Path:
    path: Path | None = getattr(args, "sub_config", None) or args.config
    if path is None:
        raise UsageError("--config FILE is required")
    return path


def _run(args: argparse.Namespace) -> int:
    from seamline.ingest.service import IngestService

    config = load_config(_config_path(args))
    configure(effective_level(config.logging.level, verbose=getattr(args, "verbose", 0),
                              quiet=getattr(args, "quiet", 0)), config.logging.format)
    signals = StopSignals().install()
    return signals.exit_code(IngestService(config).run(signals.event))


def _check_config(args: argparse.Namespace) -> int:
    """Validate without connecting anywhere (``seamline ingest --config`` starts the service)."""
    path = _config_path(args)
    c = load_config(path)
    tls = "TLS" if c.mqtt.uses_tls else "plain TCP"
    print(f"{path.resolve()}: OK")
    print(f"  broker      {c.mqtt.host}:{c.mqtt.port} {tls}, client id {c.mqtt.client_id}, "
          f"{'shared group ' + c.mqtt.share_group if c.mqtt.shared else 'not shared'}")
    print(f"  influx      {c.influx.url} database {c.influx.database}")
    print(f"  quarantine  {c.quarantine.path} (max {c.quarantine.max_rows} rows)")
    print("  metrics     " + (f"http://{c.metrics.bind}:{c.metrics.port}/metrics" if c.metrics.port else "off"))
    return 0


def _confirm(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from seamline.ingest.confirm import Confirmer, ConfirmSettings

    config = load_config(_config_path(args))
    confirmer = Confirmer(config, ConfirmSettings(interval_s=args.interval, grace_s=args.grace, window_s=args.window))
    if args.once:
        confirmer.start()
        try:
            print(json.dumps(dataclasses.asdict(confirmer.round())))
        finally:
            confirmer.close()
        return 0
    signals = StopSignals().install()
    return signals.exit_code(confirmer.run(signals.event))


def _no_quarantine(path: Path) -> bool:
    """Reading a quarantine that was never written creates nothing (no file, no folder): one line."""
    if path.exists():
        return False
    print(f"# no quarantine at {path}: nothing quarantined yet (or quarantine.path points elsewhere)",
          file=sys.stderr)
    return True


def _list(args: argparse.Namespace) -> int:
    from seamline.ingest.quarantine import QuarantineStore

    config = load_config(_config_path(args))
    if _no_quarantine(config.quarantine.path):
        return 0
    store = QuarantineStore(config.quarantine.path, max_rows=config.quarantine.max_rows)
    try:
        items = store.list(reason=args.reason, limit=args.limit)
        counts = store.counts()
    finally:
        store.close()
    for item in items:
        when = datetime.fromtimestamp(item.received_ms / 1000, UTC).isoformat(timespec="milliseconds")
        if args.json:
            record = {
                "id": item.id, "received_ms": item.received_ms, "source": item.source, "topic": item.topic,
                "reason": item.reason, "detail": item.detail, "payload_len": item.payload_len,
                "payload": item.payload.decode("utf-8", errors="replace"),
            }
            print(json.dumps(record, ensure_ascii=False))
        else:
            preview = item.payload[:80].decode("utf-8", errors="replace").replace("\n", " ")
            print(f"{item.id}\t{when}\t{item.reason}\t{item.topic}\t{item.detail}\t{preview}")
    if not args.json:
        summary = ", ".join(f"{r}={n}" for r, n in counts.items()) or "empty"
        print(f"# {len(items)} shown; stored per reason: {summary}", file=sys.stderr)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from seamline.ingest.quarantine import QuarantineStore
    from seamline.ingest.service import replay_quarantine
    from seamline.progress import Progress

    config = load_config(_config_path(args))
    if _no_quarantine(config.quarantine.path):
        print("replayed 0, still failing 0")
        return 0
    store = QuarantineStore(config.quarantine.path, max_rows=config.quarantine.max_rows)
    try:
        counts = store.counts()
    finally:
        store.close()
    total = counts.get(args.reason, 0) if args.reason else sum(counts.values())
    with Progress(total, "quarantine replay", unit="entries") as bar:
        replayed, failing = replay_quarantine(config, reason=args.reason, progress=bar.update)
    print(f"replayed {replayed}, still failing {failing}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m seamline.ingest.cli ...``: the ``seamline ingest`` command alone, without importing the
    other components' CLIs (a broken or missing component cannot stop ingest from starting)."""
    import logging

    parser = argparse.ArgumentParser(prog="seamline")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["ingest", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.handler(args))
    except InputError as exc:  # UsageError among them; a TLS or credentials file the config names
        print(f"seamline ingest: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
