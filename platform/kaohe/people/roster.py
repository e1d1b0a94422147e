"""Reading and checking a roster workbook (Excel in).

Pure code: no Flask, no database.  ``check_workbook`` streams the workbook
once (openpyxl read_only, formulas kept as formulas so they can be refused)
and returns every problem with its sheet, row and column; ``iter_people`` /
``iter_charges`` stream the normalised rows of a clean workbook for the import.
Memory stays flat in the row count: rows are never held, only the set of
staff numbers seen (to find duplicates) and the supervisor links (to find
loops), a few dozen bytes per person.

Problems are stored as codes with parameters and worded at display time
(``ERROR_TEXT``), so a report reads in the reader's language.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..core import xlsx_guard

# -- the columns -------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    required: bool = False
    kind: str = "text"            # text | code | date | enum
    max_len: int = 80
    choices: dict[str, tuple[str, ...]] | None = None   # value -> accepted spellings
    example: Any = None
    hint_zh: str = ""
    hint_en: str = ""

    def aliases(self) -> set[str]:
        return {_norm(self.key), _norm(self.zh), _norm(self.en), _norm(self.zh + self.en), _norm(self.header)}

    @property
    def header(self) -> str:
        return f"{self.zh}\n{self.en}"


RANK_CHOICES = {"leader": ("领导班子", "领导", "leader"), "staff": ("一般干部", "干部", "staff")}
CATEGORY_CHOICES = {"general": ("综合管理", "综合", "general"), "police": ("公安", "人民警察", "police"),
                    "service_window": ("窗口服务", "窗口", "service_window", "service window")}
ROLE_CHOICES = {"head": ("主要领导", "head"), "deputy": ("分管领导", "班子成员", "deputy"),
                "dept_head": ("科室负责人", "站所负责人", "dept_head", "department head"),
                "staff": ("工作人员", "一般工作人员", "staff")}
GENDER_CHOICES = {"M": ("男", "m", "male"), "F": ("女", "f", "female")}

PEOPLE_COLUMNS: tuple[Column, ...] = (
    Column("staff_no", "工号", "Staff no.", required=True, kind="code", max_len=32, example="T0001",
           hint_zh="本单位内唯一，重复导入时按工号更新", hint_en="Unique in the unit; re-imports update by it"),
    Column("name", "姓名", "Name", required=True, example="张三"),
    Column("gender", "性别", "Gender", kind="enum", choices=GENDER_CHOICES, example="男"),
    Column("dept_code", "科室编码", "Department code", kind="code", max_len=32, example="",
           hint_zh="留空表示直属本单位", hint_en="Blank: directly in the unit"),
    Column("dept_name", "科室名称", "Department name", example=""),
    Column("post", "岗位", "Post", example="党政办科员"),
    Column("rank_group", "人员类别", "Rank group", kind="enum", choices=RANK_CHOICES, example="一般干部"),
    Column("job_category", "职位类别", "Job category", kind="enum", choices=CATEGORY_CHOICES, example="综合管理"),
    Column("position_role", "职务角色", "Position role", kind="enum", choices=ROLE_CHOICES, example="工作人员"),
    Column("hire_date", "入职日期", "Hire date", kind="date", example=dt.date(2020, 7, 1)),
    Column("probation_end", "试用期满", "Probation end", kind="date", example=None),
    Column("supervisor_staff_no", "直接上级工号", "Supervisor staff no.", kind="code", max_len=32, example="",
           hint_zh="须为本单位人员", hint_en="Must be on this unit's roster"),
)

CHARGE_COLUMNS: tuple[Column, ...] = (
    Column("leader_staff_no", "分管领导工号", "Leader staff no.", required=True, kind="code", max_len=32),
    Column("dept_code", "科室编码", "Department code", kind="code", max_len=32),
    Column("dept_name", "科室名称", "Department name"),
)

PEOPLE_SHEET = ("人员", "People")
CHARGE_SHEET = ("分管", "Charges")
NOTES_SHEET = ("说明", "Notes")

MAX_ERRORS_KEPT = 1000


def N_(text: str) -> str:
    """Marks a string for the translation catalog; translated when shown."""
    return text


# code -> English text with %(name)s parameters (the UI wraps it in gettext).
ERROR_TEXT: dict[str, str] = {
    "empty_file": N_("The file is empty."),
    "not_xlsx": N_("This is not an Excel workbook (.xlsx); save it as .xlsx and upload it again."),
    "no_people_sheet": N_("No sheet named %(expected)s; the workbook has: %(found)s. Start from the template."),
    "no_header": N_("The first row of the sheet must hold the column titles."),
    "unknown_column": N_("Unknown column \"%(value)s\"; use the template's columns."),
    "duplicate_column": N_("Column \"%(value)s\" appears twice."),
    "missing_column": N_("Required column \"%(value)s\" is missing."),
    "no_rows": N_("The sheet has no people rows."),
    "too_many_rows": N_("More than %(max)s rows: the limit for one upload is %(max)s people."),
    "required": N_("Required; the cell is empty."),
    "formula": N_("The cell holds a formula (%(value)s); paste the value instead."),
    "wrong_type": N_("Expected %(expected)s, found %(found)s."),
    "too_long": N_("Longer than %(max)s characters."),
    "bad_choice": N_("\"%(value)s\" is not one of: %(choices)s."),
    "bad_date": N_("\"%(value)s\" is not a date (use YYYY-MM-DD)."),
    "date_order": N_("The probation end is before the hire date."),
    "duplicate_staff_no": N_("Staff number %(value)s already appears in row %(first_row)s."),
    "unknown_department": N_("Department \"%(value)s\" is not a department of this unit."),
    "ambiguous_department": N_("More than one department of this unit is named \"%(value)s\"; give the code."),
    "department_mismatch": N_("Department code %(code)s is \"%(actual)s\", not \"%(value)s\"."),
    "supervisor_outside": N_("Supervisor %(value)s is not on this unit's roster (neither in the file nor in the system)."),
    "supervisor_inactive": N_("Supervisor %(value)s has left the unit."),
    "supervisor_self": N_("A person cannot be their own supervisor."),
    "supervisor_loop": N_("The supervisor chain loops back to this person (%(value)s)."),
    "leader_unknown": N_("Leader %(value)s is not on this unit's roster."),
    "leader_not_leader": N_("%(value)s is not a head or deputy, so cannot be in charge of departments."),
    "charge_needs_department": N_("Give the department (code or name) the leader is in charge of."),
    "duplicate_charge": N_("This leader–department pair already appears in row %(first_row)s."),
}


ERROR_TEXT.update(xlsx_guard.ERROR_TEXT)   # too_large_unpacked, merged_cells


def _norm(text: Any) -> str:
    return re.sub(r"[\s_.:：()（）*]+", "", str(text or "")).lower()


def _choice_index(col: "Column") -> dict[str, str]:
    """Every accepted spelling of an enum column, normalised once (a roster
    of 10,000 rows asks this for every cell), mapped to its code; the first
    choice wins where two share a spelling, as the loop it replaces did.
    Kept on the (frozen) column itself."""
    index = col.__dict__.get("_choice_index")
    if index is None:
        index = {}
        for code, spellings in (col.choices or {}).items():
            for spelling in (code, *spellings):
                index.setdefault(_norm(spelling), code)
        object.__setattr__(col, "_choice_index", index)
    return index


# -- what the checker needs to know about the unit ---------------------------


@dataclass
class UnitContext:
    """The unit's departments and existing roster, loaded by the service."""

    unit_code: str
    departments: dict[str, tuple[int, str]]                  # code -> (id, name)
    existing: dict[str, tuple[int, bool, str]] = field(default_factory=dict)  # staff_no -> (id, active, role)
    max_rows: int = 20000
    deactivate_missing: bool = False

    def __post_init__(self) -> None:
        self.by_name: dict[str, list[str]] = {}
        for code, (_id, name) in self.departments.items():
            self.by_name.setdefault(_norm(name), []).append(code)


@dataclass
class Problem:
    sheet: str
    row: int | None
    column: str | None
    field: str | None
    code: str
    value: Any = None
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "field": self.field,
                "code": self.code, "value": _jsonable(self.value), "params": {k: _jsonable(v) for k, v in self.params.items()}}


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()[:10]
    return str(v)


def message(problem: dict, translate=lambda s: s) -> str:
    """The sentence for one stored problem (``translate`` is gettext)."""
    params = {"value": problem.get("value")}
    params.update(problem.get("params") or {})
    for k in ("expected", "found"):  # type names are catalog words too (TYPE_NAMES)
        if isinstance(params.get(k), str):
            params[k] = translate(params[k])
    text = translate(ERROR_TEXT.get(problem.get("code"), problem.get("code") or ""))
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        return text


@dataclass
class Report:
    rows_total: int = 0
    charges_total: int = 0
    error_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    fatal: bool = False          # the workbook could not be read as a roster at all
    new_people: int = 0
    updated_people: int = 0

    def add(self, problem: Problem) -> None:
        self.error_count += 1
        if len(self.problems) < MAX_ERRORS_KEPT:
            self.problems.append(problem)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def to_dict(self) -> dict:
        return {"rows_total": self.rows_total, "charges_total": self.charges_total,
                "error_count": self.error_count, "errors": [p.to_dict() for p in self.problems],
                "new_people": self.new_people, "updated_people": self.updated_people}


# -- opening the workbook ----------------------------------------------------


class Unreadable(Exception):
    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(code)


def open_workbook(data: bytes):
    """The workbook in streaming mode, or Unreadable('empty_file'|'not_xlsx')."""
    from openpyxl import load_workbook

    if not data:
        raise Unreadable("empty_file")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise Unreadable("not_xlsx")
    try:  # a zip bomb or merged cells are refused before openpyxl reads anything
        xlsx_guard.check(data, ignore_sheets=NOTES_SHEET)
    except xlsx_guard.XlsxRefused as exc:
        raise Unreadable(exc.code, **exc.params)
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - any parse failure is "not a workbook we can read"
        raise Unreadable("not_xlsx")


def _find_sheet(wb, names: tuple[str, ...]):
    wanted = {_norm(n) for n in names} | {_norm("".join(names))}
    for ws in wb.worksheets:
        if _norm(ws.title) in wanted:
            return ws
    return None


def _col_letter(idx: int) -> str:
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
        key = lookup.get(_norm(raw))
        if key is None:
            report.add(Problem(sheet, 1, _col_letter(idx), None, "unknown_column", str(raw).strip()))
            bad = True
            continue
        if key in seen:
            report.add(Problem(sheet, 1, _col_letter(idx), key, "duplicate_column", str(raw).strip()))
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
        code = _choice_index(col).get(_norm(text))
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
                    report.add(Problem(sheet, row_no, _col_letter(idx), key, "formula", str(raw)[:60]))
                continue
            value, code, params = parse_cell(col, raw)
            if code:
                ok = False
                if report is not None:
                    report.add(Problem(sheet, row_no, _col_letter(idx), key, code,
                                       None if raw is None else _jsonable(raw), params))
            values[key] = value
        yield row_no, values, ok


def _dept_of(ctx: UnitContext, code: str | None, name: str | None) -> tuple[int | None, str | None, dict]:
    """(department id or None for the unit itself, problem code, params)."""
    if code:
        hit = ctx.departments.get(code)
        if hit is None:
            return None, "unknown_department", {}
        if name and _norm(name) != _norm(hit[1]):
            return None, "department_mismatch", {"code": code, "actual": hit[1]}
        return hit[0], None, {}
    if name:
        codes = ctx.by_name.get(_norm(name), [])
        if not codes:
            return None, "unknown_department", {}
        if len(codes) > 1:
            return None, "ambiguous_department", {}
        return ctx.departments[codes[0]][0], None, {}
    return None, None, {}


# -- the whole check -----------------------------------------------------------


def check_workbook(data: bytes, ctx: UnitContext, progress=None) -> Report:
    """One streaming pass over the workbook; nothing is written anywhere."""
    report = Report()
    try:
        wb = open_workbook(data)
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
    for row_no, values, ok in _rows(ws, positions, PEOPLE_COLUMNS, sheet, report):
        report.rows_total += 1
        if report.rows_total > ctx.max_rows:
            report.fatal = True
            report.add(Problem(sheet, row_no, None, None, "too_many_rows", params={"max": ctx.max_rows}))
            return
        if progress and report.rows_total % 2000 == 0:
            progress(report.rows_total)
        staff_no = values.get("staff_no")
        if staff_no:
            if staff_no in first_row:
                report.add(Problem(sheet, row_no, None, "staff_no", "duplicate_staff_no", staff_no,
                                   {"first_row": first_row[staff_no]}))
                continue
            first_row[staff_no] = row_no
            if values.get("position_role") in ("head", "deputy"):
                role_of[staff_no] = values["position_role"]
            elif staff_no in ctx.existing:
                role_of[staff_no] = "staff"      # a leader in the system who is staff in the file
            if staff_no in ctx.existing:
                report.updated_people += 1
            else:
                report.new_people += 1
        if "dept_code" in values or "dept_name" in values:
            _id, code, params = _dept_of(ctx, values.get("dept_code"), values.get("dept_name"))
            if code:
                report.add(Problem(sheet, row_no, None, "dept_code" if values.get("dept_code") else "dept_name",
                                   code, values.get("dept_name") if code == "department_mismatch"
                                   else (values.get("dept_code") or values.get("dept_name")), params))
        hire, prob = values.get("hire_date"), values.get("probation_end")
        if hire and prob and prob < hire:
            report.add(Problem(sheet, row_no, None, "probation_end", "date_order", _jsonable(prob)))
        sup = values.get("supervisor_staff_no")
        if sup and staff_no:
            if sup == staff_no:
                report.add(Problem(sheet, row_no, None, "supervisor_staff_no", "supervisor_self", sup))
            else:
                sup_of[staff_no] = sup
                sup_row[staff_no] = row_no
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
        dept_id, problem, params = _dept_of(ctx, code, name)
        if problem:
            report.add(Problem(sheet, row_no, None, "dept_code" if code else "dept_name", problem,
                               name if problem == "department_mismatch" else (code or name), params))
            continue
        if leader and dept_id is not None:
            key = (leader, dept_id)
            if key in seen:
                report.add(Problem(sheet, row_no, None, "leader_staff_no", "duplicate_charge", leader,
                                   {"first_row": seen[key]}))
            else:
                seen[key] = row_no


# -- streaming the clean rows for the import ------------------------------------


def iter_people(wb, ctx: UnitContext) -> Iterator[dict]:
    """Normalised people rows of a workbook that passed ``check_workbook``:
    only the columns the sheet has (an absent column leaves the stored value
    alone), departments resolved to ``dept_id`` (None: the unit itself)."""
    ws = _find_sheet(wb, PEOPLE_SHEET)
    positions = _header(ws, PEOPLE_COLUMNS, ws.title, Report())
    for _row_no, values, _ok in _rows(ws, positions, PEOPLE_COLUMNS, ws.title, None):
        out = {k: v for k, v in values.items() if k not in ("dept_code", "dept_name")}
        if "dept_code" in values or "dept_name" in values:
            out["dept_id"] = _dept_of(ctx, values.get("dept_code"), values.get("dept_name"))[0]
        yield out


def iter_charges(wb, ctx: UnitContext) -> Iterator[tuple[str, int]] | None:
    """(leader staff no, department id) pairs, or None when the workbook has
    no (or an empty) charges sheet — the unit's charges then stay as they are."""
    ws = _find_sheet(wb, CHARGE_SHEET)
    if ws is None:
        return None
    first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), None)
    if not first or all(v is None for v in first):
        return None
    positions = _header(ws, CHARGE_COLUMNS, ws.title, Report())

    def gen():
        for _row_no, values, _ok in _rows(ws, positions, CHARGE_COLUMNS, ws.title, None):
            dept_id, _c, _p = _dept_of(ctx, values.get("dept_code"), values.get("dept_name"))
            if dept_id is not None:
                yield values["leader_staff_no"], dept_id
    return gen()


# -- the template ------------------------------------------------------------------


def template_workbook(departments: list[tuple[str, str]], unit_name: str, out) -> None:
    """Write the downloadable template: the people sheet with one example
    row, the charges sheet, and a notes sheet listing the unit's departments
    and the accepted values.  ``out`` is a path or a binary file object."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "人员 People"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE7F3")
    req_fill = PatternFill("solid", fgColor="F8D7C9")
    for idx, col in enumerate(PEOPLE_COLUMNS, start=1):
        c = ws.cell(row=1, column=idx, value=col.header)
        c.font, c.fill = bold, (req_fill if col.required else fill)
        c.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[_col_letter(idx - 1)].width = 16
        if col.kind == "enum":
            dv = DataValidation(type="list", formula1='"' + ",".join(s[0] for s in col.choices.values()) + '"',
                                allow_blank=True)
            ws.add_data_validation(dv)
            dv.add(f"{_col_letter(idx - 1)}2:{_col_letter(idx - 1)}5000")
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "A2"
    for idx, col in enumerate(PEOPLE_COLUMNS, start=1):
        cell = ws.cell(row=2, column=idx, value=col.example if col.example != "" else None)
        if col.kind == "date" and col.example:
            cell.number_format = "yyyy-mm-dd"
    ch = wb.create_sheet("分管 Charges")
    for idx, col in enumerate(CHARGE_COLUMNS, start=1):
        c = ch.cell(row=1, column=idx, value=col.header)
        c.font, c.fill = bold, (req_fill if col.required else fill)
        c.alignment = Alignment(wrap_text=True)
        ch.column_dimensions[_col_letter(idx - 1)].width = 18
    notes = wb.create_sheet("说明 Notes")
    lines = [
        (f"{unit_name} 人员名册模板", "Roster template"),
        ("红色表头为必填列；第2行为示例，请替换。", "Red titles are required; row 2 is an example, replace it."),
        ("请填写数值，不要使用公式。", "Enter values, not formulas."),
        ("按工号更新：已有工号的人员将被更新，新工号将新增。", "Existing staff numbers are updated, new ones added."),
        ("“分管”页：每行一个分管领导与其分管科室；该页留空则不改变现有分管关系。",
         "Charges sheet: one leader–department pair per row; leave it empty to keep the current ones."),
        ("", ""),
        ("本单位科室 Departments", ""),
    ]
    for code, name in departments:
        lines.append((code, name))
    lines.append(("", ""))
    for col in PEOPLE_COLUMNS:
        if col.kind == "enum":
            lines.append((col.zh, " / ".join(f"{s[0]} ({k})" for k, s in col.choices.items())))
        elif col.hint_zh:
            lines.append((col.zh, f"{col.hint_zh} · {col.hint_en}"))
    for r, (a, b) in enumerate(lines, start=1):
        notes.cell(row=r, column=1, value=a)
        notes.cell(row=r, column=2, value=b)
    notes["A1"].font = Font(bold=True, size=13)
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 70
    wb.save(out)
