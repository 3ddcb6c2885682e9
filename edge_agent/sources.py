"""Sources the agent hosts besides the local broker: the Modbus/SunSpec poller.

Adapts :class:`edge_agent.modbus.source.ModbusSource` (which emits contract messages from its own
poller thread) to the agent's :class:`edge_agent.agent.Source` protocol: the birth message lists
the devices, and samples enter the spool as aggregates (the agent renumbers their seq with its
persisted per-asset counter, so a restarted poller continues the sequence).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from seamline.contracts.topic import Topic
from seamline.edge_agent.agent import Sink
from seamline.edge_agent.metric_table import units
from seamline.edge_agent.modbus.profile import ModbusDevice
from seamline.edge_agent.modbus.source import ModbusSource
from seamline.edge_agent.spool import Priority
from seamline.edge_agent.wire import AssetEntry, DataPayload


class _AggregateSink:
    """The poller's two-argument sink onto the agent's prioritised, thread-safe sink."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    def emit(self, topic: Topic, message: DataPayload) -> None:
        self._sink.emit(topic, message, Priority.AGGREGATE)


class ModbusAgentSource:
    """All Modbus devices of one gateway as one agent source."""

    def __init__(
        self, devices: Sequence[ModbusDevice], *, enterprise: str, site: str, now_ms: Callable[[], int]
    ) -> None:
        self.devices = list(devices)
        self.enterprise = enterprise
        self.site = site
        self.now_ms = now_ms
        self._source: ModbusSource | None = None

    def assets(self) -> Sequence[AssetEntry]:
        return [
            AssetEntry(
                asset=d.asset, area=d.area, asset_kind=d.asset_kind,
                model=f"{d.protocol.value} {d.framer.value} unit {d.unit_id}", units=units(d.asset_kind),
            )
            for d in self.devices
        ]

    def start(self, sink: Sink) -> None:
        self._source = ModbusSource(
            devices=self.devices, enterprise=self.enterprise, site=self.site,
            sink=_AggregateSink(sink), now_ms=self.now_ms,
        )
        self._source.start()

    def stop(self) -> None:
        if self._source is not None:
            self._source.stop()

    def offline_devices(self) -> int:
        return len(self._source.stats().offline_devices) if self._source else 0

    def offline_assets(self) -> tuple[str, ...]:
        """The assets whose polls fail now (for /metrics)."""
        return self._source.stats().offline_devices if self._source else ()
