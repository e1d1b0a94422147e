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
from ...web.messages import localize_message
from ...extensions import db
from ...people.models import Person
from ...tenancy.models import OrgNode
from ...tenancy.scope import get_in_scope
from ...web.i18n import pick
from ..calc.eligibility import talk_base
from ..calc.codes import RULE_LABELS, CODE_LABELS, GRADE_LABELS, ROUTINE_LABELS, SANCTIONS, STATUS_LABELS

bp = Blueprint("annual", __name__, url_prefix="/annual")

APPEAL_STATUS = {"pending": ("办理中", "Pending"), "upheld": ("维持原决定", "Upheld"), "reversed": ("已改变", "Reversed")}
STAGE_LABELS = {"review": ("复核", "Review"), "appeal": ("申诉", "Appeal")}
ROUTE_LABELS = {"after_review": ("复核后申诉", "after a review"), "direct": ("直接申诉", "filed directly")}
TALK_LABELS = {"criticism": ("批评教育谈话", "Criticism talk"), "reminder": ("提醒谈话（诫勉）", "Reminder talk (admonishment)")}
RECORD_LABELS = {"leave": ("病事假", "Leave"), "investigation": ("立案审查", "Investigation"),
                 "sanction": ("处分/组织处理", "Sanction / organisational measure"),
                 "refusal": ("无正当理由不参加考核", "Refused to take part")}
FLAG_LABELS = {"tie_at_line": ("名额线并列，待考核委员会决定", "Tied at the quota line: committee decides"),
               "priority": ("优先评优", "Priority for Excellent"), "retroactive": ("补定等次", "Graded retroactively")}
ALERT_LABELS = {"salary_step": ("累计两年称职以上，可晋升一档工资", "Two years Competent or better: next salary step"),
                "level": ("累计五年称职以上，可晋升一个级别", "Five years Competent or better: next rank level"),
                "merit_third_class": ("连续三年优秀，记三等功", "Three years Excellent in a row: third-class merit"),
                "buchenzhi_warning": ("不称职：降低一个职务或职级层次", "Incompetent: demotion by one level"),
                "dismissal": ("连续两年不称职，予以辞退", "Two consecutive years Incompetent: dismissal")}


EFFECT_LABELS = {"not_youxiu": ("不得评为优秀", "not eligible for Excellent"), "talk": ("需谈话", "a talk is due"),
                 "priority": ("优先评优", "priority for Excellent"), "graded": ("补定等次", "graded retroactively")}


def effect_label(effect) -> str:
    """What a fired rule does, in words: a national result code (5A ...) or an effect."""
    if effect in EFFECT_LABELS:
        return L(EFFECT_LABELS, effect)
    return L(CODE_LABELS, effect)


def rule_detail(detail) -> str:
    """The numbers behind a fired rule in a sentence of the page's language
    (the stored detail is a dict of counts, never shown as it is)."""
    d = detail or {}
    parts = []
    if "days" in d:
        parts.append(pick(f"病事假 {d['days']} 天（上限 {d.get('limit')} 天）", f"{d['days']} days of leave (limit {d.get('limit')})"))
    if d.get("probation_end"):
        parts.append(pick(f"试用期至 {d['probation_end']}", f"probation until {d['probation_end']}"))
    if d.get("kind"):
        name = L({k2: v["label"] for k2, v in SANCTIONS.items()}, d["kind"])
        parts.append(pick(f"{d.get('year')} 年{name}", f"{name} ({d.get('year')})") if d.get("year") else name)
    if "hao" in d:
        parts.append(pick(f"{d.get('of')} 次平时考核中“好”{d['hao']} 次、“一般/较差”{d.get('low', 0)} 次",
                          f"{d['hao']} of {d.get('of')} routine results Good, {d.get('low', 0)} Average or Poor"))
    elif "of" in d:
        parts.append(pick(f"共 {d['of']} 次平时考核", f"{d['of']} routine results"))
    if "streak" in d:
        parts.append(pick(f"连续 {d['streak']} 次", f"{d['streak']} in a row"))
    if d.get("threshold") is not None:
        parts.append(pick(f"分数线 {d['threshold']}", f"score line {d['threshold']}"))
    if "rank" in d:
        parts.append(pick(f"第 {d['rank']} 名", f"rank {d['rank']}"))
    return pick("，", ", ").join(str(x) for x in parts)


def grade_counts(counts) -> str:
    """{'youxiu': 3, 'chenzhi': 20} -> 优秀 3、称职 20 (democratic evaluation tallies)."""
    if not isinstance(counts, dict):
        return "" if counts is None else str(counts)
    return pick("、", ", ").join(f"{L(GRADE_LABELS, g)} {n}" for g, n in counts.items())


COMPONENT_LABELS = {"routine": ("平时考核", "routine results"), "review": ("年度审核评鉴", "annual review"),
                    "special": ("专项考核", "special assessments")}


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
            "alert_label": lambda a: L(ALERT_LABELS, a), "routine_grade": lambda g: L(ROUTINE_LABELS, g),
            "effect_label": effect_label, "component_label": lambda c: L(COMPONENT_LABELS, c), "rule_detail": rule_detail, "grade_counts": grade_counts}


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
        # each message in the page's language (the services raise them in English)
        flash(" ".join(localize_message(m) for m in msgs) if isinstance(msgs, list) else localize_message(msgs),
              "error")
    return redirect(target)


def form_date(name):
    v = request.form.get(name)
    if not v:
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise Invalid({name: [_("Enter a date as YYYY-MM-DD.")]})
