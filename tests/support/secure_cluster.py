"""A secured cluster broker for the security tests: a PKI made with `seamline pki`, a Mosquitto
configuration made with `seamline broker-config` from the sample master data, and a real
Mosquitto started from exactly that configuration on a free loopback port. Every step runs the
real command line in-process."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from seamline.cli import main
from seamline.localstack.mosquitto import ConfiguredMosquitto
from seamline.localstack.ports import free_port
from tests.support.mqtt_probe import Credentials

MASTER = Path(__file__).resolve().parents[2] / "rules" / "master_data.sample.yaml"

# enterprise f001 and f002 both have a site s1 in the sample master data; both factories call
# their gateway gw01, so the identity must carry enterprise and site to tell them apart.
GATEWAY_A = ("f001", "s1", "gw01")
GATEWAY_B = ("f002", "s1", "gw01")
GATEWAY_C = ("f001", "s1", "gw02")  # a second gateway on A's site
SERVICES = ("ingest", "rules", "matching", "notify")


def cli(*args: object) -> None:
    """Run a `seamline` command in-process, as a person would type it; fail on a non-zero exit."""
    rc = main([str(a) for a in args])
    assert rc == 0, f"seamline {' '.join(map(str, args))} exited {rc}"


def make_pki(d: Path, *, gateways: tuple[tuple[str, str, str], ...] = (GATEWAY_A, GATEWAY_B, GATEWAY_C)) -> Path:
    cli("pki", "init", "--dir", d, "--cluster", "test")
    cli("pki", "issue", "--dir", d, "broker", "--dns", "localhost", "--ip", "127.0.0.1")
    for e, s, g in gateways:
        cli("pki", "issue", "--dir", d, "gateway", g, "--enterprise", e, "--site", s, "--master", MASTER)
    for role in SERVICES:
        cli("pki", "issue", "--dir", d, "service", role)
    return d


def render(pki: Path, out: Path, port: int, *extra: str) -> Path:
    cli("broker-config", "--master", MASTER, "--pki", pki, "--out", out, "--listen", f"127.0.0.1:{port}",
        "--data-dir", out / "data", "--user", getpass.getuser(), *extra)
    (out / "data").mkdir(exist_ok=True)
    return out / "mosquitto.conf"


@dataclass
class SecureBroker:
    pki: Path
    out: Path
    broker: ConfiguredMosquitto

    @property
    def port(self) -> int:
        return self.broker.port

    def gateway(self, e: str, s: str, g: str) -> Credentials:
        return Credentials.from_folder(self.pki / "gateways" / e / s / g)

    def service(self, name: str) -> Credentials:
        return Credentials.from_folder(self.pki / "services" / name)

    def password(self, folder: Path) -> str:
        return (folder / "password").read_text().strip()

    def log_mark(self) -> int:
        """Where the broker's log ends now; :meth:`log_since` reads what it wrote after."""
        return self.broker.log_path.stat().st_size

    def log_since(self, mark: int) -> str:
        with self.broker.log_path.open("rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace")

    def rerender(self, *extra: str) -> None:
        render(self.pki, self.out, self.port, *extra)


def start_broker(tmp: Path, *extra: str, pki: Path | None = None) -> SecureBroker:
    pki = pki or make_pki(tmp / "pki")
    port = free_port()
    conf = render(pki, tmp / "broker", port, *extra)
    broker = ConfiguredMosquitto(workdir=tmp / "broker-run", conf_path=conf, port=port)
    broker.start()
    return SecureBroker(pki, tmp / "broker", broker)
