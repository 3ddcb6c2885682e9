"""The gateway's side of end-to-end confirmation (contract: :mod:`seamline.contracts.repair`).

The uplink subscribes to the gateway's ``confirm`` (retained) and ``resend`` topics and hands each
message here. A confirm makes the spool forget the kept messages it covers; a resend queues the
kept messages it asks for again (replays) and answers what the spool no longer has with a
``lost`` report, committed to the spool like any other message so it survives a restart.
Decoding is done by hand (no pydantic on the gateway); ``tests/unit/edge_agent/test_edge_repair.py``
holds it to the contract's models.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from seamline.contracts.kinds import SEQ_MAX
from seamline.contracts.seqranges import Range
from seamline.contracts.topic import GATEWAY_AREA, ROOT, VERSION
from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool

log = logging.getLogger(__name__)

REPLAY_PROPERTY = "seamline-replay"  # MQTT 5 user property on a republished message


class RepairError(ValueError):
    """A confirm or resend payload that does not follow the contract."""


@dataclass(frozen=True, slots=True)
class RepairTopics:
    confirm: str
    resend: str
    lost: str

    @classmethod
    def of(cls, *, enterprise: str, site: str, gateway_id: str) -> RepairTopics:
        base = f"{ROOT}/{VERSION}/{enterprise}/{site}/{GATEWAY_AREA}/{gateway_id}"
        return cls(confirm=f"{base}/confirm", resend=f"{base}/resend", lost=f"{base}/lost")


def _ranges(entry: Mapping[str, Any]) -> list[Range]:
    out: list[Range] = []
    for r in entry.get("ranges", []):
        first, last = r["first"], r["last"]
        if type(first) is not int or type(last) is not int or not 0 <= first <= last < SEQ_MAX:
            raise RepairError(f"bad range {r!r}")
        out.append((first, last))
    return out


def decode_assets(raw: bytes, *, gateway_id: str) -> tuple[dict[str, Any], dict[str, list[Range]]]:
    """The payload object and its ``assets`` as ``{'area/asset': ranges}``; :class:`RepairError` if it
    is not a v1 confirm/resend of this gateway."""
    try:
        obj = orjson.loads(raw)
        if not isinstance(obj, dict) or obj.get("schema_version", 1) != 1:
            raise RepairError("not a schema version 1 object")
        if obj.get("gateway_id") != gateway_id:
            raise RepairError(f"for gateway {obj.get('gateway_id')!r}, not {gateway_id!r}")
        assets = {f"{a['area']}/{a['asset']}": _ranges(a) for a in obj["assets"]}
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise RepairError(f"malformed: {exc}") from exc
    return obj, assets


def encode_lost(*, gateway_id: str, request_id: str, ts_ms: int, lost: Mapping[str, list[Range]]) -> bytes:
    assets = []
    for key, ranges in sorted(lost.items()):
        area, asset = key.split("/", 1)
        assets.append({"area": area, "asset": asset, "ranges": [{"first": a, "last": b} for a, b in ranges]})
    return orjson.dumps({"schema_version": 1, "gateway_id": gateway_id, "request_id": request_id, "ts_ms": ts_ms,
                         "assets": assets})


@dataclass(slots=True)
class RepairCounters:
    confirms: int = 0
    confirmed_messages: int = 0
    resends: int = 0
    lost_reported_ranges: int = 0
    unconfirmed_replayed: int = 0
    malformed: int = 0


class Repair:
    """Applies confirm and resend messages to the spool. Called on the uplink's thread."""

    def __init__(self, *, spool: SqliteSpool, topics: RepairTopics, gateway_id: str, now_ms: Callable[[], int],
                 wake: Callable[[], None] = lambda: None, replay_after_ms: int = 300_000) -> None:
        """``replay_after_ms``: a kept message no confirm has covered this long after its PUBACK is
        published again (the platform cannot ask for a tail it never saw)."""
        self.spool = spool
        self.topics = topics
        self.gateway_id = gateway_id
        self.now_ms = now_ms
        self.wake = wake
        self.replay_after_ms = replay_after_ms
        self.counters = RepairCounters()

    def subscriptions(self) -> tuple[str, ...]:
        return (self.topics.confirm, self.topics.resend)

    def handle(self, topic: str, payload: bytes) -> None:
        try:
            obj, assets = decode_assets(payload, gateway_id=self.gateway_id)
        except RepairError as exc:
            self.counters.malformed += 1
            log.warning("repair: ignored a message on %s: %s", topic, exc)
            return
        if topic == self.topics.confirm:
            self.counters.confirms += 1
            self.counters.confirmed_messages += self.spool.confirm(assets)
            replayed = self.spool.replay_unconfirmed(older_than_ms=self.replay_after_ms)
            if replayed:
                self.counters.unconfirmed_replayed += replayed
                log.warning("repair: %d message(s) acknowledged by the broker more than %.0f s ago are not "
                            "confirmed as stored: published again", replayed, self.replay_after_ms / 1000)
                self.wake()
        elif topic == self.topics.resend:
            self._resend(str(obj.get("request_id", ""))[:64] or "unknown", assets)

    def _resend(self, request_id: str, wanted: dict[str, list[Range]]) -> None:
        self.counters.resends += 1
        lost = self.spool.resend(wanted)
        if lost:
            ranges = sum(len(r) for r in lost.values())
            self.counters.lost_reported_ranges += ranges
            log.warning("repair: resend %s asks for %d range(s) this gateway no longer has; reported lost",
                        request_id, ranges)
            payload = encode_lost(gateway_id=self.gateway_id, request_id=request_id, ts_ms=self.now_ms(), lost=lost)
            self.spool.commit([OutMessage(self.topics.lost, payload, Priority.STATE)])
        self.wake()
