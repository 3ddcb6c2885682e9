"""The demo's alerts stage (seamline/demo/alerts.py) on the session's simulated cluster: the
built-in rules evaluated over the replayed day, through a real Alertmanager and the real
``seamline notify`` to local receivers. The injected gateway outage is one gateway_offline alert,
fired and resolved; the order put at risk fires; every notification reaches both channels; the
stored data the other stages read is left as it was."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_alerts_fired_resolved_and_delivered_per_channel(cluster: dict[str, Any]) -> None:
    a = cluster["summary"]["alerts"]
    assert a["evaluations"] > 60 and a["statements"] > 0
    assert a["fired"]["gateway_offline"] == 1 and a["resolved"]["gateway_offline"] == 1
    assert any(i.startswith("gateway gw-f002 offline") for i in a["injected"])
    if any(i.startswith("order at risk") for i in a["injected"]):
        assert a["fired"]["order_at_risk"] == 1
    notes = a["notifications"]
    assert set(notes) == {"dingtalk", "webhook"} and notes["dingtalk"] == notes["webhook"]
    # one firing and one resolved message for the gateway, at least one message per alert name fired
    assert notes["webhook"] >= len(a["fired"]) + 1
    titles = a["titles"]
    assert sum("FIRING critical] Gateway gw-f002 offline" in t for t in titles) == 1
    assert sum(t.startswith("[RESOLVED] Gateway gw-f002") for t in titles) == 1
