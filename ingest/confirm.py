"""``seamline ingest confirm``: the platform's end-to-end confirmer (contract: ``contracts.repair``).

At every interval it reads back the ``seq`` values durably stored in InfluxDB per asset (every
telemetry measurement and ``machine_state``, over ``window_s``), so it works with any number of
ingest workers; maps each asset to its gateway (``asset_info``, from the births); publishes per
gateway a retained ``confirm`` with the stored ranges; and for holes open longer than ``grace_s``
publishes a ``resend``. Gateways answer what they no longer have with ``lost`` reports: stored as
``seq_lost`` points and counted (definitively lost). Runs with ingest's config and identity.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from seamline.backoff import Backoff
from seamline.contracts import seqranges
from seamline.contracts.assets import AssetKind
from seamline.contracts.repair import MAX_RANGES, AssetRanges, ConfirmMessage, LostMessage, ResendMessage, SeqRange
from seamline.contracts.seqranges import Range
from seamline.contracts.topic import GATEWAY_AREA, MessageKind, Topic, TopicError, subscription
from seamline.ingest.config import IngestConfig
from seamline.ingest.confirm_plan import AssetKey, GatewayKey, HoleTracker, plan, ranges_by_asset
from seamline.mqtt_connect import MqttConnectError, apply_identity, connect_and_wait
from seamline.storage import schema
from seamline.storage.connect import point_writer, query_client
from seamline.storage.influxql import quote_ident
from seamline.storage.line_protocol import encode_line
from seamline.storage.query import decode
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.query_errors import QueryError
from seamline.storage.schema import Field, Retention, Tag

log = logging.getLogger(__name__)
# The longest wait between attempts to start while InfluxDB or the broker is away.
START_BACKOFF_MAX_S = 30.0

_IDENTITY = (Tag.ENTERPRISE, Tag.SITE, Tag.AREA, Tag.ASSET)


@dataclass(frozen=True, slots=True)
class ConfirmSettings:
    interval_s: float = 30.0
    grace_s: float = 60.0
    window_s: float = 86_400.0  # device time looked at, back from now


@dataclass(frozen=True, slots=True)
class ConfirmStats:
    rounds: int
    confirms_published: int
    resends_published: int
    open_hole_seqs: int
    repaired_seqs: int
    repaired_ranges: int
    lost_seqs: int
    lost_ranges: int


def _asset(tags: Mapping[str, str]) -> AssetKey:
    return (tags.get(Tag.ENTERPRISE, ""), tags.get(Tag.SITE, ""), tags.get(Tag.AREA, ""), tags.get(Tag.ASSET, ""))


class Confirmer:
    def __init__(self, config: IngestConfig, settings: ConfirmSettings, *, client_id: str | None = None) -> None:
        self._config = config
        self._s = settings
        self._influx: InfluxQLClient = query_client(config.influx)
        self._writer = point_writer(config.influx, Retention.RAW)
        self._rp = config.influx.rp(Retention.RAW)
        self._db = config.influx.database
        self._tracker = HoleTracker()
        self._lost: dict[AssetKey, list[Range]] = {}
        self.stored_keys: set[AssetKey] = set()
        self._lock = threading.Lock()
        self._rounds = self._confirms = self._resends = self._open = 0
        m = config.mqtt
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"{m.client_id}-confirm",
                                   protocol=mqtt.MQTTv311, clean_session=False)
        apply_identity(self._client, m)
        self._client.on_message = self._on_message
        self._client.on_connect = self._on_connect

    # -- reading what is stored --------------------------------------------------------------

    def stored(self) -> dict[AssetKey, list[Range]]:
        start_ms = int((time.time() - self._s.window_s) * 1000)
        measurements = [schema.telemetry(k) for k in AssetKind] + [schema.MACHINE_STATE]
        group = ", ".join(quote_ident(t) for t in _IDENTITY)
        q = ";".join(f"SELECT {quote_ident(m.field(Field.SEQ))} FROM {quote_ident(self._rp)}.{quote_ident(m.name)} "
                     f"WHERE time >= {start_ms}ms GROUP BY {group}" for m in measurements)
        rows: list[tuple[AssetKey, int]] = []
        for result in self._influx.query(q, db=self._db):
            for series in decode(result):
                key = _asset(series.tags)
                rows += [(key, int(r[Field.SEQ])) for r in series.rows if r.get(Field.SEQ) is not None]
        found = ranges_by_asset(rows)
        self.stored_keys = set(found)
        return found

    def gateways(self) -> dict[AssetKey, str]:
        m = schema.ASSET_INFO
        group = ", ".join(quote_ident(t) for t in _IDENTITY)
        gw = m.field(Field.GATEWAY)
        q = (f"SELECT last({quote_ident(gw)}) AS {quote_ident(gw)} FROM {quote_ident(self._rp)}."
             f"{quote_ident(m.name)} GROUP BY {group}")
        out: dict[AssetKey, str] = {}  # the gateways' own self-telemetry: area _gateway, asset = the gateway
        for e, s, area, asset in self.stored_keys:
            if area == GATEWAY_AREA:
                out[(e, s, area, asset)] = asset
        for result in self._influx.query(q, db=self._db):
            for series in decode(result):
                for r in series.rows:
                    if r.get(gw):
                        out[_asset(series.tags)] = str(r[gw])
        return out

    def load_lost(self) -> None:
        m = schema.SEQ_LOST
        group = ", ".join(quote_ident(t) for t in _IDENTITY)
        q = (f"SELECT {quote_ident(Field.FROM_SEQ)}, {quote_ident(Field.TO_SEQ)} FROM {quote_ident(self._rp)}."
             f"{quote_ident(m.name)} GROUP BY {group}")
        for result in self._influx.query(q, db=self._db):
            for series in decode(result):
                key = _asset(series.tags)
                got = [(int(r[Field.FROM_SEQ]), int(r[Field.TO_SEQ])) for r in series.rows]
                with self._lock:
                    self._lost[key] = seqranges.merge([*self._lost.get(key, []), *got])

    # -- one round -----------------------------------------------------------------------------

    def round(self) -> ConfirmStats:
        stored = self.stored()
        gateways = self.gateways()
        with self._lock:
            p = plan(stored, gateways, self._lost, self._tracker, now_s=time.monotonic(), grace_s=self._s.grace_s)
        now_ms = int(time.time() * 1000)
        for gw, assets in p.confirms.items():
            msg = ConfirmMessage(gateway_id=gw[2], generated_ts_ms=now_ms,
                                 window_start_ms=now_ms - int(self._s.window_s * 1000), assets=_assets(assets))
            self._publish(gw, MessageKind.CONFIRM, msg.model_dump_json().encode(), retain=True)
            self._confirms += 1
        for gw, assets in p.resends.items():
            req = ResendMessage(gateway_id=gw[2], request_id=f"r-{now_ms}-{uuid.uuid4().hex[:8]}",
                                generated_ts_ms=now_ms, assets=_assets(assets))
            self._publish(gw, MessageKind.RESEND, req.model_dump_json().encode(), retain=False)
            self._resends += 1
            log.info("confirm: asked gateway %s to resend %d range(s)", gw[2], sum(len(v) for v in assets.values()))
        self._rounds += 1
        self._open = p.open_holes
        return self.stats()

    def stats(self) -> ConfirmStats:
        with self._lock:
            lost = list(self._lost.values())
            return ConfirmStats(
                rounds=self._rounds, confirms_published=self._confirms, resends_published=self._resends,
                open_hole_seqs=self._open, repaired_seqs=self._tracker.repaired_seqs,
                repaired_ranges=len(self._tracker.repaired_ranges), lost_seqs=sum(seqranges.count(r) for r in lost),
                lost_ranges=sum(len(r) for r in lost))

    def lost_ranges(self) -> dict[AssetKey, list[Range]]:
        """Per asset, the seq ranges its gateway reported definitively lost (stored as ``seq_lost``)."""
        with self._lock:
            return {k: list(v) for k, v in self._lost.items() if v}

    def _publish(self, gw: GatewayKey, kind: MessageKind, payload: bytes, *, retain: bool) -> None:
        topic = Topic.gateway(enterprise=gw[0], site=gw[1], gateway_id=gw[2], kind=kind)
        self._client.publish(str(topic), payload, qos=1, retain=retain)

    # -- lost reports ----------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object,
                    props: object) -> None:
        client.subscribe(subscription(area=GATEWAY_AREA, kind=MessageKind.LOST), qos=1)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            topic = Topic.parse(message.topic)
            report = LostMessage.model_validate_json(message.payload)
        except (TopicError, ValueError) as exc:
            log.warning("confirm: ignored a lost report on %s: %s", message.topic, exc)
            return
        if report.gateway_id != topic.asset:
            log.warning("confirm: lost report on %s names gateway %s", message.topic, report.gateway_id)
            return
        self.record_lost(topic.enterprise, topic.site, report)

    def record_lost(self, enterprise: str, site: str, report: LostMessage) -> None:
        lines: list[str] = []
        with self._lock:
            for a in report.assets:
                key = (enterprise, site, a.area, a.asset)
                new = seqranges.subtract([(r.first, r.last) for r in a.ranges], self._lost.get(key, []))
                self._lost[key] = seqranges.merge([*self._lost.get(key, []), *new])
                if key in self._tracker.requested:
                    self._tracker.requested[key] = seqranges.subtract(self._tracker.requested[key], new)
                tags: dict[str, str] = {Tag.ENTERPRISE: enterprise, Tag.SITE: site, Tag.AREA: a.area,
                                        Tag.ASSET: a.asset, Tag.GATEWAY: report.gateway_id}
                schema.SEQ_LOST.check(tags=tags, fields=(Field.FROM_SEQ, Field.TO_SEQ, Field.MISSING))
                lines += [encode_line(schema.SEQ_LOST.name, tags, {Field.FROM_SEQ: f, Field.TO_SEQ: t,
                                                                    Field.MISSING: t - f + 1}, report.ts_ms + i)
                          for i, (f, t) in enumerate(new)]
        if lines:
            self._writer.write(lines)
            log.warning("confirm: gateway %s reports %d range(s) definitively lost", report.gateway_id, len(lines))

    # -- running ---------------------------------------------------------------------------------

    def start(self, stop: threading.Event | None = None) -> bool:
        """Read the lost ranges stored so far, connect and subscribe to the gateways' lost reports.
        Without ``stop`` one attempt (raises :class:`MqttConnectError` or :class:`QueryError`); with
        it, while InfluxDB or the broker is away or refuses, one warning line and another attempt
        after a jittered backoff (0.5 s doubling to ``START_BACKOFF_MAX_S``), until ``stop`` is set:
        then False."""
        if stop is None:
            self._start_once()
            return True
        backoff = Backoff(initial_s=0.5, max_s=START_BACKOFF_MAX_S, random=random.Random().random)
        while not stop.is_set():
            try:
                self._start_once()
                return True
            except (MqttConnectError, QueryError) as exc:
                delay = backoff.next_delay_s()
                log.warning("confirm: cannot start (%s); trying again in %.1f s", exc, delay)
                stop.wait(delay)
        return False

    def _start_once(self) -> None:
        m = self._config.mqtt
        self.load_lost()
        connect_and_wait(self._client, m.host, m.port, m, keepalive_s=m.keepalive_s)
        # connect_and_wait swaps on_connect for the first CONNACK: subscribe here, on_connect does it again after
        self._client.subscribe(subscription(area=GATEWAY_AREA, kind=MessageKind.LOST), qos=1)

    def run(self, stop: threading.Event) -> int:
        if not self.start(stop):
            self._writer.close()
            return 0
        try:
            while not stop.is_set():
                try:
                    s = self.round()
                    log.info("confirm: %s", s)
                except Exception:  # the database or the broker away: try again next interval
                    log.exception("confirm: round failed")
                stop.wait(self._s.interval_s)
        finally:
            self.close()
        return 0

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._writer.close()


def _assets(assets: Mapping[AssetKey, list[Range]]) -> list[AssetRanges]:
    return [AssetRanges(area=k[2], asset=k[3], ranges=[SeqRange(first=a, last=b) for a, b in v[-MAX_RANGES:]])
            for k, v in sorted(assets.items())]
