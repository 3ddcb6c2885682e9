"""A small HTTP proxy in front of a real InfluxDB 1.x, for tests and the demo.

* ``POST /api/v2/write?org=&bucket=db[/rp]&precision=`` is mapped onto ``/write?db=&rp=&precision=``
  the way InfluxDB 1.8's compatibility endpoint does (``Authorization: Token user:password``
  becomes the 1.x credentials), so the v2 writer can be tested against our 1.x server;
* as an InfluxDB 2.x server (``token=``, optionally ``buckets=``): the write endpoints and
  ``/query`` answer 401 unless the request carries ``Authorization: Token <token>``; a write to a
  bucket without a DBRP mapping gets 404, and ``/query`` reads only mapped databases (its
  ``db``/``rp`` names reach the buckets through the mapping, here the 1.x database and policy of
  the same names) — the way 2.x's 1.x-compatible query API answers;
* ``/write``, ``/query`` and ``/ping`` pass through unchanged otherwise;
* write requests can be made to fail on demand through a thread-safe ``FaultPlan``: the next N
  answer 429/503 (with Retry-After), 500, 401, ...; bodies over X bytes get 413; lines matching a
  predicate are refused with a 1.x-style ``400 partial write`` while the others are stored (as 1.x
  does); answers can be slowed down; connections dropped without an answer; and the listener can
  be stopped and restarted on the same port (connection refused in between).

Only write endpoints see faults, so a test can always read back through the shim or the server.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from seamline.localstack.ports import free_port

__all__ = ["Fault", "FaultPlan", "InfluxShim"]

_V2_PRECISION = {"ns": "n", "us": "u", "ms": "ms", "s": "s"}
# Upstream is a local test server; anything slower than this is a bug we want to see as a 502.
_UPSTREAM_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One injected answer. ``status=None`` drops the connection without answering."""

    status: int | None
    retry_after: str | None = None
    body: str = '{"error":"injected by influx_shim"}'


class FaultPlan:
    """What the next write requests experience. Every method is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Fault] = []
        self._delays: list[float] = []
        self._max_body_bytes: int | None = None
        self._reject: Callable[[str], bool] | None = None

    def fail_next(self, n: int, status: int, *, retry_after_s: float | None = None, body: str | None = None) -> None:
        """The next ``n`` write requests get ``status`` (and ``Retry-After`` if given, seconds)."""
        ra = None if retry_after_s is None else f"{retry_after_s:g}"
        fault = Fault(status=status, retry_after=ra)
        if body is not None:
            fault = Fault(status=status, retry_after=ra, body=body)
        with self._lock:
            self._queue.extend(fault for _ in range(n))

    def drop_next(self, n: int) -> None:
        """The next ``n`` write requests are read, then the connection is closed without an answer."""
        with self._lock:
            self._queue.extend(Fault(status=None) for _ in range(n))

    def delay_next(self, n: int, delay_s: float) -> None:
        """The next ``n`` write requests are answered ``delay_s`` seconds late."""
        with self._lock:
            self._delays.extend([delay_s] * n)

    def max_body_bytes(self, limit: int | None) -> None:
        """Write bodies larger than ``limit`` bytes (as sent, i.e. compressed) get 413."""
        with self._lock:
            self._max_body_bytes = limit

    def reject_lines(self, predicate: Callable[[str], bool] | None) -> None:
        """Lines for which ``predicate`` is true are refused (400 partial write); others stored."""
        with self._lock:
            self._reject = predicate

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._delays.clear()
            self._max_body_bytes = None
            self._reject = None

    def _take(self) -> tuple[Fault | None, float, int | None, Callable[[str], bool] | None]:
        with self._lock:
            fault = self._queue.pop(0) if self._queue else None
            delay = self._delays.pop(0) if self._delays else 0.0
            return fault, delay, self._max_body_bytes, self._reject


class InfluxShim:
    """``with InfluxShim(upstream_url=influxd.url) as shim: ... shim.url ...``"""

    def __init__(
        self,
        *,
        upstream_url: str,
        port: int | None = None,
        plan: FaultPlan | None = None,
        token: str | None = None,
        buckets: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        """``token``: act as a 2.x server that wants ``Authorization: Token <token>`` on the v2
        write and ``/query``; ``buckets``: its DBRP mappings, bucket -> (database, rp)."""
        up = urllib.parse.urlsplit(upstream_url)
        self.token = token
        self.buckets = dict(buckets) if buckets is not None else None
        self.upstream_host = up.hostname or "127.0.0.1"
        self.upstream_port = up.port or 8086
        self.port = port or free_port()
        self.plan = plan or FaultPlan()
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, key: str) -> int:
        """Requests seen: ``write`` (both endpoints), ``query``, ``ping``, ``write:<status>``,
        ``query:<status>`` (refused by the shim itself: 401, 404), ``dropped``, ``other``."""
        with self._lock:
            return self._counts[key]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def _bump(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Listen (again) on ``self.port``."""
        if self._server is not None:
            return
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="influx-shim", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: new connections are refused until ``start()``."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> InfluxShim:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ upstream
    def forward(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes, list[tuple[str, str]]]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=_UPSTREAM_TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read(), resp.getheaders()
        finally:
            conn.close()


def _v1_write_path(path: str, query: dict[str, str], buckets: Mapping[str, tuple[str, str]] | None) -> str:
    if path == "/write":
        return f"/write?{urllib.parse.urlencode(query)}"
    bucket = query.get("bucket", "")
    if buckets is not None:
        db, rp = buckets[bucket]
    else:
        db, _, rp = bucket.partition("/")
    q = {"db": db, "precision": _V2_PRECISION.get(query.get("precision", "ns"), "n")}
    if rp:
        q["rp"] = rp
    return f"/write?{urllib.parse.urlencode(q)}"


def _handler_for(shim: InfluxShim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            return

        def _body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> None:
            self.send_response(status)
            skip = {"content-length", "connection", "transfer-encoding", "date", "server"}
            for k, v in headers or [("Content-Type", "application/json")]:
                if k.lower() not in skip:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _upstream_headers(self) -> dict[str, str]:
            out = {}
            for k in ("Content-Type", "Content-Encoding", "Accept"):
                if self.headers.get(k):
                    out[k] = self.headers[k]
            auth = self.headers.get("Authorization", "")
            if shim.token is not None:
                return out  # a 2.x token is checked here; the 1.x server behind runs without auth
            if auth.startswith("Token ") and ":" in auth[6:]:
                out["Authorization"] = "Basic " + base64.b64encode(auth[6:].encode()).decode()
            elif auth.startswith("Basic "):
                out["Authorization"] = auth
            return out

        def do_GET(self) -> None:
            self._passthrough("GET")

        def do_HEAD(self) -> None:
            self._passthrough("HEAD")

        def do_POST(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            if parts.path in ("/write", "/api/v2/write"):
                self._write(parts)
            else:
                self._passthrough("POST")

        def _refuse(self, key: str, status: int, code: str, message: str) -> None:
            shim._bump(f"{key}:{status}")
            self._answer(status, json.dumps({"code": code, "message": message}).encode())

        def _authorized(self) -> bool:
            """As 2.x: the token in ``Authorization: Token …`` (when the shim plays 2.x)."""
            return shim.token is None or self.headers.get("Authorization", "") == f"Token {shim.token}"

        def _passthrough(self, method: str) -> None:
            parts = urllib.parse.urlsplit(self.path)
            shim._bump({"/query": "query", "/ping": "ping"}.get(parts.path, "other"))
            body = self._body() if method == "POST" else None
            if parts.path == "/query":
                if not self._authorized():
                    self._refuse("query", 401, "unauthorized", "unauthorized access")
                    return
                params = dict(urllib.parse.parse_qsl(parts.query))
                if body and self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    params.update(urllib.parse.parse_qsl(body.decode()))
                mapped = {db for db, _ in shim.buckets.values()} if shim.buckets is not None else None
                if mapped is not None and params.get("db") and params["db"] not in mapped:
                    self._refuse("query", 404, "not found", f"no dbrp mapping for database {params['db']!r}")
                    return
            status, data, headers = shim.forward(method, self.path, body, self._upstream_headers())
            self._answer(status, data, headers)

        def _write(self, parts: urllib.parse.SplitResult) -> None:
            shim._bump("write")
            body = self._body()
            fault, delay_s, max_bytes, reject = shim.plan._take()
            if delay_s:
                time.sleep(delay_s)
            if fault is not None and fault.status is None:
                shim._bump("dropped")
                self.close_connection = True
                return
            if fault is not None:
                assert fault.status is not None
                shim._bump(f"write:{fault.status}")
                extra = [("Retry-After", fault.retry_after)] if fault.retry_after else []
                self._answer(fault.status, fault.body.encode(), [("Content-Type", "application/json"), *extra])
                return
            if max_bytes is not None and len(body) > max_bytes:
                shim._bump("write:413")
                self._answer(413, b'{"error":"Request Entity Too Large"}')
                return
            query = dict(urllib.parse.parse_qsl(parts.query))
            if not self._authorized():  # 2.x wants the token on its 1.x-compatible /write too
                self._refuse("write", 401, "unauthorized", "unauthorized access")
                return
            bucket = query.get("bucket", "")
            if parts.path == "/api/v2/write" and shim.buckets is not None and bucket not in shim.buckets:
                self._refuse("write", 404, "not found", f"bucket {bucket!r} not found")
                return
            path = _v1_write_path(parts.path, query, shim.buckets)
            headers = self._upstream_headers()
            refused: list[str] = []
            if reject is not None:
                text = (gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body).decode()
                kept: list[str] = []
                for line in text.split("\n"):
                    (refused if line and reject(line) else kept).append(line)
                body = "\n".join(kept).encode()
                headers.pop("Content-Encoding", None)
            up_headers: list[tuple[str, str]]
            if refused and not body.strip():
                status, data, up_headers = 204, b"", []
            else:
                status, data, up_headers = shim.forward("POST", path, body, headers)
            if refused and status == 204:
                status = 400
                msg = "\n".join(f"unable to parse '{ln}': rejected by influx_shim" for ln in refused)
                data = json.dumps({"error": f"partial write: {msg} dropped=0"}).encode()
                up_headers = [("Content-Type", "application/json")]
            shim._bump(f"write:{status}")
            self._answer(status, data, up_headers)

    return Handler
