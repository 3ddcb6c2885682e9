"""The grades as a table for people (``seamline grade`` and the demo print it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from seamline.grading.candidates import Provenance
from seamline.grading.scoring import GradeResult


def _num(v: float | None, fmt: str = ".1f") -> str:
    return "-" if v is None else format(v, fmt)


def render(results: Sequence[GradeResult], provenance: Mapping[str, Provenance], *, title: str) -> str:
    """One row per enterprise: rank in its group, grade, total, each indicator's value and score,
    the energy used and where it came from, and the first way up a grade."""
    if not results:
        return f"{title}\n(no enterprise graded)"
    indicators = list(dict.fromkeys(i.indicator for r in results for i in r.indicators))
    head = (f"{'enterprise':<12}{'variant':<10}{'rank':>6}{'grade':>6}{'score':>8}"
            + "".join(f"{i[:16]:>18}" for i in indicators) + f"{'tce':>9}  est  next grade")
    lines = [title, head, f"{'':<42}" + "".join(f"{'value / score':>18}" for _ in indicators)]
    for r in results:
        by = {i.indicator: i for i in r.indicators}
        cells = []
        for ind in indicators:
            x = by.get(ind)
            cells.append("" if x is None else f"{_num(x.value, '.3g')} / {x.score:.1f}{'~' if x.filled else ''}")
        p = provenance.get(r.enterprise)
        est = "yes" if r.estimated or (p is not None and p.inputs_estimated) else "no"
        step = r.next_grade[0].text() if r.next_grade else "-"
        lines.append(f"{r.enterprise:<12}{r.variant:<10}{f'{r.rank}/{r.ranked}':>6}{r.grade:>6}{r.score:>8.1f}"
                     + "".join(f"{c:>18}" for c in cells)
                     + f"{_num(p.energy_tce if p else None, '.2f'):>9}  {est:<4} {step}")
    lines.append("~ = not computable, scored as the method says (0 or the group's average); est = some figure "
                 "is a nowcast or from an earlier period")
    for r in results:
        p = provenance.get(r.enterprise)
        if p is not None:
            borrowed = " (earlier period: estimated)" if p.inputs_estimated else ""
            lines.append(f"  {r.enterprise}: finance figures of {p.inputs_period}{borrowed}, energy from "
                         f"{p.energy_source} ({_num(p.energy_kwh, ',.0f')} kWh in the period)")
    return "\n".join(lines)
