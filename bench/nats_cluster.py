"""Publish throughput of the clustered-broker candidates against the embedded Mosquitto, on this
machine: ``python -m bench.nats_cluster [--messages N] [--rabbitmq-port P]``.

One paho MQTT 3.1.1 publisher (QoS 1, 1000 in flight, the ingest bench's), the same 1-sample
sewing messages: to Mosquitto 2.0 (persistence on), to one node of a three-node NATS cluster whose
R3 JetStream stream captures ``seamline.v1.>``, and optionally to an already running RabbitMQ MQTT
listener. Prints msg/s (PUBACKed) and what the NATS stream holds afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import nats

from seamline.ingest.config import JetStreamConfig
from seamline.ingest.jetstream import stream_config
from seamline.localstack import MosquittoProcess
from seamline.localstack.nats import NatsCluster
from tests.support.ingest_harness import Publisher, sewing_traffic
from tests.support.nats_chaos import stream_messages


def rate(host: str, port: int, n: int) -> float:
    traffic = sewing_traffic(n, assets=20)
    pub = Publisher(host, port, client_id=f"bench-{port}")
    try:
        pub.publish_all(traffic[:500])  # warm-up: connection, stream leader, session
        t = time.perf_counter()
        pub.publish_all(traffic[500:], timeout_s=300)
        return (n - 500) / (time.perf_counter() - t)
    finally:
        pub.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--rabbitmq-port", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        m = MosquittoProcess(workdir=Path(d) / "mosquitto")
        m.start()
        try:
            print(f"mosquitto 2.0, 1 node:            {rate('127.0.0.1', m.port, args.messages):8.0f} msg/s")
        finally:
            m.stop()
        c = NatsCluster(Path(d) / "nats")
        c.start()
        try:
            async def create() -> None:
                nc = await nats.connect(c.servers)
                await nc.jetstream().add_stream(stream_config(JetStreamConfig(replicas=3)))
                await nc.close()

            asyncio.run(create())
            r = rate(*c.mqtt_addresses[1], args.messages)
            print(f"nats 2.9, 3 nodes, R3 stream:     {r:8.0f} msg/s (stream holds {stream_messages(c.servers)})")
        finally:
            c.stop()
    if args.rabbitmq_port:
        print(f"rabbitmq MQTT plugin:             {rate('127.0.0.1', args.rabbitmq_port, args.messages):8.0f} msg/s")


if __name__ == "__main__":
    main()
