"""Alerts end to end: machine states and gateway status in a real InfluxDB as ingest writes them,
real ``seamline rules run`` replicas evaluating the built-in rules every second, a real
Alertmanager with the generated config (gateway -> asset inhibition), the real ``seamline notify``
delivering to a local signed-webhook receiver.

* the rules service SIGKILLed while an alert fires, the condition cleared while it is down, and
  started again -> no second notification, and the resolve arrives (explicitly: its endsAt is the
  resolve time, long before the endsAt the killed process last posted);
* two replicas sharing the file lease and the state -> one notification, from the holder only;
* a gateway's Last Will (status offline) while its machines are down -> exactly one
  gateway_offline notification, no machine alert, one resolve when it comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from seamline.localstack import AlertmanagerProcess, InfluxdProcess
from tests.support.alerts_stack import GW, RESEND_S, Influx, Stack, ago, alerts_yaml, now, replica, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(tmp_path: Path, alertmanager_factory: Callable[..., AlertmanagerProcess]) -> Iterator[Stack]:
    s = Stack(tmp_path, alertmanager_factory)
    yield s
    s.close()


@pytest.fixture
def influx(influxd: InfluxdProcess, influx_db: str) -> Influx:
    db = Influx(influxd.url, influx_db)
    db.births(ago(24 * 60))
    return db


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_restart_while_firing_no_second_notification_and_the_resolve_arrives(
        tmp_path: Path, stack: Stack, influx: Influx) -> None:
    alerts = alerts_yaml(tmp_path / "alerts.yaml", am_urls=[stack.am.url], state_path=tmp_path / "state.sqlite3")
    influx.machine("m001", "down", ago(15), reason="breakdown.motor")
    first = replica(tmp_path, "rules-a", influx, alerts)
    first.start()
    try:
        wait_for(lambda: stack.alertnames("firing") == ["machine_down"], "the machine_down notification")
        fired = stack.messages("firing")[0].body["alerts"][0]
        assert fired["labels"]["gateway"] == GW and fired["labels"]["asset"] == "m001"
        assert "breakdown.motor" in fired["annotations"]["summary"]
        first.kill()
        cleared = now()
        influx.machine("m001", "running", cleared)  # repaired while the rules service is down
        second = replica(tmp_path, "rules-b", influx, alerts)
        second.start()
        try:
            wait_for(lambda: "restored" in second.log(), "the restarted service to restore the alert")
            wait_for(lambda: stack.alertnames("resolved") == ["machine_down"], "the resolve", timeout_s=90)
        finally:
            second.stop()
    finally:
        first.kill()
    assert stack.alertnames("firing") == ["machine_down"]  # one notification, before the restart
    resolved = stack.messages("resolved")[0].body["alerts"][0]
    assert resolved["startsAt"] == fired["startsAt"]  # the same episode, restored with its startsAt
    # resolved by the restarted service (endsAt = when it saw the machine running), not by
    # Alertmanager timing out the killed process's posts (endsAt 4 resend intervals after a post)
    assert cleared <= _t(resolved["endsAt"]) <= now()
    assert _t(resolved["endsAt"]) < _t(fired["startsAt"]) + timedelta(seconds=4 * RESEND_S)


def test_two_replicas_one_notification(tmp_path: Path, stack: Stack, influx: Influx) -> None:
    alerts = alerts_yaml(tmp_path / "alerts.yaml", am_urls=[stack.am.url], state_path=tmp_path / "state.sqlite3")
    influx.machine("m002", "down", ago(30), reason="breakdown.needle")
    replicas = [replica(tmp_path, f"rules-{n}", influx, alerts) for n in ("a", "b")]
    for r in replicas:
        r.start()
    try:
        wait_for(lambda: stack.alertnames("firing") == ["machine_down"], "the notification")
        # both replicas are running with their alert job (only the lease holder evaluates)
        wait_for(lambda: all("'alerts'" in r.log() for r in replicas), "both replicas' alert jobs",
                 detail=lambda: "\n".join(f"--- {r.name} (alive {r.alive}):\n{r.log()[-3000:]}" for r in replicas))
        influx.machine("m002", "running", now())
        wait_for(lambda: stack.alertnames("resolved") == ["machine_down"], "the resolve")
    finally:
        for r in replicas:
            r.stop()
    assert stack.alertnames("firing") == ["machine_down"]
    senders = [r.name for r in replicas if "alerts: 1 fired" in r.log()]
    assert len(senders) == 1, senders
    # the dashboards' record: alert_state points, firing 1 then 0
    firing = influx.query('SELECT "firing" FROM "kpi"."alert_state" WHERE "alertname" = \'machine_down\'')
    assert firing[0] == 1 and firing[-1] == 0 and set(firing) == {0, 1}


def test_gateway_last_will_one_notification_no_machine_alerts_one_resolve(
        tmp_path: Path, stack: Stack, influx: Influx) -> None:
    alerts = alerts_yaml(tmp_path / "alerts.yaml", am_urls=[stack.am.url], state_path=tmp_path / "state.sqlite3")
    influx.machine("m001", "down", ago(20), reason="breakdown.motor")
    influx.machine("m002", "down", ago(20), reason="breakdown.motor")
    influx.write([influx.status_line("offline", ago(5))])  # the Last Will, stamped at receipt by ingest
    r = replica(tmp_path, "rules-a", influx, alerts)
    r.start()
    try:
        wait_for(lambda: stack.alertnames("firing") == ["gateway_offline"], "the gateway_offline notification")
        back = now()
        influx.machine("m001", "running", back)
        influx.machine("m002", "running", back)
        influx.write([influx.status_line("online", back)])
        wait_for(lambda: stack.alertnames("resolved") == ["gateway_offline"], "the gateway_offline resolve")
    finally:
        r.stop()
    assert stack.alertnames("firing") == ["gateway_offline"]
    assert stack.alertnames("resolved") == ["gateway_offline"]
    gw = stack.messages("firing")[0].body["alerts"][0]["labels"]
    assert gw["gateway"] == GW and gw["site"] == "s1" and "asset" not in gw
