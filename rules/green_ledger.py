"""What monthly certificates earlier hours used, read back from the stored hourly
``kpi_green_energy`` points (``certificate_kwh`` of the ``1h`` windows since the month began).

Hourly windows are computed in order and recomputed a few at a time, so the hours before a window
are written before it is: a window's certificates continue where the month's earlier hours left
them. Without the ``1h`` window in ``kpi.windows`` there are no such points and every window would
start the month afresh: keep ``1h`` on when consumers hold certificates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from seamline.rules.green_kpi import SiteKey
from seamline.rules.windows import WindowSize
from seamline.storage.query import CountingClient, Select
from seamline.storage.schema import KPI_GREEN_ENERGY, Tag

CERTIFICATE_KWH = KPI_GREEN_ENERGY.field("certificate_kwh")


class InfluxCertificateLedger:
    """:class:`rules.green_kpi.CertificateLedger` over the KPI retention policy."""

    def __init__(self, client: CountingClient, *, kpi_rp: str) -> None:
        self._client = client
        self._rp = kpi_rp

    def used_kwh(self, sites: Sequence[SiteKey], since: datetime, until: datetime) -> Mapping[SiteKey, float]:
        """Certificate kWh each site's hourly points in ``[since, until)`` used."""
        ents = tuple(sorted({e for e, _ in sites}))
        if not ents or since >= until:
            return {}
        sel = Select(measurement=KPI_GREEN_ENERGY, fields=(CERTIFICATE_KWH,), rp=self._rp, enterprises=ents,
                     group_by=(Tag.ENTERPRISE, Tag.SITE, Tag.WINDOW), start_ms=int(since.timestamp() * 1000),
                     end_ms=int(until.timestamp() * 1000))
        wanted = set(sites)
        out: dict[SiteKey, float] = {}
        for series in self._client.run([sel])[0]:
            key = (series.tags.get(Tag.ENTERPRISE, ""), series.tags.get(Tag.SITE, ""))
            if series.tags.get(Tag.WINDOW) != WindowSize.HOUR.value or key not in wanted:
                continue
            out[key] = out.get(key, 0.0) + sum(float(r.get(CERTIFICATE_KWH) or 0.0) for r in series.rows)
        return out
