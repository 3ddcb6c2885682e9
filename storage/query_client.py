"""The InfluxQL client: ``POST /query`` on InfluxDB 1.x, or on the 1.x-compatible query endpoint
of InfluxDB 2.x/3.x, where database and retention policy reach buckets through DBRP mappings.

Authentication: a 1.x user (Basic), or a 2.x/3.x token (``Authorization: Token …``). Timestamps
come back as UTC epoch milliseconds (``epoch=ms``).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

from pydantic import SecretStr

from seamline.secret_source import redact_url, url_problem
from seamline.storage.query_errors import QueryAuthError, QueryError, QueryRefusedError, QueryUnavailableError

__all__ = ["InfluxQLClient", "QueryClient"]

# Server text kept in an error message: enough for InfluxDB's reasons, not a whole echoed batch.
_MAX_REASON_CHARS = 500


class QueryClient(Protocol):
    """Runs InfluxQL statements (``;``-separated) and returns the answer's ``results`` list."""

    def query(self, q: str, *, db: str | None = None) -> list[dict[str, Any]]: ...


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REASON_CHARS else text[:_MAX_REASON_CHARS] + "…"


class InfluxQLClient:
    """``query(q, db=)`` over HTTP, one request per call. ``timeout_s`` bounds connect and each read
    (seconds). Raises only :class:`~seamline.storage.query_errors.QueryError` subclasses."""

    def __init__(
        self,
        *,
        url: str,
        username: str | None = None,
        password: SecretStr | None = None,
        token: SecretStr | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if (problem := url_problem(url, schemes=("http", "https"), credentials_ok=True)) is not None:
            raise ValueError(f"InfluxDB url {redact_url(url)!r}: {problem}")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"InfluxDB url must be http(s)://host:port, got {redact_url(url)!r}")
        if username and token is not None:
            raise ValueError("give a 1.x username/password or a 2.x token, not both")
        # user:password@ in the URL is not sent (credentials go in a header) nor ever shown
        port = f":{parts.port}" if parts.port else ""
        self.url = self.target = f"{parts.scheme}://{parts.hostname}{port}{parts.path}".rstrip("/")
        self.timeout_s = timeout_s
        self._headers: dict[str, str] = {}
        if token is not None:
            self._headers["Authorization"] = f"Token {token.get_secret_value()}"
        elif username:
            secret = password.get_secret_value() if password else ""
            self._headers["Authorization"] = "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()

    def __repr__(self) -> str:  # no credentials
        return f"InfluxQLClient({self.target})"

    def query(self, q: str, *, db: str | None = None) -> list[dict[str, Any]]:
        """Run one or more statements; return the ``results`` list (one per statement, ``epoch=ms``).
        A refused statement raises :class:`QueryRefusedError` with the server's reason."""
        params = {"q": q, "epoch": "ms"}
        if db:
            params["db"] = db
        req = urllib.request.Request(
            f"{self.url}/query", data=urllib.parse.urlencode(params).encode(), headers=self._headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc.code, exc.read()) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise QueryUnavailableError(f"{self.target}: cannot reach InfluxDB: {exc}") from exc
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise QueryError(f"{self.target}: answer is not JSON: {_clip(raw.decode(errors='replace'))}") from exc
        if "error" in doc:
            raise QueryRefusedError(f"{self.target}: {_clip(str(doc['error']))}")
        results: list[dict[str, Any]] = doc.get("results", [])
        for r in results:
            if "error" in r:
                raise QueryRefusedError(f"{_clip(q)!r}: {_clip(str(r['error']))}")
        return results

    def _http_error(self, status: int, body: bytes) -> QueryError:
        reason = _reason(body)
        message = f"{self.target}: HTTP {status}: {reason}"
        if status in (401, 403):
            return QueryAuthError(message, status=status)
        if status == 429 or status >= 500:
            return QueryUnavailableError(message, status=status)
        return QueryRefusedError(message, status=status)


def _reason(body: bytes) -> str:
    """The message in an error body: 1.x ``{"error"}``, 2.x ``{"message"}``, else the text."""
    text = body.decode("utf-8", errors="replace")
    try:
        doc = json.loads(text)
    except ValueError:
        return _clip(text.strip())
    if isinstance(doc, dict):
        for key in ("error", "message"):
            if isinstance(doc.get(key), str):
                return _clip(str(doc[key]))
    return _clip(text.strip())
