"""Exports over the routine and annual slices' tables, for any node's
subtree (a unit, a county, the province): period results, annual results
with the national result codes (A1517), the 优秀 公示 list, the appeal
register and the pay allocations.  Read-only, streamed, Core queries with an
explicit root and subtree filter (RLS still applies on PostgreSQL)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select

from ..core.clock import local_today
from ..auth.roles import Perm
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from .calc import GRADE_LABELS
from .exports import Col, ExportSpec, bar_chart, register_export

from ..annual import models as am
from ..routine import calc_grades
from ..routine import models as rm

PERSON = Person.__table__
ORG = OrgNode.__table__
PERMS = (Perm.unit_admin, Perm.supervise)

CODE_LABELS = {"1": "优秀", "2": "称职", "3": "基本称职", "4": "不称职", "5A": "不定等次（试用期）",
               "5B": "不定等次（立案审查）", "5C": "不定等次（受处分）", "6A": "不进行考核（长期病事假等）",
               "6B": "不进行考核（其他）", "7": "其他"}
STATE_ZH = {"draft": "草稿", "open": "进行中", "rating": "评鉴中", "review": "审核中", "publicised": "公示中",
            "final": "已确定"}
APPEAL_STAGE = {"review": "复核", "appeal": "申诉"}
APPEAL_STATUS = {"pending": "办理中", "upheld": "维持", "reversed": "改变"}


def _zh(grade):
    return GRADE_LABELS.get(grade, (grade, grade))[0] if grade else None


def _units_in(node):
    return select(ORG.c.id).where(ORG.c.root_id == node.root_id, ORG.c.path.like(node.path + "%"))


def _year(params) -> int:
    y = str(params.get("year") or "")
    return int(y) if y.isdigit() and 2000 <= int(y) <= 2100 else local_today().year


def _period_key(params):
    key = str(params.get("period") or "")
    if "-" in key:
        cycle, seq = key.rsplit("-", 1)
        if seq.isdigit():
            return cycle, int(seq)
    return None


# -- routine: period results ---------------------------------------------------

def _routine_filter(P, node, params):
    conds = [P.c.root_id == node.root_id, P.c.org_id.in_(_units_in(node)), P.c.year == _year(params)]
    key = _period_key(params)
    if key:
        conds += [P.c.cycle == key[0], P.c.seq == key[1]]
    return and_(*conds)


def _routine_count(node, params):
    P, R = rm.Period.__table__, rm.Result.__table__
    return db.session.execute(select(func.count()).select_from(R.join(P, P.c.id == R.c.period_id))
                              .where(_routine_filter(P, node, params))).scalar_one()


def _grade_names(node, params) -> dict[int, dict[str, dict]]:
    """period id → rank → the grade's configured names (policy routine.grade_scale
    frozen into each period), one query for all periods of the export."""
    P = rm.Period.__table__
    return {pid: calc_grades.labels((pol or {}).get("routine.grade_scale"))
            for pid, pol in db.session.execute(select(P.c.id, P.c.policy).where(_routine_filter(P, node, params)))}


def _routine_rows(node, params):
    P, R = rm.Period.__table__, rm.Result.__table__
    unit, dept = ORG.alias("unit"), ORG.alias("dept")
    names = _grade_names(node, params)
    stmt = (select(P.c.id.label("period_id"), unit.c.code, unit.c.name, P.c.year, P.c.cycle, P.c.seq, P.c.state, PERSON.c.staff_no,
                   PERSON.c.name.label("pname"), dept.c.name.label("dname"), R.c.score, R.c.grade, R.c.rank,
                   R.c.rank_of, R.c.pay_cents)
            .select_from(R.join(P, P.c.id == R.c.period_id).join(PERSON, PERSON.c.id == R.c.person_id)
                         .join(unit, unit.c.id == P.c.org_id).join(dept, dept.c.id == PERSON.c.org_id))
            .where(_routine_filter(P, node, params))
            .order_by(unit.c.path, P.c.cycle, P.c.seq, R.c.rank, PERSON.c.staff_no).execution_options(yield_per=2000))
    for r in db.session.execute(stmt):
        label = f"{r.year}年第{r.seq}季度" if r.cycle == "quarter" else (
            f"{r.year}年{r.seq}月" if r.cycle == "month" else f"{r.year}年{'上' if r.seq == 1 else '下'}半年")
        yield (r.code, r.name, label, STATE_ZH.get(r.state, r.state), r.staff_no, r.pname,
               r.dname if r.dname != r.name else None, r.score,
               names.get(r.period_id, {}).get(r.grade, {}).get("name") or _zh(r.grade), r.rank, r.rank_of,
               None if r.pay_cents is None else r.pay_cents / 100)


def _routine_chart(node, params):
    P, R = rm.Period.__table__, rm.Result.__table__
    counts = dict(db.session.execute(select(R.c.grade, func.count()).select_from(R.join(P, P.c.id == R.c.period_id))
                                     .where(_routine_filter(P, node, params)).group_by(R.c.grade)).all())
    scales = {tuple(sorted((k, v["name"]) for k, v in n.items())) for n in _grade_names(node, params).values()}
    # one naming for every period exported: its names and grades; else the national terms
    own = dict(next(iter(scales))) if len(scales) == 1 else {}
    table = [["等次", "人数"]] + [[own.get(g) or _zh(g), counts.get(g, 0)]
                                 for g in ("hao", "jiaohao", "yiban", "jiaocha") if not own or g in own]
    return [("等次分布 Grades", table, bar_chart("平时考核等次分布", "人数"))]


# -- annual -------------------------------------------------------------------------

def _annual_base(node, params, *, extra=None):
    A, O = am.AnnualAssessment.__table__, am.AnnualOutcome.__table__
    conds = [O.c.root_id == node.root_id, A.c.org_id.in_(_units_in(node)), O.c.year == _year(params)]
    if extra is not None:
        conds.append(extra(A, O))
    return A, O, and_(*conds)


def _annual_count(extra=None):
    def count(node, params):
        A, O, cond = _annual_base(node, params, extra=extra)
        return db.session.execute(select(func.count()).select_from(O.join(A, A.c.id == O.c.assessment_id))
                                  .where(cond)).scalar_one()
    return count


def _annual_stream(node, params, extra=None):
    A, O, cond = _annual_base(node, params, extra=extra)
    unit, dept = ORG.alias("unit"), ORG.alias("dept")
    stmt = (select(unit.c.code, unit.c.name, PERSON.c.staff_no, PERSON.c.name.label("pname"), PERSON.c.post,
                   dept.c.name.label("dname"), O.c.year, O.c.score, O.c.grade, O.c.code.label("rcode"),
                   O.c.adjusted, O.c.reason, O.c.pay_cents, O.c.notice_on, O.c.acknowledged_at,
                   A.c.publicity_start, A.c.publicity_end)
            .select_from(O.join(A, A.c.id == O.c.assessment_id).join(PERSON, PERSON.c.id == O.c.person_id)
                         .join(unit, unit.c.id == A.c.org_id).join(dept, dept.c.id == PERSON.c.org_id))
            .where(cond).order_by(unit.c.path, O.c.code, PERSON.c.staff_no).execution_options(yield_per=2000))
    return db.session.execute(stmt)


def _annual_rows(node, params):
    for r in _annual_stream(node, params):
        yield (r.code, r.name, r.year, r.staff_no, r.pname, r.dname if r.dname != r.name else None, r.post,
               r.score, _zh(r.grade), r.rcode, CODE_LABELS.get(r.rcode, ""), "是" if r.adjusted else None,
               r.reason, r.notice_on, r.acknowledged_at)


def _publicity_rows(node, params):
    for r in _annual_stream(node, params, extra=lambda A, O: O.c.grade == "youxiu"):
        yield (r.code, r.name, r.pname, r.dname if r.dname != r.name else None, r.post, "优秀",
               r.publicity_start, r.publicity_end)


def _pay_rows(node, params):
    for r in _annual_stream(node, params, extra=lambda A, O: O.c.pay_cents.is_not(None)):
        yield (r.code, r.name, r.staff_no, r.pname, r.dname if r.dname != r.name else None, _zh(r.grade), r.score,
               None if r.pay_cents is None else r.pay_cents / 100)


def _annual_chart(node, params):
    A, O, cond = _annual_base(node, params)
    counts = dict(db.session.execute(select(O.c.code, func.count()).select_from(O.join(A, A.c.id == O.c.assessment_id))
                                     .where(cond).group_by(O.c.code)).all())
    table = [["结果代码", "人数"]] + [[f"{c} {CODE_LABELS[c]}", counts[c]] for c in CODE_LABELS if counts.get(c)]
    return [("结果分布 Codes", table, bar_chart("年度考核结果分布", "人数"))]


def _appeal_count(node, params):
    Ap = am.AnnualAppeal.__table__
    return db.session.execute(select(func.count()).select_from(Ap).where(
        Ap.c.root_id == node.root_id, Ap.c.org_id.in_(_units_in(node)))).scalar_one()


def _appeal_rows(node, params):
    Ap = am.AnnualAppeal.__table__
    unit, decider = ORG.alias("unit"), ORG.alias("decider")
    stmt = (select(unit.c.code, unit.c.name, PERSON.c.staff_no, PERSON.c.name.label("pname"), Ap.c.stage,
                   Ap.c.route, Ap.c.grade_appealed, Ap.c.filed_on, Ap.c.file_by, Ap.c.decide_by, Ap.c.extended,
                   Ap.c.status, Ap.c.decided_on, Ap.c.new_grade, decider.c.name.label("decider"))
            .select_from(Ap.join(PERSON, PERSON.c.id == Ap.c.person_id).join(unit, unit.c.id == Ap.c.org_id)
                         .join(decider, decider.c.id == Ap.c.decider_org_id))
            .where(Ap.c.root_id == node.root_id, Ap.c.org_id.in_(_units_in(node)))
            .order_by(Ap.c.filed_on, unit.c.path).execution_options(yield_per=2000))
    today = local_today()
    for r in db.session.execute(stmt):
        overdue = r.status == "pending" and r.decide_by and r.decide_by < today
        yield (r.code, r.name, r.staff_no, r.pname, APPEAL_STAGE.get(r.stage, r.stage), _zh(r.grade_appealed),
               r.filed_on, r.file_by, r.decide_by, "是" if r.extended else None,
               APPEAL_STATUS.get(r.status, r.status) + ("（逾期）" if overdue else ""), r.decided_on,
               _zh(r.new_grade), r.decider)


UNIT_COLS = [Col("unit_code", "单位编码", "Unit code"), Col("unit", "单位", "Unit", 20)]

register_export(ExportSpec(
    kind="routine.results", title=("平时考核结果", "Routine period results"), perm=PERMS,
    columns=UNIT_COLS + [Col("period", "考核周期", "Period", 14), Col("state", "状态", "State", 8),
                         Col("staff_no", "工号", "Staff no."), Col("name", "姓名", "Name", 10),
                         Col("dept", "科室", "Department", 16), Col("score", "得分", "Score", 8, "0.00"),
                         Col("grade", "等次", "Grade", 8), Col("rank", "名次", "Rank", 6),
                         Col("rank_of", "参评人数", "Of", 8),
                         Col("pay", "随期绩效奖金（元）", "Pay with the period (yuan)", 12, "0.00")],
    rows=_routine_rows, count=_routine_count, charts=_routine_chart, header_locale="both",
    sheet="平时考核 Results", available=lambda node: node.kind != "department",
    description="Routine results of the subtree (params: year, period=cycle-seq)."))

register_export(ExportSpec(
    kind="annual.results", title=("年度考核结果", "Annual results (A1517 codes)"), perm=PERMS,
    columns=UNIT_COLS + [Col("year", "年度", "Year", 6), Col("staff_no", "工号", "Staff no."),
                         Col("name", "姓名", "Name", 10), Col("dept", "科室", "Department", 16),
                         Col("post", "职务", "Post", 14), Col("score", "得分", "Score", 8, "0.00"),
                         Col("grade", "等次", "Grade", 10), Col("code", "结果代码", "A1517 code", 8),
                         Col("meaning", "代码含义", "Meaning", 20), Col("adjusted", "调整", "Adjusted", 6),
                         Col("reason", "理由", "Reason", 24), Col("notice", "通知日期", "Notice", 11),
                         Col("ack", "签收", "Acknowledged", 16)],
    rows=_annual_rows, count=_annual_count(), charts=_annual_chart, header_locale="both",
    sheet="年度考核 Annual", available=lambda node: node.kind != "department",
    description="Annual outcomes with the national result codes (param: year)."))
register_export(ExportSpec(
    kind="annual.publicity", title=("优秀等次公示名单", "Publicity list of Excellent candidates"), perm=PERMS,
    columns=UNIT_COLS + [Col("name", "姓名", "Name", 10), Col("dept", "科室", "Department", 16),
                         Col("post", "职务", "Post", 16), Col("grade", "拟定等次", "Grade", 10),
                         Col("from", "公示开始", "From", 11), Col("until", "公示结束", "Until", 11)],
    rows=_publicity_rows, count=_annual_count(lambda A, O: O.c.grade == "youxiu"), header_locale="both",
    sheet="公示 Publicity", available=lambda node: node.kind != "department",
    description="People graded 优秀 with their unit's 公示 window (param: year)."))
register_export(ExportSpec(
    kind="annual.appeals", title=("复核申诉登记簿", "Appeal register"), perm=PERMS,
    columns=UNIT_COLS + [Col("staff_no", "工号", "Staff no."), Col("name", "姓名", "Name", 10),
                         Col("stage", "类别", "Stage", 6), Col("grade", "原等次", "Grade appealed", 10),
                         Col("filed", "提出日期", "Filed", 11), Col("file_by", "提出期限", "File by", 11),
                         Col("decide_by", "办结期限", "Decide by", 11), Col("extended", "延期", "Extended", 6),
                         Col("status", "状态", "Status", 12), Col("decided", "办结日期", "Decided", 11),
                         Col("new_grade", "改定等次", "New grade", 10), Col("decider", "受理机关", "Decider", 18)],
    rows=_appeal_rows, count=_appeal_count, header_locale="both", sheet="申诉 Appeals",
    available=lambda node: node.kind != "department",
    description="Every review and appeal of the subtree with its deadlines."))
register_export(ExportSpec(
    kind="annual.pay", title=("绩效奖金分配表", "Performance pay allocation"), perm=PERMS,
    columns=UNIT_COLS + [Col("staff_no", "工号", "Staff no."), Col("name", "姓名", "Name", 10),
                         Col("dept", "科室", "Department", 16), Col("grade", "等次", "Grade", 10),
                         Col("score", "得分", "Score", 8, "0.00"), Col("pay", "奖金(元)", "Pay (yuan)", 12, "#,##0.00")],
    rows=_pay_rows, count=_annual_count(lambda A, O: O.c.pay_cents.is_not(None)), header_locale="both",
    sheet="奖金 Pay", available=lambda node: node.kind != "department",
    description="Pay per person as computed by the annual slice (param: year)."))
