"""One grading run, wired from files and the rules config: read the method, the inputs and the
master data; the daily metered energy from InfluxDB; score; write the ``grade`` points and publish
the retained messages. The CLI prints what it returns."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from seamline.grading.candidates import Provenance, build_candidates
from seamline.grading.energy import nowcast, read_daily_kwh
from seamline.grading.inputs import CountyInputs, read_inputs
from seamline.grading.method import Method, load_method
from seamline.grading.period import Period
from seamline.grading.publish import grade_point, grade_topic, messages
from seamline.grading.scoring import GradeResult, grade_all
from seamline.grading.table import render
from seamline.rules.config import RulesConfig, load_config
from seamline.rules.kpi_points import KpiPointWriter
from seamline.rules.master_data import MasterData, load_master_data
from seamline.rules.mqtt_publisher import MqttPublisher
from seamline.storage.connect import point_writer, query_client
from seamline.storage.query import CountingClient
from seamline.storage.schema import Retention

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class GradeRun:
    method: Method
    period: Period
    inputs: CountyInputs
    results: tuple[GradeResult, ...]
    provenance: dict[str, Provenance]
    notes: tuple[str, ...]
    points_written: int = 0
    published: int = 0
    problems: tuple[str, ...] = field(default=())

    def table(self) -> str:
        title = f"per-mu grades {self.period} — {self.method.name} ({self.method.id})"
        return render(self.results, self.provenance, title=title)

    def as_json(self) -> dict[str, Any]:
        msgs = messages(self.results, self.period, self.method.id, now_ms=int(time.time() * 1000),
                        provenance=self.provenance)
        return {"period": self.period.text, "method": self.method.id, "points_written": self.points_written,
                "published": self.published, "row_errors": [str(e) for e in self.inputs.errors],
                "notes": list(self.notes), "ignored_columns": list(self.inputs.ignored_columns),
                "absent_columns": list(self.inputs.absent_columns),
                "energy_sources": {k: p.energy_source for k, p in self.provenance.items()},
                "grades": [m.model_dump(mode="json") for m in msgs],
                "advice": {r.enterprise: r.advice for r in self.results}}


def _problems(inputs: CountyInputs, notes: list[str]) -> list[str]:
    out = [str(e) for e in inputs.errors]
    if inputs.absent_columns:
        out.append(f"{inputs.source}: no column for {list(inputs.absent_columns)}: indicators reading them are "
                   "not computable")
    return out + notes


def _energy(cfg: RulesConfig, master: MasterData, inputs: CountyInputs, period: Period) -> dict[str, Any]:
    client = CountingClient(query_client(cfg.influx), database=cfg.influx.database)
    zones = {e.id: e.tz for e in master.enterprises}
    daily = read_daily_kwh(client, inputs.enterprises, period, rp=cfg.influx.kpi_rp, tz=zones,
                           default_tz=DEFAULT_ZONE)
    return {ent: nowcast(days, period) for ent, days in daily.items()}


def grade_period(*, period: str, inputs: Path, method: Path, config: Path, encoding: str | None = None,
                 sheet: str | None = None, write: bool = True, publish: bool = True) -> GradeRun:
    """Grade ``period``; raises UsageError (files), QueryError (InfluxDB), PublishError (MQTT)."""
    m = load_method(method)
    p = Period.parse(period)
    cfg = load_config(config)
    master = load_master_data(cfg.master_data)
    found = read_inputs(inputs, m, encoding=encoding, sheet=sheet)
    energy = _energy(cfg, master, found, p)
    land = {e.id: e.land_area_mu for e in master.enterprises if e.land_area_mu is not None}
    candidates, provenance, notes = build_candidates(m, found, p, energy, land)
    results = grade_all(m, candidates)
    prov = {x.enterprise: x for x in provenance}
    zones = {e.id: e.tz for e in master.enterprises}
    written = 0
    if write and results:
        points = [grade_point(r, p, m.id, zones.get(r.enterprise, DEFAULT_ZONE), prov.get(r.enterprise))
                  for r in results]
        written = KpiPointWriter(point_writer(cfg.influx, Retention.KPI)).write(points)
    published = 0
    if publish and results:
        mq = cfg.mqtt
        msgs = messages(results, p, m.id, now_ms=int(time.time() * 1000), provenance=prov)
        with MqttPublisher(host=mq.host, port=mq.port, client_id=f"{mq.client_id}-grade", identity=mq,
                           timeout_s=mq.publish_timeout_s) as pub:
            for msg in msgs:
                pub.publish(grade_topic(msg.enterprise), msg.model_dump_json().encode(), qos=1, retain=True)
                published += 1
    return GradeRun(m, p, found, tuple(results), prov, tuple(notes), written, published,
                    tuple(_problems(found, notes)))
