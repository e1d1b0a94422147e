"""What every page of the annual assessment shares: the blueprint, the
labels the templates use, and the load → check → fail helpers."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...core.clock import local_today
from ...core.errors import Invalid, KaoheError
from ...extensions import db
from ...people.models import Person
from ...tenancy.models import OrgNode
from ...tenancy.scope import get_in_scope
from ...web.i18n import pick
from ..calc.eligibility import talk_base
from ..calc.codes import CODE_LABELS, GRADE_LABELS, ROUTINE_LABELS, SANCTIONS

bp = Blueprint("annual", __name__, url_prefix="/annual")

STATUS_LABELS = {"open": ("进行中", "Open"), "computed": ("已计算", "Computed"), "confirmed": ("已确定等次", "Confirmed"),
                 "publicised": ("公示中", "Publicised (公示)"), "notified": ("已书面通知", "Notified"),
                 "filed": ("已备案", "Filed with the level above")}
APPEAL_STATUS = {"pending": ("办理中", "Pending"), "upheld": ("维持原决定", "Upheld"), "reversed": ("已改变", "Reversed")}
STAGE_LABELS = {"review": ("复核", "Review"), "appeal": ("申诉", "Appeal")}
ROUTE_LABELS = {"after_review": ("复核后申诉", "after a review"), "direct": ("直接申诉", "filed directly")}
TALK_LABELS = {"criticism": ("批评教育谈话", "Criticism talk"), "reminder": ("提醒谈话（诫勉）", "Reminder talk (诫勉)")}
RECORD_LABELS = {"leave": ("病事假", "Leave"), "investigation": ("立案审查", "Investigation"),
                 "sanction": ("处分/组织处理", "Sanction / organisational measure"),
                 "refusal": ("无正当理由不参加考核", "Refused to take part")}
RULE_LABELS = {
    "long_leave": ("病事假超过半年，不进行考核", "Leave over half the year: not assessed"),
    "probation": ("试用期，只写评语不定等次", "Probation: comment only, no grade"),
    "investigation": ("立案审查中，结案后补定等次", "Under investigation: graded after closing"),
    "retroactive": ("结案后补定等次", "Graded retroactively after the investigation closed (补定)"),
    "sanction": ("受处分或组织处理影响", "Sanction or organisational measure applies"),
    "refusal": ("无正当理由不参加考核，定为不称职", "Refused to take part: 不称职"),
    "half_hao_none_low": ("平时考核“好”不足一半或有“一般/较差”", "Fewer than half 好 or some 一般/较差 in routine results"),
    "at_least_one_hao": ("平时考核没有“好”", "No 好 in the routine results"),
    "consecutive_low": ("连续低分，不得评为优秀并诫勉谈话", "Consecutive low scores: not 优秀, reminder talk"),
    "low_score": ("出现低分，需批评教育谈话", "A low score: criticism talk"),
    "consecutive_high": ("连续高分，优先评优", "Consecutive high scores: priority for 优秀"),
    "routine_no_youxiu": ("平时考核已确定本年度不得评优秀", "The routine results bar 优秀 this year"),
    "last_place": ("末位，不得评为优秀", "Last place: not 优秀"),
    "no_inputs": ("无考核数据", "No assessment data"),
}
FLAG_LABELS = {"tie_at_line": ("名额线并列，待考核委员会决定", "Tied at the quota line: committee decides"),
               "priority": ("优先评优", "Priority for 优秀"), "retroactive": ("补定等次", "Graded retroactively")}
ALERT_LABELS = {"salary_step": ("累计两年称职以上，可晋升一档工资", "Two years 称职 or better: next salary step"),
                "level": ("累计五年称职以上，可晋升一个级别", "Five years 称职 or better: next 级别"),
                "merit_third_class": ("连续三年优秀，记三等功", "Three years 优秀 in a row: third-class merit"),
                "buchenzhi_warning": ("不称职：降低一个职务或职级层次", "不称职: demotion by one level"),
                "dismissal": ("连续两年不称职，予以辞退", "Two consecutive years 不称职: dismissal")}


def L(table, key):
    v = table.get(key)
    return pick(*v) if v else (key or "")


def _talk_label(kind):
    """"criticism_p2" → 批评教育谈话（第2期） / Criticism talk (period 2)."""
    base, n = talk_base(kind or "")
    label = L(TALK_LABELS, base)
    return label if n is None else label + pick(f"（第{n}期）", f" (period {n})")


@bp.app_context_processor
def _labels():
    return {"annual_status": lambda s: L(STATUS_LABELS, s), "annual_grade": lambda g: L(GRADE_LABELS, g),
            "a1517": lambda c: L(CODE_LABELS, c), "rule_label": lambda r: L(RULE_LABELS, r),
            "flag_label": lambda f: L(FLAG_LABELS, f), "yuan": lambda c: "" if c is None else f"{c / 100:,.2f}",
            "appeal_status": lambda s: L(APPEAL_STATUS, s), "stage_label": lambda s: L(STAGE_LABELS, s),
            "route_label": lambda r: L(ROUTE_LABELS, r),
            "talk_label": _talk_label, "record_label": lambda k: L(RECORD_LABELS, k),
            "sanction_label": lambda k: L({k2: v["label"] for k2, v in SANCTIONS.items()}, k),
            "alert_label": lambda a: L(ALERT_LABELS, a), "routine_grade": lambda g: L(ROUTINE_LABELS, g)}


def year_arg() -> int:
    try:
        y = int(request.values.get("year") or local_today().year)
    except ValueError:
        abort(404)
    if not 2000 <= y <= 2100:
        abort(404)
    return y


def assessment_unit(org_id) -> OrgNode:
    node = get_in_scope(OrgNode, org_id)
    if not node.is_assessment_unit:
        abort(404)
    return node


def need(perm: Perm, node: OrgNode):
    if not has_perm(perm, node):
        abort(403)


def my_person() -> Person | None:
    if not current_user.person_id:
        return None
    return db.session.execute(select(Person).where(Person.id == current_user.person_id)).scalar_one_or_none()


def people_by_id(ids) -> dict[int, Person]:
    ids = list(set(ids))
    out = {}
    for i in range(0, len(ids), 900):
        out.update({p.id: p for p in db.session.execute(select(Person).where(Person.id.in_(ids[i:i + 900]))).scalars()})
    return out


def fail(exc: KaoheError, target: str):
    db.session.rollback()
    for field, msgs in (exc.errors or {"_": [exc.message]}).items():
        flash(" ".join(map(str, msgs)) if isinstance(msgs, list) else str(msgs), "error")
    return redirect(target)


def form_date(name):
    v = request.form.get(name)
    if not v:
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise Invalid({name: [_("Enter a date as YYYY-MM-DD.")]})
