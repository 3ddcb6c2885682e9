"""County input files: UTF-8 (with and without BOM), GBK and .xlsx read alike; every bad row named
by its row number and field and left out while the others are read; unreadable files refused with
one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

import seamline.grading
from seamline.grading.inputs import read_inputs
from seamline.grading.method import load_method
from seamline.tabular import TableError, decode_text, read_table

METHOD = load_method(Path(seamline.grading.__file__).parent / "samples" / "linhai-2014.yaml")
HEADER = "企业代码,评价期,企业名称,用地面积(亩),税收(万元),销售收入(万元),工业增加值(万元),年平均职工人数,地址"
ROWS = ["f001,2026Q2,模拟服装厂01,4,3.2,60,16,16,浙江省", "f002,2026Q2,模拟服装厂02,2.5,\"1,600.5\",30,8,16,"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_a_county_sends(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(("\r\n".join([HEADER, *ROWS]) + "\r\n").encode(encoding))
    got = read_inputs(path, METHOD)
    assert got.errors == ()
    assert got.encoding == ("utf-8" if encoding.startswith("utf") else "gb18030")
    assert [(r.row, r.enterprise, r.period.text, r.name) for r in got.rows] == [
        (2, "f001", "2026Q2", "模拟服装厂01"), (3, "f002", "2026Q2", "模拟服装厂02")]
    assert got.rows[1].values["tax_10k_yuan"] == 1600.5  # thousands separator
    assert got.ignored_columns == ("地址",)
    assert "cod_t" in got.absent_columns and "water_t" in got.absent_columns


def test_xlsx_reads_like_csv(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER.split(","))
    ws.append(["f001", "2026Q2", "模拟服装厂01", 4, 3.2, 60, 16, 16, "浙江省"])
    ws.append([None] * 9)  # spreadsheets end in empty rows
    ws.append(["f002", "2026Q2", "模拟服装厂02", 2.5, "abc", 30, 8, 16.0, None])
    path = tmp_path / "in.xlsx"
    wb.save(path)
    got = read_inputs(path, METHOD)
    assert got.encoding == "xlsx"
    assert [r.enterprise for r in got.rows] == ["f001"]
    assert got.rows[0].values == {"land_mu": 4.0, "tax_10k_yuan": 3.2, "sales_10k_yuan": 60.0,
                                  "value_added_10k_yuan": 16.0, "employees": 16.0}
    assert [str(e) for e in got.errors] == [
        f"{path}: row 4 enterprise 'f002': tax_10k_yuan: expected a number, got 'abc'"]
    with pytest.raises(TableError, match="no sheet 'Q3'"):
        read_inputs(path, METHOD, sheet="Q3")


def test_every_bad_row_is_named_and_the_others_are_read(tmp_path: Path) -> None:
    rows = [
        "f001,2026Q2,a,4,3.2,60,16,16,",  # line 2: good
        ",2026Q2,b,4,3.2,60,16,16,",  # line 3: no enterprise
        "f/3,2026Q5,c,0,3.2,60,16,16,",  # line 4: bad id, bad period, land 0
        "f004,2026Q2,d,4,-3,60,-16,16,",  # line 5: negative tax (value added may be negative: a loss)
        "f001,2026Q2,e,4,3.2,60,16,16,",  # line 6: f001 2026Q2 again
        "f006,2026Q2,f,4,,60,16,16,x,y",  # line 7: values under no header; an empty cell is just missing
    ]
    path = tmp_path / "in.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    got = read_inputs(path, METHOD)
    assert [r.enterprise for r in got.rows] == ["f001"]
    problems = [(e.row, e.field) for e in got.errors]
    assert problems == [
        (3, "enterprise"),
        (4, "enterprise"), (4, "period"), (4, "land_mu"),
        (5, "tax_10k_yuan"),
        (6, "period"),
        (7, "(no header)"),
    ]
    assert "f001 2026Q2 already given on row 2" in str(got.errors[5])
    assert "must be >= 0, got -3" in str(got.errors[4])


def test_unreadable_files_are_refused_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="cannot read"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "in.ods").write_bytes(b"x")
    with pytest.raises(TableError, match=r"expected a \.csv or \.xlsx"):
        read_table(tmp_path / "in.ods")
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    with pytest.raises(TableError, match=r"not a readable \.xlsx"):
        read_table(tmp_path / "bad.xlsx")
    (tmp_path / "dup.csv").write_text("a,b,a\n1,2,3\n")
    with pytest.raises(TableError, match=r"columns named twice in the header: \['a'\]"):
        read_table(tmp_path / "dup.csv")
    (tmp_path / "noid.csv").write_text("name,land_mu\nx,1\n")
    with pytest.raises(TableError, match="no column enterprise or period"):
        read_inputs(tmp_path / "noid.csv", METHOD)
    with pytest.raises(TableError, match="byte 0"):
        decode_text(b"\xff\xfe\xfd", source="x.csv", encoding="utf-8")
