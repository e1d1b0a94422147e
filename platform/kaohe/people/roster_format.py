"""What a roster workbook holds (Excel in): the columns of the people and
charges sheets with their accepted spellings, the sheet names, the problem
codes and their wording (``ERROR_TEXT``, worded at display time so a report
reads in the reader's language), what the checker knows about the unit
(``UnitContext``) and the report of a check.

Pure code: no Flask, no database.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from ..core import xlsx_guard

# -- the columns -------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    required: bool = False
    kind: str = "text"            # text | code | date | enum | id_number
    max_len: int = 80
    choices: dict[str, tuple[str, ...]] | None = None   # value -> accepted spellings
    example: Any = None
    hint_zh: str = ""
    hint_en: str = ""
    clearable: bool = False       # the clear marker (清空) may empty a stored value

    def aliases(self) -> set[str]:
        return {norm(self.key), norm(self.zh), norm(self.en), norm(self.zh + self.en), norm(self.header)}

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
# 人员身份.  Seed 000 (the township pilot) assesses 机关工勤 and 规范管理事业编制
# staff alongside civil servants, and 参照管理 staff are managed as civil servants:
# every category on a unit's roster takes part in its routine and annual
# assessment; the category is recorded (and shown) so results can be read by it.
STAFF_CATEGORY_CHOICES = {
    "civil_servant": ("公务员", "civil servant", "civil_servant"),
    "referenced": ("参照管理", "参公", "参照公务员法管理", "referenced"),
    "worker": ("工勤", "机关工勤", "工勤人员", "worker"),
    "institution": ("事业", "事业编制", "事业人员", "规范管理事业编制", "institution"),
    "contract": ("聘用", "聘用人员", "聘任", "聘任制", "contract"),
}
ASSESSED_CATEGORIES = tuple(STAFF_CATEGORY_CHOICES)   # all of them (seed 000); see above
POLITICAL_CHOICES = {
    "cpc": ("中共党员", "党员", "cpc member"),
    "cpc_probationary": ("中共预备党员", "预备党员", "cpc probationary member"),
    "cyl": ("共青团员", "团员", "cyl member"),
    "democratic": ("民主党派", "民主党派成员", "democratic party member"),
    "nonparty": ("无党派人士", "无党派", "non-party"),
    "masses": ("群众", "the masses", "masses"),
}
LEAVE_CHOICES = {"yes": ("离开", "调离", "退休", "删除", "leave", "remove")}

# An empty cell keeps what is stored; this word in a cell empties it.
CLEAR_WORDS = ("清空", "[清空]", "【清空】", "clear", "[clear]")


class _Clear:
    """The value of a cell holding the clear marker."""

    def __repr__(self) -> str:
        return "CLEAR"


CLEAR = _Clear()

PEOPLE_COLUMNS: tuple[Column, ...] = (
    Column("staff_no", "工号", "Staff no.", required=True, kind="code", max_len=32, example="T0001",
           hint_zh="本单位内唯一，重复导入时按工号更新", hint_en="Unique in the unit; re-imports update by it"),
    Column("name", "姓名", "Name", required=True, example="张三"),
    Column("gender", "性别", "Gender", kind="enum", choices=GENDER_CHOICES, example="男", clearable=True),
    Column("dept_code", "科室编码", "Department code", kind="code", max_len=32, example="", clearable=True,
           hint_zh="新人员留空表示直属本单位；已有人员留空保持原科室，填“清空”改为直属本单位",
           hint_en="Blank: a new person sits in the unit itself, an existing one stays; 清空 moves to the unit"),
    Column("dept_name", "科室名称", "Department name", example="", clearable=True),
    Column("post", "岗位", "Post", example="党政办科员", clearable=True),
    Column("rank_group", "人员类别", "Rank group", kind="enum", choices=RANK_CHOICES, example="一般干部"),
    Column("job_category", "职位类别", "Job category", kind="enum", choices=CATEGORY_CHOICES, example="综合管理"),
    Column("position_role", "职务角色", "Position role", kind="enum", choices=ROLE_CHOICES, example="工作人员"),
    Column("hire_date", "入职日期", "Hire date", kind="date", example=dt.date(2020, 7, 1), clearable=True),
    Column("probation_end", "试用期满", "Probation end", kind="date", example=None, clearable=True),
    Column("supervisor_staff_no", "直接上级工号", "Supervisor staff no.", kind="code", max_len=32, example="",
           clearable=True, hint_zh="须为本单位人员", hint_en="Must be on this unit's roster"),
    Column("staff_category", "人员身份", "Staff category", kind="enum", choices=STAFF_CATEGORY_CHOICES,
           example="公务员", clearable=True,
           hint_zh="公务员、参照管理、工勤、事业、聘用人员均参加本单位平时和年度考核",
           hint_en="Every category on the roster takes part in the unit's routine and annual assessment"),
    Column("id_number", "公民身份号码", "ID number", kind="id_number", max_len=18, example="", clearable=True,
           hint_zh="18位，校验码可为X；出生日期和性别由号码推算，填写时须一致；全省唯一；导出时显示为打码形式，原样导回保持不变",
           hint_en="18 characters, the last may be X; birth date and gender follow from it and must agree; "
                   "unique in the province; exports show it masked, a masked value re-imported keeps it"),
    Column("birth_date", "出生日期", "Birth date", kind="date", example=None, clearable=True),
    Column("political_status", "政治面貌", "Political status", kind="enum", choices=POLITICAL_CHOICES,
           example="中共党员", clearable=True),
    Column("post_rank", "职务职级", "Post and rank", max_len=40, example="一级科员", clearable=True),
    Column("work_start_date", "参加工作时间", "Work start date", kind="date", example=dt.date(2018, 8, 1),
           clearable=True),
    Column("leave", "离开", "Leaves", kind="enum", choices=LEAVE_CHOICES, example="",
           hint_zh="填“离开”则此人离开本单位名册（标为不在册）；未填写的行不会移除任何人",
           hint_en="\"离开\" takes the person off the unit's roster; no other row removes anyone"),
)

CHARGE_COLUMNS: tuple[Column, ...] = (
    Column("leader_staff_no", "分管领导工号", "Leader staff no.", required=True, kind="code", max_len=32),
    Column("dept_code", "科室编码", "Department code", kind="code", max_len=32),
    Column("dept_name", "科室名称", "Department name"),
    Column("remove", "删除", "Remove", kind="enum", choices={"yes": ("删除", "是", "yes", "remove", "y", "x", "1")},
           hint_zh="填“删除”则取消该分管关系；不在本页的分管关系保持不变",
           hint_en="\"删除\" ends this charge; charges not listed here stay as they are"),
)

PEOPLE_SHEET = ("人员", "People")
CHARGE_SHEET = ("分管", "Charges")
NOTES_SHEET = ("说明", "Notes")

MAX_ERRORS_KEPT = 1000


def N_(text: str) -> str:
    """Marks a string for the translation catalog; translated when shown."""
    return text


GENDER_WORDS = {"M": N_("male"), "F": N_("female")}


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
    "cannot_clear": N_("This column cannot be cleared; leave the cell empty to keep the value."),
    "id_shape": N_("\"%(value)s\" is not an 18-character ID number (17 digits and a digit or X)."),
    "id_birth": N_("ID number %(value)s holds no valid birth date."),
    "id_checksum": N_("ID number %(value)s fails its check digit (GB 11643): check for a typing mistake."),
    "id_masked": N_("A masked ID number can only be re-imported for a person whose stored number it masks."),
    "id_birth_mismatch": N_("The birth date %(value)s does not match the ID number (%(expected)s)."),
    "id_gender_mismatch": N_("The gender does not match the ID number (%(expected)s)."),
    "duplicate_id_number": N_("ID number %(value)s already appears in row %(first_row)s (%(other)s)."),
    "id_number_taken": N_("ID number %(value)s already belongs to %(other)s on this roster."),
    "id_number_elsewhere": N_("ID number %(value)s already belongs to a person of another unit of the province."),
    "leave_unknown": N_("Staff number %(value)s is not on the roster, so cannot leave it."),
}

ERROR_TEXT.update(xlsx_guard.ERROR_TEXT)   # too_large_unpacked, merged_cells


def norm(text: Any) -> str:
    return re.sub(r"[\s_.:：()（）*]+", "", str(text or "")).lower()


def choice_index(col: "Column") -> dict[str, str]:
    """Every accepted spelling of an enum column, normalised once (a roster
    of 10,000 rows asks this for every cell), mapped to its code; the first
    choice wins where two share a spelling, as the loop it replaces did.
    Kept on the (frozen) column itself."""
    index = col.__dict__.get("choice_index")
    if index is None:
        index = {}
        for code, spellings in (col.choices or {}).items():
            for spelling in (code, *spellings):
                index.setdefault(norm(spelling), code)
        object.__setattr__(col, "choice_index", index)
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
    # staff_no -> the stored values in plan terms (roster_plan.PLAN_FIELDS; dept as a code, None for the
    # unit itself; supervisor as a staff number); people missing here are new.
    current: dict[str, dict] = field(default_factory=dict)
    charges: set = field(default_factory=set)                # {(leader staff_no, dept code)}
    # ID numbers -> those among them held by people of other units of the province (set-based, one call)
    ids_elsewhere: Any = None

    def __post_init__(self) -> None:
        self.by_name: dict[str, list[str]] = {}
        for code, (_id, name) in self.departments.items():
            self.by_name.setdefault(norm(name), []).append(code)


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
                "code": self.code, "value": jsonable(self.value), "params": {k: jsonable(v) for k, v in self.params.items()}}


def jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()[:10]
    return str(v)


def message(problem: dict, translate=lambda s: s) -> str:
    """The sentence for one stored problem (``translate`` is gettext)."""
    params = {"value": problem.get("value")}
    params.update(problem.get("params") or {})
    for k in ("expected", "found", "other"):  # type names are catalog words too (TYPE_NAMES)
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
    plan: Any = None             # roster_plan.Plan: every change the file makes (a clean file)

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
                "new_people": self.new_people, "updated_people": self.updated_people,
                "changes": self.plan.to_dict() if self.plan is not None else None}
