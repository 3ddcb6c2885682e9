"""The capacity feed: daily line efficiency from the KPIs -> ``rules.capacity`` -> one
``CapacityMessage`` per line, published retained (QoS 1) on
``seamline/v1/<enterprise>/<site>/<line>/_line/capacity`` and POSTed as a JSON array to an HTTP
endpoint (bounded retry with jittered backoff).

Booked standard minutes come from the retained ``BookingsMessage`` of each line that
``seamline match --publish`` leaves on the broker (``rules.bookings``), read before every run with
the same bounded retry. A line whose bookings message is invalid is not published (its previous,
retained capacity stays) rather than published as if nothing were booked on it.
"""

from __future__ import annotations

import json
import logging
import random
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import SecretStr

from seamline.backoff import backoff_delay_s
from seamline.contracts.messages import CapacityMessage
from seamline.contracts.topic import MessageKind, Topic
from seamline.rules.bookings import Bookings, BookingsSource, BookingsUnavailableError, log_bookings
from seamline.rules.capacity import DailyEfficiency, capacity_messages
from seamline.rules.capacity_points import capacity_points
from seamline.rules.kpi_points import Fence, KpiPointWriter, NoFence
from seamline.rules.master_data import MasterData
from seamline.rules.ownership import Ownership
from seamline.rules.windows import WindowSize
from seamline.secret_source import redact_url
from seamline.storage.query import CountingClient, Select
from seamline.storage.schema import KPI_LINE, TIME, Tag
from seamline.storage.schema import Field as StorageField

log = logging.getLogger(__name__)

_EFFICIENCY, _COVERAGE = StorageField.LINE_EFFICIENCY, StorageField.COVERAGE


def read_daily_efficiency(client: CountingClient, master: MasterData, *, rp: str, now: datetime,
                          days: int) -> dict[tuple[str, str], list[DailyEfficiency]]:
    """Daily (``window=1d``) line efficiency and coverage of the last ``days`` local days."""
    ents = tuple(sorted(e.id for e in master.enterprises))
    if not ents:
        return {}
    start_ms = int((now.timestamp() - (days + 1) * 86400) * 1000)
    sel = Select(measurement=KPI_LINE, fields=(_EFFICIENCY, _COVERAGE), rp=rp, enterprises=ents,
                 group_by=(Tag.ENTERPRISE, Tag.LINE, Tag.WINDOW), start_ms=start_ms,
                 end_ms=int(now.timestamp() * 1000))
    out: dict[tuple[str, str], list[DailyEfficiency]] = {}
    for series in client.run([sel])[0]:
        if series.tags.get(Tag.WINDOW) != WindowSize.DAY.value:
            continue
        ent = master.enterprise(series.tags[Tag.ENTERPRISE])
        key = (ent.id, series.tags[Tag.LINE])
        for r in series.rows:
            day = datetime.fromtimestamp(int(r[TIME]) / 1000, ent.tz).date()
            eff = r.get(_EFFICIENCY)
            out.setdefault(key, []).append(
                DailyEfficiency(day, float(eff) if eff is not None else None, float(r.get(_COVERAGE) or 0.0)))
    return out


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool) -> None:
        """Publish and return once the broker acknowledged (QoS 1), else raise."""


class HttpPostError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Poster(Protocol):
    def post(self, url: str, body: bytes) -> None:
        """POST JSON; raise :class:`HttpPostError`."""


class UrllibPoster:
    """POST with ``Authorization: Bearer <token>`` when a token is configured (the capacity endpoint
    refuses requests without it); HTTPS verified against ``context`` (default: the system store)."""

    def __init__(self, *, timeout_s: float = 10.0, token: SecretStr | None = None,
                 context: ssl.SSLContext | None = None) -> None:
        self.timeout_s = timeout_s
        self._token = token
        self._context = context

    def post(self, url: str, body: bytes) -> None:
        headers = {"Content-Type": "application/json"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        req = urllib.request.Request(url, data=body, method="POST", headers=headers)
        shown = redact_url(url)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s, context=self._context) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            raise HttpPostError(f"{shown}: HTTP {exc.code}", retryable=exc.code in (408, 429) or exc.code >= 500) \
                from None
        except (urllib.error.URLError, OSError) as exc:
            why = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise HttpPostError(f"{shown}: {why}", retryable=True) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    attempts: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0

    def delay_s(self, failures: int, rng: random.Random) -> float:
        """Wait after the ``failures``-th consecutive failure (1-based), :func:`seamline.backoff.backoff_delay_s`."""
        return backoff_delay_s(failures - 1, initial_s=self.backoff_s, max_s=self.max_backoff_s, random=rng.random)


def post_with_retry(poster: Poster, url: str, body: bytes, policy: RetryPolicy, *,
                    sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> int:
    """POST until it succeeds; returns the attempts used. Raises the last error after
    ``policy.attempts`` tries or at once on a non-retryable one."""
    rng = rng or random.Random()
    for attempt in range(1, policy.attempts + 1):
        try:
            poster.post(url, body)
            return attempt
        except HttpPostError as exc:
            if not exc.retryable or attempt == policy.attempts:
                raise
            wait = policy.delay_s(attempt, rng)
            log.warning("capacity POST failed (%s), attempt %d/%d, retry in %.1f s", exc, attempt,
                        policy.attempts, wait)
            sleep(wait)
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class FeedReport:
    messages: tuple[CapacityMessage, ...]
    published: int
    posted: bool
    post_attempts: int
    bookings: Bookings
    withheld: tuple[str, ...] = ()  # enterprise/site/line not published: their bookings are invalid
    points_written: int = 0  # capacity_day points written to RP kpi (for dashboards)


def capacity_topic(msg: CapacityMessage) -> str:
    return str(Topic.line(enterprise=msg.enterprise, site=msg.site, line=msg.line, kind=MessageKind.CAPACITY))


def read_bookings_with_retry(source: BookingsSource, policy: RetryPolicy, *,
                             sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> Bookings:
    """Read the retained bookings; on :class:`BookingsUnavailableError` retry with the same capped,
    jittered backoff as the POST, and raise the last error after ``policy.attempts`` tries (never
    publish capacity as if nothing were booked because the broker was down)."""
    rng = rng or random.Random()
    for attempt in range(1, policy.attempts + 1):
        try:
            return source.read()
        except BookingsUnavailableError as exc:
            if attempt == policy.attempts:
                raise
            wait = policy.delay_s(attempt, rng)
            log.warning("bookings unavailable (%s), attempt %d/%d, retry in %.1f s", exc, attempt, policy.attempts,
                        wait)
            sleep(wait)
    raise AssertionError("unreachable")


@dataclass(slots=True, kw_only=True)
class CapacityFeed:
    client: CountingClient
    master: MasterData
    kpi_rp: str
    bookings: BookingsSource
    publisher: Callable[[], AbstractContextManager[Publisher]] | None  # opens a connection per run
    poster: Poster | None
    http_url: str | None
    retry: RetryPolicy = RetryPolicy()
    fence: Fence = NoFence()  # noqa: RUF009 - stateless default
    sleep: Callable[[float], None] = time.sleep
    writer: KpiPointWriter | None = None  # also record the published capacity in RP kpi (capacity_day)
    # dynamic shards: only the enterprises this replica owns, each under its shard's fence
    ownership: Ownership | None = None

    def _fence(self, enterprise_id: str) -> Fence:
        return self.ownership.fence_for(enterprise_id) if self.ownership is not None else self.fence

    def _owned(self) -> MasterData:
        if self.ownership is None:
            return self.master
        own = self.ownership
        return self.master.model_copy(update={"enterprises": [e for e in self.master.enterprises if own.owns(e.id)]})

    def _build(self, now: datetime) -> tuple[list[CapacityMessage], Bookings]:
        booked = read_bookings_with_retry(self.bookings, self.retry, sleep=self.sleep)
        log_bookings(booked)
        master = self._owned()
        daily = read_daily_efficiency(self.client, master, rp=self.kpi_rp, now=now, days=master.kpi.efficiency_days)
        return capacity_messages(master, now=now, daily_efficiency=daily, booked=booked.booked), booked

    def build(self, now: datetime) -> list[CapacityMessage]:
        """Capacity of every line, lowered by the retained bookings (nothing is sent)."""
        return self._build(now)[0]

    def run(self, now: datetime) -> FeedReport:
        """Build, then (fence checked before each side effect) publish and POST every line whose
        bookings are known."""
        built, booked = self._build(now)
        messages = [m for m in built if (m.enterprise, m.site, m.line) not in booked.invalid_lines]
        withheld = tuple(f"{m.enterprise}/{m.site}/{m.line}" for m in built
                         if (m.enterprise, m.site, m.line) in booked.invalid_lines)
        for line in withheld:
            log.warning("capacity of %s not published: its bookings message is invalid", line)
        published = 0
        if self.publisher is not None and messages:
            with self.publisher() as pub:
                for msg in messages:
                    self._fence(msg.enterprise).check()
                    pub.publish(capacity_topic(msg), msg.model_dump_json().encode(), qos=1, retain=True)
                    published += 1
        attempts = 0
        if self.poster is not None and self.http_url and messages:
            for enterprise in sorted({m.enterprise for m in messages}):
                self._fence(enterprise).check()
            body = json.dumps([m.model_dump(mode="json") for m in messages]).encode()
            attempts = post_with_retry(self.poster, self.http_url, body, self.retry, sleep=self.sleep)
        written = self.writer.write(capacity_points(messages, self.master)) if self.writer is not None else 0
        return FeedReport(tuple(messages), published, attempts > 0, attempts, booked, withheld, written)


def free_total(messages: Sequence[CapacityMessage]) -> Mapping[tuple[str, str], float]:
    """Free standard minutes per (enterprise, line) over all days (for reports)."""
    return {(m.enterprise, m.line): sum(d.free_std_min for d in m.days) for m in messages}
