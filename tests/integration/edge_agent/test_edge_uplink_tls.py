"""Uplink over TLS (throwaway CA, server and client certificates made with openssl) with
username/password (mosquitto_passwd), and what happens with wrong credentials or a wrong CA."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings
from seamline.localstack import MosquittoProcess
from seamline.localstack.mosquitto import BrokerOptions, BrokerTls
from seamline.localstack.ports import free_port
from tests.support.tls_files import make_ca, make_cert

pytestmark = pytest.mark.integration

WILL = OutMessage("t/gw/status", b"offline", Priority.STATE, retain=True)


def wait_until(pred: Callable[[], bool], *, timeout_s: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


def test_tls_client_cert_and_password(mosquitto_factory: Callable[..., MosquittoProcess], tmp_path: Path) -> None:
    d = tmp_path / "pki"
    d.mkdir()
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_cert(d, "server", "ca", "IP:127.0.0.1,DNS:localhost")
    make_cert(d, "client", "ca", "DNS:gw-1")
    passwd = d / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), "gw-1", "s3cret"], check=True, timeout=30)
    tls_port = free_port()
    broker = mosquitto_factory("tls", BrokerOptions(
        password_file=passwd,
        tls=BrokerTls(port=tls_port, cafile=d / "ca.crt", certfile=d / "server.crt", keyfile=d / "server.key",
                      require_certificate=True),
    ))

    def uplink(spool: SqliteSpool, **kw: object) -> Uplink:
        base: dict[str, object] = dict(host="127.0.0.1", port=tls_port, client_id="gw-1", username="gw-1",
                                       password="s3cret", tls_ca=d / "ca.crt", tls_cert=d / "client.crt",
                                       tls_key=d / "client.key", backoff_initial_s=0.1, backoff_max_s=0.3)
        base.update(kw)
        return Uplink(settings=UplinkSettings(**base), spool=spool, will=WILL,  # type: ignore[arg-type]
                      on_connect_messages=list)

    good = SqliteSpool(tmp_path / "good.db", max_bytes=1_000_000)
    good.commit([OutMessage("t/gw/data", str(i).encode(), Priority.AGGREGATE) for i in range(20)])
    up = uplink(good)
    up.start()
    try:
        wait_until(lambda: good.stats().messages == 0, what="spool drained over TLS")
        assert up.stats.acked_total == 20 and up.stats.connected
    finally:
        up.stop()
        good.close()

    cases = {
        "wrong password": ({"password": "nope"}, "refused"),
        "untrusted server CA": ({"tls_ca": d / "other-ca.crt"}, "CERTIFICATE_VERIFY_FAILED"),
        "no client certificate": ({"tls_cert": None, "tls_key": None}, ""),
    }
    for name, (kw, error) in cases.items():
        spool = SqliteSpool(tmp_path / f"{name}.db", max_bytes=1_000_000)
        spool.commit([OutMessage("t/gw/data", b"1", Priority.AGGREGATE)])
        up = uplink(spool, **kw)
        up.start()
        try:
            wait_until(lambda up=up: up.stats.connect_failures >= 2, what=f"{name}: repeated failures")  # type: ignore[misc]
            st = up.stats
            assert not st.connected, name
            assert st.acked_total == 0 and spool.stats().messages == 1, name
            assert st.last_error is not None and error in st.last_error, (name, st.last_error)
            assert "s3cret" not in st.last_error and "nope" not in st.last_error
        finally:
            up.stop()
            spool.close()
    assert broker.running


def test_settings_never_show_the_password() -> None:
    s = UplinkSettings(host="h", port=1, client_id="c", username="u", password="hunter2")
    assert "hunter2" not in repr(s)
    with pytest.raises(ValueError, match="password"):
        UplinkSettings(host="h", port=1, client_id="c", password="x")
    with pytest.raises(ValueError, match="port"):
        UplinkSettings(host="h", port=0, client_id="c")
