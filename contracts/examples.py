"""One example payload of every message kind, for the docs and for firmware authors.

`seamline contracts examples` prints them; the tests check that each validates and that
docs/contracts.md shows exactly these.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from seamline.contracts.assets import AssetKind, SewingMachineMetrics, metric_specs
from seamline.contracts.carbon import CarbonDay, CarbonMessage
from seamline.contracts.grades import AdjustmentScore, GradeMessage, GradeStep, IndicatorScore
from seamline.contracts.messages import (
    AllocationEntry,
    AllocationMessage,
    AssetInfo,
    BirthMessage,
    BookedDay,
    BookingsMessage,
    CapacityDay,
    CapacityMessage,
    GatewayState,
    GatewayStatusMessage,
    MachineState,
    Sample,
    SewingMachineData,
    StateChangeMessage,
)
from seamline.contracts.repair import AssetRanges, ConfirmMessage, LostMessage, ResendMessage, SeqRange
from seamline.contracts.topic import MessageKind, Topic

TS = 1_764_291_600_000  # 2025-11-28T01:00:00Z = 09:00 Asia/Shanghai


def examples() -> list[tuple[Topic, BaseModel]]:
    """(topic, payload) pairs, one per message kind."""
    machine = {"enterprise": "f001", "site": "s1", "area": "line01", "asset": "m001"}
    units = {k: s.unit for k, s in metric_specs(AssetKind.SEWING_MACHINE).items()}
    return [
        (
            Topic(**machine, kind=MessageKind.DATA),
            SewingMachineData(
                samples=[
                    Sample[SewingMachineMetrics](
                        ts_ms=TS,
                        seq=4711,
                        metrics=SewingMachineMetrics(
                            current_a=1.84, current_max_a=4.1, speed_spm=2150.0, stitches=38_700,
                            pieces=4, run_s=31.5, idle_s=28.5, off_s=0.0, down_s=0.0, period_s=60.0,
                            stitches_total=1_204_400, pieces_total=133,
                        ),
                    )
                ]
            ),
        ),
        (
            Topic(**machine, kind=MessageKind.STATE),
            StateChangeMessage(
                ts_ms=TS + 61_250, seq=4712, state=MachineState.DOWN, previous=MachineState.IDLE,
                previous_duration_s=12.5, reason="breakdown.needle",
            ),
        ),
        (
            Topic.gateway(enterprise="f001", site="s1", gateway_id="gw01", kind=MessageKind.BIRTH),
            BirthMessage(
                gateway_id="gw01", ts_ms=TS, agent_version="0.1.0", boot_id="7f3c2a9e",
                assets=[
                    AssetInfo(asset="m001", area="line01", asset_kind=AssetKind.SEWING_MACHINE,
                              model="JUKI DDL-9000C", firmware_version="node-1.4.2", units=units)
                ],
            ),
        ),
        (
            Topic.gateway(enterprise="f001", site="s1", gateway_id="gw01", kind=MessageKind.STATUS),
            GatewayStatusMessage(gateway_id="gw01", state=GatewayState.ONLINE, ts_ms=TS, boot_id="7f3c2a9e"),
        ),
        (
            Topic.line(enterprise="f001", site="s1", line="line01", kind=MessageKind.CAPACITY),
            CapacityMessage(
                enterprise="f001", site="s1", line="line01", generated_ts_ms=TS, categories=["tshirt", "polo"],
                operators=24, efficiency=0.52, confidence=0.9,
                days=[CapacityDay(day=date(2025, 11, 29), available_std_min=5391.4, booked_std_min=3000.0,
                                  free_std_min=2391.4)],
            ),
        ),
        (
            Topic.line(enterprise="f001", site="s1", line="line01", kind=MessageKind.ALLOCATION),
            AllocationMessage(
                plan_id="3f9a0c1d2e4b5a6c", enterprise="f001", site="s1", line="line01", generated_ts_ms=TS,
                entries=[AllocationEntry(order_id="PO-1001", buyer="acme", category="tshirt", day=date(2025, 11, 29),
                                         pieces=400, std_min=2600.0),
                         AllocationEntry(order_id="PO-1001", buyer="acme", category="tshirt", day=date(2025, 11, 30),
                                         pieces=61, std_min=396.5)],
            ),
        ),
        (
            Topic.line(enterprise="f001", site="s1", line="line01", kind=MessageKind.BOOKINGS),
            BookingsMessage(
                plan_id="3f9a0c1d2e4b5a6c", enterprise="f001", site="s1", line="line01", generated_ts_ms=TS,
                days=[BookedDay(day=date(2025, 11, 29), std_min=2600.0),
                      BookedDay(day=date(2025, 11, 30), std_min=396.5)],
            ),
        ),
        (Topic.enterprise_level(enterprise="f001", kind=MessageKind.GRADE), _grade()),
        (
            Topic.line(enterprise="f001", site="s1", line="line01", kind=MessageKind.CARBON),
            CarbonMessage(
                enterprise="f001", site="s1", line="line01", generated_ts_ms=TS, green_share=0.42,
                co2e_kg_per_piece=0.118, grid_emission_factor_kg_per_kwh=0.5703,
                emission_factor_source="MEE, national grid average for 2022 (0.5703 t CO2/MWh)",
                days=[CarbonDay(day=date(2025, 11, 27), pieces=412, grid_kwh=84.9, co2e_kg=48.4,
                                co2e_kg_per_piece=0.1175, green_share=0.42)],
            ),
        ),
        *_repair(),
    ]


def _repair() -> list[tuple[Topic, BaseModel]]:
    gateway = {"enterprise": "f001", "site": "s1", "gateway_id": "gw01"}
    stored = [SeqRange(first=4000, last=4699), SeqRange(first=4705, last=4712)]
    hole = [SeqRange(first=4700, last=4704)]
    return [
        (Topic.gateway(**gateway, kind=MessageKind.CONFIRM),
         ConfirmMessage(gateway_id="gw01", generated_ts_ms=TS, window_start_ms=TS - 86_400_000,
                        assets=[AssetRanges(area="line01", asset="m001", ranges=stored)])),
        (Topic.gateway(**gateway, kind=MessageKind.RESEND),
         ResendMessage(gateway_id="gw01", request_id="r-1764291600000-1", generated_ts_ms=TS,
                       assets=[AssetRanges(area="line01", asset="m001", ranges=hole)])),
        (Topic.gateway(**gateway, kind=MessageKind.LOST),
         LostMessage(gateway_id="gw01", request_id="r-1764291600000-1", ts_ms=TS + 120,
                     assets=[AssetRanges(area="line01", asset="m001", ranges=[SeqRange(first=4700, last=4701)])])),
    ]


def _grade() -> GradeMessage:
    """Illustrative figures: 14 万元 tax per mu against the 15 万元 benchmark at weight 40 scores 37.33."""
    return GradeMessage(
        enterprise="f001", period="2025Q3", method="linhai-2014", generated_ts_ms=TS, grade="B", grade_index=1,
        score=87.6, rank=3, ranked=12, variant="standard", estimated=True, energy_kwh=61_400.0, energy_tce=7.55,
        indicators=[IndicatorScore(indicator="tax_per_mu", label="亩均税收", unit="万元/亩", value=14.0, benchmark=15.0,
                                   weight=40.0, score=37.33, estimated=False),
                    IndicatorScore(indicator="va_per_tce", label="单位能耗增加值", unit="万元/tce", value=4.5,
                                   benchmark=3.0, weight=20.0, score=30.0, estimated=True)],
        adjustments=[AdjustmentScore(adjustment="high_tech", label="高新技术企业", points=2.0)],
        next_grade=[GradeStep(indicator="tax_per_mu", label="亩均税收", change_pct=8.6, target_value=15.2,
                              to_grade="A")],
    )
