"""The plan summary file ``seamline match --summary-out`` writes (contracts: ``PlanSummary``):
read, size-bounded and validated; what is wrong with it becomes the report's note, not a crash."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from seamline.contracts.plan_summary import PlanSummary
from seamline.report.inputs import PlanInput

# 100 000 unmet orders of ~250 bytes each; a larger file is not a plan summary.
MAX_SUMMARY_BYTES = 32 * 1024 * 1024


def parse_plan_summary(raw: bytes, *, source: str) -> PlanInput:
    """Validate the file's bytes; a problem is one line naming the first invalid key."""
    if len(raw) > MAX_SUMMARY_BYTES:
        return PlanInput(source=source, problem=f"{len(raw)} bytes, at most {MAX_SUMMARY_BYTES}")
    try:
        return PlanInput(source=source, summary=PlanSummary.model_validate_json(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "(top level)"
        return PlanInput(source=source, problem=f"{where}: {first['msg']}")


@dataclass(frozen=True, slots=True)
class PlanSummaryFile:
    """Reads ``path`` when asked; ``None`` means no summary was given."""

    path: Path | None

    def read(self) -> PlanInput:
        if self.path is None:
            return PlanInput(source=None)
        try:
            with self.path.open("rb") as fh:
                raw = fh.read(MAX_SUMMARY_BYTES + 1)
        except OSError as exc:
            return PlanInput(source=str(self.path), problem=f"cannot read: {exc.strerror or exc}")
        return parse_plan_summary(raw, source=str(self.path))
