"""The agent's processing loop with a fake local broker and a real (file) spool: machine identity
is (line, machine) — small factories number the machines of every line m001, m002, ..."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson

from seamline.contracts.assets import SewingMachineMetrics
from seamline.contracts.messages import Sample, SewingMachineData, parse_data
from seamline.edge_agent.agent import EdgeAgent
from seamline.edge_agent.config import parse_config
from seamline.edge_agent.local import Inbound
from seamline.edge_agent.spool import SqliteSpool

T0 = 1_767_225_600_000  # a whole minute


class FakeLocal:
    """Hands out queued messages in order and records acks, like the local subscriber."""

    def __init__(self, messages: list[tuple[str, bytes]]) -> None:
        self.queue = [Inbound(t, p, mid=i + 1, qos=1, generation=1) for i, (t, p) in enumerate(messages)]
        self.acked: list[int] = []

    def get_batch(self, *, max_messages: int, timeout_s: float) -> list[Inbound]:
        batch, self.queue = self.queue[:max_messages], self.queue[max_messages:]
        return batch

    def ack(self, messages: Sequence[Inbound]) -> None:
        self.acked += [m.mid for m in messages]


def samples(current_a: float, n: int) -> bytes:
    msg = SewingMachineData(samples=[
        Sample[SewingMachineMetrics](ts_ms=T0 + i * 1000, seq=i, metrics=SewingMachineMetrics(current_a=current_a))
        for i in range(n)])
    return msg.model_dump_json(exclude_none=True).encode()


def test_same_machine_id_on_two_lines_stays_two_machines(tmp_path: Path) -> None:
    config = parse_config({"gateway": {"id": "gw1", "enterprise": "f001", "site": "s1"},
                           "uplink": {"host": "127.0.0.1"}, "spool": {"path": str(tmp_path / "s.db")}},
                          path=Path("edge.yaml")).settings()
    local = FakeLocal([("seamline/v1/f001/s1/line01/m001/data", samples(3.2, 120)),
                       ("seamline/v1/f001/s1/line02/m001/data", samples(0.45, 120))])
    spool = SqliteSpool(tmp_path / "s.db", max_bytes=10_000_000)
    agent = EdgeAgent(config=config, spool=spool, inbound=local, now_ms=lambda: T0, boot_id="b")
    while local.queue:
        agent.run_once(timeout_s=0)
    agent.flush_all()
    assert local.acked == [1, 2]
    run_s: dict[str, float] = {}
    for m in spool.peek(limit=1000):
        if m.topic.endswith("/data") and "/_gateway/" not in m.topic:
            line = m.topic.split("/")[4]
            for s in parse_data(m.payload).samples:
                run_s[line] = run_s.get(line, 0.0) + (s.metrics.run_s or 0.0)  # type: ignore[union-attr]
    assert run_s == {"line01": 120.0, "line02": 0.0}
    assert sorted(k for k in spool.checkpoints() if k.startswith("machine/")) == [
        "machine/line01/m001", "machine/line02/m001"]
    birth = [orjson.loads(m.payload) for m in spool.peek(limit=1000) if m.topic.endswith("/birth")]
    assert {(a["area"], a["asset"]) for a in birth[-1]["assets"]} == {("line01", "m001"), ("line02", "m001")}
    spool.close()
