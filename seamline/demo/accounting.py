"""What reached InfluxDB, counted by querying it: stored samples, sequence completeness,
duplicates. Nothing here trusts a counter of the pipeline itself."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from seamline.contracts.assets import AssetKind
from seamline.storage.influxql import quote_ident
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.schema import ASSET_IDENTITY, Field, Retention, telemetry

ENERGY_KINDS = tuple(telemetry(k).name for k in (AssetKind.PV_INVERTER, AssetKind.BATTERY, AssetKind.METER,
                                                  AssetKind.MET_STATION, AssetKind.WIND_TURBINE))
_RAW = Retention.RAW.value


@dataclass(slots=True)
class SeqAudit:
    """Per asset: the seq values stored, checked for holes and repeats."""

    assets: int = 0
    points: int = 0
    missing: int = 0  # holes between the lowest and highest stored seq
    duplicates: int = 0  # a seq stored at more than one timestamp
    missing_by_asset: dict[str, int] = field(default_factory=dict)


def _series_rows(results: list[dict[str, Any]]) -> list[tuple[dict[str, str], list[list[Any]]]]:
    out = []
    for res in results:
        for s in res.get("series", []):
            out.append((s.get("tags", {}), s["values"]))
    return out


def seq_values(client: InfluxQLClient, db: str, measurement: str, *, rp: str = _RAW) -> dict[str, list[int]]:
    """asset key (enterprise/site/area/asset) -> stored seq values, one per point."""
    group = ",".join(quote_ident(t) for t in ASSET_IDENTITY)
    q = f"SELECT {quote_ident(Field.SEQ)} FROM {quote_ident(rp)}.{quote_ident(measurement)} GROUP BY {group}"
    out: dict[str, list[int]] = defaultdict(list)
    for tags, values in _series_rows(client.query(q, db=db)):
        key = "/".join(tags.get(t, "") for t in ASSET_IDENTITY)
        out[key].extend(int(v[1]) for v in values if v[1] is not None)
    return out


def audit(seqs_by_asset: dict[str, list[int]], expected_max: dict[str, int] | None = None) -> SeqAudit:
    """Holes and repeats in per-asset seq values. Sequences of different measurements of one asset
    (data and state share the counter) must be merged by the caller before auditing.

    ``expected_max``: the last seq each asset's publisher reports having sent, so lost messages at
    the end of a stream count too; without it only inner holes count.
    """
    a = SeqAudit()
    for key, seqs in seqs_by_asset.items():
        a.assets += 1
        a.points += len(seqs)
        distinct = set(seqs)
        a.duplicates += len(seqs) - len(distinct)
        lo = min(distinct)
        hi = max(distinct)
        if expected_max and key in expected_max:
            hi = max(hi, expected_max[key])
        missing = (hi - lo + 1) - len(distinct)
        if missing:
            a.missing += missing
            a.missing_by_asset[key] = missing
    return a


def sum_field(client: InfluxQLClient, db: str, measurement: str, fld: str, *, rp: str = _RAW) -> float:
    res = client.query(f"SELECT SUM({quote_ident(fld)}) FROM {quote_ident(rp)}.{quote_ident(measurement)}", db=db)
    rows = _series_rows(res)
    return float(rows[0][1][0][1]) if rows else 0.0


def count_points(client: InfluxQLClient, db: str, measurement: str, *, fld: str = Field.SEQ, rp: str = _RAW) -> int:
    res = client.query(f"SELECT COUNT({quote_ident(fld)}) FROM {quote_ident(rp)}.{quote_ident(measurement)}", db=db)
    rows = _series_rows(res)
    return int(rows[0][1][0][1]) if rows else 0


def merged_asset_seqs(client: InfluxQLClient, db: str, measurements: tuple[str, ...]) -> dict[str, list[int]]:
    merged: dict[str, list[int]] = defaultdict(list)
    for m in measurements:
        for key, seqs in seq_values(client, db, m).items():
            merged[key].extend(seqs)
    return merged
