"""The spool on a real, tiny filesystem (a 1 MiB tmpfs; skipped where mounting is not allowed): a
full disk is no crash, the policy drops and counts, one log line says why, and writing resumes
when space returns; with a reserve the spool stops growing before SQLite ever sees a full disk."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool

pytestmark = pytest.mark.integration

TOPIC = "seamline/v1/f001/s1/line01/m001/data"


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def message(seq: int) -> OutMessage:
    body = orjson.dumps({"schema_version": 1, "asset_kind": "sewing_machine",
                         "samples": [{"ts_ms": 1_764_291_600_000 + seq, "seq": seq, "metrics": {"run_s": 1.0}}],
                         "pad": "x" * 400})
    return OutMessage(TOPIC, body, Priority.AGGREGATE)


def fill(path: Path, n_bytes: int) -> None:
    with open(path, "wb") as f:
        f.write(b"\0" * n_bytes)


def test_a_full_disk_drops_and_counts_then_resumes(tiny_fs: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    filler = tiny_fs / "filler"
    fill(filler, 600 * 1024)
    with SqliteSpool(tiny_fs / "spool.sqlite", max_bytes=8 * 1024 * 1024) as spool:  # bound above the disk
        for seq in range(2000):
            spool.commit([message(seq)])  # never raises
        stats = spool.stats()
        assert stats.disk_full_dropped > 0
        assert stats.messages + stats.disk_full_dropped == 2000
        assert sum("disk full" in r.getMessage() for r in caplog.records) == 1
        filler.unlink()
        stored = stats.messages
        for seq in range(2000, 2100):
            spool.commit([message(seq)])
        assert spool.stats().messages > stored
        assert any("disk space is back" in r.getMessage() for r in caplog.records)


def test_with_a_reserve_the_spool_stops_growing_before_the_disk_is_full(tiny_fs: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    with SqliteSpool(tiny_fs / "spool.sqlite", max_bytes=8 * 1024 * 1024, reserve_bytes=256 * 1024) as spool:
        for seq in range(3000):
            spool.commit([message(seq)])
        stats = spool.stats()
        assert stats.disk_full_dropped == 0  # SQLite never hit the wall
        assert stats.dropped_total > 0 and stats.messages + stats.dropped_total == 3000
        assert stats.footprint_bytes <= 1024 * 1024
