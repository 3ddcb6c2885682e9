"""Twin factories and idle lines on the simulated floor: a twin copies its original's styles,
machines, operators and seeds; an idle line keeps its machines powered and idle (no work), and
the floor the meters draw is the floor the nodes publish."""

from __future__ import annotations

import pytest

from seamline.contracts.messages import MachineState
from seamline.firmware_stubs.clock import SimClock
from seamline.firmware_stubs.sewing.floor import FloorSpec, IdleLine, PreparedNode, prepare_floor, run_floor
from seamline.firmware_stubs.sewing.shift import BlockKind, CalendarBlock, ShiftPattern, with_no_work

T0 = 1_740_958_200_000  # 2025-03-03 07:30 Asia/Shanghai (a Monday)
H = 3_600_000
IDLE = IdleLine("f002", "line01", T0 + 2 * H, T0 + 3 * H)  # 09:30-10:30


class FakePublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, payload))

    def close(self) -> None:
        pass


def spec(**kw: object) -> FloorSpec:
    base: dict[str, object] = dict(factories=2, lines=2, machines=2, start_ms=T0, end_ms=T0 + 5 * H, seed=5,
                                   shift=ShiftPattern(), twins=(("f002", "f001"),))
    base.update(kw)
    return FloorSpec(**base)  # type: ignore[arg-type]


def by_key(nodes: list[PreparedNode]) -> dict[tuple[str, str, str], PreparedNode]:
    return {(p.node.addr.enterprise, p.node.addr.line, p.node.addr.machine): p for p in nodes}


def test_a_twin_runs_exactly_as_its_original() -> None:
    nodes = by_key(prepare_floor(spec()))
    for (ent, line, m), p in nodes.items():
        if ent == "f002":
            orig = nodes[("f001", line, m)]
            assert p.node.profile == orig.node.profile and p.node.seed == orig.node.seed
            assert p.sim.timeline == orig.sim.timeline


def test_an_idle_line_idles_powered_and_makes_nothing_meanwhile() -> None:
    nodes = by_key(prepare_floor(spec(idle_lines=(IDLE,))))
    for m in ("m001", "m002"):
        idle, orig = nodes[("f002", "line01", m)].sim, nodes[("f001", "line01", m)].sim
        inside = [s for s in idle.timeline.segments if s.end_ms > IDLE.start_ms and s.start_ms < IDLE.end_ms]
        states = {(s.state, s.reason, s.powered) for s in inside}  # the 10:00 tea break stays a break
        assert states == {(MachineState.IDLE, "no_work", True), (MachineState.IDLE, "break", True)}
        assert not [t for t in idle.timeline.pieces_ms if IDLE.start_ms < t < IDLE.end_ms]
        assert len(idle.timeline.pieces_ms) < len(orig.timeline.pieces_ms)
        before = [s for s in idle.timeline.segments if s.end_ms < IDLE.start_ms]
        assert before == [s for s in orig.timeline.segments if s.end_ms < IDLE.start_ms]  # twins until then
    assert nodes[("f002", "line02", "m001")].sim.timeline == nodes[("f001", "line02", "m001")].sim.timeline


def test_the_floor_published_is_the_floor_prepared() -> None:
    s = spec(idle_lines=(IDLE,), faults="light")
    shared = prepare_floor(s)
    p1, p2 = FakePublisher(), FakePublisher()
    report = run_floor(s, publisher=p1, clock=SimClock(T0, 0), prepared=shared)
    run_floor(s, publisher=p2, clock=SimClock(T0, 0))  # recomputed: the same, byte for byte
    assert p1.sent == p2.sent
    assert [r.sim for r in report.nodes] == [p.sim for p in shared]


def test_no_work_replaces_only_working_time() -> None:
    blocks = [CalendarBlock(0, 100, BlockKind.WORK), CalendarBlock(100, 120, BlockKind.BREAK),
              CalendarBlock(120, 200, BlockKind.WORK)]
    assert with_no_work(blocks, [(50, 150)]) == [
        CalendarBlock(0, 50, BlockKind.WORK), CalendarBlock(50, 100, BlockKind.NO_WORK),
        CalendarBlock(100, 120, BlockKind.BREAK), CalendarBlock(120, 150, BlockKind.NO_WORK),
        CalendarBlock(150, 200, BlockKind.WORK)]
    assert with_no_work(blocks, []) == blocks


@pytest.mark.parametrize("kw", [dict(twins=(("f003", "f001"),)), dict(twins=(("f001", "f001"),)),
                                dict(idle_lines=(IdleLine("f009", "line01", T0, T0 + H),)),
                                dict(idle_lines=(IdleLine("f001", "line01", T0 + H, T0),))])
def test_bad_twins_and_idle_lines_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        spec(**kw)
