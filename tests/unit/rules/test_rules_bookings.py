"""The capacity feed's bookings: retained BookingsMessages validated and summed per line and day;
bad ones rejected with one line and their line withheld; a broker that is down retried, then the
run fails without publishing anything as if unbooked."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from seamline.contracts.messages import BookedDay, BookingsMessage
from seamline.contracts.topic import MessageKind, Topic
from seamline.rules.bookings import Bookings, BookingsUnavailableError, fold_bookings
from seamline.rules.capacity_feed import CapacityFeed, Publisher, RetryPolicy
from seamline.rules.lease import NoLease
from seamline.rules.master_data import MasterData, parse_master_data
from seamline.storage.query import CountingClient

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 6, 12, tzinfo=TZ)  # the feed covers 7 and 8 May
D7, D8 = date(2026, 5, 7), date(2026, 5, 8)
TS = 1_778_040_000_000


def master() -> MasterData:
    shift = {"name": "day", "start": "08:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
    line = {"operators": 2, "categories": ["x"], "machine_count": 2}
    return parse_master_data({
        "kpi": {"capacity_days": 2},
        "calendars": [{"id": "c", "shifts": [shift]}],
        "enterprises": [{"id": "e0", "name": "E", "calendar": "c", "sites": [
            {"id": "s1", "lines": [{"id": "l1", **line}, {"id": "l2", **line}]},
            {"id": "s2", "lines": [{"id": "l1", **line}]}]}],
    })


def topic(site: str, line: str, enterprise: str = "e0") -> str:
    return str(Topic.line(enterprise=enterprise, site=site, line=line, kind=MessageKind.BOOKINGS))


def payload(site: str, line: str, days: Mapping[date, float], *, plan: str = "p1", enterprise: str = "e0") -> bytes:
    msg = BookingsMessage(plan_id=plan, enterprise=enterprise, site=site, line=line, generated_ts_ms=TS,
                          days=[BookedDay(day=d, std_min=m) for d, m in sorted(days.items())])
    return msg.model_dump_json().encode()


def test_bookings_are_summed_per_site_line_and_day() -> None:
    b = fold_bookings({topic("s1", "l1"): payload("s1", "l1", {D7: 100.0, D8: 50.5}),
                       topic("s2", "l1"): payload("s2", "l1", {D7: 7.0}),
                       topic("s1", "l2"): payload("s1", "l2", {})}, source="test")
    assert b.booked == {("e0", "s1", "l1", D7): 100.0, ("e0", "s1", "l1", D8): 50.5, ("e0", "s2", "l1", D7): 7.0}
    assert (b.messages, b.lines_booked, b.rejected, b.invalid_lines, b.plans) == (3, 2, (), frozenset(), {"p1"})


def test_invalid_or_misaddressed_payloads_are_rejected_and_their_lines_marked() -> None:
    good = payload("s1", "l1", {D7: 1.0})
    b = fold_bookings({
        topic("s1", "l1"): good,
        topic("s1", "l2"): b'{"schema_version": 1, "plan_id": "p1"}',  # fields missing
        topic("s2", "l1"): payload("s1", "l1", {D7: 999.0}),  # s1's bookings on s2's topic
        "seamline/v1/e0/s1/l3/m01/bookings": payload("s1", "l3", {D7: 1.0}),  # not a line topic
        topic("s1", "l4"): b"not json",
    }, source="test")
    assert b.booked == {("e0", "s1", "l1", D7): 1.0} and b.messages == 1
    assert b.invalid_lines == {("e0", "s1", "l2"), ("e0", "s2", "l1"), ("e0", "s1", "l4")}
    assert len(b.rejected) == 4
    assert any(r.startswith(topic("s2", "l1")) and "payload is for e0/s1/l1" in r for r in b.rejected)
    assert any(r.startswith(topic("s1", "l2")) and "enterprise: Field required" in r for r in b.rejected)


class FakeBookings:
    """Answers like the broker would: the retained payloads folded, or unavailable ``failures`` times."""

    def __init__(self, retained: Mapping[str, bytes], *, failures: int = 0) -> None:
        self.retained, self.failures, self.reads = dict(retained), failures, 0

    def read(self) -> Bookings:
        self.reads += 1
        if self.reads <= self.failures:
            raise BookingsUnavailableError("connection refused")
        return fold_bookings(self.retained, source="fake")


class FakeKpiClient:
    def query(self, q: str, *, db: str | None = None) -> list[dict[str, object]]:
        return [{"statement_id": 0}]


class FakePublisher:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool) -> None:
        self.sent.append(topic)


def feed(bookings: FakeBookings, pub: FakePublisher, waits: list[float]) -> CapacityFeed:
    @contextlib.contextmanager
    def opener() -> Iterator[Publisher]:
        yield pub

    return CapacityFeed(client=CountingClient(FakeKpiClient(), database="db"), master=master(), kpi_rp="kpi",
                        bookings=bookings, publisher=opener, poster=None, http_url=None, fence=NoLease(),
                        retry=RetryPolicy(attempts=3, backoff_s=1.0, max_backoff_s=2.0), sleep=waits.append)


def test_feed_subtracts_the_bookings_of_each_line() -> None:
    pub, waits = FakePublisher(), []
    report = feed(FakeBookings({topic("s1", "l1"): payload("s1", "l1", {D7: 100.0})}), pub, waits).run(NOW)
    by_line = {(m.site, m.line): m for m in report.messages}
    available = 2 * 540 * 0.5  # operators × shift minutes × default efficiency
    assert [(d.booked_std_min, d.free_std_min) for d in by_line[("s1", "l1")].days] == [
        (100.0, available - 100.0), (0.0, available)]
    assert all(d.booked_std_min == 0 for d in by_line[("s2", "l1")].days)  # same line id, other site
    assert report.bookings.messages == 1 and report.published == 3 and waits == []


def test_a_line_with_invalid_bookings_is_withheld(caplog: pytest.LogCaptureFixture) -> None:
    pub = FakePublisher()
    retained = {topic("s1", "l1"): payload("s1", "l1", {D7: 100.0}), topic("s1", "l2"): b"{}"}
    with caplog.at_level(logging.WARNING):
        report = feed(FakeBookings(retained), pub, []).run(NOW)
    assert report.withheld == ("e0/s1/l2",)
    assert topic("s1", "l2").replace("bookings", "capacity") not in pub.sent and len(pub.sent) == 2
    assert "capacity of e0/s1/l2 not published: its bookings message is invalid" in caplog.text
    assert f"bookings rejected: {topic('s1', 'l2')}" in caplog.text


def test_no_bookings_at_all_is_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        report = feed(FakeBookings({}), FakePublisher(), []).run(NOW)
    assert report.bookings.messages == 0 and report.published == 3
    assert "no retained bookings under seamline/v1/+/+/+/_line/bookings on fake" in caplog.text


def test_bookings_from_two_plans_are_used_and_flagged(caplog: pytest.LogCaptureFixture) -> None:
    retained = {topic("s1", "l1"): payload("s1", "l1", {D7: 1.0}, plan="p1"),
                topic("s1", "l2"): payload("s1", "l2", {D7: 2.0}, plan="p2")}
    with caplog.at_level(logging.WARNING):
        report = feed(FakeBookings(retained), FakePublisher(), []).run(NOW)
    assert report.bookings.plans == {"p1", "p2"} and report.bookings.lines_booked == 2
    assert "bookings come from 2 plans" in caplog.text


def test_broker_down_is_retried_with_backoff_then_recovers() -> None:
    waits: list[float] = []
    bookings = FakeBookings({topic("s1", "l1"): payload("s1", "l1", {D7: 5.0})}, failures=2)
    report = feed(bookings, FakePublisher(), waits).run(NOW)
    assert bookings.reads == 3 and len(waits) == 2 and 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0
    assert report.bookings.booked == {("e0", "s1", "l1", D7): 5.0}


def test_broker_down_for_good_publishes_nothing() -> None:
    pub, waits = FakePublisher(), []
    bookings = FakeBookings({}, failures=99)
    with pytest.raises(BookingsUnavailableError):
        feed(bookings, pub, waits).run(NOW)
    assert bookings.reads == 3 and pub.sent == []
