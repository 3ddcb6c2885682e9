"""The county's figures for the demo's enterprises: a SYNTHETIC inputs file for ``seamline grade``,
written as a county office would send it — GBK-encoded CSV with the county's Chinese headers (the
sample method's ``columns`` map them). Figures are invented but plausible for workshops of this
size (tens of operators, a few mu), scaled by each factory's operators, and they are those of the
quarter before the one graded: between finance reports, grading uses the latest figures and the
meters' nowcast of the running quarter (both marked estimated).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import seamline.grading

SAMPLE_METHOD = Path(seamline.grading.__file__).parent / "samples" / "linhai-2014.yaml"
HEADERS = ("企业代码", "评价期", "企业名称", "用地面积(亩)", "税收(万元)", "销售收入(万元)", "工业增加值(万元)",
           "年平均职工人数", "用水量(吨)", "COD排放量(吨)", "其他能源(吨标煤)", "高新技术企业")
# Per quarter for a 16-operator workshop: tax, sales, value added (万元), water (t), COD (t, "" = no
# discharge measured), other energy (tce: canteen LPG, a gas boiler), high-tech (0/1). Cycled over
# the factories; land (mu) is the master data's.
TEMPLATES = (
    (3.2, 60.0, 16.0, 300.0, "", 0.3, 0),
    (1.6, 30.0, 8.0, 150.0, "", 0.2, 0),
    (4.6, 78.0, 22.0, 320.0, "0.02", 0.4, 1),
    (1.9, 45.0, 10.0, 400.0, "", 1.2, 0),
)
OPERATORS_OF_TEMPLATE = 16


def previous_quarter(day: date) -> str:
    q = (day.month - 1) // 3 + 1
    return f"{day.year}Q{q - 1}" if q > 1 else f"{day.year - 1}Q4"


def quarter(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def write_inputs(path: Path, enterprises: list[str], *, operators: dict[str, int], land_mu: dict[str, float],
                 day: date) -> Path:
    """The synthetic county file for ``enterprises`` (figures of the quarter before ``day``'s)."""
    period = previous_quarter(day)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(HEADERS)
    for i, ent in enumerate(enterprises):
        tax, sales, va, water, cod, other, high_tech = TEMPLATES[i % len(TEMPLATES)]
        k = operators.get(ent, OPERATORS_OF_TEMPLATE) / OPERATORS_OF_TEMPLATE
        w.writerow([ent, period, f"模拟服装厂{i + 1:02d}", land_mu.get(ent, 3.0), round(tax * k, 2),
                    round(sales * k, 1), round(va * k, 2), operators.get(ent, OPERATORS_OF_TEMPLATE),
                    round(water * k), cod, round(other * k, 2), high_tech])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue().encode("gbk"))
    return path
