"""Pipeline health: is the data getting through? Ingest rate, quarantine by reason, sequence gaps,
gateways online, the gateways' spools, write retries and the alerts that fire."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row
from grafana_foundation_sdk.models import dashboard as dm

from seamline.contracts.assets import AssetKind
from seamline.contracts.messages import GatewayState
from seamline.dashboards import kinds
from seamline.dashboards.frame import frame
from seamline.dashboards.influxql import Agg, Column, FamilyColumn, FieldIs, Fill, Outer, Statement, VarMatch
from seamline.dashboards.panels import PanelLike, dress, hide_time, merge, target
from seamline.dashboards.settings import DashboardSettings
from seamline.dashboards.variables import ENTERPRISE, hierarchy
from seamline.storage.schema import ALERT_STATE, GATEWAY_STATUS, INGEST_SELF, SEQ_GAP, Field, Tag, telemetry

__all__ = ["build"]

GATEWAY = telemetry(AssetKind.GATEWAY)
_ENT = VarMatch(Tag.ENTERPRISE, ENTERPRISE)
_GATEWAY_KEY = (Tag.ENTERPRISE, Tag.SITE, Tag.GATEWAY)
_ALERT_KEY = (Tag.ALERTNAME, Tag.SEVERITY, Tag.ENTERPRISE, Tag.SITE, Tag.ASSET)


def _ingest(s: DashboardSettings) -> list[PanelLike]:
    def self_metric(*cols: Column | FamilyColumn) -> Statement:
        return Statement(measurement=INGEST_SELF, rp=s.raw_rp, tags=(Tag.WORKER,), columns=cols, fill=Fill.NONE)

    rate = self_metric(Column(field="messages_total", agg=Agg.MAX, rate_per="1s", alias="messages_per_s"),
                       Column(field="points_written_total", agg=Agg.MAX, rate_per="1s", alias="points_per_s"))
    quarantine = self_metric(FamilyColumn(prefix="quarantined_", difference=True))
    writes = self_metric(Column(field="write_retries_total", agg=Agg.MAX, rate_per="1m", alias="retries_per_min"),
                         Column(field="queue_depth", agg=Agg.MAX, alias="queue_depth"))
    return [
        dress(kinds.series(), s, title="Ingest rate", w=8, h=8, unit="short",
              targets=[target(rate, s, alias="$tag_worker $col")],
              description="Per ingest worker: MQTT messages received and points written per second."),
        dress(kinds.series(bars_style=True, stacked=True), s, title="Quarantine by reason", w=8, h=8, unit="short",
              targets=[target(quarantine, s, alias="$tag_worker $col")],
              description="Messages or lines ingest refused per interval, by reason (bad JSON, schema version, "
                          "out-of-window time, ...); each kept in the quarantine store for replay."),
        dress(kinds.series(), s, title="Write retries and queue", w=8, h=8, unit="short",
              targets=[target(writes, s, alias="$tag_worker $col")],
              description="Per worker: InfluxDB write attempts retried per minute (write errors) and the deepest "
                          "writer queue of the interval (messages)."),
    ]


def _gateways(s: DashboardSettings) -> list[PanelLike]:
    last = Statement(measurement=GATEWAY_STATUS, rp=s.raw_rp, where=(_ENT,), interval=None, tags=_GATEWAY_KEY,
                     columns=(Column(field=Field.STATE, agg=Agg.LAST, alias="state"),))
    online = Outer(inner=last, columns=(Column(field="state", agg=Agg.COUNT, alias="online"),),
                   where=(FieldIs("state", "=", GatewayState.ONLINE.value),))
    gaps = Statement(measurement=SEQ_GAP, rp=s.raw_rp, where=(_ENT,), tags=(Tag.ENTERPRISE,), fill=Fill.NONE,
                     columns=(Column(field=Field.MISSING, agg=Agg.SUM, alias="missing"),))
    spool = Statement(measurement=GATEWAY, rp=s.raw_rp, where=(_ENT,), tags=(Tag.ENTERPRISE, Tag.ASSET),
                      columns=(Column(field="spool_messages", agg=Agg.MAX, alias="spool_messages"),))
    colours = {GatewayState.ONLINE.value: "green", GatewayState.OFFLINE.value: "red"}
    mapping = dm.ValueMap(options={k: dm.ValueMappingResult(color=c, text=k) for k, c in sorted(colours.items())})
    return [
        dress(kinds.single().no_value("0"), s, title="Gateways online", w=4, h=8, unit="short",
              targets=[target(online, s)],
              description="Gateways whose latest status in the time range is online (birth), not offline "
                          "(clean stop or Last Will)."),
        dress(kinds.grid().transformations([merge(), hide_time()]).mappings([mapping]), s, title="Gateway status",
              w=8, h=8, targets=[target(last, s, table=True)],
              description="Each gateway's latest status in the time range."),
        dress(kinds.series(bars_style=True), s, title="Sequence gaps", w=6, h=8, unit="short",
              targets=[target(gaps, s, alias="$tag_enterprise")],
              description="Samples missing between consecutive sequence numbers per interval (ingest's gap "
                          "detection): lost upstream of ingest; KPI coverage accounts for them."),
        dress(kinds.series(), s, title="Spool depth", w=6, h=8, unit="short",
              targets=[target(spool, s, alias="$tag_enterprise $tag_asset")],
              description="Messages waiting in each gateway's spool: grows while the uplink is down, drains after."),
    ]


def _alerts(s: DashboardSettings) -> list[PanelLike]:
    last = Statement(measurement=ALERT_STATE, rp=s.kpi_rp, where=(_ENT,), interval=None, tags=_ALERT_KEY,
                     columns=(Column(field=Field.FIRING, agg=Agg.LAST, alias="firing"),))
    firing = FieldIs("firing", "=", 1)
    count = Outer(inner=last, columns=(Column(field="firing", agg=Agg.COUNT, alias="firing"),), where=(firing,))
    listed = Outer(inner=last, columns=(Column(field="firing", alias="firing"),), where=(firing,), tags=_ALERT_KEY)
    return [
        dress(kinds.single().no_value("0"), s, title="Firing alerts", w=4, h=8, unit="short",
              targets=[target(count, s)],
              description="Alerts whose latest state in the time range is firing (the rules alert evaluator)."),
        dress(kinds.grid().transformations([merge(), hide_time()]), s, title="Firing alerts, listed", w=20, h=8,
              targets=[target(listed, s, table=True)],
              description="Which alerts fire: name, severity, enterprise, site, asset."),
    ]


def build(s: DashboardSettings) -> Dashboard:
    names = hierarchy([GATEWAY_STATUS], s.raw_rp, area_as="Area", upto=ENTERPRISE)
    d = frame("pipeline", "seamline · Pipeline health", "Ingest, quarantine, gaps, gateways, spools, write "
              "errors and firing alerts.", s, variables=names, time_from="now-6h", refresh="30s")
    for title, panels in (("Ingest", _ingest(s)), ("Gateways", _gateways(s)), ("Alerts", _alerts(s))):
        d = d.with_row(Row(title))
        for p in panels:
            d = d.with_panel(p)
    return d
