"""Ingest throughput and latency, one run, prints a table.

    .venv/bin/python -m bench.ingest_throughput [--messages 20000] [--compare-with OTHER_CHECKOUT]

Starts its own Mosquitto and InfluxDB (free loopback ports, temp dirs) and measures:
  (a) the ceiling: a count-only paho subscriber draining N queued QoS 1 messages (3.1.1 and 5);
  (b) seamline ingest (subprocess, QoS 1, manual acks) draining the same N into InfluxDB;
  (c) a naive bridge: auto-ack subscriber, one HTTP /write per message;
  (d) seamline ingest with 20-sample messages, points/s;
  (e) publish-to-queryable latency (p50/p99) with a publisher at a fixed rate (default 5 000 msg/s).

Drain measurements pre-load the broker (the consumer's persistent session exists, the consumer is
offline, N messages are queued), then start the consumer: no publisher competes for the 2 cores.
On a shared box msg/s moves with the neighbours' load; the ratios to (a) and (c) measured in the
same run, and CPU µs per message, are the figures to compare. ``--compare-with`` runs (b) and (d)
a second time with the ingest code of another checkout (e.g. the previous commit), interleaved.

The reusable parts (traffic, publisher, ingest child process, counting) are in
``tests.support.ingest_harness``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from seamline.contracts.topic import shared, subscription
from tests.support.ingest_harness import (
    REPO,
    IngestProcess,
    Publisher,
    count_points,
    create_raw_rp,
    ingest_config,
    sewing_payload,
    sewing_topic,
    sewing_traffic,
    wait_until,
)

Traffic = Sequence[tuple[str, bytes]]


def _client(client_id: str, protocol: int) -> mqtt.Client:
    if protocol == mqtt.MQTTv5:
        return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=False)


def _connect(c: mqtt.Client, host: str, port: int, protocol: int) -> None:
    if protocol != mqtt.MQTTv5:
        c.connect(host, port, 30)
        return
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 1000
    c.connect(host, port, 30, clean_start=False, properties=props)


def _drain_with(host: str, port: int, *, client_id: str, protocol: int, traffic: Traffic,
                on_message: Callable[[mqtt.MQTTMessage], None], done: threading.Event) -> float:
    """Register a persistent session (one share group per run, so no earlier run's offline session
    takes a share), go offline, queue ``traffic``, reconnect and drain until ``done``.
    Returns this process's CPU seconds while draining."""
    c = _client(client_id, protocol)
    _connect(c, host, port, protocol)
    c.subscribe(shared(client_id, subscription(kind="data")), qos=1)
    c.loop_start()
    time.sleep(0.5)
    c.disconnect()
    c.loop_stop()
    _publish(host, port, traffic, client_id=f"{client_id}-preload")
    c = _client(client_id, protocol)
    c.on_message = lambda _c, _u, msg: on_message(msg)
    cpu0 = time.process_time()
    _connect(c, host, port, protocol)
    c.loop_start()
    done.wait(600)
    cpu = time.process_time() - cpu0
    c.disconnect()
    c.loop_stop()
    return cpu


class _Rate:
    """Counts messages; rate from the first to the last of ``n`` (msg/s)."""

    def __init__(self, n: int) -> None:
        self.n, self.got, self.first, self.last = n, 0, 0.0, 0.0
        self.done = threading.Event()

    def tick(self) -> None:
        self.got += 1
        if self.got == 1:
            self.first = time.perf_counter()
        if self.got >= self.n:
            self.last = time.perf_counter()
            self.done.set()

    @property
    def per_s(self) -> float:
        return (self.n - 1) / (self.last - self.first) if self.last > self.first else 0.0


def count_only(host: str, port: int, traffic: Traffic, *, protocol: int, client_id: str) -> tuple[float, float]:
    """(a): (msg/s, CPU µs/msg) of a subscriber that only counts."""
    rate = _Rate(len(traffic))
    cpu = _drain_with(host, port, client_id=client_id, protocol=protocol, traffic=traffic,
                      on_message=lambda _m: rate.tick(), done=rate.done)
    return rate.per_s, cpu / len(traffic) * 1e6


def naive_bridge(host: str, port: int, influx_url: str, db: str, traffic: Traffic) -> float:
    """(c): msg/s of an auto-ack subscriber that validates and POSTs each message on its own."""
    from seamline.ingest.points import data_lines
    from seamline.ingest.validate import Accepted, TimeWindow, validate

    window = TimeWindow(max_past_ms=30 * 86_400_000, max_future_ms=600_000)
    parts = urllib.parse.urlsplit(influx_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 8086, timeout=30)
    path = f"/write?db={db}&rp=raw&precision=ms"
    rate = _Rate(len(traffic))

    def on_message(msg: mqtt.MQTTMessage) -> None:
        result = validate(msg.topic, bytes(msg.payload), now_ms=int(time.time() * 1000), window=window,
                          max_payload_bytes=256 * 1024)
        if isinstance(result, Accepted):
            m = result.message
            lines = data_lines(result.topic, m.asset_kind, m.samples)  # type: ignore[union-attr]
            conn.request("POST", path, body="\n".join(lines).encode())
            conn.getresponse().read()
        rate.tick()

    try:
        _drain_with(host, port, client_id="naive", protocol=mqtt.MQTTv311, traffic=traffic,
                    on_message=on_message, done=rate.done)
    finally:
        conn.close()
    return rate.per_s


def drain_ingest(proc: IngestProcess, host: str, port: int, url: str, db: str, traffic: Traffic,
                 points: int) -> tuple[float, float]:
    """(b)/(d): (points/s from the first point stored to the last, ingest CPU µs per point meanwhile)."""
    proc.start()  # registers the persistent session, then goes offline
    proc.wait_subscribed()
    proc.terminate()
    _publish(host, port, traffic, client_id=f"preload-{db}")
    proc.start()
    wait_until(lambda: count_points(url, db, "sewing_machine") > 0, timeout_s=60, what="first point", poll_s=0.02)
    first = time.perf_counter()
    cpu0 = _cpu_s(proc.pid)
    first_count = count_points(url, db, "sewing_machine")
    wait_until(lambda: count_points(url, db, "sewing_machine") >= points, timeout_s=600, what="all points",
               poll_s=0.05)
    last = time.perf_counter()
    cpu = _cpu_s(proc.pid) - cpu0
    proc.terminate()
    return (points - first_count) / (last - first), cpu / (points - first_count) * 1e6


def latency(proc: IngestProcess, host: str, port: int, url: str, db: str, rate: int, seconds: float) -> list[float]:
    """(e): publish ``rate`` single-sample msg/s for ``seconds`` from a child process; the k-th point
    counts as queryable at the first 50 ms poll that sees >= k+1 points. Returns latencies (s)."""
    proc.start()
    proc.wait_subscribed()
    n = int(rate * seconds)
    t0_ms = int(time.time() * 1000) + 1000
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.ingest_throughput", "_publish", host, str(port), str(rate), str(n), str(t0_ms)],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    polls: list[tuple[float, int]] = []
    deadline = time.time() + seconds + 60
    while time.time() < deadline:
        c = count_points(url, db, "sewing_machine")
        polls.append((time.time(), c))
        if c >= n:
            break
        time.sleep(0.05)
    child.wait(60)
    proc.terminate()
    lat: list[float] = []
    i = 0
    for k in range(n):
        while i < len(polls) and polls[i][1] < k + 1:
            i += 1
        if i == len(polls):
            break
        lat.append(polls[i][0] - (t0_ms + k * 1000 / rate) / 1000)
    return lat


def _publish(host: str, port: int, traffic: Iterable[tuple[str, bytes]], *, client_id: str) -> None:
    pub = Publisher(host, port, client_id=client_id)
    try:
        pub.publish_all(traffic, timeout_s=600)
    finally:
        pub.close()


def _publish_paced(host: str, port: int, rate: int, n: int, t0_ms: int) -> None:
    """Child process: message k is published at t0 + k/rate with ts_ms = its planned publish time."""

    def paced() -> Iterator[tuple[str, bytes]]:
        for k in range(n):
            due_ms = t0_ms + k * 1000 / rate
            delay = due_ms / 1000 - time.time()
            if delay > 0:
                time.sleep(delay)
            yield sewing_topic(f"m{k % 50}"), sewing_payload(k // 50, int(due_ms))

    _publish(host, port, paced(), client_id="bench-paced")


def _cpu_s(pid: int | None) -> float:
    """User+system CPU seconds of ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(args: argparse.Namespace, work: Path, host: str, port: int, influx_url: str) -> list[tuple[str, str]]:
    n = args.messages
    single = sewing_traffic(n, assets=50)
    rows: list[tuple[str, str]] = []
    ceiling = 0.0
    for proto, name in ((mqtt.MQTTv311, "3.1.1"), (mqtt.MQTTv5, "5")):
        r, cpu = count_only(host, port, single, protocol=proto, client_id=f"count-{name.replace('.', '')}")
        ceiling = ceiling or r
        rows.append((f"(a) count-only subscriber, MQTT {name}, msg/s", f"{r:,.0f} ({cpu:.0f} µs CPU/msg)"))
    create_raw_rp(influx_url, "bench_c")
    naive = naive_bridge(host, port, influx_url, "bench_c", sewing_traffic(args.naive_messages, assets=50))
    rows.append(("(c) naive bridge, one HTTP write per msg, msg/s", f"{naive:,.0f}"))
    checkouts = [("", REPO)] + ([(" [other]", args.compare_with)] if args.compare_with else [])
    twenty = sewing_traffic(max(1, n // 4), assets=50, n_samples=20)

    def ingest(tag: str, repo: Path, **overrides: object) -> IngestProcess:
        create_raw_rp(influx_url, tag)
        cfg = ingest_config(work / f"{tag}.yaml", mqtt_port=port, influx_url=influx_url, database=tag,
                            client_id=tag, gaps={"enabled": False}, **overrides)
        return IngestProcess(cfg, log_path=work / f"{tag}.log", repo=repo)

    for i, (label, repo) in enumerate(checkouts):
        for proto_name in ("3.1.1", "5"):
            proc = ingest(f"b{i}_{proto_name.replace('.', '')}", repo, mqtt={"protocol": proto_name})
            r, cpu = drain_ingest(proc, host, port, influx_url, proc.config_path.stem, single, n)
            rows.append((f"(b) seamline ingest, MQTT {proto_name}, 1-sample msg/s{label}",
                         f"{r:,.0f} ({r / ceiling:.0%} of a, {r / naive:.1f}x c; {cpu:.0f} µs CPU/msg)"))
        proc = ingest(f"d{i}", repo)
        r, cpu = drain_ingest(proc, host, port, influx_url, f"d{i}", twenty, len(twenty) * 20)
        rows.append((f"(d) seamline ingest, 20-sample msgs, points/s{label}", f"{r:,.0f} ({cpu:.1f} µs CPU/point)"))
    lat = sorted(latency(ingest("e", REPO), host, port, influx_url, "e", args.rate, args.seconds))
    if lat:
        p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        rows.append((f"(e) publish->queryable at {args.rate} msg/s, p50 / p99 s",
                     f"{p50:.2f} / {p99:.2f} ({len(lat)} points)"))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["_publish"]:
        p_host, p_port, p_rate, p_n, p_t0 = args_list[1:6]
        _publish_paced(p_host, int(p_port), int(p_rate), int(p_n), int(p_t0))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=20_000, help="messages per drain run (default 20 000)")
    p.add_argument("--naive-messages", type=int, default=2000, help="messages for the naive bridge (default 2 000)")
    p.add_argument("--rate", type=int, default=5000, help="latency run: msg/s (default 5 000)")
    p.add_argument("--seconds", type=float, default=5.0, help="latency run length (s)")
    p.add_argument("--compare-with", type=Path, help="another checkout whose ingest code (b) and (d) also run")
    args = p.parse_args(args_list)
    from seamline.localstack import InfluxdProcess, MosquittoProcess

    with tempfile.TemporaryDirectory(prefix="seamline-bench-") as tmp:
        work = Path(tmp)
        broker = MosquittoProcess(workdir=work / "mqtt")
        influx = InfluxdProcess(workdir=work / "influx")
        broker.start()
        influx.start()
        try:
            rows = _run(args, work, "127.0.0.1", broker.port, influx.url)
        finally:
            broker.stop()
            influx.stop()
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
