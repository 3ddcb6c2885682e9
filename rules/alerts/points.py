"""``alert_state`` points (RP ``kpi``): ``firing`` 1 while an alert fires, 0 when it resolves, at
each evaluation that posts it, for the dashboards. The schema's tags are alertname, severity,
enterprise, site and asset; the asset tag names what the alert is about: the asset, else the line
(line alerts), else the gateway (gateway alerts), else the site's own alerts leave it out.
Written under the enterprise's fence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from seamline.contracts.alerts import AlertLabels
from seamline.contracts.topic import LINE_ASSET
from seamline.rules.kpi_points import KpiPoint, KpiPointWriter
from seamline.rules.ownership import Ownership
from seamline.storage.schema import ALERT_STATE, Field, Tag


def alert_point(labels: AlertLabels, firing: bool, at: datetime) -> KpiPoint:
    tags = {Tag.ALERTNAME: labels.alertname, Tag.SEVERITY: labels.severity.value, Tag.ENTERPRISE: labels.enterprise,
            Tag.SITE: labels.site}
    about = labels.asset if labels.asset not in (None, LINE_ASSET) else (labels.area or labels.gateway)
    if about:
        tags[Tag.ASSET] = about
    ALERT_STATE.check(tags=tags, fields=(Field.FIRING,))
    return KpiPoint(ALERT_STATE.name, tuple(sorted(tags.items())), int(at.timestamp() * 1000),
                    ((Field.FIRING, 1 if firing else 0),))


class AlertStatePoints:
    def __init__(self, writer: KpiPointWriter, owner: Ownership) -> None:
        self.writer = writer
        self.owner = owner

    def write(self, alerts: Sequence[tuple[AlertLabels, bool]], *, at: datetime, enterprise: str) -> None:
        self.writer.write([alert_point(labels, firing, at) for labels, firing in alerts],
                          fence=self.owner.fence_for(enterprise))
