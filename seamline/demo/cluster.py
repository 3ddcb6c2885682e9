"""Run the simulated cluster end to end: sensor nodes and Modbus devices -> edge agents (one per
gateway, as processes) -> central broker -> ingest workers (processes, one shared subscription)
-> InfluxDB. Everything stops gracefully at the end; what arrived is then counted in InfluxDB."""

from __future__ import annotations

import logging
import shutil
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from seamline.demo import configs
from seamline.demo.energy import PARK, EnergyPlant, build_plant, plant_loads
from seamline.demo.energy_truth import EnergyTruthRecorder
from seamline.demo.plan import TZ, DemoOptions, idle_twin_ms, outage_ms, replay_day, window_ms
from seamline.demo.processes import Supervisor, wait_until
from seamline.demo.secured import OBSERVER, ROGUE_ENTERPRISE
from seamline.demo.sessions import RoutingPublisher, precreate_session, publish_all, retained_statuses, rogue_messages
from seamline.demo.stack import DATABASE, Stack
from seamline.firmware_stubs.clock import SimClock
from seamline.firmware_stubs.energy.factory_load import FactoryLoad
from seamline.firmware_stubs.energy.load_config import EnergySimConfig, load_energy_sim_config
from seamline.firmware_stubs.sewing.floor import (
    FloorReport,
    FloorSpec,
    IdleLine,
    PreparedNode,
    prepare_floor,
    run_floor,
)
from seamline.firmware_stubs.sewing.shift import ShiftPattern
from seamline.ingest.quarantine import QuarantineStore
from seamline.localstack.ports import free_port
from seamline.mqtt_identity import MqttIdentity
from seamline.storage.influxql import quote_ident
from seamline.storage.schema import Field, Retention

log = logging.getLogger(__name__)

# Wall seconds between writing the configs and simulated time reaching the window start: enough
# for the agents and ingest workers to start and connect (they need ~1-2 s).
STARTUP_LEAD_S = 4.0
# A busy machine can overrun the lead (agents online 9 s late at load 6.8 on 2 cores): start again,
# with the lead doubled plus the overrun, at most this many times in all.
STARTUP_ATTEMPTS = 3
# Secured: every process loads its certificate and makes TLS handshakes before it is online;
# measured 0.2 s of the 4 s lead left on a loaded 2-core machine, so give it more from the start.
SECURE_EXTRA_LEAD_S = 3.0
# Modbus requests each energy device must serve after the window's end before the agents stop: a
# poll reads a device in one to three requests, so this is at least one whole poll.
FINAL_POLL_REQUESTS = 4
FINAL_POLL_TIMEOUT_S = 20.0  # the agents poll every fraction of a second; only a stuck agent waits this long
DRAIN_TIMEOUT_S = 120.0


@dataclass(slots=True)
class DemoRun:
    options: DemoOptions
    start_ms: int
    end_ms: int
    anchor_unix_s: float  # wall time at which simulated time is start_ms, shared by all processes
    stack: Stack
    supervisor: Supervisor
    gateways: dict[str, Path] = field(default_factory=dict)  # gateway id -> spool path
    spec: FloorSpec | None = None  # the sewing floor replayed
    prepared: list[PreparedNode] = field(default_factory=list)  # its machines, shared with the meters
    plant: EnergyPlant | None = None
    energy_truth: EnergyTruthRecorder | None = None
    floor: FloorReport | None = None
    rogue_sent: int = 0
    outage_samples: int = 0  # node samples sent while their gateway was down (a simulated outage)
    node_messages: list[tuple[str, bytes]] | None = None  # what the nodes sent, when options.record
    quarantine_paths: list[Path] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    exit_codes: dict[str, int | None] = field(default_factory=dict)
    metrics_urls: dict[str, str] = field(default_factory=dict)  # ingest worker -> its /metrics
    broker_restarts: int = 0  # central broker restarts injected (DemoOptions.broker_restart)

    def quarantined(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for path in self.quarantine_paths:
            if path.exists():
                store = QuarantineStore(path, max_rows=1_000_000)
                for reason, n in store.counts().items():
                    total[reason] = total.get(reason, 0) + n
                store.close()
        return total


def _fresh_workdir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path.resolve()


def services(opts: DemoOptions) -> dict[str, str] | None:
    """The secured demo's service identities (name -> role): one per process, as the broker binds
    the client id to the identity; None when the demo runs ``--insecure``."""
    if not opts.secure:
        return None
    ingest = {f"ingest-{w}": "ingest" for w in range(1, opts.ingest_workers + 1)}
    return {**ingest, OBSERVER: "ingest", "confirm": "ingest", "rules": "rules", "matching": "matching"}


def _spawn_ingest(run: DemoRun, workdir: Path) -> None:
    sec = run.stack.security
    for w in range(1, run.options.ingest_workers + 1):
        doc = configs.ingest_config(
            workdir=workdir, worker=w, broker_port=run.stack.central.port, influx_url=run.stack.influx.url,
            mqtt_identity=sec.service_mqtt(f"ingest-{w}") if sec else None,
            influx_user=sec.influx_user("ingest") if sec else None, metrics_port=free_port())
        run.metrics_urls[f"ingest-{w}"] = f"http://127.0.0.1:{doc['metrics']['port']}/metrics"
        path = configs.write_yaml(workdir / "config" / f"ingest-{w}.yaml", doc)
        run.quarantine_paths.append(Path(doc["quarantine"]["path"]))
        run.supervisor.spawn(f"ingest-{w}", ["ingest", "--config", str(path)])


def _spawn_edges(run: DemoRun, workdir: Path, sim: configs.SimTime) -> None:
    for ent, broker in run.stack.local.items():
        gateway = f"gw-{ent}"
        modbus = run.plant.devices.get(ent, []) if run.plant else []
        sec = run.stack.security
        doc = configs.edge_config(workdir=workdir, enterprise=ent, gateway=gateway, local_port=broker.port,
                                  central_port=run.stack.central.port, sim=sim, modbus=modbus,
                                  uplink_tls=sec.gateway_tls(ent) if sec else None)
        precreate_session(broker.port, client_id=doc["local"]["client_id"], topic_filter=doc["local"]["subscription"])
        path = configs.write_yaml(workdir / "config" / f"edge-{gateway}.yaml", doc)
        run.gateways[gateway] = Path(doc["spool"]["path"])
        run.supervisor.spawn(f"edge-{gateway}", ["edge", "run", "--config", str(path)])


def floor_spec(opts: DemoOptions, start_ms: int, end_ms: int) -> FloorSpec:
    """The sewing floor the demo replays: its size, seed, shifts, node faults and idle twin."""
    idle = idle_twin_ms(opts, datetime.fromtimestamp(start_ms / 1000, TZ).date())
    twins, idle_lines = ((), ()) if idle is None else (
        ((idle[0].enterprise, idle[0].twin_of),), (IdleLine(idle[0].enterprise, idle[0].line, idle[1], idle[2]),))
    return FloorSpec(factories=opts.factories, lines=opts.lines, machines=opts.machines, start_ms=start_ms,
                     end_ms=end_ms, seed=opts.seed, speed=opts.speed, shift=ShiftPattern(), faults=opts.faults,
                     twins=twins, idle_lines=idle_lines)


def start(opts: DemoOptions) -> DemoRun:
    """Servers, energy devices, ingest workers and edge agents, all running and connected before
    the simulated clock reaches the window start. A start-up that overran its lead (a busy
    machine) is stopped and begun again with a longer lead: late pollers would miss the replay's
    first minutes and every energy figure with them."""
    day = replay_day(opts, datetime.now(UTC))
    start_ms, end_ms = window_ms(opts, day)
    # the floor and the meters' loads before the servers: the simulated clock must not run meanwhile
    spec = floor_spec(opts, start_ms, end_ms)
    prepared = prepare_floor(spec)
    energy_cfg = load_energy_sim_config(opts.energy_config) if opts.energy else None
    loads = plant_loads(energy_cfg, spec, prepared) if energy_cfg is not None else {}
    lead_s = STARTUP_LEAD_S + (SECURE_EXTRA_LEAD_S if opts.secure else 0.0)
    for attempt in range(1, STARTUP_ATTEMPTS + 1):
        run = _start_once(opts, spec, prepared, energy_cfg, loads, lead_s=lead_s)
        late_s = -run.timings_s["lead_left"]
        if late_s <= 0 or attempt == STARTUP_ATTEMPTS:
            if late_s > 0:
                log.warning("processes came up %.1f s after the simulated start", late_s)
            return run
        log.warning("processes came up %.1f s after the simulated start: starting again with a %.0f s lead",
                    late_s, 2 * (lead_s + late_s))
        stop(run)
        lead_s = 2 * (lead_s + late_s)
    raise AssertionError("unreachable")


def _start_once(opts: DemoOptions, spec: FloorSpec, prepared: list[PreparedNode], energy_cfg: EnergySimConfig | None,
                loads: dict[str, FactoryLoad], *, lead_s: float) -> DemoRun:
    workdir = _fresh_workdir(opts.workdir)
    gateways = [*opts.enterprises, *([PARK] if opts.energy else [])]
    t0 = time.monotonic()
    stack = Stack.start(workdir, gateways, services=services(opts))
    anchor = time.time() + lead_s
    run = DemoRun(options=opts, start_ms=spec.start_ms, end_ms=spec.end_ms, anchor_unix_s=anchor, stack=stack,
                  supervisor=Supervisor(logdir=workdir / "logs"), spec=spec, prepared=prepared)
    try:
        sim = configs.SimTime(start_ms=spec.start_ms, speed=opts.speed, anchor_unix_s=anchor)
        if energy_cfg is not None:
            clock = SimClock(spec.start_ms, opts.speed, monotonic=time.time, anchor_s=anchor)
            run.plant = build_plant(energy_cfg, spec, loads, seed=opts.seed, clock=clock, speed=opts.speed,
                                    poll_wall_s=opts.energy_poll_s)
            run.plant.host.start()
            run.energy_truth = EnergyTruthRecorder(plant=run.plant, clock=clock)
            run.energy_truth.start()
        _spawn_ingest(run, workdir)
        _spawn_edges(run, workdir, sim)
        ids = set(run.gateways)
        wait_until(lambda: _online(run) >= ids or bool(run.supervisor.check_alive()), timeout_s=30)
        if exited := run.supervisor.check_alive():  # e.g. a config the process refused (exit 2)
            raise RuntimeError(f"{', '.join(exited)} exited during start-up:\n"
                               + "\n".join(c.log_tail(1500) for c in run.supervisor.children if c.name in exited))
        if missing := ids - _online(run):
            raise RuntimeError(f"gateways not online after 30 s: {sorted(missing)}\n"
                               + "\n".join(c.log_tail(800) for c in run.supervisor.children))
        run.timings_s["startup"] = time.monotonic() - t0
        run.timings_s["lead_left"] = anchor - time.time()
        return run
    except BaseException:
        stop(run)
        raise


def _identity(run: DemoRun, *, service: str | None = None, gateway_of: str | None = None) -> MqttIdentity | None:
    """The demo's own clients on the secured central broker: a service's or a gateway's identity."""
    sec = run.stack.security
    if sec is None:
        return None
    d = sec.service_folder(service) if service else sec.gateway_folder(gateway_of or "")
    return MqttIdentity(tls_ca=d / "ca.pem", tls_cert=d / "cert.pem", tls_key=d / "key.pem")


def _online(run: DemoRun) -> set[str]:
    statuses = retained_statuses(run.stack.central.port, timeout_s=0.5, identity=_identity(run, service=OBSERVER))
    return {g for g, s in statuses.items() if s == "online"}


def simulate(run: DemoRun, *, progress: TextIO | None = None) -> None:
    """Replay the window: nodes publish to their gateways while a rogue client sends garbage; with
    ``progress``, the simulated minutes replayed are shown there (a bar on a terminal)."""
    opts, spec = run.options, run.spec
    assert spec is not None, "start() first"
    clock = SimClock(run.start_ms, opts.speed, monotonic=time.time, anchor_s=run.anchor_unix_s)
    outage = outage_ms(opts, datetime.fromtimestamp(run.start_ms / 1000, TZ).date())
    publisher = RoutingPublisher({ent: run.stack.local[ent].port for ent in opts.enterprises}, record=opts.record,
                                 outage=outage, now_ms=clock.now_ms)
    rogue = threading.Thread(target=_rogue, args=(run,), daemon=True)
    restart = threading.Thread(target=_restart_broker, args=(run, clock), daemon=True)
    t0 = time.monotonic()
    rogue.start()
    if opts.broker_restart:
        restart.start()
    try:
        if progress is None:
            run.floor = run_floor(spec, publisher=publisher, clock=clock, prepared=run.prepared)
        else:
            from seamline.demo.replay_progress import ReplayProgress

            with ReplayProgress(now_ms=clock.now_ms, start_ms=run.start_ms, end_ms=run.end_ms, stream=progress):
                run.floor = run_floor(spec, publisher=publisher, clock=clock, prepared=run.prepared)
    finally:
        publisher.close()
        rogue.join(timeout=60)
        if restart.is_alive() or opts.broker_restart:
            restart.join(timeout=60)
        run.node_messages = publisher.sent
        run.outage_samples = publisher.outage_samples
    run.timings_s["simulate"] = time.monotonic() - t0


def _restart_broker(run: DemoRun, clock: SimClock) -> None:
    """A third into the replay: the central broker stops and starts again (sessions persisted;
    Mosquitto 2.0.11 does not restore the ingest workers' ``$share`` subscriptions)."""
    clock.sleep_until(run.start_ms + (run.end_ms - run.start_ms) // 3)
    log.warning("demo: restarting the central broker")
    run.stack.central.restart()
    run.broker_restarts += 1


def _rogue(run: DemoRun) -> None:
    n = run.options.upstream_garbage
    if n:
        run.rogue_sent = publish_all(run.stack.central.port, rogue_messages(n, ts_ms=run.start_ms + 3_600_000),
                                     identity=_identity(run, gateway_of=ROGUE_ENTERPRISE))


def _await_final_polls(run: DemoRun) -> None:
    """Before the agents stop: every energy device read a few times after the window's end, so
    each counter has a reading past it (on a busy machine polls lag, and the energy between the
    last reading and the window's end would be missing from every KPI)."""
    if run.plant is None:
        return
    SimClock(run.start_ms, run.options.speed, monotonic=time.time, anchor_s=run.anchor_unix_s).sleep_until(run.end_ms)
    endpoints = run.plant.host.endpoints
    before = [ep.requests for ep in endpoints]
    if not wait_until(lambda: all(ep.requests >= n + FINAL_POLL_REQUESTS for ep, n in zip(endpoints, before,
                                                                                          strict=True)),
                      timeout_s=FINAL_POLL_TIMEOUT_S, interval_s=0.05):
        log.warning("some energy devices were not read after the window's end within %.0f s", FINAL_POLL_TIMEOUT_S)


def drain(run: DemoRun) -> None:
    """Stop the edge agents gracefully (flush open periods, empty spools, say offline), then let
    ingest write everything before stopping it."""
    t0 = time.monotonic()
    _await_final_polls(run)
    for child in run.supervisor.children:
        if child.name.startswith("edge-"):
            run.exit_codes[child.name] = child.stop(timeout_s=60)
    if run.energy_truth is not None:
        run.energy_truth.stop()
    if run.plant is not None:
        run.plant.host.stop()
    expected = sum(_committed_messages(run).values())
    wait_until(lambda: _stored_messages(run) >= expected, timeout_s=DRAIN_TIMEOUT_S, interval_s=0.5)
    _save_metrics(run)
    for child in run.supervisor.children:
        if child.name.startswith("ingest-"):
            run.exit_codes[child.name] = child.stop(timeout_s=30)
    run.timings_s["drain"] = time.monotonic() - t0


def _save_metrics(run: DemoRun) -> None:
    """Each ingest worker's /metrics page, kept in the logs (what a Prometheus would have scraped)."""
    for name, url in run.metrics_urls.items():
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                text = resp.read()
        except OSError as exc:
            log.warning("%s: /metrics not read: %s", name, exc)
            continue
        (run.supervisor.logdir / f"{name}.metrics.txt").write_bytes(text)


def _committed_messages(run: DemoRun) -> dict[str, int]:
    """Per gateway: upstream samples and events it committed (its spools' seq counters)."""
    out = {}
    for gw, info in spools_left(run).items():
        n = 0
        for key, blob in info["checkpoints"].items():
            if key.startswith("machine/"):
                n += int(orjson.loads(blob)["seq"])
            elif key == "seq":
                n += sum(int(v) for v in orjson.loads(blob).values())
        out[gw] = n
    return out


def _stored_messages(run: DemoRun) -> int:
    """Points carrying an upstream seq now in InfluxDB (every sample and state event has one)."""
    q = f"SELECT COUNT({quote_ident(Field.SEQ)}) FROM {quote_ident(Retention.RAW)}./.*/"
    res = run.stack.influxql().query(q, db=DATABASE)
    return sum(int(v) for r in res for s in r.get("series", []) for v in s["values"][0][1:] if v)


def stop(run: DemoRun) -> None:
    if run.energy_truth is not None:
        run.energy_truth.stop()
    if run.plant is not None:
        run.plant.host.stop()
    codes = run.supervisor.close(timeout_s=20)
    for name, code in codes.items():
        run.exit_codes.setdefault(name, code)
    run.stack.stop()


def spools_left(run: DemoRun) -> dict[str, Any]:
    """Messages still spooled per gateway after the graceful stop (should be none)."""
    from seamline.edge_agent.spool import SqliteSpool

    out: dict[str, Any] = {}
    for gw, path in run.gateways.items():
        if path.exists():
            spool = SqliteSpool(path, max_bytes=1 << 40)
            out[gw] = {"messages": spool.stats().messages, "dropped": spool.stats().dropped_total,
                       "checkpoints": spool.checkpoints()}
            spool.close()
    return out
