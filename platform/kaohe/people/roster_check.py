"""Reading and checking a roster workbook (Excel in).

Pure code: no Flask, no database.  ``check_workbook`` streams the workbook
once (openpyxl read_only, formulas kept as formulas so they can be refused)
and returns every problem with its sheet, row and column, and the list of
changes a clean file makes (``roster_plan``); ``roster_read`` streams its rows for the import.
Memory stays flat in the row count: rows are never held, only the set of
staff numbers seen (to find duplicates) and the supervisor links (to find
loops), a few dozen bytes per person.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from typing import Any, Iterator

from ..core import xlsx_guard
from . import id_number as idn
from .roster_format import (CHARGE_COLUMNS, CHARGE_SHEET, CLEAR, CLEAR_WORDS, NOTES_SHEET,
                            PEOPLE_COLUMNS, PEOPLE_SHEET, Column, N_, Problem, Report, UnitContext, choice_index,
                            jsonable, norm)
from .roster_ids import IdIndex as _IdIndex
from .roster_ids import check as _check_identity
from .roster_plan import Plan

_CLEAR_NORM = {norm(w) for w in CLEAR_WORDS}


# -- opening the workbook ----------------------------------------------------


class Unreadable(Exception):
    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(code)


def open_workbook(data: bytes, config=None):
    """The workbook in streaming mode, or Unreadable('empty_file'|'not_xlsx')."""
    from openpyxl import load_workbook

    if not data:
        raise Unreadable("empty_file")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise Unreadable("not_xlsx")
    try:  # a zip bomb or merged cells are refused before openpyxl reads anything
        xlsx_guard.check(data, ignore_sheets=NOTES_SHEET, config=config)
    except xlsx_guard.XlsxRefused as exc:
        raise Unreadable(exc.code, **exc.params)
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - any parse failure is "not a workbook we can read"
        raise Unreadable("not_xlsx")


def _find_sheet(wb, names: tuple[str, ...]):
    wanted = {norm(n) for n in names} | {norm("".join(names))}
    for ws in wb.worksheets:
        if norm(ws.title) in wanted:
            return ws
    return None


def col_letter(idx: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(idx + 1)


def _header(ws, columns: tuple[Column, ...], sheet: str, report: Report):
    """Map column positions to keys from the first row; None when unusable."""
    rows = ws.iter_rows(min_row=1, max_row=1, values_only=True)
    first = next(rows, None)
    if not first or all(v is None or str(v).strip() == "" for v in first):
        report.add(Problem(sheet, 1, None, None, "no_header"))
        return None
    lookup = {}
    for col in columns:
        for a in col.aliases():
            lookup[a] = col.key
    positions: dict[int, str] = {}
    seen: set[str] = set()
    bad = False
    for idx, raw in enumerate(first):
        if raw is None or str(raw).strip() == "":
            continue
        key = lookup.get(norm(raw))
        if key is None:
            report.add(Problem(sheet, 1, col_letter(idx), None, "unknown_column", str(raw).strip()))
            bad = True
            continue
        if key in seen:
            report.add(Problem(sheet, 1, col_letter(idx), key, "duplicate_column", str(raw).strip()))
            bad = True
            continue
        seen.add(key)
        positions[idx] = key
    for col in columns:
        if col.required and col.key not in seen:
            report.add(Problem(sheet, 1, None, col.key, "missing_column", col.zh))
            bad = True
    return None if bad else positions


# -- checking cells ----------------------------------------------------------

_DATE_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


TYPE_NAMES = (N_("true/false"), N_("a number"), N_("a date"), N_("text"), N_("text or a whole number"),
              N_("a decimal number"))


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, (dt.datetime, dt.date)):
        return "a date"
    return "text"


def parse_cell(col: Column, value: Any) -> tuple[Any, str | None, dict]:
    """Normalise one cell: (value, problem code or None, params)."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None, ("required" if col.required else None), {}
    if isinstance(value, str) and norm(value) in _CLEAR_NORM:
        return (CLEAR, None, {}) if col.clearable else (None, "cannot_clear", {})
    if col.kind == "id_number":
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            return None, "wrong_type", {"expected": "text", "found": _type_name(value)}
        number = idn.normalise(value)
        if idn.is_masked(number):
            return number, None, {}      # a masked number: checked against the stored one
        code = idn.problem(number)
        return (None, code, {}) if code else (number, None, {})
    if col.kind == "date":
        if isinstance(value, dt.datetime):
            return value.date(), None, {}
        if isinstance(value, dt.date):
            return value, None, {}
        if isinstance(value, str):
            m = _DATE_RE.match(value)
            if m:
                try:
                    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))), None, {}
                except ValueError:
                    pass
            return None, "bad_date", {}
        return None, "wrong_type", {"expected": "a date", "found": _type_name(value)}
    if col.kind == "code":
        if isinstance(value, bool) or isinstance(value, (dt.date, dt.datetime)):
            return None, "wrong_type", {"expected": "text or a whole number", "found": _type_name(value)}
        if isinstance(value, float):
            if not value.is_integer():
                return None, "wrong_type", {"expected": "text or a whole number", "found": "a decimal number"}
            value = int(value)
        text = str(value).strip()
        if len(text) > col.max_len:
            return None, "too_long", {"max": col.max_len}
        return text, None, {}
    if not isinstance(value, str):
        if col.kind == "text" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)       # a post or department called "2" is odd but harmless
        else:
            return None, "wrong_type", {"expected": "text", "found": _type_name(value)}
    text = value.strip()
    if col.kind == "enum":
        code = choice_index(col).get(norm(text))
        if code is not None:
            return code, None, {}
        choices = "、".join(s[0] for s in (col.choices or {}).values())
        return None, "bad_choice", {"choices": choices}
    if len(text) > col.max_len:
        return None, "too_long", {"max": col.max_len}
    return text, None, {}


def _is_formula(cell) -> bool:
    return getattr(cell, "data_type", None) == "f" or (
        isinstance(getattr(cell, "value", None), str) and cell.value.startswith("=") and len(cell.value) > 1)


def _rows(ws, positions: dict[int, str], columns: tuple[Column, ...], sheet: str,
          report: Report | None) -> Iterator[tuple[int, dict, bool]]:
    """Yield (row number, normalised values, row ok) for non-blank rows."""
    by_key = {c.key: c for c in columns}
    for row_no, cells in enumerate(ws.iter_rows(min_row=2), start=2):
        if all(getattr(c, "value", None) is None or str(c.value).strip() == "" for c in cells):
            continue
        values: dict[str, Any] = {}
        ok = True
        for idx, key in positions.items():
            cell = cells[idx] if idx < len(cells) else None
            raw = getattr(cell, "value", None)
            col = by_key[key]
            if cell is not None and _is_formula(cell):
                ok = False
                if report is not None:
                    report.add(Problem(sheet, row_no, col_letter(idx), key, "formula", str(raw)[:60]))
                continue
            value, code, params = parse_cell(col, raw)
            if code:
                ok = False
                if report is not None:
                    report.add(Problem(sheet, row_no, col_letter(idx), key, code,
                                       None if raw is None else jsonable(raw), params))
            values[key] = value
        yield row_no, values, ok


def _dept_of(ctx: UnitContext, code: str | None, name: str | None) -> tuple[int | None, str | None, dict]:
    """(department id or None for the unit itself, problem code, params)."""
    if code:
        hit = ctx.departments.get(code)
        if hit is None:
            return None, "unknown_department", {}
        if name and norm(name) != norm(hit[1]):
            return None, "department_mismatch", {"code": code, "actual": hit[1]}
        return hit[0], None, {}
    if name:
        codes = ctx.by_name.get(norm(name), [])
        if not codes:
            return None, "unknown_department", {}
        if len(codes) > 1:
            return None, "ambiguous_department", {}
        return ctx.departments[codes[0]][0], None, {}
    return None, None, {}


def _dept_code(ctx: UnitContext, code: str | None, name: str | None) -> tuple[str | None, str | None, dict]:
    """(department code, problem code, params) for a code and/or a name."""
    if code:
        hit = ctx.departments.get(code)
        if hit is None:
            return None, "unknown_department", {}
        if name and norm(name) != norm(hit[1]):
            return None, "department_mismatch", {"code": code, "actual": hit[1]}
        return code, None, {}
    if name:
        codes = ctx.by_name.get(norm(name), [])
        if not codes:
            return None, "unknown_department", {}
        if len(codes) > 1:
            return None, "ambiguous_department", {}
        return codes[0], None, {}
    return None, None, {}


def _dept_choice(ctx: UnitContext, values: dict, sheet: str, row_no: int):
    """((given, code or None for the unit itself), Problem or None).  Empty
    cells: not given (an existing person stays where they are); the clear
    marker: the unit itself."""
    code, name = values.get("dept_code"), values.get("dept_name")
    if code is CLEAR or name is CLEAR:
        return (True, None), None
    if not code and not name:
        return (False, None), None
    found, problem, params = _dept_code(ctx, code, name)
    if problem:
        return (False, None), Problem(sheet, row_no, None, "dept_code" if code else "dept_name", problem,
                                      name if problem == "department_mismatch" else (code or name), params)
    return (True, found), None


# -- the whole check -----------------------------------------------------------


def check_workbook(data: bytes, ctx: UnitContext, progress=None, config=None) -> Report:
    """One streaming pass over the workbook; nothing is written anywhere."""
    report = Report()
    try:
        wb = open_workbook(data, config)
    except Unreadable as exc:
        report.fatal = True
        report.add(Problem("", None, None, None, exc.code, params=exc.params))
        return report
    try:
        _check_people(wb, ctx, report, progress)
        if not report.fatal:
            _check_charges(wb, ctx, report)
    finally:
        wb.close()
    return report


def _check_people(wb, ctx: UnitContext, report: Report, progress) -> None:
    ws = _find_sheet(wb, PEOPLE_SHEET)
    if ws is None:
        report.fatal = True
        report.add(Problem("", None, None, None, "no_people_sheet", params={
            "expected": "“人员” (People)", "found": "、".join(s.title for s in wb.worksheets) or "-"}))
        return
    sheet = ws.title
    positions = _header(ws, PEOPLE_COLUMNS, sheet, report)
    if positions is None:
        report.fatal = True
        return
    # The only per-row state: staff number → first row (duplicates), the
    # supervisor links (loops, outsiders) and who leads (the charges sheet).
    first_row: dict[str, int] = {}
    sup_of: dict[str, str] = {}
    sup_row: dict[str, int] = {}
    role_of: dict[str, str] = {}
    plan = Plan(current=ctx.current)
    ids = _IdIndex(ctx, sheet, report)
    for row_no, values, ok in _rows(ws, positions, PEOPLE_COLUMNS, sheet, report):
        report.rows_total += 1
        if report.rows_total > ctx.max_rows:
            report.fatal = True
            report.add(Problem(sheet, row_no, None, None, "too_many_rows", params={"max": ctx.max_rows}))
            return
        if progress and report.rows_total % 2000 == 0:
            progress(report.rows_total)
        staff_no = values.get("staff_no")
        cur = ctx.current.get(staff_no) if staff_no else None
        if staff_no:
            if staff_no in first_row:
                report.add(Problem(sheet, row_no, None, "staff_no", "duplicate_staff_no", staff_no,
                                   {"first_row": first_row[staff_no]}))
                continue
            first_row[staff_no] = row_no
            if values.get("position_role") in ("head", "deputy"):
                role_of[staff_no] = values["position_role"]
            elif staff_no in ctx.existing:
                role_of[staff_no] = ctx.existing[staff_no][2] if values.get("position_role") is None else "staff"
            if values.get("leave") == "yes" and staff_no not in ctx.existing:
                ok = False
                report.add(Problem(sheet, row_no, None, "leave", "leave_unknown", staff_no))
        dept, problem = _dept_choice(ctx, values, sheet, row_no)
        if problem:
            ok = False
            report.add(problem)
        ok = _check_identity(values, cur, sheet, row_no, report, ids, staff_no) and ok
        hire, prob = values.get("hire_date"), values.get("probation_end")
        if hire not in (None, CLEAR) and prob not in (None, CLEAR) and prob < hire:
            ok = False
            report.add(Problem(sheet, row_no, None, "probation_end", "date_order", jsonable(prob)))
        sup = values.get("supervisor_staff_no")
        if sup and sup is not CLEAR and staff_no:
            if sup == staff_no:
                ok = False
                report.add(Problem(sheet, row_no, None, "supervisor_staff_no", "supervisor_self", sup))
            else:
                sup_of[staff_no] = sup
                sup_row[staff_no] = row_no
        if ok and staff_no:
            plan.person(row_no, staff_no, values, dept, values.get("leave") == "yes")
    ids.finish()
    if ctx.deactivate_missing:
        plan.missing(first_row)
    report.plan = plan
    report.new_people = plan.counts["new"]
    report.updated_people = plan.counts["updated"]
    if report.rows_total == 0:
        report.fatal = True
        report.add(Problem(sheet, None, None, None, "no_rows"))
        return
    # Supervisors: in the file, or already (and still) on the unit's roster.
    for staff_no, sup in sup_of.items():
        if sup in first_row:
            continue
        hit = ctx.existing.get(sup)
        if hit is None:
            report.add(Problem(sheet, sup_row[staff_no], None, "supervisor_staff_no", "supervisor_outside", sup))
        elif not hit[1] or ctx.deactivate_missing:
            report.add(Problem(sheet, sup_row[staff_no], None, "supervisor_staff_no", "supervisor_inactive", sup))
    # Loops (A → B → A) among the file's links.
    reported: set[str] = set()
    for start in sup_of:
        seen = [start]
        cur = sup_of.get(start)
        while cur is not None and cur in sup_of and cur not in seen:
            seen.append(cur)
            cur = sup_of.get(cur)
        if cur == start and start not in reported:
            reported.update(seen)
            report.add(Problem(sheet, sup_row[start], None, "supervisor_staff_no", "supervisor_loop",
                               " → ".join(seen + [start])))
    # Who supervises a person who stays must not leave by this file.
    leaving = {e[2] for e in plan.people if e[1] == "remove"}
    for staff_no, sup in sup_of.items():
        if sup in leaving and staff_no not in leaving:
            report.add(Problem(sheet, sup_row[staff_no], None, "supervisor_staff_no", "supervisor_inactive", sup))
    # Remember who is a leader for the charges sheet.
    ctx._file_roles = role_of  # type: ignore[attr-defined]
    ctx._file_rows = first_row  # type: ignore[attr-defined]


def _check_charges(wb, ctx: UnitContext, report: Report) -> None:
    ws = _find_sheet(wb, CHARGE_SHEET)
    if ws is None:
        return
    sheet = ws.title
    first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), None)
    if not first or all(v is None for v in first):
        return  # an empty charges sheet: the unit's 分管 relations are left as they are
    positions = _header(ws, CHARGE_COLUMNS, sheet, report)
    if positions is None:
        return
    roles: dict[str, str] = getattr(ctx, "_file_roles", {})
    seen: dict[tuple[str, int], int] = {}
    for row_no, values, ok in _rows(ws, positions, CHARGE_COLUMNS, sheet, report):
        report.charges_total += 1
        if report.charges_total > ctx.max_rows:
            report.add(Problem(sheet, row_no, None, None, "too_many_rows", params={"max": ctx.max_rows}))
            return
        leader = values.get("leader_staff_no")
        if leader:
            if leader in roles:
                role = roles[leader]
            elif leader in getattr(ctx, "_file_rows", ()):
                role = "staff"
            else:
                role = (ctx.existing.get(leader) or (None, None, None))[2]
            if role is None:
                report.add(Problem(sheet, row_no, None, "leader_staff_no", "leader_unknown", leader))
            elif role not in ("head", "deputy"):
                report.add(Problem(sheet, row_no, None, "leader_staff_no", "leader_not_leader", leader))
        code, name = values.get("dept_code"), values.get("dept_name")
        if not code and not name:
            report.add(Problem(sheet, row_no, None, "dept_code", "charge_needs_department"))
            continue
        dept, problem, params = _dept_code(ctx, code, name)
        if problem:
            report.add(Problem(sheet, row_no, None, "dept_code" if code else "dept_name", problem,
                               name if problem == "department_mismatch" else (code or name), params))
            continue
        if leader and dept is not None:
            key = (leader, dept)
            if key in seen:
                report.add(Problem(sheet, row_no, None, "leader_staff_no", "duplicate_charge", leader,
                                   {"first_row": seen[key]}))
            else:
                seen[key] = row_no
                if ok and report.plan is not None:
                    report.plan.charge(row_no, leader, dept, values.get("remove") == "yes", ctx.charges)
