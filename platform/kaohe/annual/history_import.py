"""Annual grades of earlier years (before the platform), imported from a
unit's records so the multi-year counters start right: two cumulative years
称职 or better → a salary step, five → a 级别, three consecutive 优秀 →
三等功, two consecutive 不称职 → dismissal review.

One workbook (template: ``template_bytes``), columns 工号 / 姓名 / 年度 /
等次; checked whole like the roster import (every problem with its row and
column) and written only when the file is clean: all rows or none.  The
rows land in ``AnnualPriorGrade`` (marked imported, never computed); a year
the platform assessed for the person cannot be imported over.  The page,
the API and ``kaohe annual history-import`` call ``run_import``.  Flush,
never commit; one audit entry per import lists every change."""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update

from ..audit.service import current_actor, record
from ..core.clock import local_today
from ..core.errors import Invalid
from ..core.db import utcnow
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from ..web.messages import N_, register_templates
from .calc.codes import CODE_LABELS, GRADE_CODE, GRADE_LABELS
from .models import AnnualOutcome, AnnualPriorGrade

SHEET = "年度等次 Grades"
NOTES = "说明 Notes"
COLUMNS = (("staff_no", "工号"), ("name", "姓名"), ("year", "年度"), ("grade", "等次"))
REQUIRED = ("staff_no", "year", "grade")
FIRST_YEAR = 1990
MAX_ROWS = 50_000

# What the 等次 cell may hold: the grade in words, the A1517 code, or the code's Chinese label.
_CODE_GRADE = {code: grade for grade, code in GRADE_CODE.items()}
ACCEPTED: dict[str, tuple[str | None, str]] = {}
for _g, (_zh, _en) in GRADE_LABELS.items():
    ACCEPTED[_zh] = (_g, GRADE_CODE[_g])
for _c, (_zh, _en) in CODE_LABELS.items():
    ACCEPTED[_c] = (_CODE_GRADE.get(_c), _c)
    ACCEPTED[_zh] = (_CODE_GRADE.get(_c), _c)

M_COLUMN = N_("The sheet has no column %(column)s.")
M_REQUIRED = N_("%(column)s is empty.")
M_NO_PERSON = N_("No person with staff number %(value)s on this unit's roster.")
M_NAME = N_("The name %(value)s differs from the roster's %(expected)s.")
M_YEAR = N_("The year %(value)s is not a whole number from %(min)s to %(max)s.")
M_GRADE = N_("Unknown grade %(value)s: use 优秀, 称职, 基本称职, 不称职 or an A1517 code.")
M_TWICE = N_("The same person and year are also in row %(other)s.")
M_COMPUTED = N_("The platform assessed %(value)s for this person; an imported grade cannot replace it.")
M_TOO_MANY = N_("At most %(max)s rows per file.")
M_UNREADABLE = N_("This is not an .xlsx workbook the import can read.")
register_templates(M_COLUMN, M_REQUIRED, M_NO_PERSON, M_NAME, M_YEAR, M_GRADE, M_TWICE, M_COMPUTED, M_TOO_MANY)


@dataclass
class Problem:
    row: int | None
    column: str | None
    message: str
    params: dict = field(default_factory=dict)

    def text(self, translate=None) -> str:
        msg = (translate or (lambda m: m))(self.message)
        body = msg % self.params if self.params else msg
        return body if self.row is None else f"row {self.row}, {self.column or ''}: {body}"


class HistoryImportInvalid(Invalid):
    """The file is not clean: every problem, nothing written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors: dict[str, list[str]] = {}
        for p in problems[:500]:
            key = "file" if p.row is None else f"row {p.row}"
            errors.setdefault(key, []).append((f"{p.column}: " if p.column else "") + (p.message % p.params
                                                                                       if p.params else p.message))
        super().__init__(errors)


def template_bytes(unit: OrgNode) -> bytes:
    """The template: one row per active person (工号, 姓名), 年度 and 等次 to fill,
    and a notes sheet with the accepted values."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([zh for _k, zh in COLUMNS])
    for staff_no, name in db.session.execute(select(Person.staff_no, Person.name).where(
            Person.root_id == unit.root_id, Person.unit_id == unit.id, Person.active.is_(True))
            .order_by(Person.staff_no)):
        ws.append([staff_no, name, None, None])
    for col, width in zip("ABCD", (14, 12, 8, 14)):
        ws.column_dimensions[col].width = width
    notes = wb.create_sheet(NOTES)
    notes.append(["年度考核历史等次导入 / Earlier years' annual grades"])
    notes.append([f"单位 Unit: {unit.name} ({unit.code})"])
    notes.append(["每人每年一行；一人多年请写多行。年度为平台启用前的年份。 One row per person and year."])
    notes.append(["等次 Grade: 优秀 / 称职 / 基本称职 / 不称职，或 A1517 代码 (1 2 3 4 5A 5B 5C 6A 6B 7)"])
    notes.append(["只填工号和姓名、年度和等次都空的行会被跳过。 Rows with neither year nor grade are skipped."])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def read_rows(data: bytes) -> list[tuple[int, dict]]:
    """(row number, {key: cell}) of the first sheet; problems raise at once."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable file is the same answer
        raise HistoryImportInvalid([Problem(None, None, M_UNREADABLE)])
    ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    index = {}
    problems = []
    for key, zh in COLUMNS:
        hit = next((i for i, h in enumerate(header) if h == zh or h.startswith(zh + " ") or h.startswith(zh + "\n")),
                   None)
        if hit is None and key in REQUIRED:
            problems.append(Problem(None, None, M_COLUMN, {"column": zh}))
        index[key] = hit
    if problems:
        raise HistoryImportInvalid(problems)
    out = []
    for n, values in enumerate(rows, start=2):
        cell = {k: (values[i] if i is not None and i < len(values) else None) for k, i in index.items()}
        if all(v is None or str(v).strip() == "" for v in cell.values()):
            continue
        out.append((n, cell))
        if len(out) > MAX_ROWS:
            raise HistoryImportInvalid([Problem(None, None, M_TOO_MANY, {"max": MAX_ROWS})])
    wb.close()
    return out


def check_rows(rows: list[tuple[int, dict]], people: dict[str, tuple[int, str]], computed: set[tuple[int, int]],
               this_year: int) -> tuple[list[dict], list[Problem]]:
    """Pure: the rows to store and every problem.  ``people``: staff_no →
    (person_id, name); ``computed``: (person_id, year) the platform assessed."""
    names = dict(COLUMNS)
    out: list[dict] = []
    problems: list[Problem] = []
    seen: dict[tuple[int, int], int] = {}
    for n, cell in rows:
        staff_no = str(cell["staff_no"]).strip() if cell["staff_no"] is not None else ""
        if str(cell.get("year") or "").strip() == "" and str(cell.get("grade") or "").strip() == "":
            continue                                   # a template row left empty
        row_problems = []
        for key in REQUIRED:
            if cell[key] is None or str(cell[key]).strip() == "":
                row_problems.append(Problem(n, names[key], M_REQUIRED, {"column": names[key]}))
        person = people.get(staff_no) if staff_no else None
        if staff_no and person is None:
            row_problems.append(Problem(n, names["staff_no"], M_NO_PERSON, {"value": staff_no}))
        name = str(cell.get("name") or "").strip()
        if person is not None and name and name != person[1]:
            row_problems.append(Problem(n, names["name"], M_NAME, {"value": name, "expected": person[1]}))
        year = None
        raw_year = cell["year"]
        if raw_year is not None and str(raw_year).strip() != "":
            try:
                as_float = float(str(raw_year).strip())
                year = int(as_float) if as_float == int(as_float) else None
            except ValueError:
                year = None
            if year is None or not FIRST_YEAR <= year <= this_year - 1:
                row_problems.append(Problem(n, names["year"], M_YEAR, {"value": str(raw_year).strip(),
                                                                        "min": FIRST_YEAR, "max": this_year - 1}))
                year = None
        graded = None
        raw_grade = cell["grade"]
        if raw_grade is not None and str(raw_grade).strip() != "":
            key = str(raw_grade).strip().upper() if str(raw_grade).strip()[0].isdigit() else str(raw_grade).strip()
            key = key[:-2] if key.endswith(".0") else key
            graded = ACCEPTED.get(key)
            if graded is None:
                row_problems.append(Problem(n, names["grade"], M_GRADE, {"value": str(raw_grade).strip()}))
        if person is not None and year is not None:
            if (person[0], year) in computed:
                row_problems.append(Problem(n, names["year"], M_COMPUTED, {"value": year}))
            other = seen.get((person[0], year))
            if other is not None:
                row_problems.append(Problem(n, names["year"], M_TWICE, {"other": other}))
            else:
                seen[(person[0], year)] = n
        problems += row_problems
        if not row_problems and person is not None and year is not None and graded is not None:
            out.append({"person_id": person[0], "staff_no": staff_no, "year": year, "grade": graded[0],
                        "code": graded[1], "row": n})
    return out, problems


def run_import(unit: OrgNode, data: bytes, filename: str, *, dry_run: bool = False) -> dict:
    """Check the workbook for ``unit`` and, when clean and not ``dry_run``,
    store every row (insert or update; unchanged rows untouched).  Raises
    ``HistoryImportInvalid`` (422) with every problem; nothing is written then."""
    if not unit.is_assessment_unit:
        raise Invalid({"org_id": [N_("Grades are imported for an assessment unit's roster.")]})
    rows = read_rows(data)
    people = {s: (pid, name) for pid, s, name in db.session.execute(
        select(Person.id, Person.staff_no, Person.name).where(Person.root_id == unit.root_id,
                                                              Person.unit_id == unit.id))}
    ids = [p[0] for p in people.values()]
    computed: set[tuple[int, int]] = set()
    existing: dict[tuple[int, int], AnnualPriorGrade] = {}
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        computed |= set(db.session.execute(select(AnnualOutcome.person_id, AnnualOutcome.year).where(
            AnnualOutcome.root_id == unit.root_id, AnnualOutcome.person_id.in_(chunk))).all())
        for g in db.session.execute(select(AnnualPriorGrade).where(
                AnnualPriorGrade.root_id == unit.root_id, AnnualPriorGrade.person_id.in_(chunk))).scalars():
            existing[(g.person_id, g.year)] = g
    good, problems = check_rows(rows, people, computed, local_today().year)
    if problems:
        raise HistoryImportInvalid(problems)
    if not good:
        raise Invalid({"file": [N_("The file holds no grades to import.")]})
    new, changed, changes = [], [], []
    for r in good:
        old = existing.get((r["person_id"], r["year"]))
        if old is None:
            new.append(r)
            changes.append({"staff_no": r["staff_no"], "year": r["year"], "before": None, "after": r["code"]})
        elif (old.grade, old.code) != (r["grade"], r["code"]):
            changed.append((old, r))
            changes.append({"staff_no": r["staff_no"], "year": r["year"], "before": old.code, "after": r["code"]})
    report = {"rows": len(good), "created": len(new), "updated": len(changed),
              "unchanged": len(good) - len(new) - len(changed), "dry_run": dry_run}
    if dry_run or not changes:
        return report
    who = current_actor().name
    name = (filename or "grades.xlsx").replace("\\", "/").rsplit("/", 1)[-1][:255]
    now = utcnow()
    if new:
        db.session.execute(insert(AnnualPriorGrade), [
            {"root_id": unit.root_id, "org_id": unit.id, "person_id": r["person_id"], "year": r["year"],
             "grade": r["grade"], "code": r["code"], "source": "import", "filename": name, "imported_by": who,
             "imported_at": now, "version": 1} for r in new])
    for old, r in changed:
        db.session.execute(update(AnnualPriorGrade).where(AnnualPriorGrade.id == old.id).values(
            grade=r["grade"], code=r["code"], filename=name, imported_by=who, imported_at=now,
            version=AnnualPriorGrade.version + 1).execution_options(synchronize_session=False))
    db.session.expire_all()
    record("annual.history.import", root_id=unit.root_id, org_id=unit.id, target_type="org", target_id=unit.id,
           after={"file": name, **{k: report[k] for k in ("rows", "created", "updated", "unchanged")},
                  "changes": changes[:5000]})
    db.session.flush()
    return report
