"""Local HTTP servers that stand in for the vendors' robot endpoints in tests, and check each
request the way the vendor documents it: path, token, signature, timestamp window, message type
and size. They answer like the vendor (HTTP 200 with an error code on refusal, a rate limit with
the vendor's "too fast" code) so the senders' error handling is exercised for real.

The signature checks here are oracles: written again from the vendors' documented formulas,
independently of ``seamline.notify.channels.signing``, and never imported by production code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from seamline.localstack.ports import free_port

Vendor = Literal["dingtalk", "wecom", "feishu", "webhook", "json"]


@dataclass(frozen=True, slots=True)
class Received:
    at: float  # time.monotonic() on arrival
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class Refusal(Exception):
    def __init__(self, status: int, answer: dict[str, Any]) -> None:
        super().__init__(json.dumps(answer))
        self.status = status
        self.answer = answer


class VendorReceiver:
    """One robot. ``limit=(n, per_s)`` refuses the (n+1)-th message within ``per_s`` seconds the
    way the vendor does. :meth:`down` closes the port (connection refused), :meth:`up` reopens it."""

    def __init__(self, vendor: Vendor, *, token: str = "tok-123", secret: str | None = "SECabc123",
                 limit: tuple[int, float] | None = None, port: int | None = None) -> None:
        self.vendor = vendor
        self.token = token
        self.secret = secret
        self.limit = limit
        self.port = port or free_port()
        self.accepted: list[Received] = []
        self.refused: list[tuple[Received, dict[str, Any]]] = []
        self._window: deque[float] = deque()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/hook"

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, answer = receiver._handle(self.path, dict(self.headers.items()), raw)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, n: int, *, timeout_s: float = 30.0) -> list[Received]:
        """Block until ``n`` messages were accepted; return them (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(self.accepted) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.vendor}: {len(self.accepted)} of {n} messages after {timeout_s} s; "
                                         f"refused: {[a for _, a in self.refused][:5]}")
                self._cond.wait(left)
            return list(self.accepted)

    def _handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, {"error": "body is not UTF-8 JSON"}
        received = Received(at=time.monotonic(), path=path, headers=headers, body=body)
        try:
            ok = getattr(self, f"_check_{self.vendor}")(path, headers, raw, body)
            self._rate_check()
        except Refusal as refusal:
            with self._cond:
                self.refused.append((received, refusal.answer))
            return refusal.status, refusal.answer
        with self._cond:
            self.accepted.append(received)
            self._cond.notify_all()
        return 200, ok

    def _rate_check(self) -> None:
        if self.limit is None:
            return
        n, per_s = self.limit
        now = time.monotonic()
        with self._lock:
            while self._window and self._window[0] <= now - per_s:
                self._window.popleft()
            if len(self._window) >= n:
                code = {"dingtalk": 130101, "wecom": 45009, "feishu": 11232}.get(self.vendor, 429)
                raise Refusal(200, {"errcode": code, "code": code, "errmsg": "send too fast"})
            self._window.append(now)

    def _check_dingtalk(self, path: str, headers: dict[str, str], raw: bytes, body: dict[str, Any]) -> dict[str, Any]:
        url = urllib.parse.urlsplit(path)
        q = urllib.parse.parse_qs(url.query)
        if url.path != "/robot/send" or q.get("access_token") != [self.token]:
            raise Refusal(200, {"errcode": 300001, "errmsg": "token is not exist"})
        if self.secret is not None:
            ts = q.get("timestamp", ["0"])[0]
            expected = base64.b64encode(hmac.new(self.secret.encode("utf-8"), f"{ts}\n{self.secret}".encode(),
                                                 hashlib.sha256).digest()).decode()
            if abs(int(ts) - time.time() * 1000) > 3_600_000 or q.get("sign") != [expected]:
                raise Refusal(200, {"errcode": 310000, "errmsg": "sign not match"})
        kind = body.get("msgtype")
        if kind == "markdown":
            md = body.get("markdown") or {}
            if not md.get("title") or not md.get("text"):
                raise Refusal(200, {"errcode": 40035, "errmsg": "missing markdown title or text"})
        elif kind != "text" or not (body.get("text") or {}).get("content"):
            raise Refusal(200, {"errcode": 40035, "errmsg": "bad msgtype"})
        return {"errcode": 0, "errmsg": "ok"}

    def _check_wecom(self, path: str, headers: dict[str, str], raw: bytes, body: dict[str, Any]) -> dict[str, Any]:
        url = urllib.parse.urlsplit(path)
        if url.path != "/cgi-bin/webhook/send" or urllib.parse.parse_qs(url.query).get("key") != [self.token]:
            raise Refusal(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
        kind = body.get("msgtype")
        content = (body.get(kind) or {}).get("content") if kind in ("markdown", "text") else None
        limit = 4096 if kind == "markdown" else 2048
        if not content or len(content.encode()) > limit:
            raise Refusal(200, {"errcode": 40058, "errmsg": "content missing or too long"})
        return {"errcode": 0, "errmsg": "ok"}

    def _check_feishu(self, path: str, headers: dict[str, str], raw: bytes, body: dict[str, Any]) -> dict[str, Any]:
        if path != f"/open-apis/bot/v2/hook/{self.token}":
            raise Refusal(200, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"})
        if self.secret is not None:
            ts = str(body.get("timestamp", "0"))
            key = f"{ts}\n{self.secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if abs(int(ts) - time.time()) > 3600 or body.get("sign") != expected:
                raise Refusal(200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"})
        if body.get("msg_type") not in ("text", "post", "interactive", "share_chat", "image"):
            raise Refusal(200, {"code": 19002, "msg": "params error, msg_type need"})
        if len(raw) > 20 * 1024:
            raise Refusal(200, {"code": 9499, "msg": "request body too large"})
        return {"code": 0, "msg": "success", "data": {}}

    def _check_webhook(self, path: str, headers: dict[str, str], raw: bytes, body: dict[str, Any]) -> dict[str, Any]:
        if self.secret is not None:
            ts = headers.get("X-Seamline-Timestamp", "0")
            mac = hmac.new(self.secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
            if abs(int(ts) - time.time()) > 300 or headers.get("X-Seamline-Signature") != f"sha256={mac}":
                raise Refusal(401, {"error": "bad signature"})
        if body.get("schema_version") != 1 or not body.get("id") or not body.get("alerts"):
            raise Refusal(422, {"error": "not a seamline notification"})
        return {"ok": True}

    def _check_json(self, path: str, headers: dict[str, str], raw: bytes, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("message"):
            raise Refusal(400, {"error": "no message"})
        return {"ok": True}
