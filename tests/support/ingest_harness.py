"""Test and benchmark harness for the ingest service against real Mosquitto and InfluxDB 1.x.

Shared by ``bench/ingest_throughput.py`` and the ingest integration tests: contract-valid sewing
traffic, a QoS 1 publisher that waits for the broker's acks, ``seamline ingest`` as a child process,
an ingest YAML writer, and InfluxQL counting helpers. Nothing runs at import time.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

__all__ = [
    "IngestProcess",
    "Publisher",
    "count_points",
    "create_raw_rp",
    "influx_query",
    "ingest_config",
    "sewing_payload",
    "sewing_topic",
    "sewing_traffic",
    "wait_count",
    "wait_until",
]

# The repository root: the ingest child process runs there with it on PYTHONPATH.
REPO = Path(__file__).resolve().parents[2]


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
        # retention_policy (the older name of raw_rp) so --compare-with can run older checkouts too
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
    """``python -m seamline.ingest.cli --config FILE`` as a child process, run from ``repo`` (default: this
    checkout; the benchmark passes another checkout to compare code versions in one run)."""

    def __init__(self, config_path: Path, *, log_path: Path, repo: Path = REPO) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.repo = repo
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        env = dict(os.environ, PYTHONPATH=str(self.repo))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "seamline.ingest.cli", "--config", str(self.config_path)],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.repo, env=env, start_new_session=True,
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
