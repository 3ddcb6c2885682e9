"""The edge agent end to end with real Mosquitto: nodes -> local broker -> agent -> central broker.

Device time is simulated (15 minutes of three machines, published as fast as the brokers take it).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from seamline.contracts.messages import MachineState
from seamline.edge_agent.config import load_config
from seamline.edge_agent.service import serve
from seamline.firmware_stubs.sewing.machine import MachineProfile, MachineRun, simulate_machine
from seamline.firmware_stubs.sewing.payload import SampleRow, encode_andon, encode_samples
from seamline.localstack import MosquittoProcess

pytestmark = pytest.mark.integration

T0 = 1_767_225_600_000  # whole minute; 08:00 Asia/Shanghai
SPAN_MS = 15 * 60 * 1000
MACHINES = ("m001", "m002", "m003")
ENT, SITE, LINE = "acme", "plant1", "line1"
BATCH = 10  # samples per node message
WAIT_S = 45.0  # upper bound for the pipeline to catch up on 2 busy cores; not a timing assertion


def runs() -> dict[str, MachineRun]:
    profile = MachineProfile(breakdown_rate_per_h=4.0, breakdown_mean_min=2.0)
    return {
        m: simulate_machine(profile=MachineProfile(**{**_fields(profile), "machine_id": m}),
                            start_ms=T0, end_ms=T0 + SPAN_MS, seed=i)
        for i, m in enumerate(MACHINES)
    }


def _fields(p: MachineProfile) -> dict[str, object]:
    return {f: getattr(p, f) for f in p.__dataclass_fields__}


def node_messages(run: MachineRun, machine: str, start_ms: int, end_ms: int) -> list[tuple[str, bytes]]:
    """The node's publishes for samples and andon presses in ``[start_ms, end_ms)``, in ts order."""
    base = f"seamline/v1/{ENT}/{SITE}/{LINE}/{machine}"
    rows = [SampleRow(s.ts_ms, s.seq, s.current_a, s.speed_spm, s.stitches_total, s.pieces_total)
            for s in run.samples if start_ms <= s.ts_ms < end_ms]
    presses = [a for a in run.andon if start_ms <= a.ts_ms < end_ms]
    out: list[tuple[str, bytes]] = []
    batch: list[SampleRow] = []
    for r in rows:
        while presses and presses[0].ts_ms < r.ts_ms:
            if batch:
                out.append((f"{base}/data", encode_samples(batch)))
                batch = []
            out.append((f"{base}/state", encode_andon(presses.pop(0))))
        batch.append(r)
        if len(batch) == BATCH:
            out.append((f"{base}/data", encode_samples(batch)))
            batch = []
    if batch:
        out.append((f"{base}/data", encode_samples(batch)))
    return out


def client(port: int, client_id: str, *, on_message: Callable[..., None] | None = None) -> mqtt.Client:
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                    clean_session=False, protocol=mqtt.MQTTv311)
    c.reconnect_delay_set(min_delay=1, max_delay=2)
    if on_message:
        c.on_message = on_message
    return c


class Collector:
    """A persistent-session subscriber on the central broker that records every message."""

    def __init__(self, port: int) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[str, bytes, bool]] = []
        self.c = client(port, "test-collector", on_message=self._on_message)
        self.c.on_connect = lambda c, *_: c.subscribe("seamline/v1/#", qos=1)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def by_asset(self) -> dict[str, list[tuple[int, str, bytes]]]:
        """machine -> [(seq, kind, payload)] in arrival order (aggregates and state changes)."""
        out: dict[str, list[tuple[int, str, bytes]]] = {}
        with self.lock:
            msgs = list(self.messages)
        for topic, payload, _ in msgs:
            parts = topic.split("/")
            if parts[4] != LINE:
                continue
            d = orjson.loads(payload)
            seq = d["samples"][0]["seq"] if parts[6] == "data" else d["seq"]
            out.setdefault(parts[5], []).append((seq, parts[6], payload))
        return out

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


def publish_all(port: int, messages: list[tuple[str, bytes]]) -> None:
    pub = client(port, "test-nodes")
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    try:
        infos = [pub.publish(t, p, qos=1) for t, p in messages]
        for info in infos:
            info.wait_for_publish(timeout=WAIT_S)
    finally:
        pub.loop_stop()
        pub.disconnect()


def interleave(per_machine: dict[str, list[tuple[str, bytes]]]) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    lists = list(per_machine.values())
    for i in range(max(len(v) for v in lists)):
        out += [v[i] for v in lists if i < len(v)]
    return out


def phase(rs: dict[str, MachineRun], start_ms: int, end_ms: int) -> list[tuple[str, bytes]]:
    return interleave({m: node_messages(rs[m], m, start_ms, end_ms) for m in MACHINES})


def make_session(local: MosquittoProcess, client_id: str) -> None:
    """Create the agent's persistent local session up front, so the broker queues from now on."""
    c = client(local.port, client_id)
    c.connect("127.0.0.1", local.port)
    c.loop_start()
    c.subscribe("seamline/v1/+/+/+/+/+", qos=1)[1]
    time.sleep(0.3)
    c.loop_stop()
    c.disconnect()


def write_config(tmp: Path, local: MosquittoProcess, central: MosquittoProcess) -> Path:
    cfg = {
        "gateway": {"id": "gw1", "enterprise": ENT, "site": SITE},
        "local": {"host": "127.0.0.1", "port": local.port, "client_id": "edge-test-local"},
        "uplink": {"host": "127.0.0.1", "port": central.port, "backoff_initial_s": 0.2, "backoff_max_s": 1.0},
        "spool": {"path": str(tmp / "spool.sqlite"), "max_bytes": 64 * 1024 * 1024},
        "telemetry_interval_s": 1,
    }
    path = tmp / "edge.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def checkpoint_state(spool_path: Path) -> tuple[int, dict[str, dict[str, object]]]:
    """(messages still spooled, machine -> checkpoint) read straight from the spool file."""
    if not spool_path.exists():
        return -1, {}
    db = sqlite3.connect(f"file:{spool_path}?mode=ro", uri=True, timeout=5)
    try:
        n = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        rows = db.execute("SELECT key, blob FROM checkpoints WHERE key LIKE 'machine/%'").fetchall()
    except sqlite3.OperationalError:
        return -1, {}
    finally:
        db.close()
    return int(n), {k.rsplit("/", 1)[1]: orjson.loads(b) for k, b in rows}


def wait_for(cond: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def processed_until(spool_path: Path, last_ts_ms: int) -> Callable[[], bool]:
    def cond() -> bool:
        _, cps = checkpoint_state(spool_path)
        return len(cps) == len(MACHINES) and all(cp["last_sample_ts_ms"] == last_ts_ms for cp in cps.values())
    return cond


def drained(spool_path: Path, collector: Collector) -> Callable[[], bool]:
    def cond() -> bool:
        n, cps = checkpoint_state(spool_path)
        got = collector.by_asset()
        return n == 0 and all({s for s, _, _ in got.get(m, [])} == set(range(int(cps[m]["seq"]))) for m in cps)
    return cond


def assert_complete_in_order(collector: Collector, cps: dict[str, dict[str, object]]) -> None:
    got = collector.by_asset()
    for m in MACHINES:
        arrivals = got[m]
        first: dict[int, bytes] = {}
        order: list[int] = []
        for seq, _, payload in arrivals:
            if seq in first:
                assert first[seq] == payload, f"{m}: seq {seq} resent with a different payload"
                continue
            first[seq] = payload
            order.append(seq)
        assert order == list(range(int(cps[m]["seq"]))), f"{m}: missing or out of order"


def assert_time_in_state(collector: Collector, rs: dict[str, MachineRun]) -> None:
    for m, arrivals in collector.by_asset().items():
        aggs = {seq: orjson.loads(p)["samples"][0] for seq, kind, p in arrivals if kind == "data"}
        assert len(aggs) >= 13, m  # 15 minutes, the last period still open
        start = min(a["ts_ms"] for a in aggs.values())
        end = max(a["ts_ms"] for a in aggs.values()) + 60_000
        truth = rs[m].time_in_state_s(start, end)
        got = dict.fromkeys(MachineState, 0.0)
        for a in aggs.values():
            for st, key in ((MachineState.RUNNING, "run_s"), (MachineState.IDLE, "idle_s"),
                            (MachineState.OFF, "off_s"), (MachineState.DOWN, "down_s")):
                got[st] += a["metrics"].get(key, 0.0)
        diff = sum(abs(got[st] - truth[st]) for st in MachineState)
        assert diff / ((end - start) / 1000) <= 0.01, (m, got, truth)


def final_telemetry(collector: Collector) -> dict[str, int] | None:
    """Counters of the first self-telemetry sample that saw every node sample."""
    with collector.lock:
        msgs = [orjson.loads(p) for t, p, _ in collector.messages if t.endswith("_gateway/gw1/data")]
    for m in msgs:
        metrics = m["samples"][0]["metrics"]
        if metrics["samples_in"] == len(MACHINES) * SPAN_MS // 1000:
            return {"rejected_in": metrics["rejected_in"], "samples_in": metrics["samples_in"]}
    return None


@contextmanager
def agent_thread(config_path: Path) -> Iterator[None]:
    stop = threading.Event()
    settings = load_config(config_path, env={}).settings(config_dir=config_path.parent)
    t = threading.Thread(target=serve, args=(settings, stop), daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join(timeout=30)
        assert not t.is_alive()


def test_central_outage_loses_nothing(tmp_path: Path, mosquitto_factory: Callable[..., MosquittoProcess]) -> None:
    local, central = mosquitto_factory("local"), mosquitto_factory("central")
    cfg = write_config(tmp_path, local, central)
    spool = tmp_path / "spool.sqlite"
    rs = runs()
    collector = Collector(central.port)
    make_session(local, "edge-test-local")
    try:
        with agent_thread(cfg):
            garbage = [(f"seamline/v1/{ENT}/{SITE}/{LINE}/m001/data", b'{"samples": "nope"'),
                       (f"seamline/v1/{ENT}/other-site/{LINE}/m001/data", encode_samples(
                           [SampleRow(T0, 0, 0.45, 0.0, 0, 0)]))]
            publish_all(local.port, garbage + phase(rs, T0, T0 + 5 * 60_000))
            wait_for(processed_until(spool, T0 + 5 * 60_000 - 1000), "phase 1 processed")
            central.stop()
            publish_all(local.port, phase(rs, T0 + 5 * 60_000, T0 + 10 * 60_000))
            wait_for(processed_until(spool, T0 + 10 * 60_000 - 1000), "phase 2 processed (central down)")
            assert checkpoint_state(spool)[0] > 0  # aggregates wait in the spool
            central.start()
            publish_all(local.port, phase(rs, T0 + 10 * 60_000, T0 + SPAN_MS))
            wait_for(processed_until(spool, T0 + SPAN_MS - 1000), "phase 3 processed")
            wait_for(drained(spool, collector), "spool drained to the central broker")
            wait_for(lambda: final_telemetry(collector) is not None, "self-telemetry after the last sample")
        _, cps = checkpoint_state(spool)
        assert_complete_in_order(collector, cps)
        assert_time_in_state(collector, rs)
        with collector.lock:
            topics = [(t, r) for t, _, r in collector.messages]
        assert ("seamline/v1/acme/plant1/_gateway/gw1/birth", False) in topics
        assert final_telemetry(collector) == {"rejected_in": 2, "samples_in": len(MACHINES) * SPAN_MS // 1000}
        statuses = [orjson.loads(p)["state"] for t, p, _ in collector.messages if t.endswith("gw1/status")]
        assert statuses[-1] == "offline"  # graceful stop
        births = [orjson.loads(p) for t, p, _ in collector.messages if t.endswith("gw1/birth")]
        assert {a["asset"] for a in births[-1]["assets"]} == set(MACHINES)
    finally:
        collector.close()


def start_agent(cfg: Path, log_path: Path) -> subprocess.Popen[bytes]:
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen([sys.executable, "-m", "seamline.cli", "edge", "run", "--config", str(cfg)],
                                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    finally:
        log.close()


def test_sigkill_and_restart_loses_nothing(tmp_path: Path, mosquitto_factory: Callable[..., MosquittoProcess]) -> None:
    local, central = mosquitto_factory("local"), mosquitto_factory("central")
    cfg = write_config(tmp_path, local, central)
    spool = tmp_path / "spool.sqlite"
    rs = runs()
    collector = Collector(central.port)
    make_session(local, "edge-test-local")
    proc = start_agent(cfg, tmp_path / "agent.log")
    nodes = threading.Thread(target=publish_all, args=(local.port, phase(rs, T0, T0 + 5 * 60_000)))
    try:
        nodes.start()
        wait_for(lambda: len(checkpoint_state(spool)[1]) == len(MACHINES), "first commits")
        proc.send_signal(signal.SIGKILL)  # mid-stream: the nodes are still publishing
        proc.wait(timeout=10)
        nodes.join(timeout=WAIT_S)
        publish_all(local.port, phase(rs, T0 + 5 * 60_000, T0 + 10 * 60_000))  # queued for the dead agent
        proc = start_agent(cfg, tmp_path / "agent.log")
        publish_all(local.port, phase(rs, T0 + 10 * 60_000, T0 + SPAN_MS))
        wait_for(processed_until(spool, T0 + SPAN_MS - 1000), "everything processed after restart")
        wait_for(drained(spool, collector), "spool drained to the central broker")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143  # a graceful stop on SIGTERM (systemd: SuccessExitStatus=143)
        _, cps = checkpoint_state(spool)
        assert_complete_in_order(collector, cps)
        assert_time_in_state(collector, rs)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        collector.close()
