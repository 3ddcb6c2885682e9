from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seamline.contracts.messages import Quality
from seamline.rules.coverage import (
    Coverage,
    Observation,
    ObservationPolicy,
    Stamp,
    coverage_of,
    observed_spans,
    offline_spans,
)
from seamline.rules.spans import Span, SpanSet

POLICY = ObservationPolicy(max_hold_s=30)


def test_aggregates_cover_their_periods() -> None:
    obs = [Observation(ts_s=t, period_s=60) for t in (0, 60, 180)]
    assert observed_spans(obs, POLICY).spans == (Span(0, 120), Span(180, 240))
    end_stamped = observed_spans(obs, ObservationPolicy(stamp=Stamp.PERIOD_END))
    assert end_stamped.spans == (Span(-60, 60), Span(120, 180))


def test_polled_samples_hold_until_next_at_most_max_hold() -> None:
    obs = [Observation(ts_s=t, seq=i) for i, t in enumerate((0, 10, 20, 100, 110))]
    # 20 holds 30 s (next sample 80 s later), 110 holds 30 s at the end
    assert observed_spans(obs, POLICY).spans == (Span(0, 50), Span(100, 140))


def test_sequence_gap_limits_what_a_sample_vouches_for() -> None:
    obs = [Observation(ts_s=0, seq=1), Observation(ts_s=20, seq=4)]  # seq 2 and 3 lost
    # (20 - 0) / (2 + 1) = 6.67 s
    spans = observed_spans(obs, POLICY).spans
    assert spans[0].start_s == 0 and abs(spans[0].end_s - 20 / 3) < 1e-9


def test_stale_and_offline_are_not_observed() -> None:
    obs = [
        Observation(ts_s=0, period_s=60),
        Observation(ts_s=60, period_s=60, quality=Quality.STALE),
        Observation(ts_s=120, period_s=60, quality=Quality.HISTORICAL),
    ]
    offline = SpanSet.single(150, 170)
    assert observed_spans(obs, POLICY, offline=offline).spans == (Span(0, 60), Span(120, 150), Span(170, 180))


def test_offline_spans_from_gateway_status() -> None:
    events = [(10.0, False), (20.0, False), (50.0, True), (80.0, False)]
    assert offline_spans(events, until_s=100).spans == (Span(10, 50), Span(80, 100))


def test_coverage_fraction() -> None:
    c = coverage_of(SpanSet.of([Span(0, 30), Span(50, 100)]), SpanSet.single(20, 120))
    assert c == Coverage(observed_s=60, basis_s=100)
    assert c.fraction == 0.6
    assert Coverage(0, 0).fraction == 1.0


@st.composite
def _streams(draw: st.DrawFn) -> list[Observation]:
    """A device stream as the contract defines it: timestamps rise and so does seq (with gaps where
    samples were lost), or no seq at all; one kind of sample per stream. Mixed seq/no-seq streams
    do not occur: removing a sample from such a stream would also remove the only evidence of a gap."""
    times = sorted(set(draw(st.lists(st.integers(0, 3600), max_size=25))))
    with_seq = draw(st.booleans())
    # an asset sends either edge aggregates (each covering period_s) or polled samples, never both
    period_s = draw(st.one_of(st.none(), st.sampled_from([30.0, 60.0])))
    seq, out = 0, []
    for t in times:
        seq += draw(st.integers(1, 3))
        out.append(
            Observation(
                ts_s=float(t),
                seq=seq if with_seq else None,
                quality=draw(st.sampled_from(list(Quality))),
                period_s=period_s,
            )
        )
    return out


observations = _streams()
BASIS = SpanSet.single(0, 3600)


def _cov(obs: list[Observation], offline: SpanSet = SpanSet()) -> float:  # noqa: B008
    return coverage_of(observed_spans(obs, ObservationPolicy(max_hold_s=90), offline=offline), BASIS).fraction


@given(observations, st.data())
def test_removing_a_good_sample_never_raises_coverage(obs: list[Observation], data: st.DataObject) -> None:
    """A lost sample shows as a hole in the seq of the sample after it. The stream's last sample
    has none after it: losing it also loses the evidence of a gap before it, so it is excluded."""
    good = [i for i, o in enumerate(obs[:-1]) if o.quality is not Quality.STALE]
    if not good:
        return
    i = data.draw(st.sampled_from(good))
    assert _cov(obs[:i] + obs[i + 1 :]) <= _cov(obs) + 1e-9


@given(observations, st.data())
def test_marking_stale_never_raises_coverage(obs: list[Observation], data: st.DataObject) -> None:
    if not obs:
        return
    i = data.draw(st.integers(0, len(obs) - 1))
    o = obs[i]
    staled = [*obs[:i], Observation(o.ts_s, o.seq, Quality.STALE, o.period_s), *obs[i + 1 :]]
    assert _cov(staled) <= _cov(obs) + 1e-9


@given(observations, st.integers(0, 3600), st.integers(0, 600))
def test_offline_never_raises_coverage(obs: list[Observation], start: int, length: int) -> None:
    assert _cov(obs, SpanSet.single(start, start + length)) <= _cov(obs) + 1e-9
    assert 0.0 <= _cov(obs) <= 1.0
