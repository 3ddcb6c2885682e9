"""Typed errors of the point-writer boundary, and the mapping from an HTTP answer onto them.

Both writers (v1 ``/write``, v2 ``/api/v2/write``) raise only these, so the write policy decides
what to do from the type alone: retry (``RetryableWriteError``), split (``BatchTooLargeError``),
quarantine lines (``PartialWriteError``), keep the batch and shout (``AuthWriteError``), or give up
on the request (``PermanentWriteError``).
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping, Sequence

__all__ = [
    "AuthWriteError",
    "BatchTooLargeError",
    "PartialWriteError",
    "PermanentWriteError",
    "RetryableWriteError",
    "ServerLimitError",
    "WriteError",
    "error_for_status",
    "parse_retry_after_s",
    "server_error_text",
]

# How a 400 is told apart (InfluxDB 1.x and 2.x error texts): reasons about a line's content go to
# quarantine; reasons about the database's own limits keep the lines; a 400 whose text is neither
# (a proxy's HTML page, an empty body) is a server fault and the batch is retried whole.
_CONTENT_MARKERS = ("unable to parse", "type conflict", "beyond retention", "invalid", "failed to parse",
                    "errors encountered on line", "bad timestamp", "missing tag", "missing field")
_LIMIT_MARKERS = ("max-values-per-tag", "max-series-per-database", "max series per database", "limit exceeded",
                  "exceeds the limit")
_PARSE_PREFIX = "unable to parse '"
_PARSE_SUFFIX = "': "
# Error text is logged and kept with quarantined lines; a server echoing a 50 MB batch back must not
# end up whole in a log line.
_MAX_ERROR_TEXT_CHARS = 2_000


class WriteError(Exception):
    """Base of every error a PointWriter raises."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryableWriteError(WriteError):
    """Try the same batch again later: 429, 503, other 5xx, connection errors, timeouts.

    ``retry_after_s`` is the server's Retry-After in seconds when it sent one (429/503).
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after_s = retry_after_s


class BatchTooLargeError(WriteError):
    """413: the request body is over the server's limit; send smaller batches."""


class PartialWriteError(WriteError):
    """400: some lines were refused (parse errors, field type conflicts, points outside the RP).

    ``bad_lines`` holds (index into the batch, reason) for every line the server's message names.
    ``unmapped`` holds reasons that name no line (e.g. ``field type conflict: ...``): the caller
    must bisect the batch to find those lines. InfluxDB 1.x has stored the valid lines already.
    """

    def __init__(
        self,
        message: str,
        *,
        bad_lines: list[tuple[int, str]],
        unmapped: list[str],
        status: int | None = 400,
    ) -> None:
        super().__init__(message, status=status)
        self.bad_lines = bad_lines
        self.unmapped = unmapped


class ServerLimitError(WriteError):
    """The database refuses valid lines for a limit of its own (``max-values-per-tag``,
    ``max-series-per-database``, a body limit below one line): the lines are not at fault, so they
    are kept and retried (an operator raises the limit), never quarantined."""


class AuthWriteError(WriteError):
    """401/403: credentials missing, wrong or without write permission. Keep the data."""


class PermanentWriteError(WriteError):
    """Any other refusal of the request itself (404 database not found, unknown RP, 4xx)."""


def parse_retry_after_s(value: str | None, *, now_s: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now_s is None else now_s))


def server_error_text(body: bytes | str) -> str:
    """The human message inside an InfluxDB error body (1.x ``{"error"}``, 2.x ``{"message"}``)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        doc = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(doc, dict):
        for key in ("error", "message"):
            if isinstance(doc.get(key), str):
                return str(doc[key])
    return text.strip()


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_TEXT_CHARS else text[:_MAX_ERROR_TEXT_CHARS] + "…"


def map_partial_write(message: str, lines: Sequence[str]) -> tuple[list[tuple[int, str]], list[str]]:
    """Split a 400 message into (bad line index, reason) pairs and reasons that name no line.

    InfluxDB 1.x writes ``partial write: unable to parse '<line>': <reason>`` joined by newlines,
    then `` dropped=N``; other reasons (type conflicts, invalid field names, points beyond the RP)
    name a measurement, not a line. A line that occurs several times in the batch is bad each time.
    """
    text = message.removeprefix("partial write: ")
    # strip the trailing " dropped=N" counter so it does not stick to the last reason
    cut = text.rfind(" dropped=")
    if cut != -1 and text[cut + len(" dropped=") :].strip().isdigit():
        text = text[:cut]
    index_by_line: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        index_by_line.setdefault(line, []).append(i)
    bad: list[tuple[int, str]] = []
    unmapped: list[str] = []
    pos = 0
    rest_start = 0
    while (start := text.find(_PARSE_PREFIX, pos)) != -1:
        if text[rest_start:start].strip():
            unmapped.append(text[rest_start:start].strip())
        body_start = start + len(_PARSE_PREFIX)
        end = text.find(_PARSE_SUFFIX, body_start)
        matched = False
        while end != -1:  # the line itself may contain "': ", try each candidate end
            candidate = text[body_start:end]
            if candidate in index_by_line:
                nxt = text.find("\n" + _PARSE_PREFIX, end)
                reason_end = len(text) if nxt == -1 else nxt
                reason = text[end + len(_PARSE_SUFFIX) : reason_end].strip()
                bad.extend((i, _clip(f"unable to parse: {reason}")) for i in index_by_line[candidate])
                pos = rest_start = reason_end
                matched = True
                break
            end = text.find(_PARSE_SUFFIX, end + 1)
        if not matched:
            nxt = text.find("\n" + _PARSE_PREFIX, body_start)
            piece_end = len(text) if nxt == -1 else nxt
            unmapped.append(_clip(text[start:piece_end].strip()))
            pos = rest_start = piece_end
    if text[rest_start:].strip():
        unmapped.append(_clip(text[rest_start:].strip()))
    bad.sort()
    return bad, unmapped


def error_for_status(
    status: int, body: bytes | str, headers: Mapping[str, str], lines: Sequence[str]
) -> WriteError:
    """The WriteError for a non-2xx answer to a write of ``lines``."""
    message = server_error_text(body)
    clipped = _clip(message)
    if status in (429, 503):
        retry_after = parse_retry_after_s(_header(headers, "Retry-After"))
        return RetryableWriteError(f"HTTP {status}: {clipped}", status=status, retry_after_s=retry_after)
    if status == 400:
        return _bad_request(message, clipped, lines)
    if status in (401, 403):
        return AuthWriteError(f"HTTP {status}: {clipped}", status=status)
    if status == 413:
        return BatchTooLargeError(f"HTTP 413: {clipped}", status=status)
    if status >= 500:
        # 1.x answers 500 to an unknown retention policy: retrying cannot fix that
        if "retention policy not found" in message:
            return PermanentWriteError(f"HTTP {status}: {clipped}", status=status)
        retry_after = parse_retry_after_s(_header(headers, "Retry-After"))
        return RetryableWriteError(f"HTTP {status}: {clipped}", status=status, retry_after_s=retry_after)
    return PermanentWriteError(f"HTTP {status}: {clipped}", status=status)


def _kind_of(reason: str) -> str:
    low = reason.lower()
    if any(m in low for m in _LIMIT_MARKERS):
        return "limit"
    return "content" if any(m in low for m in _CONTENT_MARKERS) else "unknown"


def _bad_request(message: str, clipped: str, lines: Sequence[str]) -> WriteError:
    """A 400: lines at fault (quarantine), the database's limits (keep), or a server fault (retry)."""
    bad, unmapped = map_partial_write(message, lines)
    kinds = {_kind_of(r) for r in unmapped}
    if bad or "content" in kinds:
        return PartialWriteError(f"HTTP 400: {clipped}", bad_lines=bad,
                                 unmapped=[r for r in unmapped if _kind_of(r) == "content"])
    if "limit" in kinds:
        return ServerLimitError(f"HTTP 400: {clipped}", status=400)
    return RetryableWriteError(f"HTTP 400 naming no line's content (a server fault): {clipped or 'no message'}",
                               status=400)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for k, v in headers.items():
        if k.lower() == lowered:
            return v
    return None
