"""InfluxDB 1.x with `auth-enabled = true`, users made by `seamline db users`: ingest writes with
its user and cannot read; dashboards reads and cannot write; rules reads and writes; no
credentials, a wrong password or another user's role is refused — and no password is printed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from seamline.cli import main
from seamline.localstack.influxdb import InfluxdProcess
from seamline.storage.config import InfluxConfig
from seamline.storage.connect import point_writer, query_client
from seamline.storage.query_errors import QueryAuthError, QueryError
from seamline.storage.schema import Retention
from seamline.storage.write_errors import WriteError

pytestmark = pytest.mark.integration
DB = "seamline"


@pytest.fixture(scope="module")
def auth_influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxdProcess]:
    server = InfluxdProcess(workdir=tmp_path_factory.mktemp("influxd-auth"), auth=True)
    server.start()
    yield server
    server.stop()


def config(server: InfluxdProcess, pwdir: Path, user: str | None) -> InfluxConfig:
    if user is None:
        return InfluxConfig(url=server.url, database=DB)
    return InfluxConfig.model_validate({"url": server.url, "database": DB, "username": user,
                                        "password_file": str(pwdir / f"{user}.password")})


def line(value: int) -> str:
    return f"authprobe,line=l1 v={value}i 1893974400000"


def test_service_users_have_only_their_role(auth_influxd: InfluxdProcess, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    pwdir = tmp_path / "influx-passwords"
    url = ["--url", auth_influxd.url, "--database", DB]
    assert main(["db", "users", *url, "--passwords-dir", str(pwdir)]) == 0
    assert main(["db", "users", *url, "--passwords-dir", str(pwdir)]) == 0  # idempotent
    assert main(["db", "init", *url, "--username", "admin", "--password-file", str(pwdir / "admin.password")]) == 0
    printed = capsys.readouterr()
    secrets = {p.name: p.read_text() for p in pwdir.iterdir()}
    assert set(secrets) == {"admin.password", "ingest.password", "dashboards.password", "rules.password"}
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in pwdir.iterdir())
    for s in secrets.values():
        assert s not in printed.out + printed.err
    assert "user ingest: WRITE on seamline" in printed.out

    ingest, dashboards, rules = (config(auth_influxd, pwdir, u) for u in ("ingest", "dashboards", "rules"))
    point_writer(ingest, Retention.RAW).write([line(1)])  # ingest writes
    with pytest.raises(QueryError, match="not authorized"):  # and cannot read
        query_client(ingest).query(f'SELECT count(v) FROM "{DB}"."raw"."authprobe"')
    rows = query_client(dashboards).query(f'SELECT count(v) FROM "{DB}"."raw"."authprobe"')  # dashboards reads
    assert rows[0]["series"][0]["values"][0][1] == 1
    with pytest.raises(WriteError):  # and cannot write
        point_writer(dashboards, Retention.RAW).write([line(2)])
    point_writer(rules, Retention.KPI).write([line(3)])  # rules writes KPIs and reads
    kpi = query_client(rules).query(f'SELECT count(v) FROM "{DB}"."kpi"."authprobe"')
    assert kpi[0]["series"][0]["values"][0][1] == 1

    with pytest.raises(QueryAuthError):  # no credentials
        query_client(config(auth_influxd, pwdir, None)).query("SHOW DATABASES")
    wrong = InfluxConfig.model_validate({"url": auth_influxd.url, "database": DB, "username": "dashboards",
                                         "password": "not-" + secrets["dashboards.password"]})
    with pytest.raises(QueryAuthError) as exc:
        query_client(wrong).query(f'SELECT count(v) FROM "{DB}"."raw"."authprobe"')
    assert secrets["dashboards.password"] not in str(exc.value)
    # nothing but the two allowed writes landed
    total = query_client(rules).query(f'SELECT count(v) FROM "{DB}"."raw"."authprobe"')[0]["series"][0]["values"][0][1]
    assert total == 1
