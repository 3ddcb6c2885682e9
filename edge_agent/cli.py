"""``seamline edge``: check a config file, run the agent, list what the broker refused.

``run`` validates the config here (pydantic) and then replaces this process image with the agent's
runtime stage, which imports no pydantic (:mod:`edge_agent.runtime`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from seamline.edge_agent.config import ConfigError, EdgeConfig, load_config
from seamline.edge_agent.modbus.config import ModbusConfigError
from seamline.edge_agent.settings import EdgeSettings
from seamline.errors import UsageError
from seamline.sample_config import add_sample_config


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("edge", help="the edge agent that runs on a factory gateway")
    esub = p.add_subparsers(dest="edge_command", metavar="ACTION", required=True)
    c = esub.add_parser("check-config", help="validate an edge config file and print a summary")
    c.add_argument("file", type=Path, nargs="?", help="YAML config (see `seamline edge sample-config`)")
    c.add_argument("--config", type=Path, help="the same, as the other services spell it")
    c.set_defaults(handler=_check_config)
    r = esub.add_parser("run", help="run the agent until SIGTERM / Ctrl-C")
    r.add_argument("--config", required=True, type=Path, help="YAML config file")
    r.set_defaults(handler=_run)
    q = esub.add_parser("quarantine", help="messages the broker refused, kept in the spool's local quarantine")
    qsub = q.add_subparsers(dest="quarantine_command", metavar="ACTION", required=True)
    ql = qsub.add_parser("list", help="count refusals by reason and list the newest quarantined messages")
    ql.add_argument("--config", required=True, type=Path, help="the agent's YAML config (its spool.path)")
    ql.add_argument("--limit", type=int, default=50, help="newest messages to list (default 50)")
    ql.set_defaults(handler=_quarantine_list)
    add_sample_config(esub, "edge")


def _load(path: Path) -> tuple[EdgeConfig, EdgeSettings]:
    """The validated config and the runtime settings, its referenced files checked; one
    ``FILE: key: problem`` line per problem (full path), raised as a usage error (exit 2)."""
    from seamline.edge_agent.config_files import resolve_files

    full = path.resolve()
    try:
        config = load_config(path)
        settings, problems = resolve_files(config.settings(config_dir=full.parent), config_dir=full.parent)
    except ConfigError as exc:
        problems = exc.problems
    except ModbusConfigError as exc:
        problems = str(exc).splitlines()
    if problems:
        raise UsageError("\n".join(f"{full}: {p}" for p in problems)) from None
    return config, settings


def summary(config: EdgeConfig, path: Path) -> str:
    """Human-readable summary of a valid config (never shows the password)."""
    g, u = config.gateway, config.uplink
    tls = "TLS" if u.tls_ca or u.tls_cert else "plain TCP"
    lines = [
        f"{path}: OK",
        f"  gateway        {g.id} ({g.enterprise}/{g.site})",
        f"  local broker   {config.local.host}:{config.local.port} subscribe {config.local.subscription}",
        f"  uplink         {', '.join(f'{h}:{p}' for h, p in u.addresses)} MQTT {u.protocol} {tls}, "
        f"user {u.username or '-'}, "
        f"password {'set' if u.password else 'not set'}",
        f"  spool          {config.spool.path} (max {config.spool.max_bytes} bytes)",
        f"  machine types  {', '.join(sorted(config.machine_types))}",
        f"  machines       {len(config.machines)} listed, auto-discover {'on' if config.auto_discover else 'off'}",
        f"  aggregates     every {config.aggregate_period_s} s; self-telemetry every {config.telemetry_interval_s} s",
        f"  modbus devices {len(config.modbus)}",
    ]
    return "\n".join(lines)


def _check_config(args: argparse.Namespace) -> int:
    path: Path | None = args.config or args.file
    if path is None or (args.config and args.file):
        raise UsageError("edge check-config: give the config file once: FILE or --config FILE")
    print(summary(_load(path)[0], path))
    return 0


def _run(args: argparse.Namespace) -> int:
    from seamline.edge_agent.runtime import exec_runtime
    from seamline.logsetup import effective_level

    config, settings = _load(args.config)
    level = effective_level(config.logging.level, verbose=getattr(args, "verbose", 0), quiet=getattr(args, "quiet", 0))
    exec_runtime(settings, log_level=level, log_json=config.logging.format == "json")


def _quarantine_list(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from seamline.edge_agent.quarantine import QuarantineReadError, read

    config, _ = _load(args.config)
    try:
        stats, messages = read(config.spool.path, limit=max(0, args.limit))
    except QuarantineReadError as exc:
        raise UsageError(str(exc)) from None
    print(f"{config.spool.path}: {stats.messages} message(s) in quarantine ({stats.bytes} bytes), "
          f"{stats.evicted_total} evicted past the bound")
    refused = ", ".join(f"{reason} {n}" for reason, n in stats.rejected_by_reason.items()) or "none"
    print(f"refused by reason: {refused}")
    for m in messages:
        when = datetime.fromtimestamp(m.rejected_ms / 1000, tz=UTC).isoformat(timespec="seconds")
        preview = m.payload[:60].decode("utf-8", errors="replace")
        print(f"{m.id:>8}  {when}  {m.reason:<14} {m.topic}  {len(m.payload)} B  {preview!r}  ({m.detail})")
    return 0
