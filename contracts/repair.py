"""End-to-end confirmation and repair between the platform and a gateway. Schema version 1.

A broker's PUBACK says the broker has a message, not that InfluxDB has it. So the gateway keeps
what it sent (its retained history) until the platform confirms it is stored:

* ``confirm`` (platform → gateway, retained, ``seamline/v1/<e>/<s>/_gateway/<gw>/confirm``): per
  asset the ``seq`` ranges durably stored (read back from the database, so several ingest workers
  need no shared memory). The gateway forgets what a confirm covers.
* ``resend`` (platform → gateway, ``.../_gateway/<gw>/resend``): per asset the ranges of a hole open
  longer than the platform's grace period. The gateway republishes them from its history, marked
  as a replay (MQTT 5 user property ``seamline-replay``); the payloads are the original ones, so
  the points collapse in InfluxDB (same series and timestamp).
* ``lost`` (gateway → platform, ``.../_gateway/<gw>/lost``): the ranges of a resend the gateway no
  longer has (dropped by its spool policy, or past its retention): definitively lost, counted.

The ``data`` and ``state`` messages of every asset take part, the gateway's own self-telemetry
included (area ``_gateway``, asset = the gateway id). Ranges are inclusive ``[first, last]`` of the
asset's ``seq`` (one counter per asset, shared by its data and state messages), ascending and
disjoint.
"""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from seamline.contracts.messages import Level, Seq, TsMs, _Payload

# Assets and ranges one message may carry: a gateway serves a few hundred assets; a confirm of a
# badly broken stream is cut to the first ranges (the rest is confirmed at the next interval).
MAX_ASSETS = 10_000
MAX_RANGES = 1000


class SeqRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    first: Seq
    last: Seq

    @model_validator(mode="after")
    def _ordered(self) -> SeqRange:
        if self.last < self.first:
            raise ValueError(f"last {self.last} < first {self.first}")
        return self


def _disjoint_ascending(ranges: list[SeqRange]) -> list[SeqRange]:
    if any(b.first <= a.last for a, b in itertools.pairwise(ranges)):
        raise ValueError("ranges must be ascending and disjoint")
    return ranges


class AssetRanges(BaseModel):
    """Ranges of one asset of the gateway (``area``/``asset`` as in its topics)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    area: Level | Literal["_gateway"] = Field(description="The asset's area, `_gateway` for the gateway's own "
                                             "self-telemetry (asset = the gateway id)")
    asset: Level
    ranges: list[SeqRange] = Field(max_length=MAX_RANGES, description="Inclusive, ascending, disjoint")

    @field_validator("ranges")
    @classmethod
    def _check(cls, ranges: list[SeqRange]) -> list[SeqRange]:
        return _disjoint_ascending(ranges)


class ConfirmMessage(_Payload):
    """Retained on the gateway's confirm topic, republished at the platform's interval."""

    gateway_id: Level
    generated_ts_ms: TsMs
    window_start_ms: TsMs = Field(description="Device time from which the platform looked at what is stored")
    assets: list[AssetRanges] = Field(max_length=MAX_ASSETS, description="Stored seq ranges per asset")


class ResendMessage(_Payload):
    """A request: republish these ranges (holes open longer than the platform's grace period)."""

    gateway_id: Level
    request_id: str = Field(min_length=1, max_length=64, description="Echoed in the lost report")
    generated_ts_ms: TsMs
    assets: list[AssetRanges] = Field(max_length=MAX_ASSETS)


class LostMessage(_Payload):
    """The gateway's answer for what a resend asked and it no longer has: definitively lost."""

    gateway_id: Level
    request_id: str = Field(min_length=1, max_length=64)
    ts_ms: TsMs
    assets: list[AssetRanges] = Field(max_length=MAX_ASSETS)
