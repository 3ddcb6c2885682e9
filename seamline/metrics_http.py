"""Prometheus ``/metrics`` of the edge agent and rules, standard library only (``http.server``): the gateway's
runtime imports neither pydantic nor prometheus-client (edge_agent/README.md, memory budget).

Names follow Prometheus conventions: ``seamline_edge_`` prefix, base units (bytes, seconds),
``_total`` on counters, labels for reasons and devices. Off unless ``metrics.port`` is set; bound
to 127.0.0.1 by default (a gateway's scraper runs on the box or reaches it through a tunnel)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: ``values`` maps a label set (name -> value pairs) to the sample's value."""

    name: str
    kind: str  # gauge | counter
    help: str
    values: Mapping[tuple[tuple[str, str], ...], float] = field(default_factory=dict)


def family(name: str, kind: str, help_: str, value: float | None = None,
           by: Iterable[tuple[Mapping[str, str], float]] = ()) -> Family:
    values = {tuple(sorted(labels.items())): float(v) for labels, v in by}
    if value is not None:
        values[()] = float(value)
    return Family(name, kind, help_, values)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(families: Iterable[Family]) -> str:
    """The Prometheus text exposition format (version 0.0.4)."""
    lines: list[str] = []
    for f in families:
        lines.append(f"# HELP {f.name} {f.help}")
        lines.append(f"# TYPE {f.name} {f.kind}")
        for labels, value in f.values.items():
            shown = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{f.name}{{{shown}}} {value!r}" if shown else f"{f.name} {value!r}")
    return "\n".join(lines) + "\n"


class MetricsServer:
    """``GET /metrics`` answered with ``collect()`` on a daemon thread."""

    def __init__(self, collect: Callable[[], Iterable[Family]], *, bind: str, port: int) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server calls it by this name
                if self.path.split("?", 1)[0] != "/metrics":
                    self.send_error(404)
                    return
                try:
                    body = render(outer.collect()).encode()
                except Exception:  # a failing collector must not kill the agent; the scrape says 500
                    log.exception("metrics collection failed")
                    self.send_error(500)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # one line per scrape is noise
                return

        self.collect = collect
        self._server = ThreadingHTTPServer((bind, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> int:
        self._thread.start()
        return self.port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
