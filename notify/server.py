"""The HTTP side of ``seamline notify`` (stdlib ``ThreadingHTTPServer``):

* ``POST /alertmanager/<receiver-key>``: an Alertmanager webhook (bearer token if configured);
* ``GET /metrics``: Prometheus self-metrics; ``GET /-/healthy``: liveness.

Bodies are bounded (``listen.max_body_bytes``); the token is compared in constant time and never
logged; request lines are logged at debug level only (paths carry no secrets, headers might).
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from seamline.notify.intake import Intake, Outcome
from seamline.notify.metrics import Metrics

log = logging.getLogger(__name__)

RECEIVER_PATH = re.compile(r"^/alertmanager/([A-Za-z0-9_.\-]{1,200})/?$")


class NotifyHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, intake: Intake, metrics: Metrics, token: str | None,
                 max_body_bytes: int, on_enqueued: Callable[[list[str]], None]) -> None:
        self.intake = intake
        self.metrics = metrics
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.on_enqueued = on_enqueued
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: NotifyHTTPServer
    protocol_version = "HTTP/1.1"
    # A client that stops talking mid-request frees its thread after this long (s).
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        if self.path == "/metrics":
            self._reply(200, generate_latest(self.server.metrics.registry), CONTENT_TYPE_LATEST)
        elif self.path in ("/-/healthy", "/-/ready"):
            self._reply(200, b"ok\n")
        else:
            self._reply(404, b"not found\n")

    def do_POST(self) -> None:
        match = RECEIVER_PATH.match(self.path)
        if match is None:
            self._reply(404, b"POST /alertmanager/<receiver-key>\n")
            return
        if not self._authorized():
            self.server.metrics.webhooks.labels("unauthorized").inc()
            log.warning("webhook from %s refused: missing or wrong bearer token", self.client_address[0])
            self._reply(401, b"unauthorized\n")
            return
        body = self._body()
        if body is None:
            return
        outcome, channels = self.server.intake.accept(match.group(1), body)
        self._answer(outcome)
        if channels:
            self.server.on_enqueued(channels)

    def _authorized(self) -> bool:
        if self.server.token is None:
            return True
        given = self.headers.get("Authorization", "")
        expected = f"Bearer {self.server.token}"
        return hmac.compare_digest(given.encode(), expected.encode())

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._reply(411, b"Content-Length required\n")
            return None
        if length < 0 or length > self.server.max_body_bytes:
            self.server.metrics.webhooks.labels("too_large").inc()
            log.warning("webhook refused: %d bytes, max %d (listen.max_body_bytes)", length,
                        self.server.max_body_bytes)
            self._reply(413, b"body too large\n")
            self.close_connection = True
            return None
        return self.rfile.read(length)

    def _answer(self, outcome: Outcome) -> None:
        self._reply(outcome.status, f"{outcome.result}\n".encode())

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
