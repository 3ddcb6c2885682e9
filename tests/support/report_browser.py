"""Debian's Chromium, headless, driven by Playwright (never a downloaded browser), for looking at
report pages as a reader does: what the page requested, what it logged, which font drew its
Chinese text (Chrome DevTools' ``CSS.getPlatformFontsForNode``), what each chart drew."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, ViewportSize, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# No GPU, no QUIC, and none of the browser's own traffic (updates, sync, safe browsing lists), so
# any request seen is one the page made.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}

# Per chart: the data marks drawn with a non-empty box (a horizontal target line has no height,
# so paths need width or height, rects and circles both).
CHART_MARKS_JS = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const marks = [...svg.querySelectorAll('.mark')].filter(m => {
    const b = m.getBBox();
    return m.tagName === 'path' ? (b.width > 0 || b.height > 0) : (b.width > 0 && b.height > 0);
  });
  const fig = svg.closest('figure');
  const table = fig ? fig.querySelector('details.alt table') : null;
  return {id: svg.id, role: svg.getAttribute('role'), title: (svg.querySelector('title') || {}).textContent || '',
          marks: marks.length, tableRows: table ? table.querySelectorAll('tbody tr').length : 0};
})"""


@dataclass
class Visit:
    """What one page did while it loaded and was used."""

    url: str
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    errors: list[str] = field(default_factory=list)  # uncaught exceptions


@contextmanager
def chromium() -> Iterator[BrowserContext]:
    """A fresh profile per use (``--user-data-dir`` in a temporary directory)."""
    if not CHROMIUM.exists():
        raise AssertionError(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium")
    with tempfile.TemporaryDirectory(prefix="seamline-chromium-") as profile, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=str(CHROMIUM), args=FLAGS, headless=True,
                                                   viewport=PHONE, locale="zh-CN")
        try:
            yield ctx
        finally:
            ctx.close()


def open_page(ctx: BrowserContext, path: Path) -> tuple[Page, Visit]:
    page = ctx.new_page()
    visit = Visit(url=path.resolve().as_uri())
    page.on("request", lambda r: visit.requests.append(r.url))
    page.on("requestfailed", lambda r: visit.failed.append(r.url))
    page.on("console", lambda m: visit.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: visit.errors.append(str(e)))
    page.goto(visit.url, wait_until="load")
    return page, visit


def platform_fonts(page: Page, selector: str) -> list[dict[str, Any]]:
    """The installed fonts Chromium drew the text of ``selector``'s first match with, and how many
    glyphs each drew (DevTools protocol, ``CSS.getPlatformFontsForNode``)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})
        node = cdp.send("DOM.querySelector", {"nodeId": root["root"]["nodeId"], "selector": selector})
        if not node.get("nodeId"):
            raise AssertionError(f"nothing matches {selector!r}")
        fonts: list[dict[str, Any]] = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
        return fonts
    finally:
        cdp.detach()
