"""The servers of the demo: a central Mosquitto, one local Mosquitto per factory gateway, and
InfluxDB 1.x — each on free loopback ports with its own config and data directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seamline.localstack import InfluxdProcess, MosquittoProcess
from seamline.storage.db_init import DbLayout, init_v1
from seamline.storage.query_client import InfluxQLClient

DATABASE = "seamline"


@dataclass(slots=True)
class Stack:
    workdir: Path
    central: MosquittoProcess
    influx: InfluxdProcess
    local: dict[str, MosquittoProcess] = field(default_factory=dict)  # enterprise -> gateway broker

    @classmethod
    def start(cls, workdir: Path, enterprises: list[str]) -> Stack:
        central = MosquittoProcess(workdir=workdir / "central-broker")
        influx = InfluxdProcess(workdir=workdir / "influxdb")
        stack = cls(workdir=workdir, central=central, influx=influx)
        try:
            central.start()
            influx.start()
            for ent in enterprises:
                broker = MosquittoProcess(workdir=workdir / f"local-broker-{ent}")
                broker.start()
                stack.local[ent] = broker
            init_v1(stack.influxql(), DbLayout(database=DATABASE))
        except BaseException:
            stack.stop()
            raise
        return stack

    def influxql(self) -> InfluxQLClient:
        return InfluxQLClient(url=self.influx.url, timeout_s=60.0)

    def stop(self) -> None:
        for broker in self.local.values():
            broker.stop()
        self.central.stop()
        self.influx.stop()
