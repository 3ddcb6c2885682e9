"""Tabular input files as a county office or a buyer sends them: CSV in UTF-8 (with or without a
byte-order mark) or in GBK/GB18030 (what Excel on a Chinese Windows writes), or an ``.xlsx``
workbook. Shared by the readers of order books and of per-mu grading inputs.

:func:`read_table` returns the header and every data row as ``(row number, {column: text})``;
rows are numbered as a person finds them in the file (CSV: the line of the row, the header being
line 1; xlsx: the sheet's row number). Cells are text with surrounding whitespace stripped, empty
cells ``""``; numbers from xlsx are rendered without a spurious ``.0`` so that a reader validates
one kind of input. Entirely empty rows are skipped (spreadsheets end with many).

Encoding: UTF-8 is tried first (strict); a file that is not valid UTF-8 is decoded as GB18030,
the superset of GBK and GB2312. A file valid in neither is refused with the byte offset. A
Latin-1 file would decode as (wrong) GB18030 text: pass ``encoding`` when you know better.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from seamline.errors import UsageError

# A county's enterprise list or an order book is thousands of rows; 50 MB is not a hand-made table.
MAX_TABLE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 1_000_000


class TableError(UsageError):
    """The file cannot be read as a table at all (rows with bad values are the caller's business)."""


@dataclass(frozen=True, slots=True)
class Table:
    source: str  # the path, for messages
    encoding: str  # "utf-8", "gb18030" or "xlsx"
    header: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]


def decode_text(raw: bytes, *, source: str, encoding: str | None = None) -> tuple[str, str]:
    """(text, encoding used): the given encoding, else UTF-8 (BOM stripped), else GB18030."""
    candidates = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    last: UnicodeDecodeError | None = None
    for enc in candidates:
        try:
            return raw.decode(enc), "utf-8" if enc == "utf-8-sig" else enc
        except UnicodeDecodeError as exc:
            last = exc
        except LookupError:
            raise TableError(f"{source}: unknown encoding {enc!r}") from None
    assert last is not None
    tried = " or ".join(candidates)
    raise TableError(f"{source}: not text in {tried} (byte {last.start}: {last.reason})")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _rows(header: Sequence[object], body: Sequence[tuple[int, Sequence[object]]], source: str) -> Table:
    """Rows as ``{column: text}``; values under no header name go to key ``""`` so that the caller
    can report the row instead of dropping what it holds."""
    names = tuple(_cell(h) for h in header)
    dups = sorted({n for n in names if n and names.count(n) > 1})
    if dups:
        raise TableError(f"{source}: columns named twice in the header: {dups}")
    rows = []
    for number, cells in body:
        texts = [_cell(c) for c in cells]
        if not any(texts):
            continue
        row = {n: "" for n in names if n}
        stray = []
        for i, text in enumerate(texts):
            name = names[i] if i < len(names) else ""
            if name:
                row[name] = text
            elif text:
                stray.append(text)
        if stray:
            row[""] = " ".join(stray)
        rows.append((number, row))
    return Table(source, "", names, tuple(rows))


def _read_csv(raw: bytes, source: str, encoding: str | None) -> Table:
    text, used = decode_text(raw, source=source, encoding=encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise TableError(f"{source}: empty file (expected a header row)")
        body: list[tuple[int, Sequence[object]]] = []
        for values in reader:
            if len(body) >= MAX_ROWS:
                raise TableError(f"{source}: more than {MAX_ROWS} rows")
            body.append((reader.line_num, values))
    except csv.Error as exc:
        raise TableError(f"{source}: line {reader.line_num}: not valid CSV: {exc}") from None
    table = _rows(header, body, source)
    return Table(table.source, used, table.header, table.rows)


def _read_xlsx(path: Path, source: str, sheet: str | None) -> Table:
    from openpyxl import load_workbook  # only for workbooks: the [grading] extra brings it

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException ... on bad files
        raise TableError(f"{source}: not a readable .xlsx workbook: {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise TableError(f"{source}: no sheet {sheet!r}; it has {book.sheetnames}")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = next(it, None)
        if header is None:
            raise TableError(f"{source}: sheet {ws.title!r} is empty (expected a header row)")
        body: list[tuple[int, Sequence[object]]] = []
        for number, values in enumerate(it, start=2):
            if number > MAX_ROWS + 1:
                raise TableError(f"{source}: more than {MAX_ROWS} rows")
            body.append((number, values))
    finally:
        book.close()
    table = _rows(header, body, source)
    return Table(table.source, "xlsx", table.header, table.rows)


def read_table(path: Path, *, encoding: str | None = None, sheet: str | None = None) -> Table:
    """The header and rows of a ``.csv`` (UTF-8 or GB18030, see the module doc) or ``.xlsx`` file
    (its first sheet, or ``sheet``); raises :class:`TableError`."""
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TableError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if size > MAX_TABLE_BYTES:
        raise TableError(f"{source}: {size} bytes, max {MAX_TABLE_BYTES}")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, source, sheet)
    if suffix not in (".csv", ".txt"):
        raise TableError(f"{source}: expected a .csv or .xlsx file, got {suffix or 'no extension'!r}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TableError(f"{source}: cannot read: {exc.strerror or exc}") from None
    return _read_csv(raw, source, encoding)
