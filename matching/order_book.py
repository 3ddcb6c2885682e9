"""Read an order book (CSV in UTF-8 or GBK, ``.xlsx``, JSON or YAML) into validated orders plus
per-row errors.

Columns / keys: ``order_id, buyer, category, sam_min, quantity, due`` (ISO date) and optional
``min_qty_per_factory`` (pieces, default 0), ``splittable`` (true/false, default true),
``green_share_min`` (fraction 0-1: every line making the order has at least this green share) and
``co2e_max_per_piece`` (kg CO2e: every line making it emits at most this per piece).
A bad row never stops the others: it becomes a :class:`RowError` naming the row and field and an
``invalid_order`` entry of the plan. Rows are numbered as a person finds them: CSV by file line
(the header is line 1), JSON/YAML by list position from 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from seamline.configfile import read_document
from seamline.matching.errors import OrderBookError
from seamline.matching.models import Order, RowError, Unallocated, UnallocatedReason
from seamline.tabular import read_table

REQUIRED = ("order_id", "buyer", "category", "sam_min", "quantity", "due")
OPTIONAL = ("min_qty_per_factory", "splittable", "green_share_min", "co2e_max_per_piece")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


@dataclass(frozen=True, slots=True)
class OrderBook:
    orders: list[Order]
    errors: list[RowError]
    invalid: list[Unallocated]


def read_rows(path: Path) -> tuple[list[tuple[int, Mapping[str, Any]]], str]:
    """(row number, raw mapping) per row; raises OrderBookError if the file cannot be read at all."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".xlsx", ".xlsm"):
        table = read_table(path)  # UTF-8 (BOM or not), GBK/GB18030 or a workbook's first sheet
        rows: list[tuple[int, Mapping[str, Any]]] = [(n, {k.strip(): v for k, v in row.items() if k})
                                                     for n, row in table.rows]
        _check_header(path, rows)
        return rows, str(path)
    data = read_document(path, label="order book", error=OrderBookError, encoding="utf-8-sig", hint=(
        "; a table from a spreadsheet in another encoding goes in as .csv (UTF-8 or GBK) or .xlsx"))
    if isinstance(data, dict) and "orders" in data:
        data = data["orders"]
    if not isinstance(data, list):
        raise OrderBookError(f"order book {path}: expected a list of orders (or a mapping with key 'orders')")
    return [(n + 1, row if isinstance(row, dict) else {}) for n, row in enumerate(data)], str(path)


def _check_header(path: Path, rows: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    """A table whose header lacks a required column is the wrong file or a renamed header: one
    error for the file, not one per row and column."""
    if not rows:
        return
    columns = set(rows[0][1])
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise OrderBookError(f"order book {path.resolve()}: header: missing column(s) {', '.join(missing)}; "
                             f"expected the columns {', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)})")


def parse_orders(
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    *,
    source: str,
    today: date,
    categories: Sequence[str] | None = None,
) -> OrderBook:
    """Validate rows; ``categories`` (if given) is the catalogue an order's category must be in."""
    orders: list[Order] = []
    errors: list[RowError] = []
    invalid: list[Unallocated] = []
    seen: dict[str, int] = {}
    catalogue = set(categories) if categories is not None else None
    for row_no, raw in rows:
        oid = str(raw.get("order_id") or "").strip() or None
        row_errors = _row_errors(raw, row_no, oid, source=source, today=today, catalogue=catalogue, seen=seen)
        if not row_errors:
            order = Order.model_validate(_clean(raw))
            seen[order.order_id] = row_no
            orders.append(order)
            continue
        errors.extend(row_errors)
        invalid.append(
            Unallocated(
                order_id=oid or f"row {row_no}",
                pieces=_int_or_zero(raw.get("quantity")),
                std_min=0.0,
                reason=UnallocatedReason.INVALID_ORDER,
                detail="; ".join(f"{e.field}: {e.message}" for e in row_errors),
            )
        )
    return OrderBook(orders=orders, errors=errors, invalid=invalid)


def _row_errors(
    raw: Mapping[str, Any],
    row_no: int,
    oid: str | None,
    *,
    source: str,
    today: date,
    catalogue: set[str] | None,
    seen: dict[str, int],
) -> list[RowError]:
    def err(field: str, message: str) -> RowError:
        return RowError(source=source, row=row_no, order_id=oid, field=field, message=message)

    out = [err(f, "missing") for f in REQUIRED if raw.get(f) in (None, "")]
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    out += [err(f, "unknown column") for f in unknown]
    if out:
        return out
    try:
        order = Order.model_validate(_clean(raw))
    except ValidationError as exc:
        return [err(".".join(str(p) for p in e["loc"]) or "row", _message(e)) for e in exc.errors()]
    except ValueError as exc:
        return [err("splittable", str(exc))]
    if order.due < today:
        out.append(err("due", f"{order.due} is in the past (today is {today})"))
    if catalogue is not None and order.category not in catalogue:
        out.append(err("category", f"unknown category {order.category!r}"))
    if order.min_qty_per_factory > order.quantity:
        out.append(err("min_qty_per_factory", f"{order.min_qty_per_factory} > quantity {order.quantity}"))
    if order.order_id in seen:
        out.append(err("order_id", f"duplicate of row {seen[order.order_id]}"))
    return out


def _message(e: Any) -> str:
    value = e.get("input")
    shown = repr(value) if not isinstance(value, dict) else "..."
    return f"{e['msg']} (got {shown})"


def _clean(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Strip strings and map CSV's text booleans; empty optional cells mean the default."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        v = value.strip() if isinstance(value, str) else value
        if key in OPTIONAL and v in (None, ""):
            continue
        if key == "splittable" and isinstance(v, str):
            low = v.lower()
            if low not in _TRUE | _FALSE:
                raise ValueError(f"expected true/false, got {v!r}")
            v = low in _TRUE
        out[key] = v
    return out


def _int_or_zero(value: Any) -> int:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return 0
    return max(n, 0)
