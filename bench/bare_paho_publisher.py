"""The floor for ``bench.gateway_footprint``: the least a gateway process can be that publishes the
agent's upstream traffic - paho and the standard library, nothing else.

Run by path with the gateway venv's Python (it imports neither seamline nor bench)::

    <venv>/bin/python bench/bare_paho_publisher.py --port 1883 --prefix bare/gw --per-s 10 --burst 200

On connect it publishes ``<prefix>/birth`` (its start-up is measured to that message's arrival),
then ``--per-s`` messages a second (Modbus samples and state changes; a fractional rate is spread
over the seconds) and every ``--burst-every-s`` seconds ``--burst`` messages (one aggregate per
machine), MQTT 5, QoS 1, like the agent's uplink. Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--prefix", required=True, help="topic prefix")
    p.add_argument("--per-s", type=float, default=10.0, help="messages per second")
    p.add_argument("--burst", type=int, default=200, help="messages every --burst-every-s")
    p.add_argument("--burst-every-s", type=float, default=60.0)
    p.add_argument("--payload-bytes", type=int, default=300)
    args = p.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=args.prefix.replace("/", "-"),
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.on_connect = lambda c, *_: c.publish(f"{args.prefix}/birth", b"online", qos=1)
    client.connect("127.0.0.1", args.port)
    client.loop_start()
    payload = b"x" * args.payload_bytes
    t0 = time.monotonic()
    next_burst = t0 + args.burst_every_s
    k = 0
    while not stop.wait(max(0.0, t0 + k + 1 - time.monotonic())):
        due = int((k + 1) * args.per_s) - int(k * args.per_s)
        k += 1
        for i in range(due):
            client.publish(f"{args.prefix}/s{i}", payload, qos=1)
        if time.monotonic() >= next_burst:
            next_burst += args.burst_every_s
            for i in range(args.burst):
                client.publish(f"{args.prefix}/m{i}", payload, qos=1)
    client.disconnect()
    client.loop_stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
