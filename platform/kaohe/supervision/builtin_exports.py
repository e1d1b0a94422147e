"""Exports this slice owns: the roster (re-importable for a single unit) and
the supervision dashboard table with its charts."""
from __future__ import annotations

from sqlalchemy import and_, func, select

from ..auth.roles import Perm
from ..extensions import db
from ..people.models import LeaderCharge, Person
from ..people.id_number import mask
from ..people.roster_format import CHARGE_COLUMNS, PEOPLE_COLUMNS
from ..tenancy.models import OrgNode
from .calc import GRADE_LABELS
from .exports import Col, ExportSpec, register_export, tr

ROLE_ZH = {"head": "主要领导", "deputy": "分管领导", "dept_head": "科室负责人", "staff": "工作人员"}
RANK_ZH = {"leader": "领导班子", "staff": "一般干部"}
CATEGORY_ZH = {"general": "综合管理", "police": "公安", "service_window": "窗口服务"}
GENDER_ZH = {"M": "男", "F": "女"}

_COL_WIDTH = {"name": 12, "post": 20, "dept_name": 18}


def _people_cols(node, params) -> list[Col]:
    cols = [Col(c.key, c.zh, c.en, _COL_WIDTH.get(c.key, 14),
                "yyyy-mm-dd" if c.kind == "date" else ("@" if c.kind == "code" else None)) for c in PEOPLE_COLUMNS]
    if node.is_assessment_unit:
        return cols  # the same columns as the import template: the file can be edited and re-imported
    return [Col("unit_code", "单位编码", "Unit code"), Col("unit_name", "单位", "Unit", 20)] + cols + \
        [Col("active", "在册", "On the roster", 8)]


PERSON = Person.__table__
ORG = OrgNode.__table__
CHARGE = LeaderCharge.__table__


def _subtree_filter(p, node):
    """Core-level filter (explicit root and subtree; RLS still applies on PostgreSQL)."""
    if node.is_assessment_unit:
        return and_(p.c.root_id == node.root_id, p.c.unit_id == node.id, p.c.active.is_(True))
    return and_(p.c.root_id == node.root_id, p.c.unit_id.in_(
        select(ORG.c.id).where(ORG.c.root_id == node.root_id, ORG.c.path.like(node.path + "%"))))


def _word(col, value):
    """An enum code as the template's (Chinese) word; other values as they are."""
    if col.kind == "enum" and value is not None:
        return (col.choices or {}).get(value, (value,))[0]
    return value


def _roster_count(node, params) -> int:
    return db.session.execute(select(func.count()).select_from(PERSON).where(_subtree_filter(PERSON, node))).scalar_one()


def _roster_rows(node, params):
    p = PERSON.alias("p")
    sup = PERSON.alias("sup")
    dept = ORG.alias("dept")
    unit = ORG.alias("unit")
    stmt = (select(p.c.staff_no, p.c.name, p.c.gender, p.c.post, p.c.rank_group, p.c.job_category,
                   p.c.position_role, p.c.hire_date, p.c.probation_end, p.c.active, sup.c.staff_no.label("sup_no"),
                   p.c.staff_category, p.c.id_number, p.c.birth_date, p.c.political_status, p.c.post_rank,
                   p.c.work_start_date,
                   dept.c.code.label("dcode"), dept.c.name.label("dname"), dept.c.kind.label("dkind"),
                   unit.c.code.label("ucode"), unit.c.name.label("uname"))
            .select_from(p.join(dept, dept.c.id == p.c.org_id).join(unit, unit.c.id == p.c.unit_id)
                         .outerjoin(sup, sup.c.id == p.c.supervisor_id))
            .where(_subtree_filter(p, node))
            .order_by(unit.c.path, p.c.staff_no).execution_options(yield_per=2000))
    for r in db.session.execute(stmt):
        in_dept = r.dkind == "department"
        # The columns of the import template, enum values in its words; the ID number masked (a masked
        # number re-imported keeps the stored one).
        values = {"dept_code": r.dcode if in_dept else None, "dept_name": r.dname if in_dept else None,
                  "supervisor_staff_no": r.sup_no, "id_number": mask(r.id_number), "leave": None}
        row = tuple(values[c.key] if c.key in values
                    else _word(c, getattr(r, c.key)) for c in PEOPLE_COLUMNS)
        if node.is_assessment_unit:
            yield row
        else:
            yield (r.ucode, r.uname) + row + ("是" if r.active else "否",)


def _charges_sheet(node, params):
    if not node.is_assessment_unit:
        return []
    leader = PERSON.alias("leader")
    dept = ORG.alias("dept")
    rows = db.session.execute(
        select(leader.c.staff_no, dept.c.code, dept.c.name)
        .select_from(CHARGE.join(leader, leader.c.id == CHARGE.c.leader_id)
                     .join(dept, dept.c.id == CHARGE.c.department_id))
        .where(CHARGE.c.root_id == node.root_id, CHARGE.c.org_id == node.id)
        .order_by(leader.c.staff_no, dept.c.code)).all()
    cols = [Col(c.key, c.zh, c.en, 18) for c in CHARGE_COLUMNS]
    return [("分管 Charges", cols, (tuple(r) for r in rows))]


register_export(ExportSpec(
    kind="roster", title=("人员名册", "Roster"), columns=_people_cols, rows=_roster_rows, count=_roster_count,
    perm=(Perm.unit_admin, Perm.supervise), sheet="人员 People", extra_sheets=_charges_sheet, header_locale="both",
    description="People of the subtree; for one unit, the same columns as the import template."))


# -- the dashboard table ---------------------------------------------------------

DASH_COLS = [
    Col("code", "编码", "Code"), Col("name", "单位/地区", "Unit / area", 22), Col("units", "考核单位数", "Units", 10),
    Col("people", "在册人数", "People", 10), Col("participants", "参加人数", "Participants", 10),
    Col("work_records", "工作写实%", "Work records %", 11, "0%"), Col("ratings", "评鉴完成%", "Ratings %", 11, "0%"),
    Col("computed", "已计算", "Computed", 9), Col("publicised", "已公示", "Publicity started", 9),
    Col("final", "已确定", "Final", 9), Col("overdue", "逾期事项", "Overdue items", 9),
    Col("hao", "好", "Good", 7), Col("jiaohao", "较好", "Fairly good", 7), Col("yiban", "一般", "Average", 7),
    Col("jiaocha", "较差", "Poor", 7), Col("hao_share", "好占比", "Share of Good", 9, "0%"),
    Col("youxiu", "优秀", "Excellent", 7), Col("youxiu_quota", "优秀名额", "Excellent quota", 9),
    Col("appeals_open", "未结申诉", "Appeals open", 9), Col("next_deadline", "最近期限", "Next deadline", 12),
    Col("talks_due", "待谈话", "Talks due", 8), Col("flags", "提示", "Flags", 7),
]


def _dash(node, params):
    from . import dashboard

    year = params.get("year")
    return dashboard.build(node, year=int(year) if str(year or "").isdigit() else None,
                           period_key=params.get("period") or None)


def _dash_rows(node, params):
    board = _dash(node, params)
    for r in board.children + [dict(board.totals, code="", name=tr(params, "合计", "Total"), flags=len(board.flags))]:
        c = r["completion"]
        g = r["routine_grades"]
        yield (r.get("code"), r.get("name"), r["units"], r["people"], r["participants"], c["work_records"],
               c["ratings"], r["computed"], r["publicised"], r["final"], r["overdue_count"], g.get("hao", 0),
               g.get("jiaohao", 0), g.get("yiban", 0), g.get("jiaocha", 0), r["hao_share"], r["youxiu"],
               r["youxiu_quota"], r["appeals_open"], r["next_deadline"], r["talks_due"], r.get("flags", 0))


FLAG_LABELS = {
    "same_people_at_cap": ("“好”等次名单固定", "Same people at the cap"),
    "identical_scores": ("分数完全相同", "Identical scores"),
    "all_high": ("分数普遍偏高", "All scores high"),
    "computed_not_publicised": ("计算后未公示", "Computed, not on public notice"),
    "annual_not_publicised": ("年度优秀人选未公示", "Annual Excellent list not on public notice"),
    "ratings_burst": ("短时间内集中评价", "Ratings in a burst"),
}


def _dash_extra(node, params):
    from flask_babel import gettext

    from .calc import flag_message

    board = _dash(node, params)
    cols = [Col("unit_code", "单位编码", "Unit code"), Col("unit_name", "单位", "Unit", 22),
            Col("flag", "提示类型", "Flag", 22), Col("message", "说明", "Explanation", 90)]
    return [(tr(params, "提示", "Flags"), cols, (
        (f.get("unit_code"), f.get("unit_name"), tr(params, *FLAG_LABELS.get(f["code"], (f["code"], f["code"]))),
         flag_message(f, translate=gettext)) for f in board.flags))]


def _dash_charts(node, params):
    from .exports import bar_chart

    board = _dash(node, params)
    grades = [[tr(params, "单位", "Unit")] + [tr(params, *GRADE_LABELS[g]) for g in ("hao", "jiaohao", "yiban", "jiaocha")]] + [
        [r["name"]] + [r["routine_grades"].get(g, 0) for g in ("hao", "jiaohao", "yiban", "jiaocha")]
        for r in board.children]
    completion = [[tr(params, "单位", "Unit"), tr(params, "评鉴%", "Ratings %"), tr(params, "已确定", "Final")]] + [
        [r["name"], round((r["completion"]["ratings"] or 0) * 100), r["final"]] for r in board.children]
    return [(tr(params, "等次分布", "Grades"), grades,
             bar_chart(tr(params, "平时考核等次分布", "Routine grades"), tr(params, "人数", "People"), stacked=True)),
            (tr(params, "进度", "Completion"), completion, bar_chart(tr(params, "完成情况", "Completion"), ""))]


register_export(ExportSpec(
    kind="supervision.dashboard", title=("督导看板", "Supervision dashboard"), columns=DASH_COLS, rows=_dash_rows,
    count=lambda node, params: 0, perm=Perm.supervise, sheet=("看板", "Dashboard"), extra_sheets=_dash_extra,
    charts=_dash_charts, available=lambda node: node.kind != "department",
    description="The dashboard table of a node (one row per child unit), its flags and two native charts."))

from . import results_exports  # noqa: E402,F401  (period/annual results, 公示, appeals, pay)
