"""The daily report pages of a real simulated day, opened in a real browser (Debian's Chromium,
headless) at a phone's and a desktop's size: nothing requested beyond the file, nothing logged as
an error, every chart drew data marks and has its table, the Chinese text is drawn with an
installed CJK font, and the English switch works. Screenshots of each page are kept in
``var/test-artifacts/report/``.

The pages come from the session's simulated cluster (``cluster`` in conftest.py): the demo's own
pages (``<workdir>/report/``) and the same day's pages made again with two alerts in Alertmanager."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from tests.support.report_browser import CHART_MARKS_JS, DESKTOP, PHONE, chromium, open_page, platform_fonts
from tests.support.report_page import audit

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "report"
FACTORY_PAGE_MAX_BYTES = 1_000_000  # the bound for a factory-day


@pytest.fixture(scope="module")
def pages(cluster: dict[str, Any]) -> dict[str, Path]:
    demo = {Path(p["path"]).name: Path(p["path"]) for p in cluster["summary"]["report"]["pages"]}
    alerts = {p["enterprise"] or "cluster": Path(p["path"]) for p in cluster["pages_with_alerts"]["pages"]}
    return {"f001": alerts["f001"], "f002": next(v for k, v in demo.items() if k.startswith("f002-")),
            "cluster": alerts["cluster"]}


@pytest.fixture(scope="module")
def browser() -> Any:
    with chromium() as ctx:
        yield ctx


@pytest.fixture(scope="module")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


def test_the_demo_writes_its_pages_and_says_where(cluster: dict[str, Any]) -> None:
    report = cluster["summary"]["report"]
    names = sorted(Path(p["path"]).name for p in report["pages"])
    day = report["day"]
    assert names == [f"cluster-{day}.html", f"f001-{day}.html", f"f002-{day}.html"]
    for p in report["pages"]:
        path = Path(p["path"])
        assert path.parent == Path(report["dir"]) and path.parent.name == "report"
        assert path.stat().st_size == p["bytes"] and p["bytes"] <= FACTORY_PAGE_MAX_BYTES
        a = audit(path.read_text())
        assert a.urls == [] and a.loaders == [] and a.css_urls == []


@pytest.mark.parametrize("name", ["f001", "f002", "cluster"])
def test_a_page_in_the_browser(name: str, pages: dict[str, Path], browser: BrowserContext, artifacts: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    path = pages[name]
    size = path.stat().st_size
    if name != "cluster":
        assert size <= FACTORY_PAGE_MAX_BYTES, size
    page, visit = open_page(browser, path)
    try:
        charts = page.evaluate(CHART_MARKS_JS)
        assert charts and all(c["role"] == "img" and " / " in c["title"] for c in charts)
        assert all(c["marks"] > 0 for c in charts), charts
        assert all(c["tableRows"] > 0 for c in charts), charts  # each chart's table alternative
        fonts = platform_fonts(page, "header h1 span.zh")
        assert any("CJK" in f["familyName"] and f["glyphCount"] > 0 and not f["isCustomFont"] for f in fonts), fonts
        assert page.locator("header h1 span.en").is_hidden()
        assert page.locator("svg.chart tspan.en").count() > 0 and page.locator("svg.chart tspan.en").first.is_hidden()
        page.screenshot(path=str(artifacts / f"{name}-phone-zh.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(artifacts / f"{name}-desktop-zh.png"), full_page=True)
        page.click("#lang")  # the English switch: no request, the same page in English
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.locator("header h1 span.zh").is_hidden() and page.locator("header h1 span.en").is_visible()
        assert page.locator("svg.chart tspan.zh").first.is_hidden()
        assert page.locator("svg.chart tspan.en").first.is_visible()
        page.screenshot(path=str(artifacts / f"{name}-desktop-en.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(artifacts / f"{name}-phone-en.png"), full_page=True)
    finally:
        page.close()
    assert visit.requests == [visit.url]  # the file itself and nothing else
    assert visit.failed == [] and visit.errors == []
    assert [m for m in visit.console if m[0] in ("error", "warning")] == []
    with capsys.disabled():
        print(f"\n{name}: {path} ({size} bytes), {len(charts)} charts, {sum(c['marks'] for c in charts)} marks; "
              f"screenshots in {artifacts}")


def test_the_alerts_of_the_day_are_on_the_factory_page(pages: dict[str, Path], browser: BrowserContext) -> None:
    page, visit = open_page(browser, pages["f001"])
    try:
        rows = page.locator("#alerts tbody tr")
        assert rows.count() == 2
        assert "机器 m002 停机" in rows.nth(0).inner_text()  # newest first
        page.goto(visit.url + "#en")  # a link to the English page
        page.reload()
        assert "Machine m001 is down" in page.locator("#alerts").inner_text()
    finally:
        page.close()
