"""A real PostgreSQL server (Debian's ``postgresql-15`` binaries) in its own data directory on a
free port, never the system instance on 5432.

``initdb`` runs once per data directory (trust authentication: a test server on loopback, or on
the addresses of the test's own network namespaces); ``postgres`` runs in the foreground under the
managed-process base, so stop/kill work as for the other servers. PostgreSQL refuses to run as
root: as root, the data and socket directory live in a fresh ``/tmp/seamline-pg-*`` owned by the
``postgres`` user (or ``nobody``), and the server runs as that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from seamline.localstack.ports import free_port
from seamline.localstack.process import ServerProcess

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _service_user() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pw = pwd.getpwnam(name)
            return pw.pw_uid, pw.pw_gid
    raise RuntimeError("PostgreSQL cannot run as root and there is no 'postgres' or 'nobody' user")


class PostgresProcess(ServerProcess):
    """``postgres -D <data> -p <port> -k <socket dir>`` listening on ``listen`` (default 127.0.0.1).

    ``trust_networks`` are CIDRs (besides loopback) whose clients may connect without a password,
    e.g. the subnet of a test's network namespaces. Durability settings are relaxed (``fsync=off``):
    a test server, thrown away after the session.
    """

    name = "postgres"

    def __init__(self, *, workdir: Path, port: int | None = None, listen: Sequence[str] = ("127.0.0.1",),
                 trust_networks: Sequence[str] = ()) -> None:
        super().__init__(workdir=workdir, port=port or free_port())
        self.listen = tuple(listen)
        self.trust_networks = tuple(trust_networks)
        self.run_as = _service_user()
        if self.run_as is None:
            self.home = self.workdir / "pg"
            self.home.mkdir(exist_ok=True)
        else:
            self.home = Path(tempfile.mkdtemp(prefix="seamline-pg-"))
            os.chown(self.home, *self.run_as)
        self.data_dir = self.home / "data"
        self.user = "postgres"

    def dsn(self, database: str = "postgres", *, host: str = "127.0.0.1") -> str:
        """A libpq connection URI for ``database`` as the superuser (trust: no password)."""
        return f"postgresql://{self.user}@{host}:{self.port}/{database}"

    def _tool(self, name: str) -> str:
        return self.binary(name, str(PG_BIN / name))

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        uid, gid = self.run_as if self.run_as else (None, None)
        out = subprocess.run(
            [self._tool("initdb"), "-D", str(self.data_dir), "-U", self.user, "--auth=trust", "--no-sync",
             "-E", "UTF8", "--locale=C"],
            capture_output=True, text=True, timeout=120, cwd=self.home, user=uid, group=gid,
            extra_groups=[] if self.run_as else None, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"initdb failed ({out.returncode}): {out.stderr[-2000:]}")
        if self.trust_networks:
            with open(self.data_dir / "pg_hba.conf", "a", encoding="utf-8") as hba:
                for net in self.trust_networks:
                    hba.write(f"host all all {net} trust\n")

    def argv(self) -> list[str]:
        self._initdb()
        return [
            self._tool("postgres"), "-D", str(self.data_dir), "-p", str(self.port), "-k", str(self.home),
            "-c", f"listen_addresses={','.join(self.listen)}",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=100", "-c", "log_min_messages=warning",
        ]

    def wait_ready(self, *, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        host = self.listen[0]
        while True:
            ok = subprocess.run([self._tool("pg_isready"), "-h", host, "-p", str(self.port), "-U", self.user,
                                 "-q", "-t", "1"], check=False, timeout=10).returncode == 0
            if ok:
                return
            if not self.running:
                raise TimeoutError("postgres exited during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError(f"pg_isready did not answer within {timeout_s:.0f} s")
            time.sleep(0.1)

    def psql(self, sql: str, *, database: str = "postgres") -> str:
        """Run SQL with ``psql`` (stop on the first error); return its unaligned, tuples-only output."""
        out = subprocess.run(
            [self._tool("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.listen[0],
             "-p", str(self.port), "-U", self.user, "-d", database, "-c", sql],
            capture_output=True, text=True, timeout=60, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"psql failed: {out.stderr.strip()[-2000:]}")
        return out.stdout

    def create_database(self, name: str) -> str:
        """Create an empty database; return its DSN."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def remove(self) -> None:
        """Stop and delete the data directory."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
