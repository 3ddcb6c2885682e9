"""Ingest's JetStream source against a secured nats-server: TLS with client certificates verified
(``verify: true``) and user/password authorization. The worker connects with ``jetstream.tls_ca``,
``tls_cert``/``tls_key``, ``username`` and ``password_file``, stores what is published, and never
writes the password to its log; a client without a certificate, or with a wrong password, is refused."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from seamline.localstack import InfluxdProcess
from seamline.localstack.ports import free_port, wait_for_port
from seamline.mqtt_identity import tls_client_context
from tests.support.ingest_harness import (
    IngestProcess,
    create_raw_rp,
    ingest_config,
    sewing_payload,
    wait_count,
)
from tests.support.tls_files import make_ca, make_cert

pytestmark = pytest.mark.integration

PASSWORD = "n4ts-Pa55-7f1c"  # a value easy to search for in the logs


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    d = tmp_path / "pki"
    d.mkdir()
    make_ca(d, "ca")
    make_cert(d, "server", "ca", "IP:127.0.0.1")
    make_cert(d, "ingest", "ca", "DNS:ingest")
    return d


@pytest.fixture
def nats_secure(tmp_path: Path, pki: Path) -> Iterator[int]:
    port = free_port()
    conf = tmp_path / "nats.conf"
    conf.write_text("\n".join([
        f"listen: 127.0.0.1:{port}",
        f"jetstream {{ store_dir: {json.dumps(str(tmp_path / 'js'))} }}",
        f"tls {{ cert_file: {json.dumps(str(pki / 'server.crt'))}, key_file: {json.dumps(str(pki / 'server.key'))}, "
        f"ca_file: {json.dumps(str(pki / 'ca.crt'))}, verify: true }}",
        f"authorization {{ user: ingest, password: {json.dumps(PASSWORD)} }}",
    ]) + "\n")
    log = open(tmp_path / "nats.log", "wb")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(["nats-server", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout_s=20)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _connect(port: int, pki: Path, *, cert: bool, password: str) -> str:
    """'ok' after publishing one sample through JetStream, else the refusal's type name."""
    ctx = tls_client_context(ca=pki / "ca.crt", cert=pki / "ingest.crt" if cert else None,
                             key=pki / "ingest.key" if cert else None)

    async def go() -> str:
        try:
            nc = await nats.connect(f"tls://127.0.0.1:{port}", tls=ctx, user="ingest", password=password,
                                    allow_reconnect=False, connect_timeout=3, max_reconnect_attempts=0)
        except Exception as exc:  # the refusal is what is asserted
            return type(exc).__name__
        try:
            payload = sewing_payload(1, int(time.time() * 1000))
            await nc.jetstream().publish("seamline.v1.acme.s1.line1.m1.data", payload)
            return "ok"
        finally:
            await nc.close()

    return asyncio.run(go())


def test_jetstream_source_with_tls_client_certificate_and_password(
    tmp_path: Path, pki: Path, nats_secure: int, influxd: InfluxdProcess, influx_db: str,
) -> None:
    create_raw_rp(influxd.url, influx_db)
    (tmp_path / "nats-password").write_text(PASSWORD + "\n")
    cfg = ingest_config(tmp_path / "w.yaml", mqtt_port=1, influx_url=influxd.url, database=influx_db, client_id="w",
                        source="jetstream", gaps={"enabled": False},
                        jetstream={"servers": [f"tls://127.0.0.1:{nats_secure}"], "replicas": 1,
                                   "tls_ca": str(pki / "ca.crt"), "tls_cert": str(pki / "ingest.crt"),
                                   "tls_key": str(pki / "ingest.key"), "username": "ingest",
                                   "password_file": str(tmp_path / "nats-password")})
    worker = IngestProcess(cfg, log_path=tmp_path / "w.log")
    worker.start()
    try:
        worker.wait_subscribed(timeout_s=60)
        assert _connect(nats_secure, pki, cert=True, password=PASSWORD) == "ok"
        assert wait_count(influxd.url, influx_db, "sewing_machine", 1, timeout_s=30) == 1
        assert _connect(nats_secure, pki, cert=False, password=PASSWORD) != "ok"  # no client certificate
        assert _connect(nats_secure, pki, cert=True, password="wrong") != "ok"
    finally:
        worker.terminate()
    log = worker.log_text()
    assert "JetStream: connected to" in log and PASSWORD not in log


def test_a_missing_tls_file_is_one_config_error(tmp_path: Path, influxd: InfluxdProcess, influx_db: str) -> None:
    cfg = ingest_config(tmp_path / "w.yaml", mqtt_port=1, influx_url=influxd.url, database=influx_db, client_id="w",
                        source="jetstream",
                        jetstream={"servers": ["tls://127.0.0.1:1"], "tls_ca": str(tmp_path / "nope.pem")})
    worker = IngestProcess(cfg, log_path=tmp_path / "w.log")
    worker.start()
    code = _wait_exit(worker)
    assert code == 2, worker.log_text()[-1500:]
    assert "nope.pem does not exist" in worker.log_text()


def _wait_exit(worker: IngestProcess, timeout_s: float = 30.0) -> int:
    deadline = time.monotonic() + timeout_s
    while worker.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not worker.running, "ingest kept running with a missing TLS file"
    return worker.terminate()


