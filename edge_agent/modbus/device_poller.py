"""Poll one Modbus device on its own schedule: connect, discover, read, decode, emit one sample
per interval (GOOD, or STALE with no values when the device did not answer).

One asyncio task per device, so a device that times out only delays itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from pymodbus import FramerType
from pymodbus.client import AsyncModbusTcpClient

from seamline.backoff import Backoff
from seamline.contracts.kinds import AssetKind, Quality
from seamline.contracts.topic import Topic
from seamline.edge_agent.modbus import metrics_map, sunspec
from seamline.edge_agent.modbus.counters import CounterTracker
from seamline.edge_agent.modbus.poll_stats import PollStats
from seamline.edge_agent.modbus.profile import Framer, ModbusDevice, Protocol
from seamline.edge_agent.modbus.register_map import decode_registers
from seamline.edge_agent.wire import DataPayload, DataSample, check_metrics

log = logging.getLogger(__name__)

Emit = Callable[[Topic, DataPayload], None]


class ModbusReadError(Exception):
    """The device answered with an exception response, or not at all."""


class PymodbusReader:
    """:class:`sunspec.RegisterReader` over a pymodbus async client (holding registers)."""

    def __init__(self, client: AsyncModbusTcpClient, unit_id: int, timeout_s: float) -> None:
        self._client, self._unit, self._timeout_s = client, unit_id, timeout_s

    async def read(self, address: int, count: int) -> list[int]:
        # pymodbus has its own timeout; the outer one guards against a wedged transport.
        rr = await asyncio.wait_for(
            self._client.read_holding_registers(address, count=count, device_id=self._unit),
            timeout=self._timeout_s * 2,
        )
        if rr.isError():
            raise ModbusReadError(f"exception response {rr} reading {count} at {address}")
        return list(rr.registers)


class DevicePoller:
    def __init__(
        self, cfg: ModbusDevice, *, topic: Topic, emit: Emit, now_ms: Callable[[], int], stats: PollStats
    ) -> None:
        self.cfg, self.topic, self._emit, self._now_ms, self._stats = cfg, topic, emit, now_ms, stats
        self._client: AsyncModbusTcpClient | None = None
        self._reader: PymodbusReader | None = None
        self._blocks: tuple[sunspec.ModelBlock, ...] | None = None
        self._plan: tuple[sunspec.ReadSpan, ...] | None = None  # the reads of one poll, from discovery
        self._counters: dict[str, CounterTracker] = {}
        self._seq = 0
        self._failures = 0
        self._backoff = Backoff(initial_s=cfg.poll_interval_s, max_s=cfg.reconnect_max_s, random=random.random)
        self._next_connect = 0.0

    @property
    def offline(self) -> bool:
        return self._failures >= self.cfg.offline_after

    async def run(self, stop: asyncio.Event, *, phase_s: float = 0.0) -> None:
        """Poll every ``poll_interval_s`` until ``stop`` is set, the first poll ``phase_s`` seconds
        after the call; ticks missed while a poll ran long are skipped (counted as overruns), never
        bunched up."""
        interval = self.cfg.poll_interval_s
        next_tick = time.monotonic() + phase_s
        try:
            if phase_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=phase_s)
            while not stop.is_set():
                t0 = time.monotonic()
                await self._cycle()
                self._stats.record_latency_s(self.cfg.asset, time.monotonic() - t0)
                next_tick += interval
                now = time.monotonic()
                if now > next_tick:
                    missed = int((now - next_tick) // interval) + 1
                    self._stats.overruns += missed
                    next_tick += missed * interval
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_tick - now))
        finally:
            self._disconnect()

    async def _cycle(self) -> None:
        ts_ms = self._now_ms()
        values: dict[str, Any] | None = None
        for attempt in range(self.cfg.retries + 1):
            try:
                values = await self._poll()
                break
            except Exception as exc:  # any failure of this device is its own; counted and logged
                self._stats.errors += 1
                self._last_error = exc
                log.debug("%s: poll attempt %d failed: %r", self.cfg.asset, attempt, exc)
                if isinstance(exc, sunspec.SunSpecError):
                    self._blocks, self._plan = None, None  # model chain changed (firmware update?): rediscover
                self._disconnect()
                if self.offline:
                    break  # one attempt per interval while offline; backoff paces reconnects
        self._stats.polls += 1
        if values is None:
            self._failures += 1
            if self._failures == self.cfg.offline_after:
                log.warning("%s: offline after %d failed polls (%s:%s): %s; reconnecting with backoff up to %.0f s",
                            self.cfg.asset, self._failures, self.cfg.host, self.cfg.port,
                            _cause(getattr(self, "_last_error", None)), self.cfg.reconnect_max_s)
            self._stats.set_offline(self.cfg.asset, self.offline)
            self._publish(ts_ms, Quality.STALE, {})
            return
        if self._failures:
            if self._failures >= self.cfg.offline_after:
                log.warning("%s: online again after %d failed polls", self.cfg.asset, self._failures)
            self._backoff.reset()
            self._next_connect = 0.0
        self._failures = 0
        self._stats.set_offline(self.cfg.asset, False)
        # Stamped when the answer came, not when the tick began: a retry or a slow link would
        # otherwise date a counter reading too early (at 1 000x replay speed a 50 ms wait is 50 s).
        self._publish(self._now_ms(), Quality.GOOD, values)

    async def _connect(self) -> PymodbusReader:
        if self._reader is not None and self._client is not None and self._client.connected:
            return self._reader
        if self.offline:  # an offline device is retried with jittered, capped backoff
            if time.monotonic() < self._next_connect:
                raise ModbusReadError("offline: waiting for reconnect backoff")
            self._next_connect = time.monotonic() + self._backoff.next_delay_s()
        framer = FramerType.RTU if self.cfg.framer is Framer.RTU else FramerType.SOCKET
        client = AsyncModbusTcpClient(
            self.cfg.host, port=self.cfg.port, framer=framer, timeout=self.cfg.timeout_s,
            retries=0, reconnect_delay=0,  # retries and reconnects are ours, with jittered backoff
        )  # fmt: skip
        self._client = client
        if not await asyncio.wait_for(client.connect(), timeout=self.cfg.timeout_s * 2):
            raise ModbusReadError(f"connect to {self.cfg.host}:{self.cfg.port} failed")
        self._stats.connects += 1
        self._reader = PymodbusReader(client, self.cfg.unit_id, self.cfg.timeout_s)
        return self._reader

    def _disconnect(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client, self._reader = None, None

    async def _poll(self) -> dict[str, Any]:
        reader = await self._connect()
        if self.cfg.protocol is Protocol.REGISTER_MAP:
            return await self._poll_map(reader)
        return await self._poll_sunspec(reader)

    async def _poll_map(self, reader: PymodbusReader) -> dict[str, Any]:
        rmap = self.cfg.register_map
        assert rmap is not None  # config validation loads it for every register_map device
        regs: list[int] = []
        while len(regs) < rmap.register_count:
            n = min(sunspec.MAX_READ_REGS, rmap.register_count - len(regs))
            regs.extend(await reader.read(rmap.first_address + len(regs), n))
        raw = decode_registers(rmap, regs)
        out: dict[str, Any] = {}
        for p in rmap.points:
            v = raw.get(p.metric)
            if p.counter:
                tracker = self._tracker(p.metric, 16 * p.width)
                out[p.metric] = tracker.update(None if v is None else int(v), p.scale)
            else:
                out[p.metric] = v
        return out

    async def _poll_sunspec(self, reader: PymodbusReader) -> dict[str, Any]:
        if self._blocks is None or self._plan is None:
            base = await sunspec.find_base(reader, self.cfg.sunspec_bases)
            self._blocks = await sunspec.walk_models(reader, base)
            self._stats.discovered[self.cfg.asset] = tuple(b.model_id for b in self._blocks)
            needed = metrics_map.models_needed(self.cfg.asset_kind, {b.model_id for b in self._blocks})
            self._plan = sunspec.plan_reads(self._blocks, needed)
        kind = self.cfg.asset_kind
        models: dict[int, dict[str, Any]] = {}
        for span in self._plan:
            for model_id, regs in (await sunspec.read_span(reader, span)).items():
                models[model_id] = sunspec.decode_model(model_id, regs, metrics_map.points_needed(kind, model_id))
        out: dict[str, Any] = {}
        for metric, src in metrics_map.SUNSPEC_METRICS[self.cfg.asset_kind].items():
            value, scale = metrics_map.pick(src, models)
            if src.counter_bits is not None:
                tracker = self._tracker(metric, src.counter_bits)
                value = tracker.update(None if value is None else round(float(value) / scale), scale)
            out[metric] = value
        if self.cfg.asset_kind is AssetKind.BATTERY:
            out["capacity_wh"] = metrics_map.derived_battery_capacity_wh(models)
        return out

    def _tracker(self, metric: str, bits: int) -> CounterTracker:
        if metric not in self._counters:
            self._counters[metric] = CounterTracker(bits=bits, settings=self.cfg.counters)
        return self._counters[metric]

    def _publish(self, ts_ms: int, quality: Quality, values: dict[str, Any]) -> None:
        metrics, bad = check_metrics(self.cfg.asset_kind, values)
        if bad:  # an implausible value: drop just those fields, count them
            self._stats.invalid_values += len(bad)
            log.warning("%s: dropped implausible %s", self.cfg.asset, bad)
        sample = DataSample(ts_ms=ts_ms, seq=self._seq, quality=quality, metrics=metrics)
        self._seq += 1
        message = DataPayload(self.cfg.asset_kind, (sample,))
        self._stats.samples += 1
        self._emit(self.topic, message)


def _cause(exc: BaseException | None) -> str:
    """One line for a poll's failure: pymodbus's own log says it once per poll; this says it once
    per device state change."""
    if exc is None:
        return "no answer"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
