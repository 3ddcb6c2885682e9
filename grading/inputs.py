"""The county's figures per enterprise and period (land, tax, sales, value added, employees, R&D,
water, COD, ...) from a CSV (UTF-8 or GBK/GB18030) or ``.xlsx`` file, validated row by row.

Columns: ``enterprise`` (the master data's id), ``period`` (``2026``, ``2026H1``, ``2026Q3``,
``2026-09``: the span the figures cover), optional ``name``, and numbers. The method's ``columns``
rename a county's own headers (``用地面积(亩): land_mu``). The numeric columns read are those the
method's expressions use and ``land_mu``; other columns are ignored and listed. Units are in the
names: ``_10k_yuan`` 万元, ``_mu`` mu (666.67 m²), ``_t`` tonnes, ``_tce`` tonnes of standard coal.

A bad row never stops the others: each problem is a :class:`RowError` naming the row (as a person
finds it in the file: CSV line, sheet row) and the field, and the row is left out. An empty cell
is a missing value (the indicators that need it cannot be computed), never zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from seamline.grading.method import ENERGY_KWH, ENERGY_TCE, LAND_MU, OTHER_ENERGY_TCE, Method
from seamline.grading.period import Period, PeriodError
from seamline.tabular import Table, TableError, read_table

ENTERPRISE, PERIOD, NAME = "enterprise", "period", "name"
_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
# "1,234.5" as spreadsheets format thousands; full-width digits and separators from Chinese input methods.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，－", "0123456789.,-")


@dataclass(frozen=True, slots=True)
class RowError:
    source: str
    row: int
    enterprise: str | None
    field: str
    message: str

    def __str__(self) -> str:
        who = f" enterprise {self.enterprise!r}" if self.enterprise else ""
        return f"{self.source}: row {self.row}{who}: {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class InputRow:
    row: int
    enterprise: str
    period: Period
    name: str
    values: Mapping[str, float]  # as in the file: per the row's period, not annualised


@dataclass(frozen=True, slots=True)
class CountyInputs:
    source: str
    encoding: str
    rows: tuple[InputRow, ...]
    errors: tuple[RowError, ...]
    ignored_columns: tuple[str, ...]  # in the file, read by nothing
    absent_columns: tuple[str, ...] = ()  # read by the method, in no column: indicators using them are missing

    def latest(self, enterprise: str, period: Period) -> tuple[InputRow | None, bool]:
        """The enterprise's row for ``period``, else its latest row of an earlier period;
        and whether it is the period's own row."""
        own = [r for r in self.rows if r.enterprise == enterprise and r.period == period]
        if own:
            return own[0], True
        earlier = [r for r in self.rows if r.enterprise == enterprise and r.period.end < period.start]
        return (max(earlier, key=lambda r: (r.period.end, r.period.start)), False) if earlier else (None, False)

    @property
    def enterprises(self) -> list[str]:
        return sorted({r.enterprise for r in self.rows})


def parse_number(text: str) -> float:
    """A cell as a number: thousands separators and full-width digits allowed; raises ValueError."""
    t = text.translate(_FULL_WIDTH).replace(",", "").strip()
    value = float(t)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def numeric_columns(method: Method) -> frozenset[str]:
    """Input names read from the file: what the expressions use and ``land_mu``; for energy, the
    parts of ``energy_tce`` (``energy_kwh``, used where no meter measured, and ``other_energy_tce``)."""
    used = method.variables | {LAND_MU}
    if ENERGY_TCE in used:
        used |= {ENERGY_KWH, OTHER_ENERGY_TCE}
    return used - {ENERGY_TCE}


def _row(number: int, raw: Mapping[str, str], *, source: str, wanted: frozenset[str], signed: frozenset[str],
         seen: dict[tuple[str, str], int]) -> InputRow | list[RowError]:
    ent = raw.get(ENTERPRISE, "").strip()

    def err(field: str, message: str) -> RowError:
        return RowError(source, number, ent or None, field, message)

    errors = []
    if not ent:
        errors.append(err(ENTERPRISE, "missing"))
    elif not _ID.match(ent):
        errors.append(err(ENTERPRISE, f"{ent!r} is not an id (letters, digits, _ . -)"))
    period: Period | None = None
    try:
        period = Period.parse(raw.get(PERIOD, ""))
    except PeriodError as exc:
        errors.append(err(PERIOD, str(exc)))
    if raw.get(""):
        errors.append(err("(no header)", f"values under no column name: {raw['']!r}"))
    values: dict[str, float] = {}
    for col in sorted(wanted & raw.keys()):
        text = raw[col].strip()
        if not text:
            continue
        try:
            value = parse_number(text)
        except ValueError:
            errors.append(err(col, f"expected a number, got {text!r}"))
            continue
        if col == LAND_MU and value <= 0:
            errors.append(err(col, f"land area must be > 0 mu, got {value:g}"))
        elif value < 0 and col not in signed:
            errors.append(err(col, f"must be >= 0, got {value:g}"))
        values[col] = value
    if ent and period is not None:
        key = (ent, period.text)
        if key in seen:
            errors.append(err(PERIOD, f"{ent} {period} already given on row {seen[key]}"))
        else:
            seen[key] = number
    if errors or period is None:
        return errors
    return InputRow(number, ent, period, raw.get(NAME, "").strip(), values)


def parse_inputs(table: Table, method: Method) -> CountyInputs:
    """Validate every row of ``table`` against what ``method`` reads."""
    renamed = [method.columns.get(h, h) for h in table.header]
    missing_id = [c for c in (ENTERPRISE, PERIOD) if c not in renamed]
    if missing_id:
        raise TableError(f"{table.source}: no column {' or '.join(missing_id)} in the header {list(table.header)}")
    wanted = numeric_columns(method)
    ignored = tuple(h for h, r in zip(table.header, renamed, strict=True)
                    if h and r not in wanted | {ENTERPRISE, PERIOD, NAME})
    rows: list[InputRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    for number, raw in table.rows:
        mapped = {method.columns.get(k, k): v for k, v in raw.items()}
        found = _row(number, mapped, source=table.source, wanted=wanted, signed=frozenset(method.signed_inputs),
                     seen=seen)
        if isinstance(found, InputRow):
            rows.append(found)
        else:
            errors += found
    absent = tuple(sorted(wanted - set(renamed) - {ENERGY_KWH, OTHER_ENERGY_TCE}))  # optional: meters, 0
    return CountyInputs(table.source, table.encoding, tuple(rows), tuple(errors), ignored, absent)


def read_inputs(path: Path, method: Method, *, encoding: str | None = None, sheet: str | None = None) -> CountyInputs:
    """Read and validate the inputs file; raises :class:`seamline.tabular.TableError` when the file
    itself is unreadable (bad rows are in ``errors``)."""
    return parse_inputs(read_table(path, encoding=encoding, sheet=sheet), method)

