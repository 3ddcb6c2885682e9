"""The load side of ``bench.gateway_footprint``: a floor of simulated sewing nodes publishing at real
time, a watcher on the central broker, and /proc sampling of the processes under test."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from seamline.edge_agent.aggregate import Andon, MachineDerivation, RawSample
from seamline.edge_agent.config import MachineTypeSettings
from seamline.edge_agent.wire import StatePayload
from seamline.firmware_stubs.sewing.machine import MachineProfile, MachineRun, simulate_machine
from seamline.firmware_stubs.sewing.payload import SampleRow, encode_andon, encode_samples

CLK_TCK = os.sysconf("SC_CLK_TCK")
MACHINES_PER_LINE = 25  # 200 machines = 8 lines, a large factory
SIM_T0_MS = 1_767_225_600_000  # simulated start; shifted to the wall clock when published


def proc_kb(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` figure in kB (VmRSS, VmHWM) or a count (Threads)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(f"{field} not in /proc/{pid}/status")


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def smaps_by_mapping(pid: int) -> list[tuple[str, int]]:
    """Resident kB of ``pid`` per mapping (file name, ``[heap]``, ``[anon]``, ``[stack]``), largest first."""
    out: dict[str, int] = {}
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and ":" in head[3]:  # a mapping header line
            name = Path(head[5]).name if len(head) > 5 else "[anon]"
        elif head[0] == "Rss:":
            out[name] = out.get(name, 0) + int(head[1])
    return sorted(out.items(), key=lambda kv: -kv[1])


@dataclass(frozen=True, slots=True)
class ProcFigures:
    peak_kb: int  # VmHWM at the end of the window: the high-water mark since exec
    steady_kb: float  # mean VmRSS over the window
    cpu_pct: float  # CPU over the window, % of one core
    threads: int
    # `seamline edge run` only: VmHWM of the image that validated the config before exec'ing the runtime
    validated_peak_kb: int = 0


@dataclass(frozen=True, slots=True)
class Traffic:
    """What reached the central broker during the window."""

    wall_s: float
    agent_msgs: int
    agent_bytes: int
    modbus_msgs: int
    machines_aggregated: int  # distinct machines with at least one aggregate since the agent started
    state_msgs: int
    bare_msgs: int
    bare_bytes: int
    sent_local: int  # node messages the floor published to the local broker in the window


def sample_processes(pids: list[int], *, seconds: float) -> tuple[dict[int, list[int]], dict[int, float], float]:
    """VmRSS of ``pids`` once a second for ``seconds``; returns (rss kB samples, CPU s, wall s)."""
    rss: dict[int, list[int]] = {p: [] for p in pids}
    cpu0 = {p: proc_cpu_s(p) for p in pids}
    t0 = time.monotonic()
    k = 0
    while time.monotonic() - t0 < seconds:
        for p in pids:
            rss[p].append(proc_kb(p, "VmRSS"))
        k += 1
        time.sleep(max(0.0, t0 + k - time.monotonic()))
    wall = time.monotonic() - t0
    return rss, {p: proc_cpu_s(p) - cpu0[p] for p in pids}, wall


def proc_figures(pid: int, rss: list[int], cpu_s: float, wall_s: float) -> ProcFigures:
    return ProcFigures(peak_kb=proc_kb(pid, "VmHWM"), steady_kb=sum(rss) / len(rss),
                       cpu_pct=100.0 * cpu_s / wall_s, threads=proc_kb(pid, "Threads"))


class CentralWatch:
    """Subscribed to everything on the central broker: first arrival time per topic (monotonic s),
    and counts by sender while a window is open."""

    def __init__(self, port: int) -> None:
        self._cond = threading.Condition()
        self._first: dict[str, float] = {}
        self._window: list[tuple[str, int]] | None = None
        self._t0 = 0.0
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-central")
        self._client.on_connect = lambda c, *_: c.subscribe("#", qos=1)
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        t = time.monotonic()
        with self._cond:
            self._first.setdefault(msg.topic, t)
            if self._window is not None:
                self._window.append((msg.topic, len(msg.payload)))
            self._cond.notify_all()

    def wait_for(self, topic: str, timeout_s: float) -> float:
        """Monotonic time ``topic`` first arrived; waits up to ``timeout_s``."""
        with self._cond:
            if not self._cond.wait_for(lambda: topic in self._first, timeout_s):
                raise SystemExit(f"nothing on {topic} within {timeout_s:.0f} s")
            return self._first[topic]

    def start_window(self) -> None:
        with self._cond:
            self._window, self._t0 = [], time.monotonic()

    def end_window(self, enterprise: str, site: str, bare_prefix: str, *, sent_local: int) -> Traffic:
        with self._cond:
            seen, self._window = self._window or [], None
            wall = time.monotonic() - self._t0
        agent_prefix = f"seamline/v1/{enterprise}/{site}/"
        ours = [(t.split("/"), n) for t, n in seen if t.startswith(agent_prefix)]
        bare = [n for t, n in seen if t.startswith(bare_prefix)]
        with self._cond:  # over the whole run: one window of 60 s may cut the minute's burst in two
            topics = [t.split("/") for t in self._first if t.startswith(agent_prefix)]
        machines = {(p[4], p[5]) for p in topics if p[4].startswith("line") and p[6] == "data"}
        return Traffic(
            wall_s=wall, agent_msgs=len(ours), agent_bytes=sum(n for _, n in ours),
            modbus_msgs=sum(1 for p, _ in ours if p[4] == "energy" and p[6] == "data"),
            machines_aggregated=len(machines), state_msgs=sum(1 for p, _ in ours if p[6] == "state"),
            bare_msgs=len(bare), bare_bytes=sum(bare), sent_local=sent_local,
        )  # fmt: skip

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


class SewingFloor:
    """``machines`` simulated nodes, each publishing one 1-sample message per second (and its andon
    presses) to the local broker, at wall-clock time. Simulated up front; timestamps shifted to now."""

    def __init__(self, *, port: int, enterprise: str, site: str, machines: int, seconds: float) -> None:
        self.runs: list[MachineRun] = [
            simulate_machine(profile=MachineProfile(machine_id=f"m{i:03d}"), start_ms=SIM_T0_MS,
                             end_ms=SIM_T0_MS + int(seconds) * 1000, seed=i)
            for i in range(machines)
        ]
        self.topics = [f"seamline/v1/{enterprise}/{site}/line{i // MACHINES_PER_LINE + 1}/m{i:03d}"
                       for i in range(machines)]
        self.published = 0  # node messages so far (andon presses not counted)
        self._stop = threading.Event()
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-nodes")
        self._client.connect("127.0.0.1", port)
        self._thread = threading.Thread(target=self._run, name="sewing-floor", daemon=True)

    def state_changes_per_s(self, start_s: float, end_s: float, *, period_s: int) -> float:
        """State changes per second the agent will send upstream for ``[start_s, end_s)`` of the runs:
        the agent's own derivation (default machine type), run here on the same samples."""
        lo, hi = SIM_T0_MS + int(start_s * 1000), SIM_T0_MS + int(end_s * 1000)
        changes = 0
        for run in self.runs:
            d = MachineDerivation(thresholds=MachineTypeSettings().thresholds(), period_s=period_s)
            items: list[RawSample | Andon] = [
                RawSample(s.ts_ms, s.current_a, s.speed_spm, s.stitches_total, s.pieces_total) for s in run.samples
            ]
            items += [Andon(a.ts_ms, a.state, a.reason) for a in run.andon]
            changes += sum(1 for o in d.process(items) if isinstance(o, StatePayload) and lo <= o.ts_ms < hi)
        return changes / max(1e-9, end_s - start_s)

    def start(self) -> None:
        self._client.loop_start()
        self._thread.start()

    def _run(self) -> None:
        t0 = time.time()
        skew_ms = (int(t0 * 1000) // 1000 * 1000) - SIM_T0_MS
        k = 0
        while not self._stop.is_set() and self.runs and k < len(self.runs[0].samples):
            lo, hi = SIM_T0_MS + k * 1000, SIM_T0_MS + (k + 1) * 1000
            for run, topic in zip(self.runs, self.topics, strict=True):
                s = run.samples[k]
                row = SampleRow(s.ts_ms, s.seq, s.current_a, s.speed_spm, s.stitches_total, s.pieces_total)
                self._client.publish(f"{topic}/data", encode_samples([row], skew_ms=skew_ms), qos=1)
                for a in run.andon:
                    if lo <= a.ts_ms < hi:
                        self._client.publish(f"{topic}/state", encode_andon(a, skew_ms=skew_ms), qos=1)
                self.published += 1
            k += 1
            self._stop.wait(max(0.0, t0 + k - time.time()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self._client.loop_stop()
        self._client.disconnect()
