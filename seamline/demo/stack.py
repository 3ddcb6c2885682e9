"""The servers of the demo: a central Mosquitto, one local Mosquitto per factory gateway, and
InfluxDB 1.x — each on free loopback ports with its own config and data directory. Secured (the
default): the central broker from `seamline broker-config` (TLS, client certificates, ACL) and
InfluxDB with auth on and a user per service (``seamline.demo.secured``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from seamline.demo.secured import DB_ADMIN, DemoSecurity, make_broker_config, make_influx_users
from seamline.localstack import InfluxdProcess, MosquittoProcess
from seamline.localstack.mosquitto import ConfiguredMosquitto
from seamline.secret_source import read_secret_file
from seamline.storage.db_init import DbLayout, init_v1
from seamline.storage.query_client import InfluxQLClient

DATABASE = "seamline"


@dataclass(slots=True)
class Stack:
    workdir: Path
    central: MosquittoProcess | ConfiguredMosquitto
    influx: InfluxdProcess
    local: dict[str, MosquittoProcess] = field(default_factory=dict)  # enterprise -> gateway broker
    security: DemoSecurity | None = None

    @classmethod
    def start(cls, workdir: Path, enterprises: list[str], *, services: dict[str, str] | None = None) -> Stack:
        """``services`` (identity name -> role) secures the stack; None runs it open (``--insecure``)."""
        security = None
        central: MosquittoProcess | ConfiguredMosquitto
        if services is not None:
            security = make_broker_config(workdir / "secrets", enterprises, services)
            central = ConfiguredMosquitto(workdir=workdir / "central-broker", conf_path=security.broker_conf,
                                          port=security.broker_port)
        else:
            central = MosquittoProcess(workdir=workdir / "central-broker")
        influx = InfluxdProcess(workdir=workdir / "influxdb", auth=security is not None)
        stack = cls(workdir=workdir, central=central, influx=influx, security=security)
        try:
            central.start()
            influx.start()
            for ent in enterprises:
                broker = MosquittoProcess(workdir=workdir / f"local-broker-{ent}")
                broker.start()
                stack.local[ent] = broker
            if security is not None:
                make_influx_users(security, influx.url, DATABASE)
            else:
                init_v1(stack.influxql(), DbLayout(database=DATABASE))
        except BaseException:
            stack.stop()
            raise
        return stack

    def influxql(self) -> InfluxQLClient:
        """The demo's own queries (counting, checks): as the admin when InfluxDB has auth on."""
        user, password = self.admin_credentials()
        return InfluxQLClient(url=self.influx.url, username=user, password=password, timeout_s=60.0)

    def admin_credentials(self) -> tuple[str | None, SecretStr | None]:
        if self.security is None:
            return None, None
        return DB_ADMIN, read_secret_file(self.security.influx_passwords / f"{DB_ADMIN}.password", what="admin")

    def stop(self) -> None:
        for broker in self.local.values():
            broker.stop()
        self.central.stop()
        self.influx.stop()
