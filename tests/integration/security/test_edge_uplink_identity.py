"""The edge agent's real uplink, deployed as security/README.md says (uplink.tls_ca / tls_cert /
tls_key = the gateway's folder of the PKI store), against the broker `broker-config` made: its
telemetry arrives, and the platform messages it should never send are refused, counted and
moved from its spool to its local quarantine instead of blocking it."""

from __future__ import annotations

from pathlib import Path

import pytest

from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings
from tests.support.mqtt_probe import probe, wait_until
from tests.support.secure_cluster import GATEWAY_A, SecureBroker

pytestmark = pytest.mark.integration

E, S, G = GATEWAY_A
GOOD = 50
FORGED = 5


def test_edge_uplink_with_its_issued_certificate(secure_broker: SecureBroker, tmp_path: Path) -> None:
    folder = secure_broker.pki / "gateways" / E / S / G
    spool = SqliteSpool(tmp_path / "spool.db", max_bytes=1_000_000)
    data = f"seamline/v1/{E}/{S}/line07/m001/data"
    forged = f"seamline/v1/{E}/{S}/line07/_line/capacity"
    msgs = [OutMessage(data, b'{"seq": %d}' % i, Priority.AGGREGATE) for i in range(GOOD)]
    msgs[10:10] = [OutMessage(forged, b'{"efficiency": 1.5}', Priority.STATE, retain=True) for _ in range(FORGED)]
    spool.commit(msgs)
    settings = UplinkSettings(host="localhost", port=secure_broker.port, client_id=f"edge-{G}",
                              tls_ca=folder / "ca.pem", tls_cert=folder / "cert.pem", tls_key=folder / "key.pem",
                              backoff_initial_s=0.1, backoff_max_s=0.5)
    will = OutMessage(f"seamline/v1/{E}/{S}/_gateway/{G}/status", b'{"state": "offline"}', Priority.STATE, retain=True)
    with probe(secure_broker.port, secure_broker.service("ingest")) as ingest:
        ingest.subscribe(["$share/ingest/seamline/v1/+/+/line07/+/+"])
        up = Uplink(settings=settings, spool=spool, will=will, on_connect_messages=list)
        up.start()
        try:
            wait_until(lambda: spool.stats().messages == 0, what="spool drained")
            stats = up.stats
            kept = [m.topic for m in spool.quarantined()]
        finally:
            up.stop()
            spool.close()
        ingest.barrier()
        assert (stats.acked_total, stats.rejected_total) == (GOOD, FORGED)
        assert stats.rejected_by_reason == {"broker_0x87": FORGED} and kept == [forged] * FORGED
        assert ingest.topics() == [data] * GOOD
    with probe(secure_broker.port, secure_broker.service("matching")) as matching:
        matching.subscribe([forged])
        matching.barrier()
        assert matching.topics() == []
