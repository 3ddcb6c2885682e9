"""The edge agent's composition root: settings in, spool + local subscriber + sources + uplink wired,
run until stopped. The only place that builds real adapters. Imports no pydantic (the settings
arrive validated, see :mod:`edge_agent.runtime`)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

from seamline.contracts.kinds import GatewayState
from seamline.edge_agent.agent import EdgeAgent, Source
from seamline.edge_agent.local import LocalSubscriber
from seamline.edge_agent.settings import EdgeSettings, SimulatedClock
from seamline.edge_agent.spool import SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings

log = logging.getLogger(__name__)

# Graceful stop: time to get the spool's in-flight messages and the offline status acknowledged;
# below systemd's default TimeoutStopSec (90 s) so the agent is never SIGKILLed mid-stop.
UPLINK_STOP_TIMEOUT_S = 10.0


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def simulated_ms(sim: SimulatedClock) -> Callable[[], int]:
    """Device time of a simulation: ``start_ms`` at wall time ``anchor_unix_s``, ``speed``× faster.
    Every process given the same settings agrees on the simulated time."""

    def now() -> int:
        return sim.start_ms + int((time.time() - sim.anchor_unix_s) * sim.speed * 1000.0)

    return now


def build_uplink(config: EdgeSettings, spool: SqliteSpool, agent: EdgeAgent) -> Uplink:
    u = config.uplink
    return Uplink(
        settings=UplinkSettings(
            host=u.host, port=u.port, brokers=u.brokers, protocol=u.protocol, client_id=config.uplink_client_id,
            username=u.username, password=u.password,
            tls_ca=u.tls_ca, tls_cert=u.tls_cert, tls_key=u.tls_key, keepalive_s=u.keepalive_s,
            max_inflight=u.max_inflight, backoff_initial_s=u.backoff_initial_s, backoff_max_s=u.backoff_max_s,
        ),
        spool=spool,
        will=agent.status_message(GatewayState.OFFLINE, ts=False),
        on_connect_messages=agent.birth_messages,
    )


def serve(config: EdgeSettings, stop: threading.Event, *, now_ms: Callable[[], int] | None = None) -> None:
    """Build spool, local subscriber, sources, agent and uplink; run until ``stop`` is set."""
    if now_ms is None:
        now_ms = simulated_ms(config.simulated_clock) if config.simulated_clock else wall_ms
    config.spool.path.parent.mkdir(parents=True, exist_ok=True)
    spool = SqliteSpool(config.spool.path, max_bytes=config.spool.max_bytes)
    local = LocalSubscriber(
        host=config.local.host, port=config.local.port, client_id=config.local.client_id,
        subscription=config.local.subscription, keepalive_s=config.local.keepalive_s,
    )
    sources: list[Source] = []
    if config.modbus:
        # pymodbus, pysunspec2 and asyncio cost ~4 MB of RSS and ~0.1 s of start-up
        # (bench/gateway_footprint.py): loaded only by a gateway that polls Modbus devices.
        from seamline.edge_agent.sources import ModbusAgentSource

        sources.append(ModbusAgentSource(config.modbus, enterprise=config.gateway.enterprise,
                                         site=config.gateway.site, now_ms=now_ms))
    agent = EdgeAgent(config=config, spool=spool, inbound=local, now_ms=now_ms, boot_id=uuid.uuid4().hex[:16],
                      sources=sources)
    uplink = build_uplink(config, spool, agent)
    agent.uplink = uplink
    uplink.start()
    local.start()
    log.info("edge agent %s started (boot %s, spool %s, %d sources)", config.gateway.id, agent.boot_id,
             config.spool.path, len(sources))
    try:
        agent.run(stop)
    finally:
        local.stop()
        uplink.stop(graceful=True, timeout_s=UPLINK_STOP_TIMEOUT_S)
        spool.close()
        log.info(
            "edge agent %s stopped: samples_in=%d rejected_in=%d committed=%d redelivered_skipped=%d",
            config.gateway.id, agent.counters.samples_in, agent.counters.rejected_in, agent.counters.committed,
            sum(d.skipped for d in agent.derivations.values()),
        )
