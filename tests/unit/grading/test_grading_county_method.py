"""A whole county method, worked by hand: the sample method (grading/samples/linhai-2014.yaml) on
seven enterprises' figures for the year 2025, read from a CSV with the county's own headers.

Standard variant (3 mu or more): points = value / benchmark × weight, capped at twice the weight.
Benchmarks and weights: tax/mu 15 万元 (40), sales/mu 300 万元 (10), VA/tce 3 万元 (20), VA per t COD
500 万元 (15), VA per t water 0.1 万元 (5), VA per person 15 万元 (10).

====  ====  ===============  ==================  ================  ============  ==============  ==========  =======
ent   land  tax/mu           sales/mu            VA/tce            VA/t COD      VA/t water      VA/person   total
====  ====  ===============  ==================  ================  ============  ==============  ==========  =======
E1    10    150/10=15 → 40   3000/10=300 → 10    600/200=3 → 20    500 → 15      0.1 → 5         15 → 10     100.0
E2    8     60/8=7.5 → 20    1200/8=150 → 5      300/20=15 → 40ᶜ   none → 10.0   0.2 → 10ᶜ       10 → 6.667  91.667
E3    5     120/5=24 → 64    2500/5=500 → 16.67  200/100=2 → 13.3  250 → 7.5     none → 5.833    8 → 5.333   112.667
E4    20    60/20=3 → 8      2000/20=100 → 3.33  150/150=1 → 6.67  250 → 7.5     0.05 → 2.5      3 → 2       35.0 ᵇ
E5    4     0 → 0            400/4=100 → 3.33    −20/10=−2 → 0     none → 10.0   none → 5.833    −2 → 0      19.167
====  ====  ===============  ==================  ================  ============  ==============  ==========  =======

ᶜ capped at twice the weight; ᵇ including +5 for a high-tech enterprise. E1's COD 600/1.2, water
600/6000; E3's COD 200/0.8; E4's COD 150/0.6, water 150/3000.
E2's energy: 100 000 kWh × 0.1229 kgce/kWh = 12.29 tce of electricity + 7.71 tce other = 20 tce.
COD mean of those with one: (15 + 7.5 + 7.5) / 3 = 10.0; water mean: (5 + 10 + 2.5) / 3 = 5.8333.
Ranks: E3 1, E1 2, E2 3, E4 4, E5 5. Shares A 0.2, B 0.5, C 0.2 of n = 5: A up to rank
round(1.0) = 1, B up to round(3.5) = 4, C up to round(4.5) = 5 (half up) → E3 A; E1, E2, E4 B; E5 C.

Small variant (under 3 mu): tax/mu (15, 50, cap 100), sales/mu (300, 20, cap 40), tax per kWh
(2 元/kWh, 30, cap 60):

S1  2 mu    45/2 = 22.5 → 75    600/2 = 300 → 20   450 000 元 / 150 000 kWh = 3 → 45   total 140.0
S2  1.5 mu  6/1.5 = 4 → 13.333  90/1.5 = 60 → 4    60 000 元 / 60 000 kWh = 1 → 15     total 32.333

n = 2: A up to round(0.4) = 0 ranks (nobody), B up to round(1.4) = 1, C up to round(1.8) = 2 → S1 B, S2 C.

Up a grade (others unchanged):
E1 (B) needs E3's 112.667: +12.667 points. tax/mu 40 → 52.667 points = 19.75 万元/mu (+31.7 %, or
land 15/19.75 − 1 = −24.1 %);
VA/tce 20 → 32.667 = 4.9 (+63.3 %, i.e. energy −38.8 %); VA/t COD 15 → 27.667 = 922.2 (+84.4 %);
sales, water and labour would pass their caps.
E2 (B) needs +21.0: only tax/mu, 20 → 41 points = 15.375 万元/mu (+105 %).
E5 (C) needs E4's 35.0: +15.833; sales/mu 3.333 → 19.167 = 575 (+475 %); tax/mu from 0 to
15.833 points = 5.9375 万元/mu (no percentage from 0); VA/tce from −2 to 2.375.
E4 (B) needs +77.667: no indicator alone gets there within its cap. S1: no enterprise can hold A
among two. S2 (C) needs +107.667: no single indicator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import seamline.grading
from seamline.grading.candidates import build_candidates
from seamline.grading.inputs import read_inputs
from seamline.grading.method import load_method
from seamline.grading.period import Period
from seamline.grading.scoring import GradeResult, grade_all

SAMPLE = Path(seamline.grading.__file__).parent / "samples" / "linhai-2014.yaml"
CSV = ("企业代码,评价期,企业名称,用地面积(亩),税收(万元),销售收入(万元),工业增加值(万元),年平均职工人数,"
       "用水量(吨),COD排放量(吨),其他能源(吨标煤),energy_kwh,高新技术企业,联系人\n") + """\
E1,2025,甲,10,150,3000,600,40,6000,1.2,200,0,0,张三
E2,2025,乙,8,60,1200,300,30,1500,,7.71,100000,0,李四
E3,2025,丙,5,120,2500,200,25,,0.8,100,0,0,
E4,2025,丁,20,60,2000,150,50,3000,0.6,150,0,1,
E5,2025,戊,4,0,400,-20,10,,,10,0,0,
S1,2025,小一,2,45,600,100,8,200,,,150000,0,
S2,2025,小二,1.5,6,90,20,6,100,,,60000,0,
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GradeResult]:
    method = load_method(SAMPLE)
    path = tmp_path_factory.mktemp("county") / "inputs.csv"
    path.write_bytes(CSV.encode("gbk"))  # as a county office's Excel writes it
    inputs = read_inputs(path, method)
    assert inputs.errors == () and inputs.encoding == "gb18030"
    assert inputs.ignored_columns == ("联系人",)
    candidates, provenance, notes = build_candidates(method, inputs, Period.parse("2025"), {}, {})
    assert notes == [] and {p.energy_source for p in provenance} == {"inputs"}
    return {r.enterprise: r for r in grade_all(method, candidates)}


def test_totals_ranks_and_grades(graded: dict[str, GradeResult]) -> None:
    expected = {  # enterprise: (variant, total, rank, ranked, grade)
        "E3": ("standard", 112.6667, 1, 5, "A"), "E1": ("standard", 100.0, 2, 5, "B"),
        "E2": ("standard", 91.6667, 3, 5, "B"), "E4": ("standard", 35.0, 4, 5, "B"),
        "E5": ("standard", 19.1667, 5, 5, "C"),
        "S1": ("small", 140.0, 1, 2, "B"), "S2": ("small", 32.3333, 2, 2, "C"),
    }
    for ent, (variant, total, rank, ranked, grade) in expected.items():
        r = graded[ent]
        assert (r.variant, r.rank, r.ranked, r.grade) == (variant, rank, ranked, grade), ent
        assert r.score == pytest.approx(total, abs=1e-3), ent
        assert not r.estimated  # the year's own figures, energy given in the file


def test_every_indicator_score_of_the_table(graded: dict[str, GradeResult]) -> None:
    scores = {
        "E1": (40, 10, 20, 15, 5, 10), "E2": (20, 5, 40, 10, 10, 6.6667),
        "E3": (64, 16.6667, 13.3333, 7.5, 5.8333, 5.3333),
        "E4": (8, 3.3333, 6.6667, 7.5, 2.5, 2), "E5": (0, 3.3333, 0, 10, 5.8333, 0),
        "S1": (75, 20, 45), "S2": (13.3333, 4, 15),
    }
    for ent, want in scores.items():
        got = tuple(i.score for i in graded[ent].indicators)
        assert got == pytest.approx(want, abs=1e-3), ent
    e2 = {i.indicator: i for i in graded["E2"].indicators}
    assert e2["va_per_tce"].value == pytest.approx(15.0)  # 300 / (12.29 + 7.71) tce
    assert e2["va_per_cod"].filled and e2["va_per_cod"].value is None
    assert graded["E4"].adjustments[0].points == 5.0 and graded["E1"].adjustments[0].points == 0.0
    s1 = {i.indicator: i for i in graded["S1"].indicators}
    assert s1["tax_per_kwh"].value == pytest.approx(3.0)


def test_what_moves_each_enterprise_up_a_grade(graded: dict[str, GradeResult]) -> None:
    e1 = graded["E1"].next_grade
    assert [s.indicator for s in e1] == ["tax_per_mu", "va_per_tce", "va_per_cod"]
    assert [s.to_grade for s in e1] == ["A", "A", "A"]
    assert [s.target_value for s in e1] == pytest.approx([19.75, 4.9, 922.222], abs=1e-3)
    assert [s.change_pct for s in e1] == pytest.approx([31.667, 63.333, 84.444], abs=1e-3)
    assert e1[1].denominator == "energy_tce" and e1[1].denominator_change_pct == pytest.approx(-38.776, abs=1e-3)
    # a per-mu indicator reached with less land instead: giving idle land back (腾退) is advice counties give
    assert graded["E1"].advice == ("tax_per_mu +31.7 % (or land_mu -24.1 %) → A; va_per_tce +63.3 % (or energy_tce "
                                   "-38.8 %) → A; va_per_cod +84.4 % (or cod_t -45.8 %) → A")
    (e2,) = graded["E2"].next_grade
    assert (e2.indicator, e2.target_value, e2.change_pct) == ("tax_per_mu", pytest.approx(15.375), pytest.approx(105.0))
    e5 = graded["E5"].next_grade
    assert [s.indicator for s in e5] == ["sales_per_mu", "tax_per_mu", "va_per_tce"]
    assert [s.to_grade for s in e5] == ["B", "B", "B"]
    assert e5[0].change_pct == pytest.approx(475.0) and e5[0].target_value == pytest.approx(575.0)
    assert e5[1].change_pct is None and e5[1].target_value == pytest.approx(5.9375)
    assert e5[2].change_pct is None and e5[2].target_value == pytest.approx(2.375)
    for ent in ("E3", "E4", "S1", "S2"):
        assert graded[ent].next_grade == (), ent
