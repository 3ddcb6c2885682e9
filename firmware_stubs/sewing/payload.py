"""Contract payloads of a sewing node: ``SewingMachineData`` and ``StateChangeMessage`` as JSON bytes.

Data payloads are written with orjson straight from sample tuples (tens of thousands per machine
and shift; building pydantic models for each would dominate the run time). The unit tests check
every shape against ``contracts.messages.parse_data``. Andon messages are rare and built through
the pydantic model, so they are validated on the way out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import orjson

from seamline.contracts.assets import AssetKind
from seamline.contracts.messages import SCHEMA_VERSION, StateChangeMessage
from seamline.firmware_stubs.sewing.machine import AndonEvent


class SampleRow(NamedTuple):
    """One sample as sent: true ``ts_ms`` (skew is applied when encoding)."""

    ts_ms: int
    seq: int
    current_a: float
    speed_spm: float
    stitches_total: int
    pieces_total: int


def encode_samples(rows: Sequence[SampleRow], *, skew_ms: int = 0) -> bytes:
    """A ``SewingMachineData`` payload; device timestamps shifted by ``skew_ms``."""
    return orjson.dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "asset_kind": AssetKind.SEWING_MACHINE.value,
            "samples": [
                {
                    "ts_ms": r.ts_ms + skew_ms,
                    "seq": r.seq,
                    "metrics": {
                        "current_a": r.current_a,
                        "speed_spm": r.speed_spm,
                        "stitches_total": r.stitches_total,
                        "pieces_total": r.pieces_total,
                    },
                }
                for r in rows
            ],
        }
    )


def encode_andon(event: AndonEvent, *, skew_ms: int = 0) -> bytes:
    """A ``StateChangeMessage`` for an andon press; device timestamp shifted by ``skew_ms``."""
    msg = StateChangeMessage(
        asset_kind=AssetKind.SEWING_MACHINE,
        ts_ms=event.ts_ms + skew_ms,
        seq=event.seq,
        state=event.state,
        previous=event.previous,
        previous_duration_s=event.previous_duration_s,
        reason=event.reason,
    )
    return msg.model_dump_json(exclude_none=True).encode()
