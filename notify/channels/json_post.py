"""POSTing JSON to a vendor robot: one ``requests.Session`` per channel (keep-alive), errors
mapped to the channel contract. URLs are never put into error messages (they carry keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from seamline.notify.channels.base import PermanentSendError, RetryableSendError

# 4xx answers that mean "not now" or "not configured right", not "this message is bad".
RETRYABLE_4XX = frozenset({401, 403, 404, 408, 409, 425, 429})
# Vendor answers are small JSON objects; a huge body is not an answer we can use.
MAX_ANSWER_BYTES = 64 * 1024


class JsonPoster:
    def __init__(self, *, vendor: str, timeout_s: float) -> None:
        self.vendor = vendor
        self.timeout_s = timeout_s
        self.session = requests.Session()

    def post(self, url: str, body: bytes, *, params: Mapping[str, str] | None = None,
             headers: Mapping[str, str] | None = None) -> requests.Response:
        """POST ``body`` (JSON, UTF-8); raise on no answer or a non-2xx status."""
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        try:
            resp = self.session.post(url, data=body, params=params, headers=all_headers, timeout=self.timeout_s,
                                     allow_redirects=False)
        except requests.RequestException as exc:
            raise RetryableSendError(f"{self.vendor}: no answer ({type(exc).__name__})") from None
        if resp.status_code >= 500 or resp.status_code in RETRYABLE_4XX:
            raise RetryableSendError(f"{self.vendor}: HTTP {resp.status_code}",
                                     retry_after_s=_retry_after(resp.headers.get("Retry-After")))
        if resp.status_code >= 300:
            raise PermanentSendError(f"{self.vendor}: HTTP {resp.status_code} {resp.text[:200]!r}")
        return resp

    def answer(self, resp: requests.Response) -> dict[str, Any]:
        """The JSON object a robot answers with (its error code is in there, with HTTP 200)."""
        raw = resp.content[:MAX_ANSWER_BYTES]
        try:
            data = resp.json() if len(raw) < MAX_ANSWER_BYTES else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise RetryableSendError(f"{self.vendor}: answer is not a JSON object: {raw[:100]!r}")
        return data

    def close(self) -> None:
        self.session.close()


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
