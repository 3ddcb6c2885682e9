"""Measuring side of ``bench.cluster_sustained``: publish → queryable latency probe, /proc sampling of
the processes under test, the count-only subscriber (baseline) and the per-asset stored seq counts.

    .venv/bin/python -m bench.cluster_probe count --port 1883 --out count.txt   # the baseline subscriber
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.gateway_load import proc_cpu_s, proc_kb
from seamline.contracts.kinds import AssetKind
from seamline.contracts.topic import MessageKind, Topic, shared, subscription
from seamline.edge_agent.wire import DataPayload, DataSample, encode_data
from seamline.storage.schema import MACHINE_STATE, Field, Retention, Tag, telemetry
from tests.support.ingest_harness import REPO, influx_query

PROBE_ENTERPRISE = "probe"
PROBE_PERIOD_S = 0.5
POLL_S = 0.2
_IDENTITY = (Tag.ENTERPRISE, Tag.SITE, Tag.AREA, Tag.ASSET)


class LatencyProbe:
    """A meter sample every 0.5 s on its own topic; the first 0.2 s poll of InfluxDB that returns
    its seq makes it queryable. Without ``influx_url`` (baseline) it only publishes."""

    def __init__(self, port: int, influx_url: str | None, db: str) -> None:
        self._pub: dict[int, float] = {}
        self._lat: list[float] = []
        self._seen: set[int] = set()
        self._stop_pub, self._stop_poll = threading.Event(), threading.Event()
        self._url, self._db = influx_url, db
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="probe", protocol=mqtt.MQTTv311)
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._topic = str(Topic(enterprise=PROBE_ENTERPRISE, site="s1", area="energy", asset="p1",
                                kind=MessageKind.DATA))
        self._threads = [threading.Thread(target=self._publish, daemon=True)]
        if influx_url:
            self._threads.append(threading.Thread(target=self._poll, daemon=True))
        for t in self._threads:
            t.start()

    def _publish(self) -> None:
        k = 0
        while not self._stop_pub.wait(PROBE_PERIOD_S):
            now = time.time()
            payload = encode_data(DataPayload(AssetKind.METER, (DataSample(ts_ms=int(now * 1000), seq=k,
                                                                          metrics={"power_w": 1.0}),)))
            self._pub[k] = now
            self._client.publish(self._topic, payload, qos=1)
            k += 1

    def _poll(self) -> None:
        m = telemetry(AssetKind.METER)
        q = (f'SELECT "{Field.SEQ}" FROM "{self._db}"."{Retention.RAW.value}"."{m.name}" '
             f"WHERE \"{Tag.ENTERPRISE}\" = '{PROBE_ENTERPRISE}' AND time > now() - 300s")
        while not self._stop_poll.wait(POLL_S):
            try:
                r = influx_query(self._url or "", q, db=self._db)
            except OSError:
                continue
            now = time.time()
            for s in r.get("results", [{}])[0].get("series", []):
                for _t, seq in s["values"]:
                    if seq not in self._seen and seq in self._pub:
                        self._seen.add(seq)
                        self._lat.append(now - self._pub[seq])

    def stop_publishing(self) -> None:
        self._stop_pub.set()

    def stop(self, timeout_s: float = 30.0) -> list[float]:
        """Latencies (s) of every probe sample seen; waits up to ``timeout_s`` for the last ones."""
        self._stop_pub.set()
        deadline = time.monotonic() + timeout_s
        while self._url and len(self._seen) < len(self._pub) and time.monotonic() < deadline:
            time.sleep(POLL_S)
        self._stop_poll.set()
        self._client.loop_stop()
        self._client.disconnect()
        return list(self._lat)


class ProcSampler:
    """CPU and RSS of named pids: CPU seconds over the sampler's life, RSS every 2 s (mean and peak, MB),
    and the anonymous part of the RSS (``RssAnon``: heap, index, caches — without the file pages a
    database maps, which come and go with the page cache and made influxd's peak RSS 1.4-3.0 GB in
    runs of the same load)."""

    def __init__(self, pids: dict[str, int], *, interval_s: float = 2.0) -> None:
        self._pids = pids
        self._interval_s = interval_s
        self._cpu0 = {n: proc_cpu_s(p) for n, p in pids.items()}
        self._cpu1 = dict(self._cpu0)
        self._rss: dict[str, list[int]] = {n: [] for n in pids}
        self._anon: dict[str, list[int]] = {n: [] for n in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            for n, p in self._pids.items():
                try:
                    self._rss[n].append(proc_kb(p, "VmRSS"))
                    self._anon[n].append(proc_kb(p, "RssAnon"))
                    self._cpu1[n] = proc_cpu_s(p)
                except (OSError, KeyError):
                    continue  # exited (the generator at its end): keep its last figures

    def stop(self) -> dict[str, tuple[float, float, float, float]]:
        """name -> (CPU s, mean RSS MB, peak RSS MB, first RSS MB)."""
        self._stop.set()
        self._thread.join()
        return {n: (self._cpu1[n] - self._cpu0[n], sum(r) / len(r) / 1024 if (r := self._rss[n]) else 0.0,
                    max(r, default=0) / 1024, r[0] / 1024 if r else 0.0) for n in self._pids}

    def anon(self) -> dict[str, tuple[float, float]]:
        """name -> (peak, first sample) of the anonymous RSS, MB (after :meth:`stop`)."""
        return {n: (max(a, default=0) / 1024, a[0] / 1024 if a else 0.0) for n, a in self._anon.items()}


def count_only_subscriber(port: int, out: Path) -> subprocess.Popen[bytes]:
    """The baseline: a child process that only counts what the shared subscription delivers."""
    cmd = [sys.executable, "-m", "bench.cluster_probe", "count", "--port", str(port), "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))
    deadline = time.monotonic() + 30
    while not out.exists():  # written once subscribed
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("count-only subscriber did not subscribe")
        time.sleep(0.05)
    return proc


def _count(port: int, out: Path) -> int:
    n = 0
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def on_message(*_a: object) -> None:
        nonlocal n
        n += 1

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="count-only", protocol=mqtt.MQTTv311, clean_session=False)
    c.on_message = on_message

    def on_subscribe(*_a: object) -> None:
        out.write_text("0")

    c.on_subscribe = on_subscribe
    c.on_connect = lambda cl, *_a: cl.subscribe(shared("ingest", subscription()), qos=1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    done.wait()
    c.loop_stop()
    out.write_text(str(n))
    return 0


def stored_seq_counts(url: str, db: str) -> dict[tuple[str, str, str, str], int]:
    """Stored seq values per asset (enterprise, site, area, asset), over every telemetry measurement
    and ``machine_state`` (a machine's aggregates and state changes share one counter)."""
    group = ", ".join(f'"{t}"' for t in _IDENTITY)
    measurements = [telemetry(k).name for k in AssetKind] + [MACHINE_STATE.name]
    q = ";".join(f'SELECT count("{Field.SEQ}") FROM "{db}"."{Retention.RAW.value}"."{m}" GROUP BY {group}'
                 for m in measurements)
    out: dict[tuple[str, str, str, str], int] = {}
    for result in influx_query(url, q, db=db).get("results", []):
        for s in result.get("series", []):
            t = s["tags"]
            key = (t[Tag.ENTERPRISE], t[Tag.SITE], t[Tag.AREA], t[Tag.ASSET])
            out[key] = out.get(key, 0) + int(s["values"][0][1])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("count")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    return _count(args.port, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
