"""Per-asset sequence gaps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seamline.ingest.gaps import AssetKey, Gap, GapTracker

A = AssetKey("acme", "s1", "line1", "m1")
B = AssetKey("acme", "s1", "line1", "m2")


def test_consecutive_then_jump() -> None:
    g = GapTracker(max_assets=10)
    assert g.observe(A, 1, 100) is None
    assert g.observe(A, 2, 200) is None
    gap = g.observe(A, 5, 500)
    assert gap == Gap(key=A, from_seq=2, to_seq=5, ts_ms=500)
    assert gap.missing == 2
    assert g.gaps == 1


def test_assets_are_independent() -> None:
    g = GapTracker(max_assets=10)
    g.observe(A, 1, 100)
    assert g.observe(B, 7, 100) is None
    assert g.observe(A, 2, 200) is None


def test_duplicates_and_late_arrivals_are_not_gaps_and_do_not_rewind() -> None:
    g = GapTracker(max_assets=10)
    g.observe(A, 5, 500)
    assert g.observe(A, 5, 500) is None  # replayed duplicate
    assert g.observe(A, 3, 300) is None  # late
    assert g.observe(A, 6, 600) is None
    assert g.out_of_order == 2


def test_counter_reset_after_reboot_is_followed() -> None:
    g = GapTracker(max_assets=10)
    g.observe(A, 900, 1000)
    assert g.observe(A, 0, 2000) is None  # later time, lower seq: device restarted
    assert g.observe(A, 1, 3000) is None
    assert g.observe(A, 3, 4000) == Gap(key=A, from_seq=1, to_seq=3, ts_ms=4000)


def test_bounded_least_recently_seen_evicted() -> None:
    g = GapTracker(max_assets=2)
    g.observe(A, 1, 1)
    g.observe(B, 1, 1)
    g.observe(A, 2, 2)  # A is now most recent
    g.observe(AssetKey("e", "s", "a", "x"), 1, 1)  # evicts B
    assert len(g) == 2 and g.evicted == 1
    assert g.observe(B, 50, 3) is None  # B forgotten: first sighting again
    assert g.evicted == 2  # B's return evicted A, the least recently seen
    assert g.observe(A, 9, 3) is None  # A forgotten too: no gap reported across the eviction


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=200, unique=True))
def test_missing_counts_add_up_for_increasing_sequences(seqs: list[int]) -> None:
    seqs.sort()
    g = GapTracker(max_assets=1)
    missing = 0
    for i, s in enumerate(seqs):
        gap = g.observe(A, s, i)
        missing += gap.missing if gap else 0
    assert missing == (seqs[-1] - seqs[0] + 1) - len(seqs)
