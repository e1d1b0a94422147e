"""Workbooks for the roster import tests."""
from __future__ import annotations

import datetime as dt
import io

from openpyxl import Workbook

from kaohe.people.roster_format import CHARGE_COLUMNS, PEOPLE_COLUMNS

HEADERS = [c.header for c in PEOPLE_COLUMNS]
KEYS = [c.key for c in PEOPLE_COLUMNS]


def person_row(staff_no, name, dept="", role="工作人员", rank="一般干部", sup="", hire=dt.date(2021, 3, 1),
               probation=None, post="科员", gender="男", category="综合管理", **more):
    values = {"staff_no": staff_no, "name": name, "gender": gender, "dept_code": dept or None, "dept_name": None,
              "post": post, "rank_group": rank, "job_category": category, "position_role": role,
              "hire_date": hire, "probation_end": probation, "supervisor_staff_no": sup or None, **more}
    return [values.get(k) for k in KEYS]


def workbook(rows, charges=None, headers=None, sheet="人员 People", extra_sheets=()) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(headers or HEADERS)
    for r in rows:
        ws.append(r)
    if charges is not None:
        ch = wb.create_sheet("分管 Charges")
        ch.append([c.header for c in CHARGE_COLUMNS])
        for leader, dept in charges:
            ch.append([leader, dept, None])
    for name in extra_sheets:
        wb.create_sheet(name)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def clean_rows(prefix=""):
    """A township: head, a deputy in charge of D1, two dept heads, staff."""
    d1, d2 = f"{prefix}T1-D1", f"{prefix}T1-D2"
    return [
        person_row("head", "镇长", role="主要领导", rank="领导班子"),
        person_row("deputy", "副镇长", role="分管领导", rank="领导班子", sup="head"),
        person_row("d1head", "一科长", dept=d1, role="科室负责人", sup="deputy"),
        person_row("d1staff", "一科员", dept=d1, sup="d1head"),
        person_row("d2head", "二科长", dept=d2, role="科室负责人", sup="deputy"),
        person_row("d2staff", "二科员", dept=d2, sup="d2head"),
        person_row("n001", "新人甲", dept=d2, sup="d2head", hire=dt.date(2026, 8, 1), probation=dt.date(2027, 8, 1)),
        person_row("n002", "新人乙", dept=d1, sup="d1head"),
    ]
