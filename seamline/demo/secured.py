"""The demo's secured deployment, made with the operator's own commands: a cluster CA and one
identity per gateway and per process (`seamline pki`), the central Mosquitto from `seamline
broker-config` (TLS, client certificates required, the per-identity ACL), and InfluxDB with
`auth-enabled` and one user per service (`seamline db users`). Every secret is a 0600 file under
``<workdir>/secrets``; configs name the files, never the values.

The factories' local brokers (node → gateway, on the factory LAN) stay plain MQTT: the nodes'
firmware has no TLS; the gateway is the boundary. ``seamline demo --insecure`` skips all this."""

from __future__ import annotations

import contextlib
import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seamline.cli import main as seamline_cli
from seamline.localstack.ports import free_port

SITE = "s1"
# A gateway of its own for the demo's rogue client: its malformed messages now come from an
# identified, certified box on its own topics (the ACL admits them; ingest quarantines them).
ROGUE_ENTERPRISE = "rogue"
# The demo's own observer of retained gateway statuses: role ingest (reads status), its own identity.
OBSERVER = "demo-observer"
# Mosquitto tuning the localstack broker has and broker-config leaves to the operator: a fast
# ingest needs more than 20 un-acked QoS 1 messages in flight; Nagle stalls QoS 1 round trips.
BROKER_TUNING = ("max_inflight_messages 1000", "max_queued_messages 1000000", "set_tcp_nodelay true",
                 "log_dest stdout")
DB_ADMIN = "admin"


def gateway_id(enterprise: str) -> str:
    return f"gw-{enterprise}"


def _cli(log: Path, *args: object) -> None:
    """Run a `seamline` command in-process, its output appended to ``log`` (not the demo's stdout)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        rc = seamline_cli([str(a) for a in args])
    if rc != 0:
        raise RuntimeError(f"seamline {' '.join(map(str, args))} exited {rc}: see {log}")


@dataclass(frozen=True, slots=True)
class DemoSecurity:
    root: Path  # <workdir>/secrets
    broker_port: int

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def broker_conf(self) -> Path:
        return self.root / "broker" / "mosquitto.conf"

    @property
    def influx_passwords(self) -> Path:
        return self.root / "influxdb"

    def gateway_tls(self, enterprise: str) -> dict[str, Any]:
        """The edge config's uplink keys for ``enterprise``'s gateway."""
        d = self.pki / "gateways" / enterprise / SITE / gateway_id(enterprise)
        return {"host": "localhost", "port": self.broker_port, "tls_ca": str(d / "ca.pem"),
                "tls_cert": str(d / "cert.pem"), "tls_key": str(d / "key.pem")}

    def gateway_folder(self, enterprise: str) -> Path:
        return self.pki / "gateways" / enterprise / SITE / gateway_id(enterprise)

    def service_folder(self, name: str) -> Path:
        return self.pki / "services" / name

    def service_mqtt(self, name: str) -> dict[str, Any]:
        """A service config's ``mqtt:`` keys for identity ``svc/<name>``."""
        d = self.service_folder(name)
        return {"host": "localhost", "port": self.broker_port, "tls_ca": str(d / "ca.pem"),
                "tls_cert": str(d / "cert.pem"), "tls_key": str(d / "key.pem")}

    def service_args(self, name: str) -> list[str]:
        """`seamline match`'s broker options for identity ``svc/<name>``."""
        d = self.service_folder(name)
        return ["--tls-ca", str(d / "ca.pem"), "--tls-cert", str(d / "cert.pem"), "--tls-key", str(d / "key.pem")]

    def influx_user(self, user: str) -> dict[str, Any]:
        """An ``influx:`` block's credential keys for InfluxDB user ``user``."""
        return {"username": user, "password_file": str(self.influx_passwords / f"{user}.password")}

    def secret_files(self) -> list[Path]:
        """Every file holding a secret: passwords, private keys."""
        return sorted(p for p in self.root.rglob("*") if p.is_file() and
                      (p.name.endswith((".password", ".key")) or p.name in ("password", "key.pem")))


def _master_for_broker(path: Path, enterprises: list[str]) -> Path:
    """The enterprises and sites the broker admits gateways for (broker-config checks every
    gateway against master data; the demo's full master data is written after the replay)."""
    doc = {"calendars": [{"id": "cal", "shifts": [{"name": "day", "start": "08:00", "end": "17:00",
                                                   "days": ["mon", "tue", "wed", "thu", "fri", "sat"]}]}],
           "enterprises": [{"id": e, "name": e, "calendar": "cal", "sites": [{"id": SITE, "lines": []}]}
                           for e in enterprises]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def make_broker_config(root: Path, gateways: list[str], services: dict[str, str]) -> DemoSecurity:
    """CA, broker certificate, one certificate per gateway (``gw-<enterprise>`` at site s1, plus
    the rogue's) and per service (name -> role), and the central broker's configuration."""
    pki, port = root / "pki", free_port()
    enterprises = [*gateways, ROGUE_ENTERPRISE]
    master = _master_for_broker(root / "broker-master.yaml", enterprises)
    log = root.parent / "logs" / "security-setup.log"
    _cli(log, "pki", "init", "--dir", pki, "--cluster", "demo")
    _cli(log, "pki", "issue", "--dir", pki, "broker", "--dns", "localhost", "--ip", "127.0.0.1")
    csv = root / "gateways.csv"
    csv.write_text("enterprise,site,gateway_id\n" + "".join(f"{e},{SITE},{gateway_id(e)}\n" for e in enterprises))
    _cli(log, "pki", "issue", "--dir", pki, "gateways", csv, "--master", master)
    for name, role in services.items():
        _cli(log, "pki", "issue", "--dir", pki, "service", role, "--name", name)
    out = root / "broker"
    _cli(log, "broker-config", "--master", master, "--pki", pki, "--out", out, "--listen", f"127.0.0.1:{port}",
         "--data-dir", out / "data", "--user", getpass.getuser())
    (out / "data").mkdir(exist_ok=True)
    with (out / "mosquitto.conf").open("a") as fh:
        fh.write("\n# seamline demo: throughput tuning of seamline.localstack\n" + "\n".join(BROKER_TUNING) + "\n")
    return DemoSecurity(root=root, broker_port=port)


def make_influx_users(sec: DemoSecurity, url: str, database: str) -> None:
    """Admin and service users on the auth-enabled InfluxDB, then the database layout as admin."""
    pw, log = sec.influx_passwords, sec.root.parent / "logs" / "security-setup.log"
    _cli(log, "db", "users", "--url", url, "--database", database, "--admin-user", DB_ADMIN, "--passwords-dir", pw)
    _cli(log, "db", "init", "--url", url, "--database", database, "--username", DB_ADMIN,
         "--password-file", pw / f"{DB_ADMIN}.password")
