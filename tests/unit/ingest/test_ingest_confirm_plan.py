"""The confirmer's planning: stored ranges per gateway, holes asked for after the grace period (and
again after another), lost ranges never asked for, requested holes that fill counted as repaired."""

from __future__ import annotations

from seamline.ingest.confirm_plan import HoleTracker, plan, ranges_by_asset

A = ("f001", "s1", "line01", "m001")
B = ("f001", "s1", "line01", "m002")
GW = {A: "gw01", B: "gw01"}


def test_ranges_by_asset_from_stored_values() -> None:
    got = ranges_by_asset([(A, 1), (A, 2), (A, 5), (B, 7), (A, 3)])
    assert got == {A: [(1, 3), (5, 5)], B: [(7, 7)]}


def test_holes_are_asked_for_after_the_grace_and_repairs_counted() -> None:
    tracker = HoleTracker()
    stored = {A: [(1, 10), (16, 20)], B: [(1, 4)]}
    p = plan(stored, GW, {}, tracker, now_s=0.0, grace_s=30.0)
    assert p.confirms == {("f001", "s1", "gw01"): stored}
    assert p.resends == {} and p.open_holes == 5
    assert plan(stored, GW, {}, tracker, now_s=29.0, grace_s=30.0).resends == {}
    p = plan(stored, GW, {}, tracker, now_s=31.0, grace_s=30.0)
    assert p.resends == {("f001", "s1", "gw01"): {A: [(11, 15)]}}
    assert plan(stored, GW, {}, tracker, now_s=40.0, grace_s=30.0).resends == {}  # asked already
    assert plan(stored, GW, {}, tracker, now_s=62.0, grace_s=30.0).resends != {}  # asked again
    p = plan({A: [(1, 20)], B: [(1, 4)]}, GW, {}, tracker, now_s=70.0, grace_s=30.0)
    assert p.open_holes == 0 and tracker.repaired_seqs == 5


def test_lost_ranges_are_not_asked_for_and_unknown_gateways_wait() -> None:
    tracker = HoleTracker()
    stored = {A: [(1, 10), (16, 20)], ("f001", "s1", "line09", "m9"): [(1, 1), (3, 3)]}
    p = plan(stored, GW, {A: [(11, 13)]}, tracker, now_s=0.0, grace_s=0.0)
    assert p.resends == {("f001", "s1", "gw01"): {A: [(14, 15)]}}
    assert list(p.confirms[("f001", "s1", "gw01")]) == [A]
