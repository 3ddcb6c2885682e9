"""``seamline notify`` stops like every service (seamline/stop_signal.py): SIGTERM and SIGINT stop
the receiver and the delivery worker, exit 143 and 130, no traceback."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.notify_process import NotifyProcess
from tests.support.notify_scenarios import webhook_channel

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_notify_stops_with_the_signals_exit_code(signum: int, code: int, tmp_path: Path) -> None:
    notify = NotifyProcess(workdir=tmp_path / "notify", config={
        "channels": {"hook": webhook_channel("http://127.0.0.1:1/hook")},
        "routes": [{"receiver": "*", "channels": ["hook"]}],
    })
    notify.start()  # returns once /-/healthy answers: the signal handlers are in place by then
    assert notify.stop(signum) == code, notify.log_text()
    log = notify.log_text()
    assert "Traceback" not in log
    assert "seamline notify stopping" in log  # the graceful path ran, not a default handler's exit
