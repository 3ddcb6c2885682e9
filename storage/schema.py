"""The InfluxDB schema: every retention policy, measurement, tag and field seamline writes or reads.

This is the one place these names are written. Writers (ingest's telemetry points and
self-metrics, the rules engine's KPI points) and readers (the rules engine's window queries, the
capacity feed, the demo's accounting) take :class:`Measurement` objects from here, and the
builders check every tag and field against them (:class:`SchemaError`); a unit test
(``tests/unit/storage/test_storage_schema_names.py``) fails when ingest/ or rules/ spell a storage
name as a string literal instead.

Layout (retention policy ``raw``, kept ``90d`` by default):

* telemetry: one measurement per asset kind (``sewing_machine``, ``pv_inverter``, ...), tags
  ``enterprise, site, area, asset`` from the topic, fields = the kind's metrics in
  :mod:`seamline.contracts.assets` (float metrics always floats, int metrics ``i``) + ``seq``
  (int) + ``quality`` (string; a field, so a replay with another quality overwrites the point);
  a sewing machine's aggregates also carry what ingest derives for the KPI job's sums
  (``sums_key`` and the packed sums: :mod:`seamline.storage.sewing_sums`);
* ``machine_state`` (state changes) and ``machine_down`` (ingest's copy of those that may start or
  end a down, :mod:`seamline.storage.down_events`), ``gateway_status`` (online/offline, Last Will),
  ``gateway_birth`` and ``asset_info`` (what a gateway serves), ``seq_gap`` (ingest's per-worker
  sequence gaps), ``seamline_ingest`` (ingest self-metrics).

Retention policy ``kpi`` (kept forever): the rules engine's ``kpi_*`` measurements, tagged with the
window label (``5m|1h|shift|1d|custom``) and timestamped at the window start; every point carries
``coverage`` (0..1), ``low_coverage`` and ``flags``. Beside them, the platform's records:
``capacity_day`` (free standard minutes per line and day ahead, from the capacity feed),
``plan_orders`` (a matching plan's allocated and unmet orders with reasons) and ``alert_state``
(firing alerts, from the rules alert evaluator).

On InfluxDB 2.x/3.x the same names hold: a bucket per retention policy, mapped to
``database``/``rp`` by DBRP (see :mod:`seamline.storage.db_init`), so InfluxQL reads are unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Final, NewType

from seamline.contracts.assets import AssetKind, metric_specs
from seamline.storage import sewing_sums

__all__ = [
    "ALERT_STATE",
    "ALL_MEASUREMENTS",
    "ASSET_IDENTITY",
    "ASSET_INFO",
    "CAPACITY",
    "DEFAULT_DURATION",
    "FIELDS",
    "GATEWAY_BIRTH",
    "GATEWAY_IDENTITY",
    "GATEWAY_STATUS",
    "GRADE",
    "INGEST_SELF",
    "KPI_BATTERY",
    "KPI_DOWNTIME",
    "KPI_FACTORY_ENERGY",
    "KPI_GREEN_ENERGY",
    "KPI_LINE",
    "KPI_LINE_CARBON",
    "KPI_LINE_ENERGY",
    "KPI_MACHINE",
    "KPI_PV",
    "KPI_WIND",
    "MACHINE_DOWN",
    "MACHINE_STATE",
    "PLAN_ORDERS",
    "SEQ_GAP",
    "SEQ_LOST",
    "TAGS",
    "TIME",
    "Field",
    "FieldName",
    "Measurement",
    "Retention",
    "SchemaError",
    "Tag",
    "TagName",
    "measurement",
    "telemetry",
]

# The timestamp column of every InfluxQL answer (UTC epoch ms with ``epoch=ms``); not a field.
TIME = "time"


class SchemaError(ValueError):
    """A measurement, tag or field name that the schema does not define."""


class Retention(enum.StrEnum):
    """The two retention policies by role; the values are the default policy names (a deployment
    may rename them: ``influx.raw_rp`` / ``influx.kpi_rp``)."""

    RAW = "raw"
    KPI = "kpi"


# InfluxQL durations: samples are re-derivable KPIs' input for a quarter; KPIs are the record.
DEFAULT_DURATION: Mapping[Retention, str] = {Retention.RAW: "90d", Retention.KPI: "INF"}


TagName = NewType("TagName", str)
FieldName = NewType("FieldName", str)


# Tag and Field are namespaces of plain str constants (typed, so builders can demand them): they
# are read per message and per result row, where an Enum member lookup costs ~10x a class attribute.
class Tag:
    ENTERPRISE: Final = TagName("enterprise")
    SITE: Final = TagName("site")
    AREA: Final = TagName("area")  # a sewing line's id for sewing machines, a location for energy assets
    ASSET: Final = TagName("asset")
    ASSET_KIND: Final = TagName("asset_kind")
    GATEWAY: Final = TagName("gateway")
    LINE: Final = TagName("line")
    WINDOW: Final = TagName("window")  # KPI window label: 5m, 1h, shift, 1d, custom
    SHIFT: Final = TagName("shift")  # shift name, on shift windows only
    REASON: Final = TagName("reason")  # downtime reason (breakdown.<cause>, stop, stop.<idle reason>)
    WORKER: Final = TagName("worker")  # ingest worker id
    ALERTNAME: Final = TagName("alertname")  # alert state: the alert's name (contracts.alerts label)
    SEVERITY: Final = TagName("severity")  # alert state: critical | warning | info
    STATUS: Final = TagName("status")  # plan outcome: allocated | partial | unmet
    PERIOD: Final = TagName("period")  # grading period: 2026, 2026H1, 2026Q3, 2026-09
    METHOD: Final = TagName("method")  # the county grading method's id


class Field:
    """Field names shared by several measurements or read back by name outside telemetry."""

    SEQ: Final = FieldName("seq")
    QUALITY: Final = FieldName("quality")
    STATE: Final = FieldName("state")
    REASON: Final = FieldName("reason")
    PREVIOUS: Final = FieldName("previous")
    PREVIOUS_DURATION_S: Final = FieldName("previous_duration_s")
    BOOT_ID: Final = FieldName("boot_id")
    AGENT_VERSION: Final = FieldName("agent_version")
    ASSETS: Final = FieldName("assets")
    GATEWAY: Final = FieldName("gateway")
    MODEL: Final = FieldName("model")
    FIRMWARE_VERSION: Final = FieldName("firmware_version")
    FROM_SEQ: Final = FieldName("from_seq")
    TO_SEQ: Final = FieldName("to_seq")
    MISSING: Final = FieldName("missing")
    COVERAGE: Final = FieldName("coverage")
    LOW_COVERAGE: Final = FieldName("low_coverage")
    FLAGS: Final = FieldName("flags")
    DOWN_MIN: Final = FieldName("down_min")
    LINE_EFFICIENCY: Final = FieldName("line_efficiency")
    FIRING: Final = FieldName("firing")
    FREE_STD_MIN: Final = FieldName("free_std_min")
    GRADE: Final = FieldName("grade")
    SCORE: Final = FieldName("score")
    RANK: Final = FieldName("rank")
    ESTIMATED: Final = FieldName("estimated")


TAGS: tuple[TagName, ...] = tuple(v for k, v in vars(Tag).items() if k.isupper())
FIELDS: tuple[FieldName, ...] = tuple(v for k, v in vars(Field).items() if k.isupper())


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measurement: its retention policy, the tags it may carry and the fields it may hold.

    ``families`` are field-name prefixes whose suffix is data (``category_h_<category>``)."""

    name: str
    retention: Retention
    tags: tuple[TagName, ...]
    fields: frozenset[str]
    families: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.name

    def has_field(self, name: str) -> bool:
        if name in self.fields:
            return True
        return any(name.startswith(p) and len(name) > len(p) for p in self.families)

    def field(self, name: str) -> str:
        """``name`` if this measurement defines it, else :class:`SchemaError`."""
        if not self.has_field(name):
            raise SchemaError(f"measurement {self.name!r} has no field {name!r}")
        return name

    def fields_of(self, *names: str) -> tuple[str, ...]:
        return tuple(self.field(n) for n in names)

    def tag(self, name: str) -> TagName:
        if name not in self.tags:
            raise SchemaError(f"measurement {self.name!r} has no tag {name!r}")
        return TagName(name)

    def check(self, *, tags: Iterable[str] = (), fields: Iterable[str] = ()) -> None:
        """Raise :class:`SchemaError` naming every tag and field this measurement does not define."""
        bad_tags = sorted(str(t) for t in tags if t not in self.tags)
        bad_fields = sorted(str(f) for f in fields if not self.has_field(f))
        if bad_tags or bad_fields:
            raise SchemaError(f"measurement {self.name!r}: undefined tags {bad_tags}, fields {bad_fields} "
                              "(add them to seamline.storage.schema)")


ASSET_IDENTITY: tuple[TagName, ...] = (Tag.ENTERPRISE, Tag.SITE, Tag.AREA, Tag.ASSET)
GATEWAY_IDENTITY: tuple[TagName, ...] = (Tag.ENTERPRISE, Tag.SITE, Tag.GATEWAY)


def _raw(name: str, tags: tuple[TagName, ...], *fields: str, families: tuple[str, ...] = ()) -> Measurement:
    return Measurement(name, Retention.RAW, tags, frozenset(fields), families)


@cache
def telemetry(kind: AssetKind) -> Measurement:
    """The measurement of ``kind``'s samples: named after the kind, fields = its contract metrics
    (+ what ingest derives from them, :data:`DERIVED`)."""
    kind = AssetKind(kind)
    return Measurement(kind.value, Retention.RAW, ASSET_IDENTITY,
                       frozenset((*metric_specs(kind), *DERIVED.get(kind, ()), Field.SEQ, Field.QUALITY)))


# Fields ingest adds to a kind's samples (seamline.storage.sewing_sums): the sewing aggregates'
# sums key and packed sums, for the rules' aggregate path.
DERIVED: Mapping[AssetKind, tuple[str, ...]] = {AssetKind.SEWING_MACHINE: sewing_sums.DERIVED_FIELDS}


MACHINE_STATE = _raw("machine_state", ASSET_IDENTITY, Field.STATE, Field.REASON, Field.PREVIOUS,
                     Field.PREVIOUS_DURATION_S, Field.SEQ, Field.QUALITY)
# Derived by ingest: a copy of each state change that may start or end a down (into or out of
# ``down``, or from an unknown state; seamline.storage.down_events), for the KPI job's breakdowns.
MACHINE_DOWN = _raw("machine_down", ASSET_IDENTITY, Field.STATE, Field.REASON, Field.PREVIOUS, Field.QUALITY)
# The Last Will carries no time of its own: ingest stamps it with the receive time.
GATEWAY_STATUS = _raw("gateway_status", GATEWAY_IDENTITY, Field.STATE, Field.BOOT_ID, Field.REASON)
GATEWAY_BIRTH = _raw("gateway_birth", GATEWAY_IDENTITY, Field.AGENT_VERSION, Field.BOOT_ID, Field.ASSETS)
ASSET_INFO = _raw("asset_info", (*ASSET_IDENTITY, Tag.ASSET_KIND), Field.GATEWAY, Field.MODEL,
                  Field.FIRMWARE_VERSION)
# Stamped at the sample after the gap; ``missing`` = to_seq - from_seq - 1.
SEQ_GAP = _raw("seq_gap", ASSET_IDENTITY, Field.FROM_SEQ, Field.TO_SEQ, Field.MISSING)
# A range a gateway reported definitively lost (contract kind ``lost``), stamped when the confirmer
# first stored it; ``missing`` = to_seq - from_seq + 1. ``seamline ingest confirm`` counts them.
SEQ_LOST = _raw("seq_lost", (*ASSET_IDENTITY, Tag.GATEWAY), Field.FROM_SEQ, Field.TO_SEQ, Field.MISSING)
# Counter totals since the worker started (floats), ``quarantined_<reason>`` per quarantine reason.
INGEST_SELF = _raw(
    "seamline_ingest", (Tag.WORKER,),
    "messages_total", "messages_acked_total", "points_written_total", "batches_total", "write_retries_total",
    "seq_gaps_total", "in_flight", "queue_depth", "batch_latency_seconds_count",
    "batch_latency_seconds_sum", "queue_full_waits", "quarantine_rows", "quarantine_bytes", "mqtt_connects",
    "stale_acks", "gap_tracked_assets", "write_waited_s", "mqtt_connected",
    "newest_written_timestamp_seconds", "consumer_lag_seconds",
    families=("quarantined_", "quarantine_evicted_", "rejected_retries_", "write_errors_"),
)

# Every KPI point: the lowest coverage of its results, the low-coverage flag, the flags' union.
_KPI_COMMON = (Field.COVERAGE, Field.LOW_COVERAGE, Field.FLAGS)
_MACHINE_TAGS = (Tag.ENTERPRISE, Tag.SITE, Tag.LINE, Tag.ASSET, Tag.WINDOW, Tag.SHIFT)
_ENERGY_TAGS = (*ASSET_IDENTITY, Tag.WINDOW, Tag.SHIFT)


def _kpi(name: str, tags: tuple[TagName, ...], *fields: str, families: tuple[str, ...] = ()) -> Measurement:
    return Measurement(name, Retention.KPI, tags, frozenset((*fields, *_KPI_COMMON)), families)


# Units: *_min minutes, *_h hours, *_kwh kWh, *_pct %, ratios 0..1, pieces and counts as floats.
KPI_MACHINE = _kpi("kpi_machine", _MACHINE_TAGS,
                   "run_min", "idle_min", "off_min", Field.DOWN_MIN, "unobserved_min", "planned_min",
                   "planned_observed_min", "utilization", "operating_min", "stop_min", "availability", "breakdowns",
                   "mtbf_min", "mttr_min", "pieces", "rejects", "unobserved_pieces")
KPI_DOWNTIME = _kpi("kpi_downtime", (*_MACHINE_TAGS, Tag.REASON), Field.DOWN_MIN)
KPI_LINE = _kpi("kpi_line", (Tag.ENTERPRISE, Tag.SITE, Tag.LINE, Tag.WINDOW, Tag.SHIFT),
                "good_pieces", "unobserved_pieces", "earned_min", "minutes_worked", Field.LINE_EFFICIENCY,
                "availability", "performance", "quality", "oee", "utilization", "operating_min", "stop_min")
KPI_PV = _kpi("kpi_pv", _ENERGY_TAGS,
              "energy_kwh", "specific_yield_kwh_kwp", "final_yield_kwh_kwp", "reference_yield_h",
              "performance_ratio", "sun_up_h", "available_h", "availability")
KPI_WIND = _kpi("kpi_wind", _ENERGY_TAGS,
                "energy_kwh", "capacity_factor", "availability", "available_h", "unavailable_h",
                "expected_energy_kwh", "actual_energy_kwh", "lost_energy_kwh", "energy_ratio",
                families=("category_h_",))  # hours per IEC 61400-26 availability category
KPI_BATTERY = _kpi("kpi_battery", _ENERGY_TAGS,
                   "charge_kwh", "discharge_kwh", "round_trip_efficiency", "equivalent_full_cycles",
                   "soc_min_pct", "soc_max_pct", "soc_start_pct", "soc_end_pct",
                   # the round trip over the longest SoC-balanced cycle inside the window, and its length
                   "cycle_round_trip_efficiency", "cycle_h")
KPI_FACTORY_ENERGY = _kpi("kpi_factory_energy", (Tag.ENTERPRISE, Tag.SITE, Tag.WINDOW, Tag.SHIFT),
                          "consumption_kwh", "kwh_per_piece", "green_share")
# A line's own consumption from the sub-meters on its distribution board, per good piece of the line.
KPI_LINE_ENERGY = _kpi("kpi_line_energy", (Tag.ENTERPRISE, Tag.SITE, Tag.LINE, Tag.WINDOW, Tag.SHIFT),
                       "consumption_kwh", "kwh_per_piece")


# The platform's records, RP ``kpi`` (kept): what was sold and what is still free.
# Free capacity per line and local day ahead (the capacity feed, each run): timestamp = the day's
# local midnight, so a later run overwrites the same day's point. Standard minutes; efficiency and
# confidence as in contracts.messages.CapacityMessage.
CAPACITY = Measurement("capacity_day", Retention.KPI, (Tag.ENTERPRISE, Tag.SITE, Tag.LINE), frozenset((
    "available_std_min", "booked_std_min", Field.FREE_STD_MIN, "efficiency", "confidence")))
# A matching plan's outcome (``seamline match --influx``): one point per status and reason at the
# plan's time; ``reason`` is "none" for allocated orders. ``order_ids`` lists the first ids, comma-separated.
PLAN_ORDERS = Measurement("plan_orders", Retention.KPI, (Tag.STATUS, Tag.REASON), frozenset((
    "orders", "pieces", "pieces_allocated", "std_min_allocated", "order_ids", "plan_id")))
# Alert state, written by the rules alert evaluator on every evaluation and change: ``firing`` is
# 1 while the alert fires and 0 once resolved (an integer, so panels can sum it).
_ALERT_TAGS = (Tag.ALERTNAME, Tag.SEVERITY, Tag.ENTERPRISE, Tag.SITE, Tag.ASSET)
ALERT_STATE = Measurement("alert_state", Retention.KPI, _ALERT_TAGS, frozenset((Field.FIRING,)))
# Green energy attributed hour by hour (rules/kpi/green_attribution.py), per site and window. A
# consuming site: its consumption, the green part (on-site generation, its VPPA share of the park,
# certificates), the rest from the grid, and that rest's CO2e (market-based, kg). A source site (the
# park): what it delivered to the grid, what the VPPAs took, the shares' surplus, and what no share
# covers. ``hours``: clock hours matched (a part-hour at a window edge counts as one).
KPI_GREEN_ENERGY = _kpi("kpi_green_energy", (Tag.ENTERPRISE, Tag.SITE, Tag.WINDOW, Tag.SHIFT),
                        "consumption_kwh", "onsite_green_kwh", "vppa_kwh", "certificate_kwh", "green_kwh", "grid_kwh",
                        "green_share", "co2e_kg", "hours",
                        "delivered_kwh", "attributed_kwh", "surplus_kwh", "unassigned_kwh")
# A line's share of its site's grid kWh and CO2e over the window, per good piece of the line
# (rules/kpi/carbon.py); flag ``split_by_pieces`` when the site's lines are not all sub-metered.
KPI_LINE_CARBON = _kpi("kpi_line_carbon", (Tag.ENTERPRISE, Tag.SITE, Tag.LINE, Tag.WINDOW, Tag.SHIFT),
                       "energy_share", "grid_kwh", "co2e_kg", "pieces", "co2e_kg_per_piece", "green_share")
# Per-mu grading (seamline.grading), one point per enterprise, period and method, stamped at the
# period's local start: total score, rank among ``ranked`` enterprises, grade (A..D or the method's
# labels), whether any input was estimated (telemetry nowcast, finance figures of an earlier
# period), the variant applied, the energy used (kWh metered, tce), and per indicator its value,
# score and contribution (``value_<indicator>``, ``score_<indicator>``; adjustments ``adjust_<id>``).
GRADE = Measurement("grade", Retention.KPI, (Tag.ENTERPRISE, Tag.PERIOD, Tag.METHOD), frozenset((
    Field.GRADE, Field.SCORE, Field.RANK, Field.ESTIMATED, "ranked", "grade_index", "variant", "energy_kwh",
    "energy_tce", "energy_days", "period_days", "advice")), ("value_", "score_", "adjust_"))

_NAMED = (MACHINE_STATE, MACHINE_DOWN, GATEWAY_STATUS, GATEWAY_BIRTH, ASSET_INFO, SEQ_GAP, SEQ_LOST, INGEST_SELF,
          KPI_MACHINE, KPI_DOWNTIME, KPI_LINE, KPI_PV, KPI_WIND, KPI_BATTERY, KPI_FACTORY_ENERGY, KPI_LINE_ENERGY,
          KPI_GREEN_ENERGY, KPI_LINE_CARBON, GRADE, CAPACITY, PLAN_ORDERS, ALERT_STATE)
ALL_MEASUREMENTS: Mapping[str, Measurement] = {
    m.name: m for m in (*(telemetry(k) for k in AssetKind), *_NAMED)
}


def measurement(name: str) -> Measurement:
    """The measurement called ``name``; :class:`SchemaError` if the schema has none."""
    try:
        return ALL_MEASUREMENTS[name]
    except KeyError:
        raise SchemaError(f"no measurement {name!r} in the storage schema") from None
