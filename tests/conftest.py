"""Shared fixtures: real Mosquitto, InfluxDB, Alertmanager and PostgreSQL servers on free loopback
ports, each with its own generated config and temporary data directory. Never a system-wide service."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from seamline.localstack import AlertmanagerProcess, InfluxdProcess, MosquittoProcess, PostgresProcess
from seamline.localstack.mosquitto import BrokerOptions

# CI explores a fixed set of examples (a red build must be reproducible); developers' runs explore
# new ones every time. No per-example deadline: the shared 2-core machines stall at random.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """A fresh broker per test (persistence on, so a restart keeps sessions)."""
    broker = MosquittoProcess(workdir=tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., MosquittoProcess]]:
    """Make extra brokers (e.g. a gateway's local broker and the central one) with options."""
    made: list[MosquittoProcess] = []

    def make(name: str = "broker", options: BrokerOptions | None = None) -> MosquittoProcess:
        b = MosquittoProcess(workdir=tmp_path / f"mosquitto-{name}-{len(made)}", options=options)
        b.start()
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxdProcess]:
    """One InfluxDB 1.x server per test session; tests isolate themselves with `influx_db`."""
    server = InfluxdProcess(workdir=tmp_path_factory.mktemp("influxd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def influx_db(influxd: InfluxdProcess) -> Iterator[str]:
    """A fresh, empty database name on the session's InfluxDB; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    influxd.query(f'CREATE DATABASE "{name}"')
    yield name
    influxd.query(f'DROP DATABASE "{name}"')


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresProcess]:
    """One PostgreSQL server per test session (own data dir, free port; never the system instance on
    5432); tests isolate themselves with `pg_dsn`."""
    server = PostgresProcess(workdir=tmp_path_factory.mktemp("postgres"))
    server.start(timeout_s=60)
    yield server
    server.remove()


@pytest.fixture
def pg_dsn(postgres: PostgresProcess) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL (its DSN); dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = postgres.create_database(name)
    yield dsn
    postgres.drop_database(name)


@pytest.fixture
def alertmanager_factory(tmp_path: Path) -> Iterator[Callable[..., AlertmanagerProcess]]:
    """Start real Alertmanagers: ``make(config_text)`` for one with gossip off, ``make(config_text,
    cluster=True, peers=(other.cluster_address,))`` for members of an HA cluster."""
    made: list[AlertmanagerProcess] = []

    def make(config_text: str, *, cluster: bool = False, peers: tuple[str, ...] = ()) -> AlertmanagerProcess:
        am = AlertmanagerProcess(workdir=tmp_path / f"alertmanager-{len(made)}", config_text=config_text,
                                 cluster=cluster, peers=peers)
        am.start()
        made.append(am)
        return am

    yield make
    for am in made:
        am.stop()
