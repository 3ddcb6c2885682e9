"""The alert lifecycle as a pure state machine: example transitions and hypothesis properties
(FIRE once per episode, never without a breach held for `for`, never on no data; RESOLVE only
after `keep_firing_for` of clear verdicts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.rules.alerts.lifecycle import INACTIVE, Action, AlertState, Phase, Timing, step
from seamline.rules.alerts.model import Verdict

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
B, H, C, N = Verdict.BREACH, Verdict.HOLD, Verdict.CLEAR, Verdict.NO_DATA


def run(verdicts: list[Verdict], timing: Timing, every_s: float = 30.0) -> list[tuple[AlertState, Action]]:
    state, out = INACTIVE, []
    for i, v in enumerate(verdicts):
        state, action = step(state, v, T0 + timedelta(seconds=i * every_s), timing)
        out.append((state, action))
    return out


def test_pending_then_firing_after_for() -> None:
    steps = run([B, B, B, B, B], Timing(for_s=90))
    assert [s.phase for s, _ in steps] == [Phase.PENDING] * 3 + [Phase.FIRING, Phase.FIRING]
    assert [a for _, a in steps] == [Action.NONE] * 3 + [Action.FIRE, Action.REFRESH]
    assert steps[3][0].fired_at == T0 + timedelta(seconds=90)
    assert steps[3][0].since == T0


def test_pending_clears_without_notification() -> None:
    steps = run([B, B, C, B], Timing(for_s=90))
    assert [s.phase for s, _ in steps] == [Phase.PENDING, Phase.PENDING, Phase.INACTIVE, Phase.PENDING]
    assert Action.FIRE not in [a for _, a in steps]


def test_hysteresis_hold_keeps_firing_and_does_not_start() -> None:
    assert run([H, H], Timing())[-1][0].phase is Phase.INACTIVE
    steps = run([B, H, H, C], Timing())
    assert [a for _, a in steps] == [Action.FIRE, Action.REFRESH, Action.REFRESH, Action.RESOLVE]


def test_keep_firing_for_bridges_a_flap() -> None:
    steps = run([B, C, C, B, C, C, C, C, C], Timing(keep_firing_for_s=120))
    actions = [a for _, a in steps]
    assert actions.count(Action.FIRE) == 1
    assert actions[-1] is Action.RESOLVE and actions.count(Action.RESOLVE) == 1
    resolved = steps[-1][0]
    assert resolved.resolved_at == T0 + timedelta(seconds=8 * 30)
    assert resolved.fired_at == T0


def test_no_data_neither_fires_nor_resolves() -> None:
    pending = run([B, N, N, N, N], Timing(for_s=60))
    assert Action.FIRE not in [a for _, a in pending] and pending[-1][0].phase is Phase.PENDING
    firing = run([B, N, N, N, N, N], Timing())
    assert [s.phase for s, _ in firing] == [Phase.FIRING] * 6
    assert Action.RESOLVE not in [a for _, a in firing]


def test_resolved_then_new_episode() -> None:
    steps = run([B, C, B], Timing())
    assert [a for _, a in steps] == [Action.FIRE, Action.RESOLVE, Action.FIRE]
    assert steps[2][0].fired_at == T0 + timedelta(seconds=60)


verdicts = st.lists(st.sampled_from([B, H, C, N]), max_size=60)
timings = st.builds(Timing, for_s=st.sampled_from([0, 30, 60, 300]), keep_firing_for_s=st.sampled_from([0, 30, 120]))
gaps = st.lists(st.integers(min_value=1, max_value=400), min_size=60, max_size=60)


@settings(max_examples=300, deadline=None)
@given(verdicts, timings, gaps)
def test_properties(vs: list[Verdict], timing: Timing, gap_s: list[int]) -> None:
    state = INACTIVE
    now = T0
    last_fire_or_resolve: Action | None = None
    for v, g in zip(vs, gap_s, strict=False):
        now += timedelta(seconds=g)
        before = state
        state, action = step(state, v, now, timing)
        if v is Verdict.NO_DATA:
            assert state == before  # a gap changes nothing
            assert action in (Action.NONE, Action.REFRESH)
        if action is Action.FIRE:
            assert v in (B, H) and last_fire_or_resolve in (None, Action.RESOLVE)  # once per episode
            assert state.since is not None and now - state.since >= timedelta(seconds=timing.for_s)
            assert before.phase is Phase.PENDING or v is B
            last_fire_or_resolve = action
        if action is Action.RESOLVE:
            assert v is C and last_fire_or_resolve is Action.FIRE
            assert state.cleared_at is not None
            assert now - state.cleared_at >= timedelta(seconds=timing.keep_firing_for_s)
            last_fire_or_resolve = action
        # the phase says what was last told to Alertmanager
        assert (state.phase is Phase.FIRING) == (last_fire_or_resolve is Action.FIRE)
        if state.phase is Phase.FIRING:
            assert state.fired_at is not None and action in (Action.FIRE, Action.REFRESH)
