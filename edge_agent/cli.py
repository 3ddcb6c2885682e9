"""``seamline edge``: check a config file, run the agent, list what the broker refused.

``run`` validates the config here (pydantic) and then replaces this process image with the agent's
runtime stage, which imports no pydantic (:mod:`edge_agent.runtime`)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from seamline.edge_agent.config import ConfigError, EdgeConfig, load_config
from seamline.edge_agent.modbus.config import ModbusConfigError
from seamline.edge_agent.settings import EdgeSettings
from seamline.errors import UsageError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("edge", help="the edge agent that runs on a factory gateway")
    esub = p.add_subparsers(dest="edge_command", metavar="ACTION", required=True)
    c = esub.add_parser("check-config", help="validate an edge config file and print a summary")
    c.add_argument("file", type=Path, help="YAML config (see edge_agent/edge.sample.yaml)")
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


def _load(path: Path) -> tuple[EdgeConfig, EdgeSettings]:
    try:
        config = load_config(path)
        return config, config.settings(config_dir=path.resolve().parent)
    except ConfigError as exc:
        raise UsageError(f"invalid config\n{exc}") from None
    except ModbusConfigError as exc:
        raise UsageError("invalid config\n" + "\n".join(f"{path.name}: {p}" for p in str(exc).splitlines())) from None


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
    print(summary(_load(args.file)[0], args.file))
    return 0


def _run(args: argparse.Namespace) -> int:
    from seamline.edge_agent.runtime import exec_runtime

    _, settings = _load(args.config)
    exec_runtime(settings, log_level=logging.getLogger().getEffectiveLevel())


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
