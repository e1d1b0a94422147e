"""The roster reader without a database: cell rules as a table, and memory
that stays flat however many rows the workbook has."""
from __future__ import annotations

import datetime as dt
import io
import tracemalloc

import pytest
from openpyxl import Workbook

from kaohe.people import roster_format
from kaohe.people.roster_check import check_workbook, parse_cell
from kaohe.people.roster_format import PEOPLE_COLUMNS, UnitContext

from .helpers import HEADERS, person_row

COL = {c.key: c for c in PEOPLE_COLUMNS}


@pytest.mark.parametrize("key,value,expected,code", [
    ("staff_no", "  T001 ", "T001", None),
    ("staff_no", 1001.0, "1001", None),
    ("staff_no", 10.5, None, "wrong_type"),
    ("staff_no", True, None, "wrong_type"),
    ("staff_no", None, None, "required"),
    ("staff_no", "x" * 33, None, "too_long"),
    ("name", "张三", "张三", None),
    ("name", "", None, "required"),
    ("name", dt.date(2020, 1, 1), None, "wrong_type"),
    ("hire_date", dt.datetime(2021, 3, 1, 0, 0), dt.date(2021, 3, 1), None),
    ("hire_date", "2021/3/1", dt.date(2021, 3, 1), None),
    ("hire_date", "2021年3月1日", dt.date(2021, 3, 1), None),
    ("hire_date", "2021-02-30", None, "bad_date"),
    ("hire_date", "soon", None, "bad_date"),
    ("hire_date", 44000, None, "wrong_type"),
    ("hire_date", None, None, None),
    ("rank_group", "领导班子", "leader", None),
    ("rank_group", "staff", "staff", None),
    ("rank_group", "处级", None, "bad_choice"),
    ("position_role", "分管领导", "deputy", None),
    ("position_role", "科室负责人", "dept_head", None),
    ("job_category", "窗口", "service_window", None),
    ("gender", "女", "F", None),
])
def test_parse_cell(key, value, expected, code):
    got, problem, _params = parse_cell(COL[key], value)
    assert (got, problem) == (expected, code)


def _ctx(max_rows=200_000):
    return UnitContext(unit_code="U", departments={"D1": (11, "一科")}, existing={}, max_rows=max_rows)


def _big(n: int) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("人员 People")
    ws.append(HEADERS)
    for i in range(n):
        ws.append(person_row(f"S{i:06d}", f"人{i}", dept="D1" if i % 2 else "", sup="S000000" if i else ""))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_check_memory_does_not_grow_with_rows():
    small, large = _big(2_000), _big(20_000)
    reports = []
    peak_small = _peak(lambda: reports.append(check_workbook(small, _ctx())))
    peak_large = _peak(lambda: reports.append(check_workbook(large, _ctx())))
    assert reports[0].ok and reports[1].ok and reports[1].rows_total == 20_000
    # Ten times the rows: the parsed rows are never kept; only the staff-number index, the
    # supervisor links and the list of changes (here every row is a new person: row, staff number,
    # name) grow -- a few hundred bytes a person (measured ≈ 560 after the merges), bounded by KAOHE_ROSTER_MAX_ROWS.
    assert reports[1].plan.counts["new"] == 20_000 and len(reports[1].plan.people) == 20_000
    assert peak_large - peak_small < 18_000 * 700, (peak_small, peak_large)


def test_hundred_thousand_rows_stop_at_the_limit_quickly():
    data = _big(100_000)
    report = check_workbook(data, _ctx(max_rows=20_000))   # stops reading at row 20,001
    assert report.fatal and [p.code for p in report.problems] == ["too_many_rows"]
    assert roster_format.message(report.problems[0].to_dict()) == \
        "More than 20000 rows: the limit for one upload is 20000 people."


def test_export_memory_is_flat():
    from kaohe.supervision.exports import Col, ExportSpec, write_xlsx

    cols = [Col("a", "甲", "A"), Col("b", "乙", "B"), Col("d", "日期", "Date")]

    def spec(n):
        return ExportSpec(kind="t", title=("测试", "Test"), columns=cols,
                          rows=lambda node, params: ((i, f"行{i}", dt.date(2026, 1, 1)) for i in range(n)))

    peak_small = _peak(lambda: write_xlsx(spec(5_000), None, {}, io.BytesIO()))
    peak_large = _peak(lambda: write_xlsx(spec(50_000), None, {}, io.BytesIO()))
    # write-only streams rows to a temporary file: memory does not follow the row count
    assert peak_large < peak_small * 2 + 2_000_000, (peak_small, peak_large)
