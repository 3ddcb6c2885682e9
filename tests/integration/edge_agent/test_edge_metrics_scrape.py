"""The edge agent's ``/metrics`` (stdlib http.server) scraped from a running ``seamline edge run``:
the local broker up, the central broker away (connected 0, failures counted, the spool growing),
and the local broker stopped (connected 0)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from seamline.localstack import MosquittoProcess, free_port
from tests.support.metrics_scrape import scrape

pytestmark = pytest.mark.integration
SEAMLINE = str(Path(sys.executable).parent / "seamline")


def wait_for(predicate: object, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_scrape_while_the_central_broker_then_the_local_one_is_away(
    tmp_path: Path, mosquitto: MosquittoProcess,
) -> None:
    port, dead = free_port(), free_port()
    config = tmp_path / "edge.yaml"
    config.write_text(f"""\
gateway: {{id: gw1, enterprise: acme, site: plant1}}
local: {{host: 127.0.0.1, port: {mosquitto.port}}}
uplink: {{host: 127.0.0.1, port: {dead}, backoff_initial_s: 0.2, backoff_max_s: 0.5}}
spool: {{path: spool.sqlite}}
telemetry_interval_s: 1
metrics: {{port: {port}}}
""")
    proc = subprocess.Popen([SEAMLINE, "edge", "run", "--config", str(config)], stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: scrape(port).get("seamline_edge_local_connected") == 1.0, "local broker connected")
        wait_for(lambda: scrape(port).get("seamline_edge_uplink_connect_failures_total", 0) >= 2, "failures counted")
        wait_for(lambda: scrape(port).get("seamline_edge_spool_messages", 0) >= 2, "spool growing")
        m = scrape(port)
        assert m["seamline_edge_uplink_connected"] == 0.0
        assert m["seamline_edge_spool_bytes"] > 0 and m["seamline_edge_spool_oldest_age_seconds"] >= 0
        assert m["seamline_edge_uplink_acked_total"] == 0.0
        person = subprocess.run([SEAMLINE, "status", "--config", str(config)], capture_output=True, text=True,
                                timeout=60)
        assert person.returncode == 0, person.stderr
        shown = {line.split()[0]: line.split()[-1] for line in person.stdout.splitlines()[1:]}
        assert shown["uplink_connected"] == "0" and shown["local_connected"] == "1"
        assert int(shown["spool_messages"]) >= 2
        mosquitto.stop()
        wait_for(lambda: scrape(port).get("seamline_edge_local_connected") == 0.0, "local broker gone")
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 143, err
    down = subprocess.run([SEAMLINE, "status", "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert down.returncode == 1 and f"127.0.0.1:{port}" in down.stderr and "Traceback" not in down.stderr


def test_last_publish_age_while_the_central_broker_is_there_then_away(
    tmp_path: Path, mosquitto_factory: Callable[..., MosquittoProcess],
) -> None:
    local, central = mosquitto_factory("local"), mosquitto_factory("central")
    port = free_port()
    config = tmp_path / "edge.yaml"
    config.write_text(f"""\
gateway: {{id: gw1, enterprise: acme, site: plant1}}
local: {{host: 127.0.0.1, port: {local.port}}}
uplink: {{host: 127.0.0.1, port: {central.port}, backoff_initial_s: 0.2, backoff_max_s: 0.5}}
spool: {{path: spool.sqlite}}
telemetry_interval_s: 1
metrics: {{port: {port}}}
""")
    proc = subprocess.Popen([SEAMLINE, "edge", "run", "--config", str(config)], stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: scrape(port).get("seamline_edge_uplink_acked_total", 0) >= 2, "birth and telemetry acked")
        up = scrape(port)
        assert up["seamline_edge_uplink_connected"] == 1.0
        assert up["seamline_edge_uplink_connect_failures_total"] == 0.0
        central.stop()
        wait_for(lambda: scrape(port).get("seamline_edge_uplink_connect_failures_total", 0) >= 2, "failures counted")
        first = scrape(port)
        wait_for(lambda: scrape(port).get("seamline_edge_spool_messages", 0) > first["seamline_edge_spool_messages"],
                 "more telemetry spooled since")
        later = scrape(port)
        assert later["seamline_edge_uplink_connected"] == 0.0
        assert later["seamline_edge_uplink_acked_total"] == first["seamline_edge_uplink_acked_total"]
        # nothing acknowledged since the broker went: the age only grows
        assert (later["seamline_edge_uplink_last_publish_age_seconds"]
                > first["seamline_edge_uplink_last_publish_age_seconds"]
                >= up["seamline_edge_uplink_last_publish_age_seconds"])
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 143, err
