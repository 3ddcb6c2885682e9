"""Self-metrics of ``seamline notify`` (Prometheus, ``GET /metrics``), on a registry of its own.

Labels are bounded: ``channel`` is a configured channel name, ``result``/``reason`` fixed sets.
Outbox depth and age are read from the outbox at scrape time, so they are true after a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from seamline.notify.outbox import Depth


class Metrics:
    def __init__(self, channels: Sequence[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.webhooks = Counter("seamline_notify_webhooks", "Alertmanager webhook calls by result",
                                ["result"], registry=r)
        self.enqueued = Counter("seamline_notify_enqueued", "Messages written to the outbox", ["channel"], registry=r)
        self.delivered = Counter("seamline_notify_delivered", "Messages the channel took", ["channel"], registry=r)
        self.failed_attempts = Counter("seamline_notify_failed_attempts", "Send attempts that failed",
                                       ["channel", "kind"], registry=r)
        self.dropped = Counter("seamline_notify_dropped", "Messages removed undelivered, by reason",
                               ["channel", "reason"], registry=r)
        self.rate_limited = Counter("seamline_notify_rate_limited_waits",
                                    "Times a send waited for the channel's rate limit", ["channel"], registry=r)
        for c in channels:  # every series exists from the start, at 0
            self.enqueued.labels(c)
            self.delivered.labels(c)
            self.rate_limited.labels(c)

    def watch_outbox(self, depth: Callable[[], list[Depth]], channels: Sequence[str],
                     clock: Callable[[], float] = time.time) -> None:
        self.registry.register(_OutboxCollector(depth, channels, clock))


class _OutboxCollector(Collector):
    def __init__(self, depth: Callable[[], list[Depth]], channels: Sequence[str], clock: Callable[[], float]) -> None:
        self._depth = depth
        self._channels = channels
        self._clock = clock

    def collect(self) -> Iterable[GaugeMetricFamily]:
        rows = GaugeMetricFamily("seamline_notify_outbox_messages", "Messages waiting", labels=["channel"])
        size = GaugeMetricFamily("seamline_notify_outbox_bytes", "Bytes waiting", labels=["channel"])
        age = GaugeMetricFamily("seamline_notify_outbox_oldest_age_seconds", "Age of the oldest waiting message",
                                labels=["channel"])
        by_channel = {d.channel: d for d in self._depth()}
        now = self._clock()
        for channel in sorted(set(self._channels) | set(by_channel)):
            d = by_channel.get(channel)
            rows.add_metric([channel], d.rows if d else 0)
            size.add_metric([channel], d.bytes if d else 0)
            oldest = d.oldest_created_at if d else None
            age.add_metric([channel], max(0.0, now - oldest) if oldest is not None else 0.0)
        return [rows, size, age]

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []
