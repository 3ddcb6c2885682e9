"""A gateway's upstream half for repair tests: the edge agent's own spool + uplink + repair,
wired as ``edge_agent.service.serve`` wires them, publishing numbered sewing samples for three
machines; and reading back which seq values InfluxDB stores. Shared by the confirm/repair tests."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from seamline.contracts import seqranges
from seamline.edge_agent.repair import Repair, RepairTopics
from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings
from tests.support.ingest_harness import influx_query

E, S, GW = "acme", "s1", "gw01"
ASSETS = ("m1", "m2", "m3")
AREA = "line1"
TOPICS = RepairTopics.of(enterprise=E, site=S, gateway_id=GW)


def payload(seq: int, start_ms: int) -> bytes:
    return orjson.dumps({"schema_version": 1, "asset_kind": "sewing_machine",
                         "samples": [{"ts_ms": start_ms + seq * 1000, "seq": seq,
                                      "metrics": {"current_a": 1.25, "run_s": 1.0, "period_s": 1.0}}]})


def birth() -> list[OutMessage]:
    body = orjson.dumps({"schema_version": 1, "gateway_id": GW, "ts_ms": int(time.time() * 1000),
                         "agent_version": "test", "boot_id": "b1",
                         "assets": [{"asset": a, "area": AREA, "asset_kind": "sewing_machine", "units": {}}
                                    for a in ASSETS]})
    return [OutMessage(f"seamline/v1/{E}/{S}/_gateway/{GW}/birth", body, Priority.STATE)]


class Gateway:
    """Spool + uplink + repair, as ``edge_agent.service.serve`` wires them."""

    def __init__(self, path: Path, port: int, *, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.spool = SqliteSpool(path, max_bytes=max_bytes, history_retention_ms=600_000)
        self.repair = Repair(spool=self.spool, topics=TOPICS, gateway_id=GW, now_ms=lambda: int(time.time() * 1000),
                             replay_after_ms=3000)
        self.port = port
        self.uplink = self.new_uplink()
        self.start_ms = int(time.time() * 1000) - 3_600_000

    def new_uplink(self) -> Uplink:
        uplink = Uplink(
            settings=UplinkSettings(host="127.0.0.1", port=self.port, client_id=f"edge-{GW}", backoff_initial_s=0.2,
                                    backoff_max_s=1.0),
            spool=self.spool, will=OutMessage(f"seamline/v1/{E}/{S}/_gateway/{GW}/status",
                                              b'{"gateway_id":"gw01","state":"offline"}', Priority.STATE, True),
            on_connect_messages=birth, subscriptions=self.repair.subscriptions(), on_message=self.repair.handle)
        self.repair.wake = uplink.wake
        return uplink

    def emit(self, seqs: range) -> None:
        for seq in seqs:
            self.spool.commit([OutMessage(f"seamline/v1/{E}/{S}/{AREA}/{a}/data", payload(seq, self.start_ms),
                                          Priority.AGGREGATE) for a in ASSETS])
            self.uplink.wake()

    def close(self) -> None:
        self.uplink.stop(timeout_s=3.0)
        self.spool.close()


def stored(url: str, db: str) -> dict[str, list[tuple[int, int]]]:
    """Per machine: the seq ranges stored in ``raw.sewing_machine``."""
    res = influx_query(url, 'SELECT "seq" FROM "raw"."sewing_machine" GROUP BY "asset"', db=db)
    out: dict[str, list[tuple[int, int]]] = {}
    for s in res["results"][0].get("series", []) or []:
        out[s["tags"]["asset"]] = seqranges.from_values(int(v[1]) for v in s["values"])
    return out


def missing(url: str, db: str, n: int) -> int:
    """Seq values 0..n-1 of the three machines not stored."""
    have = stored(url, db)
    return sum(n - seqranges.count(have.get(a, [])) for a in ASSETS)
