"""Per-mu grades as matching sees them: the retained ``GradeMessage`` of each enterprise
(``seamline grade`` publishes one per enterprise, see ``seamline.contracts.grades``) folded into the
factory profiles, so the grade preference on ties (``PreferenceWeights.prefer_grade_index_max``)
can use them. Several messages for one enterprise (a file of several periods): the latest period
wins. Periods compare as text, which orders 2026 < 2026-09 < 2026H1 < 2026Q3 only within one kind;
a platform grades by one kind of period, so that is enough here.
"""

from __future__ import annotations

from collections.abc import Iterable

from seamline.contracts.grades import GradeMessage
from seamline.matching.models import FactoryProfile, ProfileBook


def latest_grades(messages: Iterable[GradeMessage]) -> dict[str, GradeMessage]:
    """Enterprise -> its message of the latest period (then the latest generated)."""
    out: dict[str, GradeMessage] = {}
    for msg in messages:
        prev = out.get(msg.enterprise)
        if prev is None or (msg.period, msg.generated_ts_ms) > (prev.period, prev.generated_ts_ms):
            out[msg.enterprise] = msg
    return out


def with_grades(book: ProfileBook, messages: Iterable[GradeMessage]) -> ProfileBook:
    """``book`` with each graded enterprise's ``grade_index`` set (a profile is created for an
    enterprise that has none: neutral defaults plus its grade)."""
    profiles = dict(book.profiles)
    for enterprise, msg in latest_grades(messages).items():
        prof = profiles.get(enterprise) or FactoryProfile(enterprise=enterprise)
        profiles[enterprise] = prof.model_copy(update={"grade_index": msg.grade_index})
    return book.model_copy(update={"profiles": profiles})
