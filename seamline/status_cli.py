"""``seamline status --config FILE``: what a running service's ``/metrics`` says, for a person.

The service is told by its config's top-level keys (``gateway``: the edge agent, ``master_data``:
rules, else ingest); its ``metrics.port``/``metrics.bind`` say where to ask. Exit 1 when nothing
answers there (the service is down or its metrics are off)."""

from __future__ import annotations

import argparse
import re
import urllib.request
from pathlib import Path
from typing import Any

from seamline.configfile import ConfigFileError, load_service_yaml
from seamline.errors import UnavailableError, UsageError

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "status", help="a running service's health (its /metrics), for a person")
    p.add_argument("--config", type=Path, required=True, help="the service's YAML config (edge, ingest or rules)")
    p.set_defaults(handler=_status)


def service_of(data: dict[str, Any]) -> str:
    if "gateway" in data:
        return "edge"
    return "rules" if "master_data" in data else "ingest"


def readable(text: str, prefix: str) -> list[str]:
    """``name{labels} value`` lines of the exposition as ``name  labels  value``, prefix dropped."""
    out = []
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m or line.startswith("#") or m.group(1).endswith(("_created", "_bucket")):
            continue
        name, labels, value = m.group(1).removeprefix(prefix), (m.group(2) or "").strip("{}"), float(m.group(3))
        shown = f"{value:.0f}" if value.is_integer() else f"{value:.3f}"
        out.append(f"  {name:<44} {labels:<40} {shown:>12}")
    return out


def _status(args: argparse.Namespace) -> int:
    try:
        data = load_service_yaml(args.config, "edge")  # read only for metrics.*; any service's env is fine
    except ConfigFileError as exc:
        raise UsageError(str(exc)) from None
    service = service_of(data)
    data = load_service_yaml(args.config, service)
    metrics = data.get("metrics") or {}
    port, bind = int(metrics.get("port") or 0), str(metrics.get("bind") or "127.0.0.1")
    if not port:
        raise UsageError(f"{args.config.resolve()}: metrics.port: not set; expected the port the {service} "
                         "service serves /metrics on")
    host = "127.0.0.1" if bind in ("0.0.0.0", "::") else bind
    url = f"http://{host}:{port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
    except OSError as exc:
        raise UnavailableError(f"{service} at {url}: {getattr(exc, 'reason', exc)} (is it running?)") from None
    print(f"{service} ({args.config.resolve()}), from {url}:")
    print("\n".join(readable(text, f"seamline_{service}_")))
    return 0
