"""A small client for one Alertmanager's v2 API (stdlib only, so ``rules`` can post alerts without
the ``notify`` extra): post alerts, create and expire silences, read alerts back.

Errors are typed: :class:`AlertmanagerUnavailable` (connection refused, timeout, 5xx - retry
later) and :class:`AlertmanagerRejected` (4xx - the request itself is wrong; retrying the same
body cannot help). Messages never contain the bearer token.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from seamline.contracts.alerts import PostableAlert

# Alertmanager has no documented body limit, but one huge POST that times out helps nobody:
# big batches go in chunks of this many alerts (~0.5 MB of JSON).
CHUNK_ALERTS = 1000


class AlertmanagerError(Exception):
    """A request to Alertmanager failed."""


class AlertmanagerUnavailable(AlertmanagerError):
    """No answer, or a 5xx: try again later."""


class AlertmanagerRejected(AlertmanagerError):
    """A 4xx: the request is wrong (e.g. an invalid label); the same body will fail again."""


@dataclass(frozen=True, slots=True)
class Matcher:
    """A silence matcher: ``name=value`` (or ``!=``, ``=~``, ``!~`` with the flags)."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True


@dataclass(frozen=True, slots=True)
class AlertState:
    """An alert as Alertmanager holds it (``GET /api/v2/alerts``)."""

    labels: Mapping[str, str]
    state: str  # unprocessed | active | suppressed
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]
    ends_at: datetime
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None


class AlertmanagerClient:
    """One Alertmanager peer at ``base_url`` (e.g. ``http://127.0.0.1:9093``)."""

    def __init__(self, base_url: str, *, timeout_s: float = 10.0, bearer_token: str | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("Alertmanager URL must start with http:// or https://")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.base_url = base_url.rstrip("/")
        parts = urllib.parse.urlsplit(self.base_url)
        # What errors and logs show: the URL without any user:password@ in it.
        self.display_url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        self.timeout_s = timeout_s
        self._token = bearer_token

    def __repr__(self) -> str:
        return f"AlertmanagerClient({self.display_url!r})"

    def post_alerts(self, alerts: Sequence[PostableAlert]) -> None:
        """``POST /api/v2/alerts`` in chunks of :data:`CHUNK_ALERTS`; raises :class:`AlertmanagerError`."""
        for i in range(0, len(alerts), CHUNK_ALERTS):
            self._request("POST", "/api/v2/alerts", [a.to_wire() for a in alerts[i:i + CHUNK_ALERTS]])

    def create_silence(self, matchers: Sequence[Matcher], *, starts_at: datetime, ends_at: datetime,
                       created_by: str, comment: str) -> str:
        """``POST /api/v2/silences``; returns the new silence's id."""
        body = {
            "matchers": [{"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}
                         for m in matchers],
            "startsAt": _utc(starts_at),
            "endsAt": _utc(ends_at),
            "createdBy": created_by,
            "comment": comment,
        }
        answer = self._request("POST", "/api/v2/silences", body)
        if not isinstance(answer, dict) or not isinstance(answer.get("silenceID"), str):
            raise AlertmanagerError(f"{self.display_url}: unexpected answer to POST /api/v2/silences")
        return str(answer["silenceID"])

    def expire_silence(self, silence_id: str) -> None:
        """``DELETE /api/v2/silence/{id}``."""
        self._request("DELETE", f"/api/v2/silence/{urllib.parse.quote(silence_id, safe='')}", None)

    def alerts(self) -> list[AlertState]:
        """``GET /api/v2/alerts``: every alert the server holds (silenced and inhibited included)."""
        answer = self._request("GET", "/api/v2/alerts", None)
        if not isinstance(answer, list):
            raise AlertmanagerError(f"{self.display_url}: unexpected answer to GET /api/v2/alerts")
        return [_alert_state(a) for a in answer]

    def _request(self, method: str, path: str, body: Any) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        where = f"{self.display_url}: {method} {path}"
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode(errors="replace").strip()
            cls = AlertmanagerRejected if 400 <= exc.code < 500 else AlertmanagerUnavailable
            raise cls(f"{where}: HTTP {exc.code} {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AlertmanagerUnavailable(f"{where}: {reason}") from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise AlertmanagerError(f"{where}: answer is not JSON") from None


def _utc(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("silence times must be timezone-aware")
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _alert_state(raw: Any) -> AlertState:
    status = raw.get("status") or {}
    return AlertState(
        labels=dict(raw.get("labels") or {}),
        state=str(status.get("state", "")),
        silenced_by=tuple(status.get("silencedBy") or ()),
        inhibited_by=tuple(status.get("inhibitedBy") or ()),
        ends_at=_time(raw.get("endsAt")),
        annotations={str(k): str(v) for k, v in (raw.get("annotations") or {}).items()},
        starts_at=_time(raw.get("startsAt")) if raw.get("startsAt") else None,
    )


def _time(value: Any) -> datetime:
    """Alertmanager's RFC 3339 times (``Z``, up to nanoseconds) as aware datetimes (microseconds)."""
    text = str(value).replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python takes at most 6 fraction digits
        digits = "".join(itertools.takewhile(str.isdigit, rest))
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    return datetime.fromisoformat(text)
