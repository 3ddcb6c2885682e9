"""Edge publish throughput: bare paho QoS 1 publisher vs Uplink + SqliteSpool, same broker, same run.

    .venv/bin/python -m bench.edge_publish [n_messages] [payload_bytes]

Rows: bare paho (MQTT 3.1.1 and 5, 100 in flight, everything queued in memory up front), the
spool alone (commit batches of 100 with synchronous=FULL and =NORMAL, no publishing), and the
full path (agent thread commits batches of 100 and wakes the uplink; timed until the last
PUBACK has been acked in the spool). No subscriber: the broker only acknowledges.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings
from seamline.localstack import MosquittoProcess

TOPIC = "seamline/v1/bench/site/line-1/m-001/data"
BATCH = 100  # messages per spool commit, like one aggregation tick of a 100-machine gateway
INFLIGHT = 100  # same window for the bare client and the uplink
TIMEOUT_S = 300.0


def _bare_paho(port: int, n: int, payload: bytes, protocol: MQTTProtocolVersion) -> float:
    done = threading.Event()
    acked = 0

    def on_publish(client: mqtt.Client, userdata: object, mid: int, rc: object, props: object) -> None:
        nonlocal acked
        acked += 1
        if acked == n:
            done.set()

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bare-{protocol.name}", protocol=protocol)
    c.max_inflight_messages_set(INFLIGHT)
    c.on_publish = on_publish
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            c.publish(TOPIC, payload, qos=1)
        if not done.wait(TIMEOUT_S):
            raise RuntimeError(f"bare paho: only {acked}/{n} PUBACKs")
        return time.perf_counter() - t0
    finally:
        c.disconnect()
        c.loop_stop()


def _spool_only(path: Path, n: int, payload: bytes, sync: Literal["FULL", "NORMAL"]) -> float:
    spool = SqliteSpool(path, max_bytes=1 << 34, commit_sync=sync)
    batch = [OutMessage(TOPIC, payload, Priority.AGGREGATE)] * BATCH
    try:
        t0 = time.perf_counter()
        for _ in range(n // BATCH):
            spool.commit(batch)
        return time.perf_counter() - t0
    finally:
        spool.close()


def _uplink(port: int, path: Path, n: int, payload: bytes) -> float:
    spool = SqliteSpool(path, max_bytes=1 << 34)
    will = OutMessage("seamline/v1/bench/site/_gateway/gw/status", b"offline", Priority.STATE, retain=True)
    up = Uplink(settings=UplinkSettings(host="127.0.0.1", port=port, client_id="bench-gw", max_inflight=INFLIGHT),
                spool=spool, will=will, on_connect_messages=list)
    up.start()
    try:
        deadline = time.monotonic() + 10
        while not up.stats.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        batch = [OutMessage(TOPIC, payload, Priority.AGGREGATE)] * BATCH
        t0 = time.perf_counter()
        for _ in range(n // BATCH):
            spool.commit(batch)
            up.wake()
        deadline = time.monotonic() + TIMEOUT_S
        while up.stats.acked_total < (n // BATCH) * BATCH:
            if time.monotonic() > deadline:
                raise RuntimeError(f"uplink: only {up.stats.acked_total}/{n} acked")
            time.sleep(0.002)
        return time.perf_counter() - t0
    finally:
        up.stop()
        spool.close()


def run(n_messages: int, payload_bytes: int, *, port: int | None = None) -> list[dict[str, object]]:
    """Measure the rows above; start a throwaway Mosquitto unless ``port`` is given."""
    n = max(BATCH, n_messages - n_messages % BATCH)
    payload = b"x" * payload_bytes
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
        d = Path(tmp)
        broker = None
        if port is None:
            broker = MosquittoProcess(workdir=d / "mosquitto")
            broker.start()
            port = broker.port
        try:
            timings = {
                "bare paho QoS1 MQTT 3.1.1": _bare_paho(port, n, payload, MQTTProtocolVersion.MQTTv311),
                "bare paho QoS1 MQTT 5": _bare_paho(port, n, payload, MQTTProtocolVersion.MQTTv5),
                "spool commit only, sync=FULL": _spool_only(d / "full.db", n, payload, "FULL"),
                "spool commit only, sync=NORMAL": _spool_only(d / "normal.db", n, payload, "NORMAL"),
                "Uplink + SqliteSpool (MQTT 5)": _uplink(port, d / "uplink.db", n, payload),
            }
        finally:
            if broker is not None:
                broker.stop()
    bare = n / timings["bare paho QoS1 MQTT 5"]
    rows: list[dict[str, object]] = []
    for name, seconds in timings.items():
        rate = n / seconds
        rows.append({"case": name, "messages": n, "payload_bytes": payload_bytes, "seconds": round(seconds, 3),
                     "msg_per_s": round(rate), "vs_bare_mqtt5": round(rate / bare, 2)})
    return rows


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 20_000
    size = int(argv[1]) if len(argv) > 1 else 200
    rows = run(n, size)
    print(f"{'case':34} {'msgs':>7} {'bytes':>6} {'s':>7} {'msg/s':>8} {'ratio':>6}")
    for r in rows:
        print(f"{r['case']!s:34} {r['messages']:>7} {r['payload_bytes']:>6} {r['seconds']:>7} "
              f"{r['msg_per_s']:>8} {r['vs_bare_mqtt5']:>6}")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
