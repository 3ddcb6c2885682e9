"""Annotation templates: Python format strings over a fixed set of names, checked when the config
loads (an unknown name is a config error, not a broken alert at 3 a.m.).

Names: ``enterprise site area asset gateway`` (topic names, ``-`` when unset), ``rule``,
``value threshold clear`` (figures, 4 significant digits), ``unit``, ``coverage`` (percent, or
``-``), ``detail`` (reason code, day, ... or ``-``), ``since`` (local ISO time or ``-``).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from seamline.contracts.alerts import AREA, ASSET, ENTERPRISE, GATEWAY, RULE, SITE, format_figure

COVERAGE = "coverage"
NAMES = frozenset({ENTERPRISE, SITE, AREA, ASSET, GATEWAY, RULE, "value", "threshold", "clear", "unit", COVERAGE,
                   "detail", "since"})


def template_problem(text: str) -> str | None:
    """Why ``text`` is not a usable template, or None."""
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        return f"not a valid template: {exc}"
    unknown = sorted({f for f in fields if f not in NAMES})
    if unknown:
        return f"unknown name(s) {unknown}; known: {sorted(NAMES)}"
    return None


@dataclass(frozen=True, slots=True)
class Context:
    enterprise: str
    site: str
    area: str | None
    asset: str | None
    gateway: str | None
    rule: str
    value: float | None
    threshold: float
    clear: float
    unit: str | None
    coverage: float | None
    detail: str | None
    since: datetime | None

    def names(self) -> Mapping[str, str]:
        def fig(v: float | None) -> str:
            return "-" if v is None else format_figure(v)

        return {
            ENTERPRISE: self.enterprise, SITE: self.site, AREA: self.area or "-", ASSET: self.asset or "-",
            GATEWAY: self.gateway or "-", RULE: self.rule, "value": fig(self.value),
            "threshold": fig(self.threshold), "clear": fig(self.clear), "unit": self.unit or "",
            COVERAGE: "-" if self.coverage is None else f"{100 * self.coverage:.0f}%",
            "detail": self.detail or "-",
            "since": "-" if self.since is None else self.since.isoformat(timespec="minutes"),
        }


def render(text: str, ctx: Context) -> str:
    return text.format_map(ctx.names()).strip()
