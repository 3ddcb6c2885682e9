"""Real process deaths: SIGKILL mid-stream and a torn WAL tail. Each transaction (3 messages +
a checkpoint naming the transaction) must be either wholly there or wholly absent, and every
transaction whose commit() returned must be there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from seamline.edge_agent.spool import SqliteSpool

WRITER = """
import os, sys
from pathlib import Path
from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
path, stop_after = Path(sys.argv[1]), int(sys.argv[2])
spool = SqliteSpool(path, max_bytes=1 << 30)
for tx in range(100_000):
    msgs = [OutMessage(f"t/{j}", f"{tx}:{j}".encode() + b"p" * 200, Priority(j)) for j in range(3)]
    spool.commit(msgs, {"last_tx": str(tx).encode()})
    print(tx, flush=True)
    if tx == stop_after:
        os._exit(0)  # no close(): the WAL stays as a dead process leaves it
"""


def start_writer(path: Path, stop_after: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(stop_after)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[3],
    )


def transactions(path: Path) -> tuple[list[int], bytes | None]:
    """Transaction numbers found in the spool (each checked to be complete) and the checkpoint."""
    spool = SqliteSpool(path, max_bytes=1 << 30)
    try:
        by_tx: dict[int, list[int]] = {}
        after = 0
        while batch := spool.peek(after_id=after, limit=500):
            for m in batch:
                tx, j = m.payload.split(b"p", 1)[0].decode().split(":")
                by_tx.setdefault(int(tx), []).append(int(j))
            after = batch[-1].id
        assert all(js == [0, 1, 2] for js in by_tx.values()), "a transaction was split"
        return sorted(by_tx), spool.load_checkpoint("last_tx")
    finally:
        spool.close()


def test_sigkill_mid_stream_keeps_every_returned_commit(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    proc = start_writer(path, stop_after=10**9)
    assert proc.stdout is not None
    confirmed = -1
    try:
        for line in proc.stdout:
            confirmed = int(line)
            if confirmed >= 150:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(timeout=10)
    txs, ckpt = transactions(path)
    assert txs[: confirmed + 1] == list(range(confirmed + 1))
    assert len(txs) in (confirmed + 1, confirmed + 2)  # at most the one commit in progress
    assert ckpt == str(txs[-1]).encode()  # the checkpoint moved with its messages


def test_torn_wal_tail_keeps_all_complete_transactions(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    proc = start_writer(path, stop_after=40)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert out.split()[-1] == "40"
    wal = Path(f"{path}-wal")
    size = wal.stat().st_size
    assert size > 0, "the writer must leave its commits in the WAL for this test to mean anything"
    os.truncate(wal, size - 5)  # the last frame (the commit frame of tx 40) is now torn
    txs, ckpt = transactions(path)
    assert txs == list(range(40))
    assert ckpt == b"39"
    # and the spool is writable again after recovery
    s = SqliteSpool(path, max_bytes=1 << 30)
    s.commit([], {"after": b"recovery"})
    s.close()
    assert transactions(path)[0] == list(range(40))
