"""One alert through a real Alertmanager and the real ``seamline notify`` command to every channel
type, each received by a local server that checks the vendor's documented request format and
signature (DingTalk, WeCom, Feishu, signed webhook, Apprise's JSON) and by a real SMTP server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from seamline.alertmanager.client import AlertmanagerClient
from seamline.localstack import AlertmanagerProcess
from tests.support.notify_process import NotifyProcess
from tests.support.notify_scenarios import am_config, firing, machine_annotations, machine_labels, webhook_channel
from tests.support.smtp_sink import SmtpSink
from tests.support.vendor_receivers import VendorReceiver

pytestmark = pytest.mark.integration


@pytest.fixture
def receivers() -> Iterator[dict[str, VendorReceiver]]:
    made = {
        "ding": VendorReceiver("dingtalk", token="ding-token", secret="SECding0123456789"),
        "wecom": VendorReceiver("wecom", token="wecom-key", secret=None),
        "feishu": VendorReceiver("feishu", token="feishu-hook-id", secret="feishu-secret"),
        "hook": VendorReceiver("webhook", secret="whsec-test"),
        "apprise": VendorReceiver("json", secret=None),
    }
    for r in made.values():
        r.up()
    yield made
    for r in made.values():
        r.down()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def test_one_alert_reaches_every_channel_in_its_vendor_format(
        tmp_path: Path, receivers: dict[str, VendorReceiver], smtp: SmtpSink,
        alertmanager_factory: Callable[..., AlertmanagerProcess]) -> None:
    r = receivers
    notify = NotifyProcess(workdir=tmp_path / "notify", env={"DING_SECRET": "SECding0123456789"}, config={
        "auth": {"bearer_token": {"file": str(_write(tmp_path / "token", "am-bearer-token"))}},
        "channels": {
            "ding": {"type": "dingtalk", "token": "ding-token", "secret": {"env": "DING_SECRET"},
                     "base_url": r["ding"].base_url},
            "wecom": {"type": "wecom", "key": "wecom-key", "base_url": r["wecom"].base_url, "language": "en"},
            "feishu": {"type": "feishu", "token": "feishu-hook-id", "secret": "feishu-secret",
                       "base_url": r["feishu"].base_url},
            "hook": webhook_channel(r["hook"].webhook_url),
            "apprise": {"type": "apprise", "url": f"json://127.0.0.1:{r['apprise'].port}/hook"},
            "mail": {"type": "email", "host": "127.0.0.1", "port": smtp.port, "security": "none",
                     "from": "seamline@example.com", "to": ["ops@example.com", "厂长@example.com"]},
        },
        "routes": [{"receiver": "f001", "channels": ["ding", "wecom", "feishu", "hook", "apprise", "mail"]}],
    })
    notify.start()
    am_yaml = am_config(notify.url).replace(
        "send_resolved: true", f"send_resolved: true\n    http_config:\n      authorization:\n"
                               f"        credentials_file: {tmp_path / 'token'}")
    am = alertmanager_factory(am_yaml)
    try:
        started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=25)
        AlertmanagerClient(am.url).post_alerts([firing(machine_labels(), machine_annotations(), starts_at=started)])
        local = started.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")

        ding = r["ding"].wait_for(1)[0].body
        assert ding["msgtype"] == "markdown"
        assert "机器 m003 停机" in ding["markdown"]["title"]
        text = ding["markdown"]["text"]
        for expected in ("f001 / s1 / line01 / m003", f"{local} (UTC+08:00)", "25 min（阈值 10 min）",
                         "数据覆盖率：92 %", "(https://runbooks.example/machine_down)", "网关 gw-f001"):
            assert expected in text, (expected, text)

        wecom = r["wecom"].wait_for(1)[0].body
        assert wecom["msgtype"] == "markdown"
        assert "Machine m003 is down" in wecom["markdown"]["content"]
        assert "25 min (threshold 10 min)" in wecom["markdown"]["content"]

        feishu = r["feishu"].wait_for(1)[0].body
        assert feishu["msg_type"] == "interactive"
        assert feishu["card"]["header"]["template"] == "red"
        assert "机器 m003 停机" in feishu["card"]["elements"][0]["text"]["content"]

        hook = r["hook"].wait_for(1)[0]
        assert hook.body["receiver"] == "f001" and hook.body["status"] == "firing"
        assert hook.body["alerts"][0]["labels"]["asset"] == "m003"
        assert hook.headers["X-Seamline-Message-Id"] == hook.body["id"]

        assert "机器 m003 停机" in r["apprise"].wait_for(1)[0].body["message"]

        mail = smtp.wait_for(1)[0]
        assert "机器 m003 停机" in str(mail["Subject"])
        assert mail.get_content_charset() == "utf-8"
        body = mail.get_content()
        assert "数据覆盖率：92 %" in body and "25 min（阈值 10 min）" in body
        assert smtp.envelopes[0][1] == ["ops@example.com", "厂长@example.com"]

        for channel in ("ding", "wecom", "feishu", "hook", "apprise", "mail"):
            assert notify.wait_metric("seamline_notify_delivered_total", 1, channel=channel) == 1
        assert notify.metric("seamline_notify_webhooks_total", result="accepted") == 1
        for receiver in r.values():
            assert receiver.refused == []
        log = notify.log_text()
        for secret in ("SECding0123456789", "feishu-secret", "whsec-test", "am-bearer-token", "ding-token"):
            assert secret not in log
    finally:
        notify.stop()


def test_webhook_without_the_bearer_token_is_refused(tmp_path: Path, receivers: dict[str, VendorReceiver]) -> None:
    notify = NotifyProcess(workdir=tmp_path / "notify", config={
        "auth": {"bearer_token": "right-token"},
        "channels": {"hook": webhook_channel(receivers["hook"].webhook_url)},
        "routes": [{"receiver": "*", "channels": ["hook"]}],
    })
    notify.start()
    try:
        import urllib.error
        import urllib.request

        body = json.dumps({"version": "4"}).encode()
        req = urllib.request.Request(f"{notify.url}/alertmanager/f001", data=body, method="POST",
                                     headers={"Authorization": "Bearer wrong-token"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 401
        assert notify.metric("seamline_notify_webhooks_total", result="unauthorized") == 1
    finally:
        notify.stop()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
