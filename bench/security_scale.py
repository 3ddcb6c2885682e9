"""Security at cluster scale: issuing a certificate per gateway, rendering the broker config, and
what a per-identity ACL of that many gateways costs Mosquitto, against 10 gateways in the same run.

    .venv/bin/python -m bench.security_scale [n_gateways] [publishes]

Rows per cluster size: bulk issue (`PkiStore.issue_many`, ms per gateway), `broker-config`
render (s, ACL lines and size), Mosquitto start until the TLS listener accepts (s) and its
resident memory with that ACL loaded (MiB), TLS connect
with a client certificate (median ms of 20), and QoS 1 publish round trips of one gateway,
allowed and refused by the ACL (median and p99 ms).
"""

from __future__ import annotations

import getpass
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from seamline.localstack.mosquitto import ConfiguredMosquitto
from seamline.localstack.ports import free_port
from seamline.rules.master_data import load_master_data
from seamline.security.broker_config import write_broker_config
from seamline.security.identity import GatewayIdentity
from seamline.security.mosquitto_conf import BrokerSettings
from seamline.security.pki_store import BrokerSpec, PkiStore
from tests.support.mqtt_probe import ACCEPTED, NOT_AUTHORIZED, Credentials, attempt, probe

MASTER = Path(__file__).resolve().parents[1] / "rules" / "master_data.sample.yaml"
SITES = [("f001", "s1"), ("f002", "s1")]  # the sample master data's sites


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.99 * (len(ordered) - 1))] * 1000


def _rss_kib(pid: int | None) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _traffic(port: int, work: Path, g: GatewayIdentity, publishes: int) -> tuple[list[float], ...]:
    """Seconds per TLS connect (20), per allowed and per refused QoS 1 publish round trip."""
    creds = Credentials.from_folder(work / "pki" / "gateways" / g.enterprise / g.site / g.gateway_id)
    connects: list[float] = []
    for _ in range(20):
        t0 = time.perf_counter()
        assert attempt(port, creds).connected
        connects.append(time.perf_counter() - t0)
    own = f"seamline/v1/{g.enterprise}/{g.site}/line01/m001/data"
    forged = f"seamline/v1/{g.enterprise}/{g.site}/line01/_line/capacity"
    allowed: list[float] = []
    refused: list[float] = []
    with probe(port, creds) as p:
        for _ in range(publishes):
            t0 = time.perf_counter()
            assert p.publish(own, b"{}") in ACCEPTED
            allowed.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            assert p.publish(forged, b"{}") == NOT_AUTHORIZED
            refused.append(time.perf_counter() - t0)
    return connects, allowed, refused


def measure(n: int, publishes: int, work: Path) -> dict[str, str]:
    now = datetime.now(UTC)
    store = PkiStore.init(work / "pki", cluster="bench", now=now)
    store.issue(BrokerSpec("broker", ("localhost",), ("127.0.0.1",)), now=now)
    gateways = [GatewayIdentity(enterprise=SITES[i % 2][0], site=SITES[i % 2][1], gateway_id=f"gw{i:05d}")
                for i in range(n)]
    t0 = time.perf_counter()
    store.issue_many(gateways, now=now)
    issue_s = time.perf_counter() - t0
    port = free_port()
    settings = BrokerSettings(host="127.0.0.1", port=port, install_dir=PurePosixPath(work / "out"),
                              data_dir=PurePosixPath(work / "data"), run_as=getpass.getuser())
    t0 = time.perf_counter()
    write_broker_config(master=load_master_data(MASTER), master_path=MASTER, store=store, out=work / "out",
                        settings=settings, now=now)
    render_s = time.perf_counter() - t0
    (work / "data").mkdir()
    acl = (work / "out" / "acl").read_bytes()
    broker = ConfiguredMosquitto(workdir=work / "run", conf_path=work / "out" / "mosquitto.conf", port=port)
    t0 = time.perf_counter()
    broker.start()
    start_s = time.perf_counter() - t0
    try:
        rss_kib = _rss_kib(broker.pid)
        connects, allowed, refused = _traffic(port, work, gateways[-1], publishes)  # the last user block
    finally:
        broker.stop()
    a50, a99 = _ms(allowed)
    r50, r99 = _ms(refused)
    return {
        "gateways": f"{n}",
        "issue ms/gw": f"{issue_s / n * 1000:.1f}",
        "render s": f"{render_s:.2f}",
        "ACL lines": str(len(acl.splitlines())),
        "ACL KiB": f"{len(acl) / 1024:.0f}",
        "start s": f"{start_s:.2f}",
        "broker RSS MiB": f"{rss_kib / 1024:.1f}",
        "connect ms": f"{statistics.median(connects) * 1000:.1f}",
        "pub ok p50/p99 ms": f"{a50:.2f}/{a99:.2f}",
        "pub denied p50/p99 ms": f"{r50:.2f}/{r99:.2f}",
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 7600
    publishes = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    rows = []
    for size in (10, n):  # baseline first, same machine, same run
        with tempfile.TemporaryDirectory(prefix="seamline-bench-security-") as tmp:
            rows.append(measure(size, publishes, Path(tmp)))
    keys = list(rows[0])
    widths = [max(len(k), *(len(r[k]) for r in rows)) for k in keys]
    print("  ".join(k.rjust(w) for k, w in zip(keys, widths, strict=True)))
    for r in rows:
        print("  ".join(r[k].rjust(w) for k, w in zip(keys, widths, strict=True)))


if __name__ == "__main__":
    main()
