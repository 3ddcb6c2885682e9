"""Ingest self-metrics: Prometheus counters on an own registry (no global state), an optional
``/metrics`` endpoint, and the same figures as ``seamline_ingest`` points for InfluxDB."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from seamline.storage.line_protocol import encode_line
from seamline.storage.schema import INGEST_SELF, Tag
from seamline.storage.write_policy import WritePolicyCounters

# Batch write latency buckets (seconds): a healthy write is 5-200 ms; retries push it to minutes.
_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class IngestMetrics:
    """All counters of one ingest worker. Thread-safe (prometheus-client's metrics are)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock  # wall clock, unix seconds (consumer lag)
        self.newest_written_ms: int | None = None  # newest device timestamp durably written (UTC ms)
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages_in = Counter("seamline_ingest_messages", "MQTT messages received", registry=r)
        self.messages_acked = Counter("seamline_ingest_messages_acked", "MQTT messages acknowledged", registry=r)
        self.points_written = Counter("seamline_ingest_points_written", "Lines InfluxDB accepted", registry=r)
        self.batches = Counter("seamline_ingest_batches", "Batches written", registry=r)
        self.retries = Counter("seamline_ingest_write_retries", "Write requests that repeated lines after a failure "
                               "(counted while the outage lasts, not when the batch finally succeeds)", registry=r)
        self.write_errors = Counter("seamline_ingest_write_errors", "Failed write requests by class", ["class"],
                                    registry=r)
        self.quarantined = Counter(
            "seamline_ingest_quarantined", "Messages or lines quarantined", ["reason"], registry=r
        )
        self.quarantine_evicted = Counter(
            "seamline_ingest_quarantine_evicted", "Oldest quarantine entries evicted (rows or bytes bound)",
            ["reason"], registry=r
        )
        self.rejected_retries = Counter(
            "seamline_ingest_rejected_retries", "Automatic retries of lines InfluxDB refused", ["result"], registry=r
        )
        self.gaps = Counter("seamline_ingest_seq_gaps", "Sequence gaps detected", registry=r)
        self.in_flight = Gauge("seamline_ingest_in_flight", "Messages received, not yet acknowledged", registry=r)
        self.queue_depth = Gauge("seamline_ingest_queue_depth", "Messages waiting for the writer", registry=r)
        # 1 while the MQTT session is up; read at each scrape (set_function) from the subscriber.
        self.mqtt_connected = Gauge("seamline_ingest_mqtt_connected", "1 while connected to the MQTT broker",
                                    registry=r)
        # How far behind the data this worker is: now minus the newest device time it has written.
        # It grows while InfluxDB or the broker is away (and with a slow device clock); NaN before any write.
        self.newest_written = Gauge("seamline_ingest_newest_written_timestamp_seconds",
                                    "Device time of the newest sample durably written (unix s)", registry=r)
        self.consumer_lag = Gauge("seamline_ingest_consumer_lag_seconds",
                                  "Now minus the newest written sample's device time (s); NaN before the first",
                                  registry=r)
        self.consumer_lag.set_function(self._lag_s)
        self.batch_latency = Histogram(
            "seamline_ingest_batch_latency_seconds",
            "Time to durably write one batch, retries included (s)",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self._synced: dict[tuple[str, ...], float] = {}
        self._sync_lock = threading.Lock()
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def written(self, newest_ts_ms: int | None) -> None:
        """A batch was durably written; ``newest_ts_ms`` (UTC ms) is its newest device timestamp."""
        if newest_ts_ms is None or (self.newest_written_ms is not None and newest_ts_ms <= self.newest_written_ms):
            return
        self.newest_written_ms = newest_ts_ms
        self.newest_written.set(newest_ts_ms / 1000)

    def _lag_s(self) -> float:
        newest = self.newest_written_ms
        return math.nan if newest is None else self._clock() - newest / 1000

    def serve(self, *, port: int, bind: str = "127.0.0.1") -> int:
        """Start ``/metrics`` on ``bind:port`` (0 is not allowed here: the caller skips it); return the port."""
        server, thread = start_http_server(port, addr=bind, registry=self.registry)
        self._server, self._thread = server, thread
        return int(server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def sync_write_policy(self, counters: WritePolicyCounters) -> None:
        """Bring the write counters up to the policy's live totals (which grow during an outage,
        while the batch that is failing has not returned)."""
        with self._sync_lock:
            self._sync(("retries",), counters.retries, self.retries)
            for cls, value in (("retryable", counters.retryable_errors), ("auth", counters.auth_errors),
                               ("server_limit", counters.server_limit_errors),
                               ("permanent", counters.permanent_errors)):
                self._sync(("errors", cls), value, self.write_errors.labels(**{"class": cls}))

    def _sync(self, key: tuple[str, ...], total: float, counter: Counter) -> None:
        delta = total - self._synced.get(key, 0.0)
        if delta > 0:
            counter.inc(delta)
            self._synced[key] = total

    def snapshot(self) -> dict[str, float]:
        """Current values, flat: counter totals, gauges, ``quarantined_<reason>`` per reason."""
        out: dict[str, float] = {}
        for family in self.registry.collect():
            for s in family.samples:
                if s.name.endswith(("_created", "_bucket")) or not math.isfinite(s.value):
                    continue  # NaN (no lag yet) has no line-protocol form
                name = s.name.removeprefix("seamline_ingest_")
                for label in ("reason", "result", "class"):
                    if label in s.labels:
                        name = f"{name.removesuffix('_total')}_{s.labels[label]}"
                out[name] = s.value
        return out

    def to_line(self, *, worker: str, ts_ms: int, extra: Mapping[str, float] | None = None) -> str:
        """The ``seamline_ingest`` point (tag ``worker``) at ``ts_ms`` (UTC ms). Counter fields are
        totals since start, written as floats so their type never changes. A counter the storage
        schema does not name raises :class:`~seamline.storage.schema.SchemaError`."""
        fields: dict[str, float | int | bool | str] = {k: float(v) for k, v in self.snapshot().items()}
        if extra:
            fields.update({k: float(v) for k, v in extra.items()})
        INGEST_SELF.check(fields=fields)
        return encode_line(INGEST_SELF.name, {Tag.WORKER: worker}, fields, ts_ms)
