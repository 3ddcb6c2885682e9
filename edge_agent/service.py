"""The edge agent's composition root: settings in, spool + local subscriber + sources + uplink wired,
run until stopped. The only place that builds real adapters. Imports no pydantic (the settings
arrive validated, see :mod:`edge_agent.runtime`)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from seamline.contracts.kinds import GatewayState
from seamline.edge_agent.agent import EdgeAgent, Source
from seamline.edge_agent.local import LocalSubscriber
from seamline.edge_agent.repair import Repair, RepairTopics
from seamline.edge_agent.settings import EdgeSettings, SimulatedClock
from seamline.edge_agent.spool import SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings

if TYPE_CHECKING:
    from seamline.metrics_http import Family, MetricsServer

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


def build_uplink(config: EdgeSettings, spool: SqliteSpool, agent: EdgeAgent, repair: Repair | None = None) -> Uplink:
    u = config.uplink
    return Uplink(
        settings=UplinkSettings(
            host=u.host, port=u.port, brokers=u.brokers, protocol=u.protocol, client_id=config.uplink_client_id,
            username=u.username, password=u.password,
            tls_ca=u.tls_ca, tls_cert=u.tls_cert, tls_key=u.tls_key, keepalive_s=u.keepalive_s,
            max_inflight=u.max_inflight, backoff_initial_s=u.backoff_initial_s, backoff_max_s=u.backoff_max_s,
            rebirth_s=u.rebirth_s,
        ),
        spool=spool,
        will=agent.status_message(GatewayState.OFFLINE, ts=False),
        on_connect_messages=agent.birth_messages,
        subscriptions=repair.subscriptions() if repair is not None else (),
        on_message=repair.handle if repair is not None else None,
    )


def start_metrics(config: EdgeSettings, *, spool: SqliteSpool, local: LocalSubscriber, agent: EdgeAgent,
                  sources: list[Source]) -> MetricsServer | None:
    """``/metrics`` on ``metrics_bind:metrics_port`` when the port is set (stdlib http.server)."""
    if not config.metrics_port:
        return None
    from seamline.edge_agent.health import EdgeHealth, families  # http.server only when metrics are on
    from seamline.metrics_http import MetricsServer

    devices = [d.asset for d in config.modbus]
    started_ms = wall_ms()

    def collect() -> list[Family]:
        offline: list[str] = []
        for src in sources:
            offline_assets = getattr(src, "offline_assets", None)  # Modbus sources have them
            if offline_assets is not None:
                offline += list(offline_assets())
        uplink = agent.uplink.stats if agent.uplink is not None else None
        return families(EdgeHealth(now_ms=wall_ms(), started_ms=started_ms, spool=spool.stats(), uplink=uplink,
                                   local_connected=local.connected, counters=agent.counters, devices=devices,
                                   offline_devices=offline))

    server = MetricsServer(collect, bind=config.metrics_bind, port=config.metrics_port)
    log.info("metrics on http://%s:%d/metrics", config.metrics_bind, server.start())
    return server


def serve(config: EdgeSettings, stop: threading.Event, *, now_ms: Callable[[], int] | None = None) -> None:
    """Build spool, local subscriber, sources, agent and uplink; run until ``stop`` is set."""
    if now_ms is None:
        now_ms = simulated_ms(config.simulated_clock) if config.simulated_clock else wall_ms
    config.spool.path.parent.mkdir(parents=True, exist_ok=True)
    sp = config.spool
    spool = SqliteSpool(sp.path, max_bytes=sp.max_bytes, history_retention_ms=int(sp.history_retention_s * 1000),
                        reserve_bytes=sp.reserve_bytes)
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
    g = config.gateway
    repair = None
    if sp.history_retention_s > 0:
        repair = Repair(spool=spool, topics=RepairTopics.of(enterprise=g.enterprise, site=g.site, gateway_id=g.id),
                        gateway_id=g.id, now_ms=wall_ms, replay_after_ms=int(sp.replay_unconfirmed_s * 1000))
    uplink = build_uplink(config, spool, agent, repair)
    if repair is not None:
        repair.wake = uplink.wake
    agent.uplink = uplink
    uplink.start()
    local.start()
    metrics = start_metrics(config, spool=spool, local=local, agent=agent, sources=sources)
    log.info("edge agent %s started (boot %s, spool %s, %d sources)", config.gateway.id, agent.boot_id,
             config.spool.path, len(sources))
    try:
        agent.run(stop)
    finally:
        if metrics is not None:
            metrics.close()
        local.stop()
        uplink.stop(graceful=True, timeout_s=UPLINK_STOP_TIMEOUT_S)
        spool.close()
        log.info(
            "edge agent %s stopped: samples_in=%d rejected_in=%d committed=%d redelivered_skipped=%d",
            config.gateway.id, agent.counters.samples_in, agent.counters.rejected_in, agent.counters.committed,
            sum(d.skipped for d in agent.derivations.values()),
        )
