"""Load generator: a fraction of the cluster's gateways publishing at the load model's rates.

    .venv/bin/python -m bench.cluster_load --port 1883 --fraction 0.02 --duration 120 --summary out.json

One process, ``--clients`` paho connections (MQTT 3.1.1, QoS 1, like the uplink), each carrying
the traffic of every ``clients``-th gateway on that gateway's own topics — so the broker's ACL must
allow one identity to publish as many gateways: run it against an open (insecure) broker. The plan
(gateways, assets, timing) is :mod:`bench.cluster_traffic`; rates are measured by
:mod:`bench.load_model`. At the end it waits for every PUBACK and writes ``--summary``: messages by
stream, acks, how late its ticks ran, and the number of seq values published per asset (each
asset's seq runs 0..n-1), from which ``bench.cluster_sustained`` counts what was lost.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench import cluster_traffic as ct
from bench.load_model import (
    ClusterAssumptions,
    MachineRates,
    draw_factories,
    factory_count,
    measure_machine_rates,
    park,
)
from seamline.contracts.kinds import AssetKind

LATE_S = 1.0  # a tick this late means the generator no longer keeps the schedule


class Clients:
    """``n`` paho clients with their network threads; counts PUBACKs."""

    def __init__(self, host: str, port: int, n: int, *, prefix: str) -> None:
        self.acked = 0
        self.full_waits = 0  # publishes that waited for PUBACKs: a client had every message id in flight
        self._lock = threading.Lock()
        self._connected = threading.Semaphore(0)
        self.clients: list[mqtt.Client] = []
        for i in range(n):
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{prefix}-{i}", protocol=mqtt.MQTTv311)
            c.max_inflight_messages_set(1000)  # the broker's max_inflight_messages in our configs
            c.max_queued_messages_set(0)  # unbounded here: the schedule, not the client, bounds it
            c.on_publish = self._on_publish
            c.on_connect = lambda *_a: self._connected.release()
            c.connect(host, port, keepalive=30)
            c.loop_start()
            self.clients.append(c)
        for _ in range(n):
            if not self._connected.acquire(timeout=30):
                raise RuntimeError("a load client got no CONNACK within 30 s")

    def _on_publish(self, *_a: object) -> None:
        with self._lock:
            self.acked += 1

    def publish(self, gateway: int, topic: str, payload: bytes) -> None:
        """QoS 1; when the client has all 65 535 message ids unacknowledged (the broker is that far
        behind; paho answers "queue full") wait for PUBACKs, as a gateway's spool would: the
        generator then falls behind its schedule (``late_ticks``) instead of dropping."""
        client = self.clients[gateway % len(self.clients)]
        info = client.publish(topic, payload, qos=1)
        while info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            self.full_waits += 1
            time.sleep(0.05)
            info = client.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS and info.rc != mqtt.MQTT_ERR_NO_CONN:
            raise RuntimeError(f"publish failed: {mqtt.error_string(info.rc)}")

    def wait_acked(self, n: int, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        while self.acked < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.acked

    def close(self) -> None:
        for c in self.clients:
            c.disconnect()
            c.loop_stop()


class Generator:
    def __init__(self, plan: ct.TrafficPlan, rates: MachineRates, clients: Clients, *,
                 reconnects_per_gateway_s: float, seed: int = 2) -> None:
        self.plan, self.rates, self.clients = plan, rates, clients
        self.rng = random.Random(seed)
        self.reconnect_rate = reconnects_per_gateway_s * len(plan.gateways)
        self.sent: Counter[str] = Counter()
        self.ticks = self.late_ticks = 0
        self.max_lag_s = 0.0

    def _send(self, stream: str, gateway: int, topic: str, payload: bytes) -> None:
        self.clients.publish(gateway, topic, payload)
        self.sent[stream] += 1

    def births(self, gateways: Sequence[ct.Gateway], ts_ms: int) -> None:
        for g in gateways:
            for topic, payload in ct.birth_messages(g, ts_ms=ts_ms):
                self._send("birth+status", g.telemetry.gateway, topic, payload)

    def tick(self, t_s: float) -> None:
        """Everything due in the 0.1 s slot starting at wall time ``t_s``."""
        ts_ms = int(t_s * 1000)
        slot = round(t_s / ct.TICK_S) % ct.SLOTS
        period_start_ms = ts_ms // 60_000 * 60_000 - 60_000  # the minute that just ended
        poll_s = self.plan.modbus_poll_s
        for a in self.plan.wheel[slot]:
            if a.kind is AssetKind.SEWING_MACHINE:
                self._send("aggregate", a.gateway, a.data_topic,
                           ct.aggregate_payload(a, self.rates, period_start_ms=period_start_ms))
            elif a.kind is AssetKind.GATEWAY:
                self._send("telemetry", a.gateway, a.data_topic,
                           ct.telemetry_payload(a, ts_ms=ts_ms, published=sum(self.sent.values())))
            else:
                self._send("modbus", a.gateway, a.data_topic, ct.modbus_payload(a, ts_ms=ts_ms, poll_s=poll_s))
        machines = self.plan.machines
        for _ in range(ct.poisson(self.rng, len(machines) * self.plan.state_per_machine_s * ct.TICK_S)):
            m = machines[self.rng.randrange(len(machines))]
            self._send("state", m.gateway, m.state_topic,
                       ct.state_payload(m, self.rates, ts_ms=ts_ms + self.rng.randrange(100)))
        for _ in range(ct.poisson(self.rng, self.reconnect_rate * ct.TICK_S)):
            self.births([self.plan.gateways[self.rng.randrange(len(self.plan.gateways))]], ts_ms)

    def run(self, duration_s: float, stop: threading.Event) -> None:
        t = (time.time() // ct.TICK_S + 1) * ct.TICK_S
        end = t + duration_s
        while t < end and not stop.is_set():
            delay = t - time.time()
            if delay > 0:
                stop.wait(delay)
            lag = time.time() - t
            self.max_lag_s = max(self.max_lag_s, lag)
            self.late_ticks += lag > LATE_S
            self.tick(t)
            self.ticks += 1
            t += ct.TICK_S


def _measurement(a: ct.Asset) -> str:
    return a.kind.value  # telemetry measurement = asset kind (storage.schema.telemetry); states: machine_state


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--fraction", type=float, required=True, help="share of the 7 600 factories, e.g. 0.02")
    p.add_argument("--duration", type=float, required=True, help="seconds")
    p.add_argument("--clients", type=int, default=16, help="MQTT connections the gateways are spread over")
    p.add_argument("--burst-spread-s", type=float, default=2.0, help="gateways' offsets after the minute")
    p.add_argument("--seeds", type=int, default=2, help="machine-days simulated for the measured rates")
    p.add_argument("--shard", default="0/1", help="k/n: this process sends every n-th factory from the k-th")
    p.add_argument("--summary", type=Path, required=True)
    args = p.parse_args(argv)

    a = ClusterAssumptions()
    rates = measure_machine_rates(seeds=args.seeds)
    factories = draw_factories(a)[:factory_count(a, args.fraction)]
    k, n = (int(x) for x in args.shard.split("/"))
    plan = ct.plan_traffic(a, factories, park(a, args.fraction), rates, burst_spread_s=args.burst_spread_s,
                           shard=(k, n))
    clients = Clients(args.host, args.port, min(args.clients, len(plan.gateways)), prefix=f"cluster-load-{k}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    gen = Generator(plan, rates, clients, reconnects_per_gateway_s=a.reconnects_per_gateway_day / 86_400)
    cpu0, t0 = time.process_time(), time.monotonic()
    gen.births(plan.gateways, int(time.time() * 1000))
    gen.run(args.duration, stop)
    wall = time.monotonic() - t0
    sent = sum(gen.sent.values())
    acked = clients.wait_acked(sent, timeout_s=120)
    cpu = time.process_time() - cpu0
    clients.close()
    assets = [[g.enterprise, ct.SITE, x.area, x.asset, _measurement(x), x.seq]
              for g in plan.gateways for x in (g.telemetry, *g.machines, *g.energy)]
    args.summary.write_text(json.dumps({
        "gateways": len(plan.gateways), "machines": len(plan.machines),
        "energy_assets": sum(len(g.energy) for g in plan.gateways), "clients": len(clients.clients),
        "sent": dict(gen.sent), "sent_total": sent, "acked": acked, "wall_s": wall, "cpu_s": cpu,
        "ticks": gen.ticks, "late_ticks": gen.late_ticks, "max_lag_s": gen.max_lag_s,
        "births": sum(g.births for g in plan.gateways), "full_waits": clients.full_waits, "assets": assets,
    }))
    if acked < sent:
        print(f"cluster_load {args.shard}: broker acked {acked} of {sent} publishes within 120 s", file=sys.stderr)
    return 0 if acked >= sent else 1


if __name__ == "__main__":
    raise SystemExit(main())
