"""Order-book parsing: bad rows are reported by row and field, good rows still go through."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from seamline.matching.errors import OrderBookError
from seamline.matching.models import UnallocatedReason
from seamline.matching.order_book import parse_orders, read_rows

TODAY = date(2030, 1, 7)
HEADER = "order_id,buyer,category,sam_min,quantity,due,min_qty_per_factory,splittable\n"


def parse(tmp_path: Path, body: str, *, categories: list[str] | None = None, header: str = HEADER):  # type: ignore[no-untyped-def]
    path = tmp_path / "orders.csv"
    path.write_text(header + body)
    rows, source = read_rows(path)
    return parse_orders(rows, source=source, today=TODAY, categories=categories)


def errors_of(book) -> list[tuple[int, str | None, str]]:  # type: ignore[no-untyped-def]
    return [(e.row, e.order_id, e.field) for e in book.errors]


def test_valid_rows_parse_with_defaults(tmp_path: Path) -> None:
    book = parse(tmp_path, "A,b1,tshirt,6.5,100,2030-01-09,,\nB,b2,shirt,22,40,2030-01-08,10,no\n")
    assert book.errors == []
    assert [(o.order_id, o.quantity, o.sam_min, o.min_qty_per_factory, o.splittable) for o in book.orders] == [
        ("A", 100, 6.5, 0, True),
        ("B", 40, 22.0, 10, False),
    ]


def test_bad_rows_named_by_row_and_field_and_good_rows_kept(tmp_path: Path) -> None:
    body = (
        "A,b,tshirt,6.5,100,2030-01-09,,\n"  # line 2 ok
        "B,b,tshirt,6.5,-5,2030-01-09,,\n"  # line 3 negative quantity
        "C,b,tshirt,abc,10,2030-01-09,,\n"  # line 4 non-numeric SAM
        "D,b,tshirt,6.5,10,2030-01-01,,\n"  # line 5 past due
        "E,b,hats,6.5,10,2030-01-09,,\n"  # line 6 unknown category
        "A,b,tshirt,6.5,10,2030-01-09,,\n"  # line 7 duplicate id
        "F,b,tshirt,6.5,10,,,\n"  # line 8 missing due
        "G,b,tshirt,6.5,10,2030-01-09,,maybe\n"  # line 9 bad boolean
        "H,b,tshirt,6.5,10,2030-01-09,20,\n"  # line 10 minimum above quantity
    )
    book = parse(tmp_path, body, categories=["tshirt"])
    assert [o.order_id for o in book.orders] == ["A"]
    assert errors_of(book) == [
        (3, "B", "quantity"),
        (4, "C", "sam_min"),
        (5, "D", "due"),
        (6, "E", "category"),
        (7, "A", "order_id"),
        (8, "F", "due"),
        (9, "G", "splittable"),
        (10, "H", "min_qty_per_factory"),
    ]
    assert {u.reason for u in book.invalid} == {UnallocatedReason.INVALID_ORDER}
    assert [u.order_id for u in book.invalid] == ["B", "C", "D", "E", "A", "F", "G", "H"]
    assert "row 3 order 'B': quantity:" in str(book.errors[0])


def test_missing_column_is_one_error_for_the_file(tmp_path: Path) -> None:
    """A header without a required column is the wrong file: one error naming the column (issue 14),
    not one per row."""
    with pytest.raises(OrderBookError, match=r"header: missing column\(s\) sam_min;"):
        parse(tmp_path, "A,b,tshirt,100,2030-01-09\nB,b,tshirt,5,2030-01-09\n",
              header="order_id,buyer,category,quantity,due\n")


def test_yaml_and_json_books(tmp_path: Path) -> None:
    y = tmp_path / "o.yaml"
    y.write_text("orders:\n  - {order_id: A, buyer: b, category: x, sam_min: 5, quantity: 10, due: 2030-01-09}\n"
                 "  - {order_id: B, buyer: b, category: x, sam_min: 5, quantity: 1.5, due: 2030-01-09}\n")
    rows, src = read_rows(y)
    book = parse_orders(rows, source=src, today=TODAY)
    assert [o.order_id for o in book.orders] == ["A"]
    assert errors_of(book) == [(2, "B", "quantity")]
    j = tmp_path / "o.json"
    j.write_text('[{"order_id": "A", "buyer": "b", "category": "x", "sam_min": 5, "quantity": 10, '
                 '"due": "2030-01-09", "splittable": false}]')
    rows, src = read_rows(j)
    assert parse_orders(rows, source=src, today=TODAY).orders[0].splittable is False


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("o.yaml", "orders: [unclosed\n", "line 2, column 1: not valid YAML"),
    ("o.yaml", "orders:\n  - {order_id: A, quantity: " + "9" * 4301 + "}\n", "not valid YAML: a value cannot be"),
    ("o.json", '[{"order_id": "A", "quantity": ' + "9" * 4301 + "}]", "not valid JSON: Exceeds the limit"),
    ("o.json", "[{", "not valid JSON: Expecting"),
    ("o.yaml", "orders:\n  - {order_id: 订单A}\n", "not UTF-8 text (byte 23)"),  # GBK: found by the inputs fuzzer
])
def test_an_unreadable_book_is_one_error_naming_the_file(tmp_path: Path, name: str, text: str, problem: str) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(OrderBookError) as exc:
        read_rows(path)
    assert str(exc.value).startswith(f"order book {path}: ") and problem in str(exc.value)
