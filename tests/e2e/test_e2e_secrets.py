"""The secured demo run (the session's `cluster`, secured by default) leaks no secret: no
password (MQTT identities, InfluxDB users), no private key (PEM body lines of every key, the CA's
included) appears in any file the run wrote outside its 0600 secrets folder — process logs, the
broker's and InfluxDB's logs, the platform commands' error output, each ingest worker's /metrics
page, configs, report pages, dashboards, spools, quarantine, the database files — nor in the
summary. Run it with test_e2e_cluster.py (one demo run for both)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# PEM lines shorter than this could occur by chance (a base64 line of a key is 64 characters)
MIN_NEEDLE = 16


def _needles(secrets: Path) -> dict[str, bytes]:
    """name -> secret bytes: each password and each line of each private key's PEM body."""
    out: dict[str, bytes] = {}
    for p in sorted(secrets.rglob("*")):
        if not p.is_file():
            continue
        if p.name == "password" or p.name.endswith(".password"):
            out[str(p.relative_to(secrets))] = p.read_bytes().strip()
        elif p.name in ("key.pem", "ca.key", "server.key") or p.name.endswith(".key"):
            body = [ln for ln in p.read_bytes().splitlines() if ln and not ln.startswith(b"-----")]
            for i, ln in enumerate(body):
                if len(ln) >= MIN_NEEDLE:
                    out[f"{p.relative_to(secrets)} line {i + 1}"] = ln
    return out


def _run_files(workdir: Path) -> list[Path]:
    secrets = workdir / "secrets"
    return [p for p in sorted(workdir.rglob("*")) if p.is_file() and secrets not in p.parents]


def test_the_demo_ran_secured(cluster: dict[str, Any]) -> None:
    workdir = Path(cluster["workdir"])
    broker_log = (workdir / "central-broker" / "mosquitto.log").read_text()
    for who in ("svc/ingest-1", "svc/ingest-2", "svc/rules", "svc/matching", "gw/f001/s1/gw-f001"):
        assert f"u'{who}'" in broker_log, f"{who} did not connect with its certificate"
    assert "require_certificate true" in (workdir / "secrets" / "broker" / "mosquitto.conf").read_text()
    assert "auth-enabled = true" in cluster["influxdb_conf"]
    assert len(list((workdir / "logs").glob("ingest-*.metrics.txt"))) == 2


def test_no_secret_in_any_log_error_or_metrics(cluster: dict[str, Any]) -> None:
    workdir = Path(cluster["workdir"])
    needles = _needles(workdir / "secrets")
    passwords = [k for k in needles if "password" in k]
    keys = [k for k in needles if "line" in k]
    # passwords: 4 gateways (3 + the rogue's), 5 services (ingest-1, -2, observer, rules, matching), 4 InfluxDB
    # users; keys: the CA's, the broker's (and its copy for Mosquitto), 4 gateways', 5 services', 3 lines each
    assert len(passwords) >= 4 + 5 + 4 and len(keys) >= 3 * 12, sorted(needles)
    files = _run_files(workdir)
    logs = [p for p in files if p.suffix in (".log", ".txt")]
    assert len(logs) >= 8 and sum(p.stat().st_size for p in logs) > 10_000
    # the check finds a secret where one is: the secrets folder itself
    secret_text = b"".join(p.read_bytes() for p in (workdir / "secrets").rglob("*") if p.is_file())
    assert all(n in secret_text for n in needles.values())
    leaks = []
    for p in files:
        data = p.read_bytes()
        leaks += [f"{name} in {p.relative_to(workdir)}" for name, n in needles.items() if n in data]
    summary = json.dumps(cluster["summary"], default=str).encode()
    leaks += [f"{name} in the summary" for name, n in needles.items() if n in summary]
    assert leaks == []
