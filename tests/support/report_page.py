"""Checks of a report page's HTML that need no browser: every URL it would fetch (``src``,
``href``, ``url(...)`` in styles, ``@import``), the elements that load resources, the charts and
their table alternatives. Shared by the report's unit tests and the browser test."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Attributes that make a browser fetch (or navigate to) a URL.
URL_ATTRIBUTES = frozenset({"src", "href", "srcset", "poster", "data", "action", "formaction", "xlink:href", "manifest",
                            "background", "ping", "cite"})
CSS_URL = re.compile(r"url\(|@import", re.IGNORECASE)


@dataclass
class PageAudit(HTMLParser):
    urls: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, attribute, value)
    loaders: list[str] = field(default_factory=list)  # <link>, <img>, <iframe>, <script src>, ... found
    css_urls: list[str] = field(default_factory=list)
    svgs: int = 0
    tables: int = 0
    figures_with_svg: int = 0
    _in_style: bool = False
    _figure_has_svg: bool = False

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value is not None:
                self.urls.append((tag, name, value))
            if name == "style" and value and CSS_URL.search(value):
                self.css_urls.append(value)
        if tag in ("link", "img", "iframe", "embed", "object", "video", "audio", "source", "base") or (
                tag == "script" and any(n == "src" for n, _ in attrs)):
            self.loaders.append(tag)
        self._in_style = tag == "style"
        self.svgs += tag == "svg"
        self.tables += tag == "table"
        if tag == "figure":
            self._figure_has_svg = False
        if tag == "svg":
            self._figure_has_svg = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False
        if tag == "figure" and self._figure_has_svg:
            self.figures_with_svg += 1

    def handle_data(self, data: str) -> None:
        if self._in_style and CSS_URL.search(data):
            self.css_urls.append(data)


def audit(html: str) -> PageAudit:
    a = PageAudit()
    a.feed(html)
    a.close()
    return a
