"""The unit's assessment pages: the list of units, the unit page (results,
committee decisions, the steps from computing to filing), the 公示 list and
the roster export."""
from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...core.errors import Invalid, KaoheError
from ...extensions import db
from ...people.models import Person
from ...tenancy.models import OrgNode
from ...tenancy.scope import current_scope, org_filter
from .. import service
from ..calc.codes import GRADES
from ..calc.pay import allocate_pay
from ..engine import LOCKED_STATUSES
from ..models import AnnualAppeal, AnnualAssessment, AnnualReview, AnnualSummary
from ..policy import policy_for
from .common import assessment_unit, bp, fail, form_date, my_person, need, people_by_id, year_arg


@bp.route("/")
def index():
    if not has_perm(Perm.view):
        return redirect(url_for("annual.me"))
    year = year_arg()
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
    # corrections (补定) after the notice, visible to the level above with their reasons
    by_assessment = {a.id: a for a in assessments.values() if a.corrections}
    unit_of = {u.id: u for u in units}
    corrections = [{"unit": unit_of[by_assessment[int(e.target_id)].org_id], "entry": e,
                    "round": (e.after or {}).get("correction")}
                   for e in service.correction_entries(list(by_assessment))]
    return render_template("annual/index.html", year=year, units=units, assessments=assessments, counts=counts,
                           can_supervise=supervise_node is not None, corrections=corrections)


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
    people.update(people_by_id(missing))
    pol = service.policy(a) if a else policy_for(unit, year)
    summaries = dict(db.session.execute(select(AnnualSummary.person_id, AnnualSummary.submitted_at).where(
        AnnualSummary.assessment_id == a.id)).all()) if a else {}
    reviews = {r.person_id: r for r in db.session.execute(select(AnnualReview).where(
        AnnualReview.assessment_id == a.id)).scalars()} if a else {}
    appeals = list(db.session.execute(select(AnnualAppeal).where(AnnualAppeal.org_id == unit.id).order_by(
        AnnualAppeal.id.desc())).scalars()) if a else []
    counts = {g: 0 for g in GRADES}
    for r in results:
        g = adj[r.person_id].grade if r.person_id in adj else r.grade
        if g:
            counts[g] += 1
    pay_total = sum(o.pay_cents or 0 for o in outs.values())
    pay_explain = None
    if outs:   # the arithmetic behind the pay column, from the stored outcomes (the same function confirm uses)
        _cents, pay_explain = allocate_pay([{"score": o.score, "grade": o.grade, "code": o.code}
                                            for o in outs.values()], pol)
    dem_for = pol.get("annual.democratic_eval_for") or []
    need_votes = [p for p in roster if ("section_chief" in dem_for and p.position_role == "dept_head")
                  or "all" in dem_for]
    missing_votes = [p for p in need_votes if p.id not in reviews or not any(reviews[p.id].votes().values())]
    # Names link only where the viewer may go: the rule of person_page (_can_see_person), set-based.
    can_admin, can_supervise = has_perm(Perm.unit_admin, unit), has_perm(Perm.supervise, unit)
    if can_admin or can_supervise:
        openable = set(people)
    else:
        me = my_person()
        openable = set() if me is None else {me.id} | (
            {pid for pid, p in people.items() if p.supervisor_id == me.id} if has_perm(Perm.rate, unit) else set())
    return {"openable": openable, "missing_votes": missing_votes, "unit": unit, "year": year, "a": a, "results": results, "adj": adj, "outs": outs, "people": people,
            "roster": roster, "pol": pol, "summaries": summaries, "reviews": reviews, "appeals": appeals,
            "counts": counts, "pay_total": pay_total, "pay_explain": pay_explain,
            "act_today": service.today(),
            "open_windows": service.open_windows(a) if a is not None and a.status == "notified" else [],
            "can_admin": can_admin, "can_supervise": can_supervise,
            "ties": [r for r in results if "tie_at_line" in (r.flags or []) and r.person_id not in adj]}


@bp.route("/unit/<int:org_id>/<int:year>")
def unit_page(org_id, year):
    unit = assessment_unit(org_id)
    need(Perm.view, unit)
    return render_template("annual/unit.html", **_unit_context(unit, year))


def _back(unit, year):
    return url_for("annual.unit_page", org_id=unit.id, year=year)


@bp.route("/unit/<int:org_id>/<int:year>/compute", methods=["POST"])
def compute(org_id, year):
    unit = assessment_unit(org_id)
    need(Perm.unit_admin, unit)
    from ...jobs import queue

    try:
        a = service.get_or_open(unit, year)
        if a.status in LOCKED_STATUSES:
            raise Invalid({"status": [_("The result is confirmed; reopen it before computing again.")]})
        db.session.flush()
        job_id = queue.submit("annual.compute", root_id=unit.root_id, org_id=unit.id, scope=current_scope(),
                              params={"org_id": unit.id, "year": year, "strict": True},
                              created_by=current_user.id)
    except KaoheError as exc:
        return fail(exc, _back(unit, year))
    flash(_("The computation has started; the page shows its progress."), "ok")
    return redirect(url_for("web.job_page", job_id=job_id) if _has_job_page() else _back(unit, year))


def _has_job_page() -> bool:
    from flask import current_app

    return "web.job_page" in current_app.view_functions


def _post_action(org_id, year, fn, ok_message):
    unit = assessment_unit(org_id)
    need(Perm.unit_admin, unit)
    a = service.find(unit, year)
    if a is None:
        abort(404)
    try:
        fn(a)
        db.session.commit()
    except KaoheError as exc:
        return fail(exc, _back(unit, year))
    flash(ok_message, "ok")
    return redirect(_back(unit, year))


@bp.route("/unit/<int:org_id>/<int:year>/org-grade", methods=["POST"])
def org_grade(org_id, year):
    unit = assessment_unit(org_id)
    if not (has_perm(Perm.supervise, unit) or has_perm(Perm.unit_admin, unit)):
        abort(403)
    try:
        a = service.get_or_open(unit, year)
        service.set_org_grade(a, request.form.get("org_grade") or None, request.form.get("major") == "on")
        db.session.commit()
    except KaoheError as exc:
        return fail(exc, _back(unit, year))
    flash(_("Saved."), "ok")
    return redirect(_back(unit, year))


@bp.route("/unit/<int:org_id>/<int:year>/adjust", methods=["POST"])
def adjust(org_id, year):
    def fn(a):
        try:
            pid = int(request.form.get("person_id", ""))
        except ValueError:
            raise Invalid({"person_id": [_("Choose a person.")]})
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
    return _post_action(org_id, year, lambda a: service.publish(a, form_date("start")), _("The public notice has started."))


@bp.route("/unit/<int:org_id>/<int:year>/notify", methods=["POST"])
def notify(org_id, year):
    return _post_action(org_id, year, lambda a: service.notify(a, form_date("notice_on")),
                        _("Written notices issued."))


@bp.route("/unit/<int:org_id>/<int:year>/correct", methods=["POST"])
def correct(org_id, year):
    return _post_action(org_id, year, lambda a: service.correct(a, request.form.get("reason", "")),
                        _("Reopened for a correction: adjust or recompute, confirm, publish, notify and file again."))


@bp.route("/unit/<int:org_id>/<int:year>/file", methods=["POST"])
def file_result(org_id, year):
    return _post_action(org_id, year,
                        lambda a: service.file_with_above(a, request.form.get("open_cases_reason") or None),
                        _("Filed with the level above."))


@bp.route("/unit/<int:org_id>/<int:year>/publicity")
def publicity(org_id, year):
    unit = assessment_unit(org_id)
    need(Perm.view, unit)
    a = service.find(unit, year)
    if a is None or a.publicity_start is None:
        abort(404)
    outs = [o for o in service.outcomes(a) if o.grade == "youxiu"]
    people = people_by_id([o.person_id for o in outs])
    depts = {n.id: n for n in db.session.execute(select(OrgNode).where(
        OrgNode.id.in_({p.org_id for p in people.values()} or {0}))).scalars()}
    return render_template("annual/publicity.html", unit=unit, a=a, year=year, outs=outs, people=people,
                           depts=depts)


@bp.route("/unit/<int:org_id>/<int:year>/export.xlsx")
def export_xlsx(org_id, year):
    unit = assessment_unit(org_id)
    need(Perm.unit_admin, unit)
    a = service.find(unit, year)
    if a is None:
        abort(404)
    from ..exports import roster_xlsx

    data = roster_xlsx(a, unit)
    return send_file(io.BytesIO(data), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=f"annual-{unit.code}-{year}.xlsx")
