"""A subscription the broker refuses (SUBACK 0x80: nats-server 2.9.10 while its cluster recovers
from a lost node, seen in 2 of 3 chaos runs) is tried again on the same connection after a
doubling, capped delay; a granted one resets the delay."""

from __future__ import annotations

import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings
from seamline.edge_agent.uplink_settings import SUBSCRIBE_RETRY_MAX_S, SUBSCRIBE_RETRY_S, _Connection


def _code(value: int) -> ReasonCode:
    return ReasonCode(PacketTypes.SUBACK, identifier=value)


def test_refused_subscription_is_retried_with_a_doubling_capped_delay(tmp_path: Path) -> None:
    with SqliteSpool(tmp_path / "s.sqlite", max_bytes=1_000_000) as spool:
        uplink = Uplink(settings=UplinkSettings(host="127.0.0.1", port=1883, client_id="gw"), spool=spool,
                        will=OutMessage("seamline/v1/e/s/_gateway/gw/status", b"{}", Priority.STATE, True),
                        on_connect_messages=list, subscriptions=("a/confirm", "a/resend"))
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw", protocol=mqtt.MQTTv311)
        conn = _Connection(client, 10)
        delays = []
        for _ in range(7):
            before = time.monotonic()
            uplink._on_subscribe(client, conn, 1, [_code(1), _code(0x80)], None)
            assert conn.subscribe_at is not None and conn.subscribe_at >= before + conn.subscribe_delay_s
            delays.append(conn.subscribe_delay_s)
        assert delays == [SUBSCRIBE_RETRY_S * 2**i for i in range(5)] + [SUBSCRIBE_RETRY_MAX_S] * 2
        assert "refused the subscription" in (uplink.stats.last_error or "")
        uplink._on_subscribe(client, conn, 2, [_code(1), _code(1)], None)
        assert conn.subscribe_delay_s == 0.0
