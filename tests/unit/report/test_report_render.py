"""The page: self-contained (nothing to fetch), both languages in it, hostile text escaped, small."""

from __future__ import annotations

from dataclasses import replace

from seamline.report.cluster_model import cluster_report
from seamline.report.inputs import DayKpis, DowntimeMinutes
from seamline.report.model import factory_report
from seamline.report.render import render_cluster, render_factory
from seamline.rules.master_data import parse_master_data
from tests.support import report_inputs as ri
from tests.support.report_page import audit


def factory_html(**overrides: object) -> str:
    return render_factory(factory_report(ri.master(), "f001", ri.inputs(**overrides)))


def test_the_factory_page_fetches_nothing() -> None:
    html = factory_html()
    a = audit(html)
    assert a.loaders == [] and a.css_urls == []
    assert a.urls == []  # no src or href at all: runbook URLs appear as text only
    assert "http://" not in html.replace("http://127.0.0.1:9093", "") and "https://" not in html


def test_every_chart_is_followed_by_its_table() -> None:
    a = audit(factory_html())
    # line KPIs, 1 Pareto (line02 has no downtime), 2 hourly charts, capacity
    assert a.svgs == 5 == a.figures_with_svg
    assert a.tables >= a.svgs + 4  # + line KPIs, capacity per line, orders, unmet, alerts


def test_both_languages_are_in_the_page_chinese_shown_first() -> None:
    html = factory_html()
    assert '<html lang="zh-CN" data-lang="zh">' in html
    for zh, en in (("生产日报", "Daily production report"), ("停机原因", "Downtime by reason"),
                   ("未来 14 天空闲产能", "Free capacity, next 14 days"), ("待料", "No work"),
                   ("交期前产能不足", "Not enough capacity before the due day"), ("机器 m3 停机", "Machine m3 down")):
        assert zh in html and en in html, (zh, en)
    assert '[data-lang="zh"] .en,[data-lang="en"] .zh{display:none}' in html
    assert 'font:15px/1.5 "Noto Sans CJK SC","Noto Sans SC"' in html


def test_hostile_names_are_escaped() -> None:
    doc = ri.master_doc(("f001",))
    doc["enterprises"][0]["name"] = '<img src="http://evil/x">"厂'
    master = parse_master_data(doc)
    kpis = ri.day_kpis()
    kpis = replace(kpis, downtime=(*kpis.downtime, DowntimeMinutes(
        enterprise="f001", site="s1", line="line01", reason='stop.<b onclick="x">', down_min=3.0, coverage=1.0)))
    html = render_factory(factory_report(master, "f001", ri.inputs(kpis=kpis)))
    a = audit(html)
    assert a.loaders == [] and a.urls == []
    assert "&lt;img src=" in html and "&lt;b onclick=" in html


def test_a_big_factory_day_stays_under_a_megabyte() -> None:
    """20 lines, 24 hourly points each, 12 downtime reasons per line, 100 allocated orders."""
    doc = ri.master_doc(("f001",))
    line = doc["enterprises"][0]["sites"][0]["lines"][0]
    doc["enterprises"][0]["sites"][0]["lines"] = [line | {"id": f"line{i:02d}"} for i in range(20)]
    master = parse_master_data(doc)
    lines, down = [], []
    for i in range(20):
        lines += ri.line_points("f001", f"line{i:02d}", oee=0.4, hours=range(24))
        down += [DowntimeMinutes(enterprise="f001", site="s1", line=f"line{i:02d}", reason=f"breakdown.r{k}",
                                 down_min=float(k + 1), coverage=1.0) for k in range(12)]
    entries = [(f"PO-{k}", ri.DAY, 10) for k in range(100)]
    platform = replace(ri.platform(), allocations=(ri.allocation("f001", "line00", entries),))
    kpis = DayKpis(lines=tuple(lines), downtime=tuple(down))
    html = render_factory(factory_report(master, "f001", ri.inputs(kpis=kpis, platform=platform)))
    assert audit(html).svgs == 1 + 20 + 20 + 1
    assert len(html.encode()) < 1_000_000, len(html.encode())


def test_the_cluster_page() -> None:
    html = render_cluster(cluster_report(ri.master(), ri.inputs()))
    a = audit(html)
    assert a.loaders == [] and a.urls == [] and a.css_urls == []
    assert a.svgs == 3 == a.figures_with_svg  # OEE histogram, Pareto, capacity
    assert "产业集群日报" in html and "Cluster daily report" in html
    assert "down_jacket" in html and "没有可做该品类的工厂" in html  # every unmet order, with its reason
