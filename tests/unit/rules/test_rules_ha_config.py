"""HA configuration: lease kinds, the PostgreSQL DSN as a secret (file, environment, never echoed),
timing checks, dynamic shards, and the composition root wiring each mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from seamline.rules.bootstrap import make_catchup, make_coordination, make_service
from seamline.rules.config import ConfigError, lease_dsn, load_config
from seamline.rules.coordination.pg_lease import PgLease
from seamline.rules.coordination.shard_leases import ShardLeases
from seamline.rules.coordination.window_ledger import PgLedger
from seamline.rules.lease import FileLease, NoLease

SAMPLE_MASTER = Path(__file__).parents[3] / "rules" / "master_data.sample.yaml"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rules.yaml"
    p.write_text(f"master_data: {SAMPLE_MASTER}\ncapacity: {{enabled: false}}\n" + text)
    return p


PG = "lease: {kind: postgres, dsn: 'postgresql://rules:pw-123@db:5432/seamline', ttl_s: 30, renew_s: 5, margin_s: 10}\n"


def test_dynamic_shards_need_the_postgres_lease(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"shards: dynamic needs lease\.kind: postgres"):
        load_config(write(tmp_path, "shards: dynamic\nlease: {kind: file, path: x.lease}\n"))
    with pytest.raises(ConfigError, match="shard: i/n is for shards: static"):
        load_config(write(tmp_path, PG + "shards: dynamic\nshard: 1/2\n"))


def test_postgres_lease_needs_a_dsn_and_sane_timings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"lease\.dsn: required"):
        load_config(write(tmp_path, "lease: {kind: postgres}\n"))
    with pytest.raises(ConfigError, match=r"renew_s \+ margin_s \+ max\(timeout_s, connect_timeout_s\) < ttl_s"):
        load_config(write(tmp_path, "lease: {kind: postgres, dsn: x, ttl_s: 20, renew_s: 10, margin_s: 8}\n"))


def test_the_dsn_is_a_secret_from_the_file_the_environment_or_a_dsn_file(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(write(tmp_path, PG))
    assert "pw-123" not in repr(cfg) and "pw-123" not in str(cfg.lease)
    assert lease_dsn(cfg).get_secret_value().endswith("@db:5432/seamline")
    (tmp_path / "dsn").write_text("postgresql://rules:from-file@db/seamline\n")
    cfg = load_config(write(tmp_path, "lease: {kind: postgres, dsn_file: dsn}\n"))
    assert lease_dsn(cfg).get_secret_value() == "postgresql://rules:from-file@db/seamline"
    cfg = load_config(write(tmp_path, "lease: {kind: postgres, dsn_file: missing}\n"))
    with pytest.raises(ConfigError, match=r"lease\.dsn_file: .*missing: cannot read"):
        lease_dsn(cfg)
    monkeypatch.setenv("SEAMLINE_RULES_LEASE__DSN", "postgresql://rules:from-env@db/seamline")
    cfg = load_config(write(tmp_path, "lease: {kind: postgres}\n"))
    assert lease_dsn(cfg).get_secret_value() == "postgresql://rules:from-env@db/seamline"


def test_the_composition_root_wires_each_mode_without_connecting(tmp_path: Path) -> None:
    assert isinstance(make_coordination(load_config(write(tmp_path, ""))).lease, NoLease)
    assert isinstance(make_coordination(load_config(write(tmp_path, "lease: {kind: file, path: r.lease}\n"))).lease,
                      FileLease)
    static = make_coordination(load_config(write(tmp_path, PG + "shard: 1/3\n")))
    assert isinstance(static.lease, PgLease) and static.lease.name == "rules/static/1of3"
    assert static.ownership is static.lease and isinstance(static.ledger, PgLedger)
    cfg = load_config(write(tmp_path, PG + "shards: dynamic\nshard_count: 16\n"))
    svc = make_service(cfg)
    assert isinstance(svc.lease, ShardLeases) and svc.owner is svc.lease and svc.lease.shard_count == 16
    assert len(svc.master.enterprises) == 2  # all of them: the leases decide at run time
    assert make_catchup(cfg, svc) is not None
    assert make_catchup(load_config(write(tmp_path, "")), make_service(load_config(write(tmp_path, "")))) is None
