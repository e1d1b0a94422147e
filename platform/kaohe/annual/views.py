"""Pages of the annual assessment.  Load in scope → check permission →
service → one commit; a rule broken re-renders the page with the message."""
from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from ..core.clock import local_today
from ..auth.roles import Perm
from ..auth.service import current_grants, has_perm
from ..core.errors import KaoheError
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope, get_in_scope, org_filter
from ..web import register_page_blueprint
from ..web.home_panels import add_panel
from ..web.i18n import pick
from ..web.nav import NavItem, add_nav
from . import calc, engine, service
from .models import (AnnualAppeal, AnnualAssessment, AnnualOutcome, AnnualRecord, AnnualResult, AnnualReview,
                     AnnualSummary, AnnualTalk, SpecialCampaign, SpecialResult)

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


@bp.app_context_processor
def _labels():
    return {"annual_status": lambda s: L(STATUS_LABELS, s), "annual_grade": lambda g: L(calc.GRADE_LABELS, g),
            "a1517": lambda c: L(calc.CODE_LABELS, c), "rule_label": lambda r: L(RULE_LABELS, r),
            "flag_label": lambda f: L(FLAG_LABELS, f), "yuan": lambda c: "" if c is None else f"{c / 100:,.2f}",
            "appeal_status": lambda s: L(APPEAL_STATUS, s), "stage_label": lambda s: L(STAGE_LABELS, s),
            "route_label": lambda r: L(ROUTE_LABELS, r),
            "talk_label": lambda k: L(TALK_LABELS, k), "record_label": lambda k: L(RECORD_LABELS, k),
            "sanction_label": lambda k: L({k2: v["label"] for k2, v in calc.SANCTIONS.items()}, k),
            "alert_label": lambda a: L(ALERT_LABELS, a), "routine_grade": lambda g: L(calc.ROUTINE_LABELS, g)}


def _year() -> int:
    try:
        y = int(request.values.get("year") or local_today().year)
    except ValueError:
        abort(404)
    if not 2000 <= y <= 2100:
        abort(404)
    return y


def _unit(org_id) -> OrgNode:
    node = get_in_scope(OrgNode, org_id)
    if not node.is_assessment_unit:
        abort(404)
    return node


def _need(perm: Perm, node: OrgNode):
    if not has_perm(perm, node):
        abort(403)


def _my_person() -> Person | None:
    if not current_user.person_id:
        return None
    return db.session.execute(select(Person).where(Person.id == current_user.person_id)).scalar_one_or_none()


def _names(ids) -> dict[int, Person]:
    ids = list(set(ids))
    out = {}
    for i in range(0, len(ids), 900):
        out.update({p.id: p for p in db.session.execute(select(Person).where(Person.id.in_(ids[i:i + 900]))).scalars()})
    return out


def _fail(exc: KaoheError, target: str):
    db.session.rollback()
    for field, msgs in (exc.errors or {"_": [exc.message]}).items():
        flash(" ".join(map(str, msgs)) if isinstance(msgs, list) else str(msgs), "error")
    return redirect(target)


# -- index -----------------------------------------------------------------------------

@bp.route("/")
def index():
    if not has_perm(Perm.view):
        return redirect(url_for("annual.me"))
    year = _year()
    scope = current_scope()
    stmt = select(OrgNode).where(OrgNode.is_assessment_unit.is_(True))
    if not scope.all_roots:
        stmt = stmt.where(OrgNode.root_id == scope.root_id, org_filter(OrgNode.id, scope))
    units = list(db.session.execute(stmt.order_by(OrgNode.path).limit(2000)).scalars())
    ids = [u.id for u in units]
    assessments = {}
    for i in range(0, len(ids), 900):
        assessments.update({a.org_id: a for a in db.session.execute(select(AnnualAssessment).where(
            AnnualAssessment.org_id.in_(ids[i:i + 900]), AnnualAssessment.year == year)).scalars()})
    counts = {}
    for i in range(0, len(ids), 900):
        counts.update(dict(db.session.execute(select(Person.unit_id, func.count()).where(
            Person.unit_id.in_(ids[i:i + 900]), Person.active.is_(True)).group_by(Person.unit_id)).all()))
    supervise_node = next((n for n in units if has_perm(Perm.supervise, n)), None)
    return render_template("annual/index.html", year=year, units=units, assessments=assessments, counts=counts,
                           can_supervise=supervise_node is not None)


# -- the unit's assessment ------------------------------------------------------------------

def _unit_context(unit: OrgNode, year: int) -> dict:
    a = service.find(unit, year)
    results = service.current_results(a) if a else []
    adj = service.adjustments(a) if a else {}
    outs = {o.person_id: o for o in service.outcomes(a)} if a else {}
    roster = list(db.session.execute(select(Person).where(Person.unit_id == unit.id, Person.active.is_(True))
                                     .order_by(Person.staff_no)).scalars())
    people = {p.id: p for p in roster}
    missing = [pid for pid in [r.person_id for r in results] if pid not in people]
    people.update(_names(missing))
    pol = service.policy(a) if a else service.policy_for(unit, year)
    summaries = dict(db.session.execute(select(AnnualSummary.person_id, AnnualSummary.submitted_at).where(
        AnnualSummary.assessment_id == a.id)).all()) if a else {}
    reviews = {r.person_id: r for r in db.session.execute(select(AnnualReview).where(
        AnnualReview.assessment_id == a.id)).scalars()} if a else {}
    appeals = list(db.session.execute(select(AnnualAppeal).where(AnnualAppeal.org_id == unit.id).order_by(
        AnnualAppeal.id.desc())).scalars()) if a else []
    counts = {g: 0 for g in calc.GRADES}
    for r in results:
        g = adj[r.person_id].grade if r.person_id in adj else r.grade
        if g:
            counts[g] += 1
    pay_total = sum(o.pay_cents or 0 for o in outs.values())
    dem_for = pol.get("annual.democratic_eval_for") or []
    need_votes = [p for p in roster if ("section_chief" in dem_for and p.position_role == "dept_head")
                  or "all" in dem_for]
    missing_votes = [p for p in need_votes if p.id not in reviews or not any(reviews[p.id].votes().values())]
    return {"missing_votes": missing_votes, "unit": unit, "year": year, "a": a, "results": results, "adj": adj, "outs": outs, "people": people,
            "roster": roster, "pol": pol, "summaries": summaries, "reviews": reviews, "appeals": appeals,
            "counts": counts, "pay_total": pay_total,
            "can_admin": has_perm(Perm.unit_admin, unit), "can_supervise": has_perm(Perm.supervise, unit),
            "ties": [r for r in results if "tie_at_line" in (r.flags or []) and r.person_id not in adj]}


@bp.route("/unit/<int:org_id>/<int:year>")
def unit_page(org_id, year):
    unit = _unit(org_id)
    _need(Perm.view, unit)
    return render_template("annual/unit.html", **_unit_context(unit, year))


def _back(unit, year):
    return url_for("annual.unit_page", org_id=unit.id, year=year)


@bp.route("/unit/<int:org_id>/<int:year>/compute", methods=["POST"])
def compute(org_id, year):
    unit = _unit(org_id)
    _need(Perm.unit_admin, unit)
    from ..jobs import queue

    try:
        a = service.get_or_open(unit, year)
        if a.status in engine.LOCKED_STATUSES:
            raise service.Invalid({"status": [_("The result is confirmed; reopen it before computing again.")]})
        db.session.flush()
        job_id = queue.submit("annual.compute", root_id=unit.root_id, org_id=unit.id, scope=current_scope(),
                              params={"org_id": unit.id, "year": year, "strict": True},
                              created_by=current_user.id)
    except KaoheError as exc:
        return _fail(exc, _back(unit, year))
    flash(_("The computation has started; the page shows its progress."), "ok")
    return redirect(url_for("web.job_page", job_id=job_id) if _has_job_page() else _back(unit, year))


def _has_job_page() -> bool:
    from flask import current_app

    return "web.job_page" in current_app.view_functions


def _post_action(org_id, year, fn, ok_message):
    unit = _unit(org_id)
    _need(Perm.unit_admin, unit)
    a = service.find(unit, year)
    if a is None:
        abort(404)
    try:
        fn(a)
        db.session.commit()
    except KaoheError as exc:
        return _fail(exc, _back(unit, year))
    flash(ok_message, "ok")
    return redirect(_back(unit, year))


def _date(name):
    v = request.form.get(name)
    if not v:
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise service.Invalid({name: [_("Enter a date as YYYY-MM-DD.")]})


@bp.route("/unit/<int:org_id>/<int:year>/org-grade", methods=["POST"])
def org_grade(org_id, year):
    unit = _unit(org_id)
    if not (has_perm(Perm.supervise, unit) or has_perm(Perm.unit_admin, unit)):
        abort(403)
    try:
        a = service.get_or_open(unit, year)
        service.set_org_grade(a, request.form.get("org_grade") or None, request.form.get("major") == "on")
        db.session.commit()
    except KaoheError as exc:
        return _fail(exc, _back(unit, year))
    flash(_("Saved."), "ok")
    return redirect(_back(unit, year))


@bp.route("/unit/<int:org_id>/<int:year>/adjust", methods=["POST"])
def adjust(org_id, year):
    def fn(a):
        try:
            pid = int(request.form.get("person_id", ""))
        except ValueError:
            raise service.Invalid({"person_id": [_("Choose a person.")]})
        service.adjust(a, pid, request.form.get("grade", ""), request.form.get("reason", ""))
    return _post_action(org_id, year, fn, _("The committee's decision is recorded."))


@bp.route("/unit/<int:org_id>/<int:year>/confirm", methods=["POST"])
def confirm(org_id, year):
    return _post_action(org_id, year, lambda a: service.confirm(a), _("Grades confirmed; performance pay allocated."))


@bp.route("/unit/<int:org_id>/<int:year>/reopen", methods=["POST"])
def reopen(org_id, year):
    return _post_action(org_id, year, lambda a: service.reopen(a, request.form.get("reason", "")), _("Reopened."))


@bp.route("/unit/<int:org_id>/<int:year>/publish", methods=["POST"])
def publish(org_id, year):
    return _post_action(org_id, year, lambda a: service.publish(a, _date("start")), _("The 公示 has started."))


@bp.route("/unit/<int:org_id>/<int:year>/notify", methods=["POST"])
def notify(org_id, year):
    return _post_action(org_id, year, lambda a: service.notify(a, _date("notice_on")),
                        _("Written notices issued."))


@bp.route("/unit/<int:org_id>/<int:year>/file", methods=["POST"])
def file_result(org_id, year):
    return _post_action(org_id, year, service.file_with_above, _("Filed with the level above (备案)."))


@bp.route("/unit/<int:org_id>/<int:year>/publicity")
def publicity(org_id, year):
    unit = _unit(org_id)
    _need(Perm.view, unit)
    a = service.find(unit, year)
    if a is None or a.publicity_start is None:
        abort(404)
    outs = [o for o in service.outcomes(a) if o.grade == "youxiu"]
    people = _names([o.person_id for o in outs])
    depts = {n.id: n for n in db.session.execute(select(OrgNode).where(
        OrgNode.id.in_({p.org_id for p in people.values()} or {0}))).scalars()}
    return render_template("annual/publicity.html", unit=unit, a=a, year=year, outs=outs, people=people,
                           depts=depts)


@bp.route("/unit/<int:org_id>/<int:year>/export.xlsx")
def export_xlsx(org_id, year):
    unit = _unit(org_id)
    _need(Perm.unit_admin, unit)
    a = service.find(unit, year)
    if a is None:
        abort(404)
    from .exports import roster_xlsx

    data = roster_xlsx(a, unit)
    return send_file(io.BytesIO(data), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=f"annual-{unit.code}-{year}.xlsx")


# -- records and reviews ----------------------------------------------------------------------

@bp.route("/unit/<int:org_id>/<int:year>/records", methods=["GET", "POST"])
def records(org_id, year):
    unit = _unit(org_id)
    _need(Perm.unit_admin, unit)
    if request.method == "POST":
        try:
            person = get_in_scope(Person, request.form.get("person_id"))
            days = request.form.get("days")
            service.add_record(unit, person, kind=request.form.get("kind", ""),
                               year=int(request.form.get("record_year") or year),
                               sanction_kind=request.form.get("sanction_kind") or None,
                               start_date=_date("start_date"), end_date=_date("end_date"),
                               days=int(days) if days and days.isdigit() else None,
                               note=request.form.get("note") or None)
            db.session.commit()
        except KaoheError as exc:
            return _fail(exc, url_for("annual.records", org_id=unit.id, year=year))
        flash(_("Record saved; compute again to apply it."), "ok")
        return redirect(url_for("annual.records", org_id=unit.id, year=year))
    recs = list(db.session.execute(select(AnnualRecord).where(AnnualRecord.org_id == unit.id,
                                                              AnnualRecord.year.in_((year - 1, year)))
                                   .order_by(AnnualRecord.id.desc())).scalars())
    roster = list(db.session.execute(select(Person).where(Person.unit_id == unit.id, Person.active.is_(True))
                                     .order_by(Person.staff_no)).scalars())
    return render_template("annual/records.html", unit=unit, year=year, recs=recs, roster=roster,
                           people={p.id: p for p in roster}, sanctions=calc.SANCTIONS)


@bp.route("/records/<int:rec_id>/close", methods=["POST"])
def close_record(rec_id):
    rec = get_in_scope(AnnualRecord, rec_id)
    unit = _unit(rec.org_id)
    _need(Perm.unit_admin, unit)
    try:
        service.close_investigation(rec, _date("end_date") or local_today())
        db.session.commit()
    except KaoheError as exc:
        return _fail(exc, url_for("annual.records", org_id=unit.id, year=rec.year))
    flash(_("Investigation closed; compute again to grade the person (补定)."), "ok")
    return redirect(url_for("annual.records", org_id=unit.id, year=rec.year))


@bp.route("/unit/<int:org_id>/<int:year>/reviews", methods=["GET", "POST"])
def reviews(org_id, year):
    unit = _unit(org_id)
    me = _my_person()
    admin = has_perm(Perm.unit_admin, unit)
    if not admin and not has_perm(Perm.rate, unit):
        abort(403)
    roster = list(db.session.execute(select(Person).where(Person.unit_id == unit.id, Person.active.is_(True))
                                     .order_by(Person.staff_no)).scalars())
    if not admin:   # a leader reviews the people they supervise (谁管理谁考核)
        roster = [p for p in roster if me is not None and p.supervisor_id == me.id]
    if request.method == "POST":
        try:
            person = get_in_scope(Person, request.form.get("person_id"))
            if person.id not in {p.id for p in roster}:
                abort(403)
            a = service.get_or_open(unit, year)
            score = request.form.get("leader_score")
            votes = {g: request.form.get(f"votes_{g}") for g in calc.VOTE_POINTS if request.form.get(f"votes_{g}")}
            if any(not v.isdigit() for v in votes.values()):
                raise service.Invalid({"votes": [_("Vote counts are whole numbers.")]})
            try:
                score_v = float(score) if score else None
            except ValueError:
                raise service.Invalid({"leader_score": [_("Enter a number between 0 and 100.")]})
            service.save_review(a, person, leader_score=score_v,
                                recommended_grade=request.form.get("recommended_grade") or None,
                                comment=request.form.get("comment"), votes=votes if admin else None)
            db.session.commit()
        except KaoheError as exc:
            return _fail(exc, url_for("annual.reviews", org_id=unit.id, year=year))
        flash(_("Saved."), "ok")
        return redirect(url_for("annual.reviews", org_id=unit.id, year=year))
    a = service.find(unit, year)
    revs = {r.person_id: r for r in db.session.execute(select(AnnualReview).where(
        AnnualReview.assessment_id == a.id)).scalars()} if a else {}
    sums = {s.person_id: s for s in db.session.execute(select(AnnualSummary).where(
        AnnualSummary.assessment_id == a.id)).scalars()} if a else {}
    pol = service.policy(a) if a else service.policy_for(unit, year)
    return render_template("annual/reviews.html", unit=unit, year=year, roster=roster, revs=revs, sums=sums,
                           admin=admin, dem_for=pol.get("annual.democratic_eval_for") or [])


# -- one person -----------------------------------------------------------------------------

def _can_see_person(p: Person) -> bool:
    me = _my_person()
    if me is not None and me.id == p.id:
        return True
    unit = db.session.get(OrgNode, p.unit_id)
    return has_perm(Perm.unit_admin, unit) or has_perm(Perm.supervise, unit) or (
        has_perm(Perm.rate, unit) and me is not None and p.supervisor_id == me.id)


@bp.route("/person/<int:person_id>/<int:year>")
def person_page(person_id, year):
    p = get_in_scope(Person, person_id)
    if not _can_see_person(p):
        abort(404)
    unit = db.session.get(OrgNode, p.unit_id)
    a = service.find(unit, year)
    res = None
    if a is not None and a.current_run_id is not None:
        res = db.session.execute(select(AnnualResult).where(AnnualResult.run_id == a.current_run_id,
                                                            AnnualResult.person_id == p.id)).scalar_one_or_none()
    out = db.session.execute(select(AnnualOutcome).where(AnnualOutcome.person_id == p.id,
                                                         AnnualOutcome.year == year)).scalar_one_or_none()
    visible = res is not None and (has_perm(Perm.unit_admin, unit) or has_perm(Perm.supervise, unit)
                                   or (a.status in ("notified", "filed", "publicised")))
    return render_template("annual/person.html", p=p, unit=unit, a=a, res=res if visible else None, out=out,
                           year=year, counters=service.person_counters(p.id, p.root_id),
                           history=service.history(p.id, p.root_id))


# -- my annual assessment (phone-friendly) ------------------------------------------------------

@bp.route("/me")
def me():
    p = _my_person()
    if p is None:
        return render_template("annual/me.html", p=None)
    unit = db.session.get(OrgNode, p.unit_id)
    year = _year()
    a = service.find(unit, year)
    outs = list(db.session.execute(select(AnnualOutcome).where(AnnualOutcome.person_id == p.id)
                                   .order_by(AnnualOutcome.year.desc())).scalars())
    visible_outs = []
    deadlines = {}
    for o in outs:
        if o.notice_on is not None:
            visible_outs.append(o)
            deadlines[o.id] = service.appeal_deadlines_for(o)
    summary = db.session.execute(select(AnnualSummary).where(AnnualSummary.assessment_id == a.id,
                                                             AnnualSummary.person_id == p.id)).scalar_one_or_none() if a else None
    cases = list(db.session.execute(select(AnnualAppeal).where(AnnualAppeal.person_id == p.id)
                                    .order_by(AnnualAppeal.id.desc())).scalars())
    pol = service.policy(a) if a else service.policy_for(unit, year)
    return render_template("annual/me.html", p=p, unit=unit, a=a, year=year, outs=visible_outs, summary=summary,
                           cases=cases, deadlines=deadlines, counters=service.person_counters(p.id, p.root_id),
                           history=service.history(p.id, p.root_id),
                           appealable=pol.get("appeal.appealable_grades") or ["buchenzhi"], today=local_today())


@bp.route("/me/summary", methods=["POST"])
def me_summary():
    p = _my_person()
    if p is None:
        abort(404)
    unit = db.session.get(OrgNode, p.unit_id)
    year = _year()
    try:
        a = service.get_or_open(unit, year)
        service.save_summary(a, p, request.form.get("text", ""), request.form.get("submit") == "1")
        db.session.commit()
    except KaoheError as exc:
        return _fail(exc, url_for("annual.me", year=year))
    flash(_("Self-summary saved."), "ok")
    return redirect(url_for("annual.me", year=year))


def _my_outcome(outcome_id) -> AnnualOutcome:
    p = _my_person()
    o = get_in_scope(AnnualOutcome, outcome_id)
    if p is None or o.person_id != p.id:
        abort(404)
    return o


@bp.route("/me/ack/<int:outcome_id>", methods=["POST"])
def me_ack(outcome_id):
    o = _my_outcome(outcome_id)
    try:
        service.acknowledge(o)
        db.session.commit()
    except KaoheError as exc:
        return _fail(exc, url_for("annual.me"))
    flash(_("You have acknowledged the written notice."), "ok")
    return redirect(url_for("annual.me"))


@bp.route("/me/appeal/<int:outcome_id>", methods=["POST"])
def me_appeal(outcome_id):
    o = _my_outcome(outcome_id)
    stage = request.form.get("stage")
    try:
        if stage == "review":
            service.file_review(o, request.form.get("grounds", ""))
        elif stage == "appeal":
            service.file_appeal(o, request.form.get("grounds", ""))
        else:
            raise service.Invalid({"stage": [_("Choose a review (复核) or an appeal (申诉).")]})
        db.session.commit()
    except KaoheError as exc:
        return _fail(exc, url_for("annual.me"))
    flash(_("Your case has been filed; the deadline for the decision is shown below."), "ok")
    return redirect(url_for("annual.me"))


# -- appeals for the deciding unit / level above ----------------------------------------------------

@bp.route("/appeals")
def appeals():
    if not (has_perm(Perm.unit_admin) or has_perm(Perm.supervise)):
        abort(403)
    scope = current_scope()
    stmt = select(AnnualAppeal)
    if not scope.all_roots:
        stmt = stmt.where(AnnualAppeal.root_id == scope.root_id, org_filter(AnnualAppeal.org_id, scope))
    cases = list(db.session.execute(stmt.order_by(AnnualAppeal.status != "pending", AnnualAppeal.decide_by)
                                    .limit(1000)).scalars())
    people = _names([c.person_id for c in cases])
    orgs = {n.id: n for n in db.session.execute(select(OrgNode).where(
        OrgNode.id.in_({c.org_id for c in cases} | {c.decider_org_id for c in cases} or {0}))).scalars()}
    deciders = {c.id: has_perm(Perm.unit_admin if c.stage == "review" else Perm.supervise, orgs.get(c.decider_org_id))
                for c in cases if orgs.get(c.decider_org_id)}
    return render_template("annual/appeals.html", cases=cases, people=people, orgs=orgs, deciders=deciders,
                           today=local_today())


@bp.route("/appeals/<int:appeal_id>/decide", methods=["POST"])
def decide(appeal_id):
    ap = get_in_scope(AnnualAppeal, appeal_id)
    decider = get_in_scope(OrgNode, ap.decider_org_id, strict_subtree=False)
    _need(Perm.unit_admin if ap.stage == "review" else Perm.supervise, decider)
    try:
        if request.form.get("action") == "extend":
            service.extend_appeal(ap, request.form.get("note", ""))
        else:
            service.decide_appeal(ap, decision=request.form.get("decision", ""), note=request.form.get("note", ""),
                                  new_grade=request.form.get("new_grade") or None)
        db.session.commit()
    except KaoheError as exc:
        return _fail(exc, url_for("annual.appeals"))
    flash(_("Decision recorded."), "ok")
    return redirect(url_for("annual.appeals"))


# -- special assessments -----------------------------------------------------------------------------

@bp.route("/specials", methods=["GET", "POST"])
def specials():
    nodes = [n for n in _granted_nodes() if has_perm(Perm.unit_admin, n) or has_perm(Perm.supervise, n)]
    if not nodes and not current_scope().all_roots:
        abort(403)
    if request.method == "POST":
        org = get_in_scope(OrgNode, request.form.get("org_id"))
        if not (has_perm(Perm.unit_admin, org) or has_perm(Perm.supervise, org)):
            abort(403)
        try:
            starts, ends = _date("starts_on"), _date("ends_on")
            if not starts or not ends:
                raise service.Invalid({"starts_on": [_("The window needs a start and an end.")]})
            c = service.create_campaign(org, name=request.form.get("name", ""), year=starts.year,
                                        kind=request.form.get("kind", "other"),
                                        result_type=request.form.get("result_type", ""), starts_on=starts,
                                        ends_on=ends, description=request.form.get("description") or None)
            db.session.commit()
        except KaoheError as exc:
            return _fail(exc, url_for("annual.specials"))
        flash(_("Special assessment created."), "ok")
        return redirect(url_for("annual.special", campaign_id=c.id))
    scope = current_scope()
    stmt = select(SpecialCampaign)
    if not scope.all_roots:
        stmt = stmt.where(SpecialCampaign.root_id == scope.root_id, org_filter(SpecialCampaign.org_id, scope))
    camps = list(db.session.execute(stmt.order_by(SpecialCampaign.year.desc(), SpecialCampaign.id.desc())
                                    .limit(500)).scalars())
    orgs = {n.id: n for n in db.session.execute(select(OrgNode).where(
        OrgNode.id.in_({c.org_id for c in camps} or {0}))).scalars()}
    return render_template("annual/specials.html", camps=camps, nodes=nodes, orgs=orgs)


def _granted_nodes() -> list[OrgNode]:
    ids = [g.org_id for g in current_grants() if g.org_id]
    if not ids:
        return []
    return list(db.session.execute(select(OrgNode).where(OrgNode.id.in_(ids))).scalars())


@bp.route("/specials/<int:campaign_id>", methods=["GET", "POST"])
def special(campaign_id):
    c = get_in_scope(SpecialCampaign, campaign_id)
    org = db.session.get(OrgNode, c.org_id)
    can = has_perm(Perm.unit_admin, org) or has_perm(Perm.supervise, org)
    if request.method == "POST":
        if not can:
            abort(403)
        try:
            if request.form.get("action") == "close":
                service.close_campaign(c)
            else:
                person = get_in_scope(Person, request.form.get("person_id"))
                def num(name):
                    v = request.form.get(name)
                    if v in (None, ""):
                        return None
                    try:
                        return float(v)
                    except ValueError:
                        raise service.Invalid({name: [_("Enter a number.")]})
                service.set_special_result(c, person, grade=request.form.get("grade") or None, points=num("points"),
                                           score=num("score"), comment=request.form.get("comment") or None)
            db.session.commit()
        except KaoheError as exc:
            return _fail(exc, url_for("annual.special", campaign_id=c.id))
        flash(_("Saved."), "ok")
        return redirect(url_for("annual.special", campaign_id=c.id))
    results = list(db.session.execute(select(SpecialResult).where(SpecialResult.campaign_id == c.id)).scalars())
    people = _names([r.person_id for r in results])
    candidates = list(db.session.execute(select(Person).where(
        Person.root_id == c.root_id, Person.active.is_(True),
        Person.unit_id.in_(select(OrgNode.id).where(OrgNode.path.like(org.path + "%"))))
        .order_by(Person.unit_id, Person.staff_no).limit(500)).scalars()) if can else []
    return render_template("annual/special.html", c=c, org=org, results=results, people=people,
                           candidates=candidates, can=can)


# -- talks ------------------------------------------------------------------------------------------

@bp.route("/talks", methods=["GET"])
def talks():
    me = _my_person()
    scope = current_scope()
    stmt = select(AnnualTalk)
    if not scope.all_roots:
        stmt = stmt.where(AnnualTalk.root_id == scope.root_id, org_filter(AnnualTalk.org_id, scope))
    rows = list(db.session.execute(stmt.order_by(AnnualTalk.held_on.is_not(None), AnnualTalk.due_on)
                                   .limit(1000)).scalars())
    if not has_perm(Perm.unit_admin):
        rows = [t for t in rows if me is not None and t.leader_person_id == me.id]
    people = _names([t.person_id for t in rows] + [t.leader_person_id for t in rows if t.leader_person_id])
    return render_template("annual/talks.html", talks=rows, people=people, today=local_today())


@bp.route("/talks/<int:talk_id>", methods=["POST"])
def talk_record(talk_id):
    t = get_in_scope(AnnualTalk, talk_id)
    me = _my_person()
    unit = db.session.get(OrgNode, t.org_id)
    if not (has_perm(Perm.unit_admin, unit) or (me is not None and me.id == t.leader_person_id)):
        abort(403)
    try:
        service.record_talk(t, _date("held_on") or local_today(), request.form.get("record", ""))
        db.session.commit()
    except KaoheError as exc:
        return _fail(exc, url_for("annual.talks"))
    flash(_("Talk recorded."), "ok")
    return redirect(url_for("annual.talks"))


# -- wiring -----------------------------------------------------------------------------------------

def _org_links(node):
    if not node.is_assessment_unit or not has_perm(Perm.view, node):
        return []
    return [{"url": url_for("annual.unit_page", org_id=node.id, year=local_today().year),
             "label": _("Annual assessment")}]


def _panel():
    p = _my_person()
    if p is None:
        return None
    pending = db.session.execute(select(func.count()).select_from(AnnualOutcome).where(
        AnnualOutcome.person_id == p.id, AnnualOutcome.notice_on.is_not(None),
        AnnualOutcome.acknowledged_at.is_(None))).scalar_one()
    talks_due = db.session.execute(select(func.count()).select_from(AnnualTalk).where(
        AnnualTalk.leader_person_id == p.id, AnnualTalk.held_on.is_(None))).scalar_one()
    if not pending and not talks_due:
        return None
    items = []
    if pending:
        items.append({"text": _("An annual result notice awaits your acknowledgement."), "url": url_for("annual.me")})
    if talks_due:
        items.append({"text": _("%(n)s talks to hold and record.", n=talks_due), "url": url_for("annual.talks")})
    from markupsafe import escape

    html = "<ul>" + "".join(f'<li><a href="{escape(i["url"])}">{escape(i["text"])}</a></li>' for i in items) + "</ul>"
    return {"key": "annual", "title": _("Annual assessment"), "html": html}


add_nav(NavItem("annual", _l("Annual assessment"), "annual.index", None, 40,
                hint=_l("Self-summaries, grades within the quota, publicity and notices")))
add_nav(NavItem("annual_appeals", _l("Reviews & appeals"), "annual.appeals", None, 42, hint=_l("Review and appeal cases with their deadlines"),
                visible=lambda: has_perm(Perm.unit_admin) or has_perm(Perm.supervise)))
add_nav(NavItem("annual_specials", _l("Special assessments"), "annual.specials", None, 41, hint=_l("Campaigns such as flood duty, and their results"),
                visible=lambda: has_perm(Perm.unit_admin) or has_perm(Perm.supervise)))
add_panel(_panel)
from ..web import add_org_links  # noqa: E402

add_org_links(_org_links)
register_page_blueprint(bp)
