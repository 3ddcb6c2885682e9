"""PointWriter for InfluxDB 1.x: ``POST /write?db=&rp=&precision=ms`` over one kept-alive connection."""

from __future__ import annotations

import base64
import gzip as gzip_module
import http.client
import socket
import threading
import urllib.parse
from collections.abc import Sequence

from pydantic import SecretStr

from seamline.secret_source import redact_url, url_problem
from seamline.storage.write_errors import RetryableWriteError, error_for_status

__all__ = ["InfluxV1Writer"]

# Level 1 gets most of line protocol's redundancy (≈5-8x) for a fraction of level 9's CPU, which
# matters on a shared 2-core ingest box.
_GZIP_LEVEL = 1
# Errors that mean "the kept-alive connection was already dead before we used it".
_STALE_CONNECTION_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class InfluxV1Writer:
    """Write to InfluxDB 1.x. Credentials go in a Basic Authorization header, never in the URL.

    One instance is one HTTP connection; calls are serialised by a lock. ``timeout_s`` bounds the
    connect and each socket read (seconds). Raises only ``WriteError`` subclasses.
    """

    def __init__(
        self,
        *,
        url: str,
        database: str,
        retention_policy: str | None = None,
        username: str | None = None,
        password: SecretStr | None = None,
        timeout_s: float = 10.0,
        gzip: bool = False,
    ) -> None:
        if (problem := url_problem(url, schemes=("http", "https"), credentials_ok=True)) is not None:
            raise ValueError(f"InfluxDB url {redact_url(url)!r}: {problem}")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"InfluxDB url must be http(s)://host:port, got {redact_url(url)!r}")
        if not database:
            raise ValueError("database must not be empty")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        base = parts.path.rstrip("/")
        query = {"db": database, "precision": "ms"}
        if retention_policy:
            query["rp"] = retention_policy
        self._path = f"{base}/write?{urllib.parse.urlencode(query)}"
        self._timeout_s = timeout_s
        self._gzip = gzip
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        if gzip:
            self._headers["Content-Encoding"] = "gzip"
        if username:
            secret = password.get_secret_value() if password else ""
            token = base64.b64encode(f"{username}:{secret}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self.target = f"{parts.scheme}://{self._host}:{self._port}{base} db={database} rp={retention_policy}"

    def __repr__(self) -> str:  # no credentials
        return f"InfluxV1Writer({self.target})"

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        if self._conn is not None:
            return self._conn, True
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        self._conn = cls(self._host, self._port, timeout=self._timeout_s)
        return self._conn, False

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        conn, reused = self._connection()
        try:
            conn.request("POST", self._path, body=body, headers=self._headers)
            resp = conn.getresponse()
        except _STALE_CONNECTION_ERRORS:
            self._drop_connection()
            if not reused:
                raise
            # the server closed an idle kept-alive connection; a write is idempotent, so resend once
            conn, _ = self._connection()
            conn.request("POST", self._path, body=body, headers=self._headers)
            resp = conn.getresponse()
        data = resp.read()
        headers = {k: v for k, v in resp.getheaders()}
        if resp.will_close:
            self._drop_connection()
        return resp.status, data, headers

    def write(self, lines: Sequence[str]) -> None:
        """Write ``lines`` (ms timestamps); return once InfluxDB answered 204."""
        if not lines:
            return
        body = "\n".join(lines).encode("utf-8")
        if self._gzip:
            body = gzip_module.compress(body, compresslevel=_GZIP_LEVEL)
        with self._lock:
            try:
                status, data, headers = self._post(body)
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                kind = "timeout" if isinstance(exc, socket.timeout | TimeoutError) else type(exc).__name__
                raise RetryableWriteError(f"{self.target}: {kind}: {exc}", status=None) from exc
        if 200 <= status < 300:
            return
        raise error_for_status(status, data, headers, lines)

    def close(self) -> None:
        with self._lock:
            self._drop_connection()
