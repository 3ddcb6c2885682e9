"""Ingest throughput and latency, one run, prints a table.

    .venv/bin/python -m bench.ingest_throughput [--messages 20000] [--quick]

Starts its own Mosquitto and InfluxDB (free loopback ports, temp dirs) and measures:
  (a) the ceiling: a count-only paho subscriber draining N queued QoS 1 messages (3.1.1 and 5);
  (b) seamline ingest (subprocess, QoS 1, manual acks) draining the same N into InfluxDB;
  (c) a naive bridge: auto-ack subscriber, one HTTP /write per message;
  (d) seamline ingest with 20-sample messages, points/s;
  (e) publish-to-queryable latency (p50/p99) with a publisher at a fixed rate (default 5 000 msg/s).

Drain measurements pre-load the broker (the consumer's persistent session exists, the consumer is
offline, N messages are queued), then start the consumer: no publisher competes for the 2 cores.

The helpers at the top (config, subprocess, publisher, counting) are also used by the ingest
integration tests.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from contracts.topic import shared, subscription

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- traffic
def sewing_topic(asset: str, *, enterprise: str = "acme", site: str = "s1", area: str = "line1",
                 kind: str = "data") -> str:
    return f"seamline/v1/{enterprise}/{site}/{area}/{asset}/{kind}"


def sewing_payload(seq: int, ts_ms: int, *, n_samples: int = 1) -> bytes:
    """A contract-valid sewing-machine data payload: samples seq..seq+n-1, 1 ms apart."""
    samples = [
        {"ts_ms": ts_ms + i, "seq": seq + i,
         "metrics": {"current_a": 1.25, "speed_spm": 4200.0, "stitches_total": 1000 + seq + i, "pieces_total": 7}}
        for i in range(n_samples)
    ]
    return orjson.dumps({"schema_version": 1, "asset_kind": "sewing_machine", "samples": samples})


def sewing_traffic(n_messages: int, *, assets: int = 10, n_samples: int = 1,
                   start_ms: int | None = None) -> list[tuple[str, bytes]]:
    """``n_messages`` spread round-robin over ``assets`` machines; every point has a unique
    (asset, ts) so the stored count is exact."""
    start = start_ms if start_ms is not None else int(time.time() * 1000) - 3_600_000
    out = []
    for k in range(n_messages):
        asset, j = k % assets, k // assets
        seq = j * n_samples
        out.append((sewing_topic(f"m{asset}"), sewing_payload(seq, start + seq, n_samples=n_samples)))
    return out


class Publisher:
    """A plain paho QoS 1 publisher (MQTT 3.1.1). ``publish_all`` returns once the broker acked all."""

    def __init__(self, host: str, port: int, *, client_id: str = "bench-publisher") -> None:
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        # 1000 in flight keeps the pipe full; the broker's own max_inflight_messages is the same.
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        self._acked = 0
        self._cv = threading.Condition()
        self._client.on_publish = self._on_publish
        self._client.connect(host, port, keepalive=30)
        self._client.loop_start()

    def _on_publish(self, *_args: object) -> None:
        with self._cv:
            self._acked += 1
            self._cv.notify_all()

    def publish_all(self, messages: Iterable[tuple[str, bytes]], *, timeout_s: float = 120.0,
                    qos: int = 1) -> int:
        with self._cv:
            start = self._acked
        n = 0
        for topic, payload in messages:
            self._client.publish(topic, payload, qos=qos)
            n += 1
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while self._acked - start < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"broker acked {self._acked - start} of {n} publishes")
                self._cv.wait(min(left, 0.5))
        return n

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


# ---------------------------------------------------------------------------- ingest subprocess
def ingest_config(path: Path, *, mqtt_port: int, influx_url: str, database: str, client_id: str = "ingest-1",
                  **overrides: Any) -> Path:
    """Write an ingest YAML to ``path``; ``overrides`` are merged per section."""
    config: dict[str, Any] = {
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port, "client_id": client_id, "share_group": client_id,
                 "keepalive_s": 10},
        "influx": {"url": influx_url, "database": database, "retention_policy": "raw", "timeout_s": 5},
        "batch": {"max_delay_s": 0.2},
        "quarantine": {"path": str(path.parent / f"{client_id}-quarantine.sqlite")},
        "metrics": {"interval_s": 1.0},
        "shutdown_grace_s": 10,
    }
    for section, values in overrides.items():
        if isinstance(values, dict):
            config.setdefault(section, {}).update(values)
        else:
            config[section] = values
    path.write_text(yaml.safe_dump(config))
    return path


class IngestProcess:
    """``python -m seamline.cli ingest --config FILE`` as a child process."""

    def __init__(self, config_path: Path, *, log_path: Path) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ingest.cli", "--config", str(self.config_path)],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env, start_new_session=True,
        )
        log.close()

    def wait_subscribed(self, timeout_s: float = 30.0) -> None:
        """Block until the log says the subscription was made."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.log_path.exists() and "subscribed" in self.log_path.read_text(errors="replace"):
                time.sleep(0.3)  # SUBACK follows the log line
                return
            if not self.running:
                raise RuntimeError(f"ingest exited: {self.log_text()[-3000:]}")
            time.sleep(0.05)
        raise TimeoutError(f"ingest did not subscribe: {self.log_text()[-3000:]}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(10)

    def terminate(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait; return the exit code."""
        assert self._proc is not None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
        try:
            return self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)
            raise


# ---------------------------------------------------------------------------- InfluxDB reads
def influx_query(url: str, q: str, *, db: str | None = None) -> dict[str, Any]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 8086, timeout=30)
    params = {"q": q, "epoch": "ms", **({"db": db} if db else {})}
    try:
        conn.request("POST", "/query", body=urllib.parse.urlencode(params),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        result: dict[str, Any] = orjson.loads(conn.getresponse().read())
        return result
    finally:
        conn.close()


def create_raw_rp(url: str, db: str) -> None:
    influx_query(url, f'CREATE DATABASE "{db}"')
    influx_query(url, f'CREATE RETENTION POLICY "raw" ON "{db}" DURATION 90d REPLICATION 1 DEFAULT')


def count_points(url: str, db: str, measurement: str, field: str = "seq") -> int:
    r = influx_query(url, f'SELECT count("{field}") FROM "{db}"."raw"."{measurement}"', db=db)
    series = r.get("results", [{}])[0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def wait_until(predicate: Callable[[], bool], *, timeout_s: float, what: str, poll_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(poll_s)


def wait_count(url: str, db: str, measurement: str, expected: int, *, timeout_s: float = 60.0) -> int:
    """Wait until ``expected`` points are stored; return the final count (checked once more after
    a short settle so an over-count would show)."""
    wait_until(lambda: count_points(url, db, measurement) >= expected, timeout_s=timeout_s,
               what=f"{expected} {measurement} points")
    time.sleep(0.3)
    return count_points(url, db, measurement)


# ---------------------------------------------------------------------------- bench
def _drain_counter(host: str, port: int, n: int, *, protocol: int, client_id: str,
                   prepare: Callable[[], None]) -> tuple[float, float]:
    """(messages/s, CPU µs/message of this process) of a count-only subscriber draining ``n``
    queued QoS 1 messages."""
    v5 = protocol == mqtt.MQTTv5
    # one share group per run: an earlier run's offline persistent session in the same group
    # would take its share of the messages
    topic = shared(client_id, subscription(kind="data"))

    def make() -> mqtt.Client:
        if v5:
            return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                           clean_session=False)

    def connect(c: mqtt.Client) -> None:
        if v5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 3600
            props.ReceiveMaximum = 1000
            c.connect(host, port, 30, clean_start=False, properties=props)
        else:
            c.connect(host, port, 30)

    c = make()
    connect(c)
    c.subscribe(topic, qos=1)
    c.loop_start()
    time.sleep(0.5)
    c.disconnect()
    c.loop_stop()
    prepare()
    got = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(*_a: object) -> None:
        nonlocal got, first, last
        got += 1
        if got == 1:
            first = time.perf_counter()
        if got >= n:
            last = time.perf_counter()
            done.set()

    c = make()
    c.on_message = on_message
    cpu0 = time.process_time()
    connect(c)
    c.loop_start()
    done.wait(300)
    cpu = time.process_time() - cpu0
    c.disconnect()
    c.loop_stop()
    return ((n - 1) / (last - first) if last > first else 0.0), cpu / n * 1e6


def _preload(host: str, port: int, messages: Sequence[tuple[str, bytes]]) -> Callable[[], None]:
    def run() -> None:
        pub = Publisher(host, port, client_id="bench-preload")
        pub.publish_all(messages, timeout_s=600)
        pub.close()

    return run


def _register_ingest_session(proc: IngestProcess) -> None:
    proc.start()
    proc.wait_subscribed()
    proc.terminate()


def _cpu_s(pid: int | None) -> float:
    """User+system CPU seconds of ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drain_ingest(proc: IngestProcess, url: str, db: str, measurement: str, expected: int) -> tuple[float, float]:
    """(points/s from the first point stored to the last, ingest CPU µs per point meanwhile)."""
    proc.start()
    wait_until(lambda: count_points(url, db, measurement) > 0, timeout_s=60, what="first point", poll_s=0.02)
    first = time.perf_counter()
    cpu0 = _cpu_s(proc.pid)
    first_count = count_points(url, db, measurement)
    wait_until(lambda: count_points(url, db, measurement) >= expected, timeout_s=600, what="all points",
               poll_s=0.05)
    last = time.perf_counter()
    cpu = _cpu_s(proc.pid) - cpu0
    proc.terminate()
    return (expected - first_count) / (last - first), cpu / (expected - first_count) * 1e6


def _naive_bridge(host: str, port: int, influx_url: str, db: str, n: int, prepare: Callable[[], None]) -> float:
    """Messages/s of an auto-ack subscriber that POSTs one line per message to /write."""
    from ingest.points import data_lines
    from ingest.validate import Accepted, TimeWindow, validate

    window = TimeWindow(max_past_ms=30 * 86_400_000, max_future_ms=600_000)
    parts = urllib.parse.urlsplit(influx_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 8086, timeout=30)
    path = f"/write?db={db}&rp=raw&precision=ms"
    got = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal got, first, last
        result = validate(msg.topic, bytes(msg.payload), now_ms=int(time.time() * 1000), window=window,
                          max_payload_bytes=256 * 1024)
        if isinstance(result, Accepted):
            m = result.message
            lines = data_lines(result.topic, m.asset_kind, m.samples)  # type: ignore[union-attr]
            conn.request("POST", path, body="\n".join(lines).encode())
            conn.getresponse().read()
        got += 1
        if got == 1:
            first = time.perf_counter()
        if got >= n:
            last = time.perf_counter()
            done.set()

    topic = shared("naive", subscription(kind="data"))
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="naive", protocol=mqtt.MQTTv311, clean_session=False)
    c.connect(host, port, 30)
    c.subscribe(topic, 1)
    c.loop_start()
    time.sleep(0.5)
    c.disconnect()
    c.loop_stop()
    prepare()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="naive", protocol=mqtt.MQTTv311, clean_session=False)
    c.on_message = on_message
    c.connect(host, port, 30)
    c.loop_start()
    done.wait(600)
    c.disconnect()
    c.loop_stop()
    conn.close()
    return (n - 1) / (last - first) if last > first else 0.0


def _latency(proc: IngestProcess, host: str, port: int, url: str, db: str, rate: int, seconds: float) -> list[float]:
    """Publish ``rate`` single-sample msg/s for ``seconds`` from a child process; the k-th point
    counts as queryable at the first 50 ms poll that sees >= k+1 points. Returns latencies (s)."""
    proc.start()
    proc.wait_subscribed()
    n = int(rate * seconds)
    t0_ms = int(time.time() * 1000) + 1000
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.ingest_throughput", "_publish", host, str(port), str(rate), str(n),
         str(t0_ms)], cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
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


def _publish_paced(host: str, port: int, rate: int, n: int, t0_ms: int) -> None:
    """Child process: message k is published at t0 + k/rate with ts_ms = its planned publish time."""
    pub = Publisher(host, port, client_id="bench-paced")
    client = pub._client
    while time.time() * 1000 < t0_ms:
        time.sleep(0.001)
    for k in range(n):
        due_ms = t0_ms + k * 1000 / rate
        delay = due_ms / 1000 - time.time()
        if delay > 0:
            time.sleep(delay)
        client.publish(sewing_topic(f"m{k % 50}"), sewing_payload(k // 50, int(due_ms)), qos=1)
    time.sleep(1)
    pub.close()


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["_publish"]:
        p_host, p_port, p_rate, p_n, p_t0 = args_list[1:6]
        _publish_paced(p_host, int(p_port), int(p_rate), int(p_n), int(p_t0))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=20_000, help="messages per drain run (default 20 000)")
    p.add_argument("--naive-messages", type=int, default=2000)
    p.add_argument("--rate", type=int, default=5000, help="latency run: msg/s (default 5 000)")
    p.add_argument("--seconds", type=float, default=5.0, help="latency run length (s)")
    args = p.parse_args(args_list)
    from seamline.localstack import InfluxdProcess, MosquittoProcess

    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="seamline-bench-") as tmp:
        work = Path(tmp)
        broker = MosquittoProcess(workdir=work / "mqtt")
        influx = InfluxdProcess(workdir=work / "influx")
        broker.start()
        influx.start()
        try:
            h, port, n = "127.0.0.1", broker.port, args.messages
            single = sewing_traffic(n, assets=50)
            for proto, name in ((mqtt.MQTTv311, "3.1.1"), (mqtt.MQTTv5, "5")):
                r, cpu = _drain_counter(h, port, n, protocol=proto, client_id=f"count-{name.replace('.', '')}",
                                        prepare=_preload(h, port, single))
                rows.append((f"(a) count-only subscriber, MQTT {name}, msg/s", f"{r:,.0f} ({cpu:.0f} µs CPU/msg)"))
            ceiling = float(rows[0][1].split()[0].replace(",", ""))
            for proto_name in ("3.1.1", "5"):
                db = f"bench_b_{proto_name.replace('.', '')}"
                create_raw_rp(influx.url, db)
                cfg = ingest_config(work / f"b{proto_name}.yaml", mqtt_port=port, influx_url=influx.url, database=db,
                                    client_id=f"ingest-b{proto_name}", mqtt={"protocol": proto_name},
                                    gaps={"enabled": False})
                proc = IngestProcess(cfg, log_path=work / f"b{proto_name}.log")
                _register_ingest_session(proc)
                _preload(h, port, single)()
                r, cpu = _drain_ingest(proc, influx.url, db, "sewing_machine", n)
                rows.append((f"(b) seamline ingest, MQTT {proto_name}, 1-sample msg/s",
                             f"{r:,.0f} ({r / ceiling:.0%} of a; {cpu:.0f} µs CPU/msg)"))
            ingest_rate = float(rows[2][1].split()[0].replace(",", ""))
            create_raw_rp(influx.url, "bench_c")
            nn = args.naive_messages
            r = _naive_bridge(h, port, influx.url, "bench_c", nn, _preload(h, port, sewing_traffic(nn, assets=50)))
            rows.append(("(c) naive bridge, one HTTP write per msg, msg/s", f"{r:,.0f} (b is {ingest_rate / r:.1f}x)"))
            create_raw_rp(influx.url, "bench_d")
            cfg = ingest_config(work / "d.yaml", mqtt_port=port, influx_url=influx.url, database="bench_d",
                                client_id="ingest-d", gaps={"enabled": False})
            proc = IngestProcess(cfg, log_path=work / "d.log")
            _register_ingest_session(proc)
            nd = max(1, n // 4)
            _preload(h, port, sewing_traffic(nd, assets=50, n_samples=20))()
            r, cpu = _drain_ingest(proc, influx.url, "bench_d", "sewing_machine", nd * 20)
            rows.append(("(d) seamline ingest, 20-sample msgs, points/s", f"{r:,.0f} ({cpu:.1f} µs CPU/point)"))
            create_raw_rp(influx.url, "bench_e")
            cfg = ingest_config(work / "e.yaml", mqtt_port=port, influx_url=influx.url, database="bench_e",
                                client_id="ingest-e", gaps={"enabled": False})
            lat = sorted(_latency(IngestProcess(cfg, log_path=work / "e.log"), h, port, influx.url, "bench_e",
                                  args.rate, args.seconds))
            if lat:
                p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
                rows.append((f"(e) publish->queryable at {args.rate} msg/s, p50 / p99 s",
                             f"{p50:.2f} / {p99:.2f} ({len(lat)} points)"))
        finally:
            broker.stop()
            influx.stop()
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
