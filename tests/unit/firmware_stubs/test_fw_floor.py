from __future__ import annotations

import argparse

import pytest

from seamline.contracts.messages import parse_data
from seamline.errors import UsageError
from seamline.firmware_stubs.cli import register
from seamline.firmware_stubs.clock import SimClock
from seamline.firmware_stubs.sewing.cli import parse_duration_ms, parse_start_ms
from seamline.firmware_stubs.sewing.floor import FloorSpec, build_floor, run_floor

T0 = 1_740_958_200_000  # 2025-03-03 07:30 Asia/Shanghai


class FakePublisher:
    """Keeps what was published, in order, like a broker that acks everything."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, payload))

    def close(self) -> None:
        pass


def spec(**kw: object) -> FloorSpec:
    base: dict[str, object] = dict(factories=2, lines=2, machines=2, start_ms=T0, end_ms=T0 + 3_600_000, seed=5)
    base.update(kw)
    return FloorSpec(**base)  # type: ignore[arg-type]


def test_floor_addresses_and_profiles_deterministic() -> None:
    a, b = build_floor(spec()), build_floor(spec())
    assert a == b
    assert [n.addr.key for n in a][:3] == ["f001/s1/line01/m001", "f001/s1/line01/m002", "f001/s1/line02/m001"]
    assert len({n.seed for n in a}) == len(a)  # every node its own stream
    assert build_floor(spec(seed=6)) != a


def test_run_floor_publishes_identical_bytes_for_same_seed() -> None:
    p1, p2 = FakePublisher(), FakePublisher()
    r1 = run_floor(spec(faults="heavy"), publisher=p1, clock=SimClock(T0, 0))
    run_floor(spec(faults="heavy"), publisher=p2, clock=SimClock(T0, 0))
    assert p1.sent == p2.sent
    t = r1.totals()
    assert t["messages"] == len(p1.sent)
    assert t["samples_produced"] == 8 * 3600
    lost_samples = sum(1 for r in r1.nodes for _, _, what in r.log.lost if what == "sample")
    assert t["samples_sent"] + lost_samples == t["samples_produced"]
    assert t["lost_events"] > 0 and t["duplicated_messages"] > 0
    assert t["garbage_messages"] == sum(1 for tp, pl in p1.sent if tp.endswith("/data") and _invalid(pl))


def _invalid(payload: bytes) -> bool:
    try:
        parse_data(payload)
    except ValueError:
        return True
    return False


def test_truth_json_has_every_node() -> None:
    r = run_floor(spec(machines=1), publisher=FakePublisher(), clock=SimClock(T0, 0))
    truth = r.truth_json()
    assert len(truth["nodes"]) == 4
    node = truth["nodes"][0]
    assert node["truth"][0][:3] == [T0, T0 + 1_800_000, "off"]  # 07:30-08:00 before the shift
    assert node["truth"][-1][1] == T0 + 3_600_000


def test_cli_parsers() -> None:
    assert parse_duration_ms("8h") == 8 * 3_600_000
    assert parse_duration_ms("1h30m") == 5_400_000
    assert parse_duration_ms("45s") == 45_000
    with pytest.raises(UsageError):
        parse_duration_ms("8 hours")
    assert parse_start_ms("2025-03-03T07:30:00", tz="Asia/Shanghai") == T0
    assert parse_start_ms("2025-03-02T23:30:00+00:00", tz="Asia/Shanghai") == T0
    with pytest.raises(UsageError):
        parse_start_ms("yesterday", tz="Asia/Shanghai")


def test_register_adds_sim_sewing() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["sim", "sewing", "--factories", "3", "--speed", "600", "--duration", "1h"])
    assert (args.factories, args.speed, args.duration, args.faults) == (3, 600.0, "1h", "none")
    assert callable(args.handler)
