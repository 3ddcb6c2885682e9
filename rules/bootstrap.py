"""The one place that wires the rules service from its config: InfluxQL source, KPI writer,
lease (file, PostgreSQL, or dynamic shards over PostgreSQL) and window ledger, capacity feed (with
its MQTT bookings reader). Nothing connects until a job runs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from seamline.mqtt_identity import tls_client_context
from seamline.rules.bookings import MqttBookingsReader
from seamline.rules.capacity_feed import CapacityFeed, Publisher, RetryPolicy, UrllibPoster
from seamline.rules.catchup import Catchup, CatchupSettings
from seamline.rules.config import RulesConfig, lease_dsn
from seamline.rules.energy_kpi import EnergySettings
from seamline.rules.green_feed import CarbonFeed
from seamline.rules.green_ledger import InfluxCertificateLedger
from seamline.rules.jobs import RulesService
from seamline.rules.kpi_points import KpiPointWriter
from seamline.rules.lease import FileLease, Lease, NoLease
from seamline.rules.ledger import Ledger, NoLedger
from seamline.rules.master_data import MasterData, load_master_data
from seamline.rules.mqtt_publisher import MqttPublisher
from seamline.rules.ownership import Ownership
from seamline.rules.source import InfluxSource, SourceSettings
from seamline.storage.connect import point_writer, query_client
from seamline.storage.query import CountingClient
from seamline.storage.schema import Retention


def sharded_master(cfg: RulesConfig) -> MasterData:
    """The master data restricted to this replica's static shard (may be empty of enterprises); all
    of it with dynamic shards (the leases decide at run time)."""
    master = load_master_data(cfg.master_data)
    if cfg.shards == "dynamic":
        return master
    shard = cfg.shard_spec
    return master.model_copy(update={"enterprises": [e for e in master.enterprises if shard.owns(e.id)]})


@dataclass(frozen=True, slots=True)
class Coordination:
    """The lease, who owns what under it (``None``: the lease covers everything) and the ledger."""

    lease: Lease
    ownership: Ownership | None = None
    ledger: Ledger | None = None


def make_coordination(cfg: RulesConfig) -> Coordination:
    lc = cfg.lease
    if lc.kind != "postgres":
        if lc.kind == "file" and lc.path is not None:
            return Coordination(FileLease(lc.path, holder=lc.holder, ttl_s=lc.ttl_s))
        return Coordination(NoLease())
    from seamline.rules.coordination.database import Database, PgSettings
    from seamline.rules.coordination.lease_table import LeaseTable
    from seamline.rules.coordination.membership import Membership
    from seamline.rules.coordination.pg_lease import PgLease
    from seamline.rules.coordination.schema import ensure_schema
    from seamline.rules.coordination.shard_leases import ShardLeases
    from seamline.rules.coordination.window_ledger import PgLedger

    def database(role: str) -> Database:
        return Database(PgSettings(dsn=lease_dsn(cfg), application_name=f"seamline-rules {role} {lc.holder}"[:63],
                                   connect_timeout_s=lc.connect_timeout_s, timeout_s=lc.timeout_s),
                        on_connect=ensure_schema)

    # Two connections: leases and heartbeats on one, so a renewal never waits behind the writers'
    # fence checks and ledger statements on the other.
    leases, work = database("lease"), database("work")
    table = LeaseTable(leases, holder=lc.holder, ttl_s=lc.ttl_s, margin_s=lc.margin_s, check_db=work)
    ledger = PgLedger(work, holder=lc.holder)
    if cfg.shards == "dynamic":
        shards = ShardLeases(table, Membership(leases, group=lc.name, replica=lc.holder, ttl_s=lc.ttl_s),
                             group=lc.name, shard_count=cfg.shard_count)
        return Coordination(shards, shards, ledger)
    spec = cfg.shard_spec
    single = PgLease(table, f"{lc.name}/static/{spec.index}of{spec.count}")
    return Coordination(single, single, ledger)


def make_lease(cfg: RulesConfig) -> Lease:
    return make_coordination(cfg).lease


def _publisher_factory(cfg: RulesConfig) -> Callable[[], contextlib.AbstractContextManager[Publisher]]:
    m = cfg.mqtt

    @contextlib.contextmanager
    def open_publisher() -> Iterator[Publisher]:
        with MqttPublisher(host=m.host, port=m.port, client_id=m.client_id, identity=m,
                           timeout_s=m.publish_timeout_s) as pub:
            yield pub

    return open_publisher


def bookings_reader(cfg: RulesConfig) -> MqttBookingsReader:
    m, c = cfg.mqtt, cfg.capacity
    # its own client id: the capacity publisher connects with m.client_id right after
    return MqttBookingsReader(host=m.host, port=m.port, client_id=f"{m.client_id}-bookings", identity=m,
                              quiet_s=c.bookings_quiet_s, timeout_s=c.bookings_timeout_s,
                              max_messages=c.bookings_max_messages)


def make_feed(cfg: RulesConfig, master: MasterData, lease: Lease, ownership: Ownership | None = None) -> CapacityFeed:
    c = cfg.capacity
    return CapacityFeed(
        client=CountingClient(query_client(cfg.influx), database=cfg.influx.database), master=master,
        kpi_rp=cfg.influx.kpi_rp, bookings=bookings_reader(cfg), publisher=_publisher_factory(cfg),
        poster=UrllibPoster(timeout_s=c.http_timeout_s, token=c.http_token,
                            context=tls_client_context(ca=c.http_tls_ca) if c.http_tls_ca else None)
        if c.http_url else None, http_url=c.http_url,
        retry=RetryPolicy(attempts=c.http_attempts, backoff_s=c.http_backoff_s, max_backoff_s=c.http_max_backoff_s),
        fence=lease, ownership=ownership, writer=KpiPointWriter(point_writer(cfg.influx, Retention.KPI), fence=lease),
    )


def make_carbon_feed(cfg: RulesConfig, master: MasterData, lease: Lease) -> CarbonFeed:
    return CarbonFeed(client=CountingClient(query_client(cfg.influx), database=cfg.influx.database), master=master,
                      kpi_rp=cfg.influx.kpi_rp, publisher=_publisher_factory(cfg), days=master.kpi.efficiency_days,
                      fence=lease)


def make_service(cfg: RulesConfig, *, master: MasterData | None = None, lease: Lease | None = None) -> RulesService:
    """The rules service: reads RP ``raw`` and writes RP ``kpi`` of ``cfg.influx`` — InfluxDB 1.x, or
    2.x/3.x (token; KPI points through the v2 write API into the kpi bucket, reads through the
    DBRP-mapped InfluxQL endpoint)."""
    master = master if master is not None else sharded_master(cfg)
    coord = make_coordination(cfg) if lease is None else Coordination(lease)
    lease = coord.lease
    i = cfg.influx
    source = InfluxSource(query_client(i), SourceSettings(database=i.database, rp=i.raw_rp,
                                                           margin_s=cfg.energy.max_hold_s,
                                                           aggregate_path=cfg.aggregate_path))
    writer = point_writer(i, Retention.KPI)
    energy = EnergySettings(max_hold_s=cfg.energy.max_hold_s, max_gap_s=cfg.energy.max_gap_s,
                            coverage_threshold=master.kpi.coverage_threshold)
    green = master.green is not None
    ledger = InfluxCertificateLedger(CountingClient(query_client(i), database=i.database), kpi_rp=i.kpi_rp)
    return RulesService(source=source, master=master, writer=KpiPointWriter(writer, fence=lease), lease=lease,
                        feed=make_feed(cfg, master, lease, coord.ownership) if cfg.capacity.enabled else None,
                        energy=energy, batch_machines=cfg.batch_machines,
                        carbon=make_carbon_feed(cfg, master, lease) if green and cfg.capacity.enabled else None,
                        green_ledger=ledger if green else None,
                        shift_lookback_days=cfg.jobs.shift_lookback_days, ownership=coord.ownership,
                        ledger=coord.ledger or NoLedger())


def make_catchup(cfg: RulesConfig, service: RulesService) -> Catchup | None:
    """The ledger job, when the ledger is in PostgreSQL (``lease.kind: postgres``)."""
    from seamline.rules.coordination.window_ledger import PgLedger

    if not isinstance(service.ledger, PgLedger):
        return None
    lg = cfg.ledger
    return Catchup(service, service.ledger, CatchupSettings(
        delay_s=cfg.jobs.delay_s, grace_s=lg.grace_s, horizon_h=lg.horizon_h, batch=lg.batch, stale_s=lg.stale_s,
        keep_days=lg.keep_days))
