"""Capacity messages -> ``capacity_day`` points in RP ``kpi``, so dashboards can show the free
capacity of the days ahead (the messages themselves live retained on MQTT, which Grafana cannot
read). One point per line and local day, stamped at that day's local midnight: the next feed run
rewrites the same points (InfluxDB keeps one point per series and timestamp). Standard minutes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time

from seamline.contracts.messages import CapacityMessage
from seamline.rules.kpi_points import FieldValue, KpiPoint
from seamline.rules.master_data import MasterData
from seamline.storage.schema import CAPACITY, Tag

__all__ = ["capacity_points"]

_FIELDS = CAPACITY.fields_of("available_std_min", "booked_std_min", "free_std_min", "efficiency", "confidence")


def capacity_points(messages: Iterable[CapacityMessage], master: MasterData) -> list[KpiPoint]:
    out = []
    for m in messages:
        tz = master.enterprise(m.enterprise).tz
        tags = ((Tag.ENTERPRISE, m.enterprise), (Tag.LINE, m.line), (Tag.SITE, m.site))
        for d in m.days:
            values: tuple[float, ...] = (d.available_std_min, d.booked_std_min, d.free_std_min, m.efficiency,
                                         m.confidence)
            fields: tuple[tuple[str, FieldValue], ...] = tuple(sorted(zip(_FIELDS, map(float, values), strict=True)))
            ts_ms = int(datetime.combine(d.day, time(0), tzinfo=tz).timestamp() * 1000)
            out.append(KpiPoint(CAPACITY.name, tuple(sorted(tags)), ts_ms, fields))
    return out
