"""Gateways (the real edge :class:`Uplink` over a real :class:`SqliteSpool`) streaming into a NATS
cluster over MQTT 3.1.1 with a failover list, and the delivery each message saw (spool commit →
queryable in InfluxDB). Shared by the chaos tests and ``bench/nats_cluster.py``."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nats
import orjson

from seamline.edge_agent.repair import Repair, RepairTopics
from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings
from tests.support.ingest_harness import count_points, sewing_payload, sewing_topic

MEASUREMENT = "sewing_machine"


@dataclass
class Gateway:
    """One gateway: its spool, its uplink (brokers rotated so that gateway i prefers node i) and,
    with ``repair``, the edge's confirm/resend handling over the same connection."""

    name: str
    spool: SqliteSpool
    uplink: Uplink
    assets: int
    next_seq: dict[str, int] = field(default_factory=dict)
    repair: Repair | None = None

    def emit(self, n_per_asset: int, base_ms: int) -> list[float]:
        """Commit ``n_per_asset`` messages per asset (consecutive seq); the commit times."""
        out = []
        for a in range(self.assets):
            asset = f"{self.name}m{a}"
            start = self.next_seq.get(asset, 0)
            for seq in range(start, start + n_per_asset):
                out.append(OutMessage(sewing_topic(asset), sewing_payload(seq, base_ms + seq), Priority.AGGREGATE))
            self.next_seq[asset] = start + n_per_asset
        self.spool.commit(out)
        self.uplink.wake()
        return [time.monotonic()] * len(out)


def birth(gateway: str, assets: int) -> list[OutMessage]:
    """The gateway's birth (its assets: the confirmer maps each asset to its gateway from it)."""
    body = orjson.dumps({"schema_version": 1, "gateway_id": gateway, "ts_ms": int(time.time() * 1000),
                         "agent_version": "test", "boot_id": "b1",
                         "assets": [{"asset": f"{gateway}m{a}", "area": "line1", "asset_kind": "sewing_machine",
                                     "units": {}} for a in range(assets)]})
    return [OutMessage(f"seamline/v1/acme/s1/_gateway/{gateway}/birth", body, Priority.STATE)]


def make_gateways(n: int, addresses: Sequence[tuple[str, int]], workdir: Path, *, assets: int = 3,
                  repair: bool = False) -> list[Gateway]:
    """``repair``: keep what the broker acknowledged until a confirm covers it, answer resend
    requests, republish what no confirm covered after 3 s, and publish a birth on every connect and every 5 s
    (``rebirth_s``: a birth the cluster lost would leave the confirmer unable to map the assets)."""
    gws = []
    for i in range(n):
        name = f"gw{i}"
        rotated = tuple(addresses[i % len(addresses):]) + tuple(addresses[:i % len(addresses)])
        spool = SqliteSpool(workdir / f"{name}.sqlite", max_bytes=200_000_000,
                            history_retention_ms=600_000 if repair else 0)
        will = OutMessage(f"seamline/v1/acme/s1/_gateway/{name}/status", b'{"state":"offline"}', Priority.STATE,
                          retain=True)
        settings = UplinkSettings(host=rotated[0][0], port=rotated[0][1], brokers=rotated, protocol="3.1.1",
                                  client_id=f"edge-{name}", backoff_initial_s=0.2, backoff_max_s=1.0,
                                  keepalive_s=5, connect_timeout_s=2.0, rebirth_s=5.0 if repair else 0.0)
        fixer = Repair(spool=spool, topics=RepairTopics.of(enterprise="acme", site="s1", gateway_id=name),
                       gateway_id=name, now_ms=lambda: int(time.time() * 1000), replay_after_ms=3000) \
            if repair else None
        uplink = Uplink(settings=settings, spool=spool, will=will,
                        on_connect_messages=functools.partial(birth, name, assets) if repair else list,
                        subscriptions=fixer.subscriptions() if fixer else (),
                        on_message=fixer.handle if fixer else None)
        if fixer is not None:
            fixer.wake = uplink.wake
        gws.append(Gateway(name=name, spool=spool, uplink=uplink, assets=assets, repair=fixer))
    return gws


class DeliveryClock:
    """Polls the stored count; the k-th committed message counts as delivered when k points are
    stored (workers compete, so per-message order is not kept; this is order-free)."""

    def __init__(self, influx_url: str, db: str) -> None:
        self._url, self._db = influx_url, db
        self.committed: list[float] = []
        self.seen: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.1):
            self.seen.append((time.monotonic(), count_points(self._url, self._db, MEASUREMENT)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def latencies_s(self) -> list[float]:
        out, j = [], 0
        for k, committed in enumerate(self.committed):
            while j < len(self.seen) and self.seen[j][1] < k + 1:
                j += 1
            if j == len(self.seen):
                break
            out.append(max(0.0, self.seen[j][0] - committed))
        return out


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def stream_messages(servers: Sequence[str], stream: str = "SEAMLINE") -> int:
    """How many messages the stream holds (gateway resends after a failover are counted again)."""

    async def ask() -> int:
        nc = await nats.connect(list(servers))
        try:
            info = await nc.jetstream().stream_info(stream)
            return int(info.state.messages)
        finally:
            await nc.close()

    return asyncio.run(ask())


def consumer_state(servers: Sequence[str], stream: str = "SEAMLINE", durable: str = "ingest") -> str:
    """The stream's message count and the consumer's delivery state, for a failure message."""

    async def ask() -> str:
        nc = await nats.connect(list(servers))
        try:
            js = nc.jetstream()
            si = await js.stream_info(stream)
            ci = await js.consumer_info(stream, durable)
            return (f"stream {si.state.messages} msgs (last seq {si.state.last_seq}), consumer delivered "
                    f"{ci.delivered.stream_seq if ci.delivered else '?'}, ack floor "
                    f"{ci.ack_floor.stream_seq if ci.ack_floor else '?'}, pending {ci.num_pending}, "
                    f"ack pending {ci.num_ack_pending}, redelivered {ci.num_redelivered}")
        finally:
            await nc.close()

    return asyncio.run(ask())


def create_stream(servers: Sequence[str]) -> None:
    """The stream ingest creates at start-up (its default config), made before any worker runs."""
    from seamline.ingest.config import JetStreamConfig
    from seamline.ingest.jetstream import stream_config

    async def create() -> None:
        nc = await nats.connect(list(servers))
        try:
            await nc.jetstream().add_stream(stream_config(JetStreamConfig(servers=tuple(servers))))
        finally:
            await nc.close()

    asyncio.run(create())


def delete_stream_messages(servers: Sequence[str], first: int, last: int, stream: str = "SEAMLINE") -> int:
    """Delete stream sequences ``first..last``: the stream losing messages it had PUBACKed, as
    nats-server 2.9.10 does when a node dies (but here always, and always the same ones)."""

    async def delete() -> int:
        nc = await nats.connect(list(servers))
        try:
            js = nc.jetstream()
            return sum([await js.delete_msg(stream, seq) for seq in range(first, last + 1)])
        finally:
            await nc.close()

    return asyncio.run(delete())


def stream_keys(servers: Sequence[str], stream: str = "SEAMLINE") -> set[tuple[str, int]]:
    """The distinct (subject, seq) pairs the stream captured, read with a throw-away consumer."""
    from nats.errors import TimeoutError as NatsTimeout

    async def read() -> set[tuple[str, int]]:
        nc = await nats.connect(list(servers))
        keys: set[tuple[str, int]] = set()
        try:
            js = nc.jetstream()
            total = int((await js.stream_info(stream)).state.messages)
            sub = await js.pull_subscribe("seamline.v1.>", stream=stream)
            seen = 0
            while seen < total:
                try:
                    msgs = await sub.fetch(500, timeout=2.0)
                except NatsTimeout:
                    break
                for m in msgs:
                    seen += 1
                    for sample in orjson.loads(m.data).get("samples", []):
                        keys.add((m.subject, int(sample["seq"])))
                    await m.ack()
        finally:
            await nc.close()
        return keys

    deadline = time.monotonic() + 60
    while True:  # the JetStream API can time out for a while after a node was lost
        try:
            return asyncio.run(read())
        except (NatsTimeout, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
