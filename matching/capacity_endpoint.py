"""The capacity HTTP endpoint: the rules service POSTs each run's capacity messages
(``capacity.http_url``), ``seamline match --capacity URL`` GETs the latest per line. Every request
must carry ``Authorization: Bearer <token>`` (the token from a file or the environment; compared in
constant time) — and, when the endpoint runs HTTPS with a client CA, a client certificate that CA
signed (mTLS). A request without them gets 401 and changes nothing; refusals are counted.

Bodies are validated as ``CapacityMessage`` lists before anything is stored; the store keeps the
latest message per line, bounded."""

from __future__ import annotations

import hmac
import http.server
import json
import logging
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr, TypeAdapter, ValidationError

from seamline.contracts.messages import CapacityMessage

log = logging.getLogger(__name__)

# A POST carries one rules run: thousands of lines × ~1 kB; more is not a capacity document.
MAX_BODY_BYTES = 16 * 1024 * 1024
# Lines kept (latest message each): a cluster has thousands; beyond this a POST is refused whole.
MAX_LINES = 100_000
_MESSAGES = TypeAdapter(list[CapacityMessage])
# Seconds a connection may take for its TLS handshake and request: rules posts in well under one.
REQUEST_TIMEOUT_S = 30.0


@dataclass(slots=True)
class EndpointStats:
    accepted_posts: int = 0
    refused_unauthorised: int = 0
    refused_invalid: int = 0
    served: int = 0


@dataclass(slots=True)
class CapacityStore:
    latest: dict[tuple[str, str, str], CapacityMessage] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, messages: list[CapacityMessage]) -> bool:
        with self.lock:
            keys = {(m.enterprise, m.site, m.line) for m in messages}
            if len(keys | self.latest.keys()) > MAX_LINES:
                return False
            for m in messages:
                key = (m.enterprise, m.site, m.line)
                old = self.latest.get(key)
                if old is None or old.generated_ts_ms <= m.generated_ts_ms:
                    self.latest[key] = m
            return True

    def snapshot(self) -> list[CapacityMessage]:
        with self.lock:
            return [self.latest[k] for k in sorted(self.latest)]


def authorised(header: str | None, token: SecretStr) -> bool:
    """``header`` is exactly ``Bearer <token>`` (constant-time comparison)."""
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer "):].encode(), token.get_secret_value().encode())


class CapacityEndpoint:
    """``POST /capacity`` and ``GET /capacity`` on ``host:port`` (0 = a free port), in a thread."""

    def __init__(self, *, host: str, port: int, token: SecretStr, tls: ssl.SSLContext | None = None) -> None:
        self.store = CapacityStore()
        self.stats = EndpointStats()
        self._token = token
        self._server = http.server.ThreadingHTTPServer((host, port), _handler(self))
        if tls is not None:
            # the handshake happens in the request's own thread (first read), bounded by its timeout,
            # so a client that connects and stalls cannot block the accept loop
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True,
                                                  do_handshake_on_connect=False)
        self._tls = tls is not None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self._tls else 'http'}://{host!s}:{port}/capacity"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="capacity-endpoint", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _handler(ep: CapacityEndpoint) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT_S

        def _auth(self) -> bool:
            if self.path.split("?", 1)[0] != "/capacity":
                self._reply(404, {"error": "not found"})
                return False
            if authorised(self.headers.get("Authorization"), ep._token):
                return True
            ep.stats.refused_unauthorised += 1
            log.warning("capacity endpoint: %s %s from %s refused: no valid bearer token", self.command,
                        self.path, self.client_address[0])
            self._reply(401, {"error": "a bearer token is required"}, bearer=True)
            return False

        def do_GET(self) -> None:
            if self._auth():
                ep.stats.served += 1
                self._reply(200, [m.model_dump(mode="json") for m in ep.store.snapshot()])

        def do_POST(self) -> None:
            if not self._auth():
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = 0
            if length <= 0 or length > MAX_BODY_BYTES:
                ep.stats.refused_invalid += 1
                self._reply(413 if length > 0 else 400, {"error": f"body must be 1..{MAX_BODY_BYTES} bytes"})
                return
            try:
                messages = _MESSAGES.validate_json(self.rfile.read(length))
            except ValidationError as exc:
                ep.stats.refused_invalid += 1
                first = exc.errors()[0]
                self._reply(400, {"error": f"{'.'.join(map(str, first['loc']))}: {first['msg']}"})
                return
            if not ep.store.put(messages):
                ep.stats.refused_invalid += 1
                self._reply(507, {"error": f"more than {MAX_LINES} lines"})
                return
            ep.stats.accepted_posts += 1
            self._reply(204, None)

        def _reply(self, status: int, body: Any, *, bearer: bool = False) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if bearer:
                self.send_header("WWW-Authenticate", 'Bearer realm="seamline capacity"')
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("capacity endpoint: " + format, *args)

    return Handler


def server_tls(*, cert: str, key: str, client_ca: str | None) -> ssl.SSLContext:
    """HTTPS with ``cert``/``key``; with ``client_ca`` every client must present a certificate it signed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile=cert, keyfile=key)
    if client_ca is not None:
        ctx.load_verify_locations(cafile=client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx
