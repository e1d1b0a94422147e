"""One person's pages: a person's result for those who may see it, and my
own annual assessment (phone-friendly): self-summary, the notice to
acknowledge, reviews and appeals with their deadlines."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...core.clock import local_today
from ...core.errors import Invalid, KaoheError
from ...extensions import db
from ...people.models import Person
from ...tenancy.models import OrgNode
from ...tenancy.scope import get_in_scope
from .. import service
from ..appeals import file_appeal, file_review, filing_options
from ..models import AnnualAppeal, AnnualOutcome, AnnualResult, AnnualSummary
from ..records import save_summary
from .common import bp, fail, my_person, year_arg


def _can_see_person(p: Person) -> bool:
    me = my_person()
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
                           may_transfer=has_perm(Perm.unit_admin, unit),
                           year=year, counters=service.person_counters(p.id, p.root_id),
                           history=service.history(p.id, p.root_id),
                           imported_years=service.imported_years(p.id, p.root_id))


# -- my annual assessment (phone-friendly) ------------------------------------------------------

@bp.route("/me")
def me():
    p = my_person()
    if p is None:
        return render_template("annual/me.html", p=None)
    unit = db.session.get(OrgNode, p.unit_id)
    year = year_arg()
    a = service.find(unit, year)
    outs = list(db.session.execute(select(AnnualOutcome).where(AnnualOutcome.person_id == p.id)
                                   .order_by(AnnualOutcome.year.desc())).scalars())
    visible_outs = []
    deadlines = {}
    for o in outs:
        if o.notice_on is not None:
            visible_outs.append(o)
            deadlines[o.id] = filing_options(o)
    summary = db.session.execute(select(AnnualSummary).where(AnnualSummary.assessment_id == a.id,
                                                             AnnualSummary.person_id == p.id)).scalar_one_or_none() if a else None
    cases = list(db.session.execute(select(AnnualAppeal).where(AnnualAppeal.person_id == p.id)
                                    .order_by(AnnualAppeal.id.desc())).scalars())
    return render_template("annual/me.html", p=p, unit=unit, a=a, year=year, outs=visible_outs, summary=summary,
                           cases=cases, deadlines=deadlines, counters=service.person_counters(p.id, p.root_id),
                           history=service.history(p.id, p.root_id),
                           imported_years=service.imported_years(p.id, p.root_id), today=local_today())


@bp.route("/me/summary", methods=["POST"])
def me_summary():
    p = my_person()
    if p is None:
        abort(404)
    unit = db.session.get(OrgNode, p.unit_id)
    year = year_arg()
    try:
        a = service.get_or_open(unit, year)
        save_summary(a, p, request.form.get("text", ""), request.form.get("submit") == "1")
        db.session.commit()
    except KaoheError as exc:
        return fail(exc, url_for("annual.me", year=year))
    flash(_("Self-summary saved."), "ok")
    return redirect(url_for("annual.me", year=year))


def _my_outcome(outcome_id) -> AnnualOutcome:
    p = my_person()
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
        return fail(exc, url_for("annual.me"))
    flash(_("You have acknowledged the written notice."), "ok")
    return redirect(url_for("annual.me"))


@bp.route("/me/appeal/<int:outcome_id>", methods=["POST"])
def me_appeal(outcome_id):
    o = _my_outcome(outcome_id)
    stage = request.form.get("stage")
    try:
        if stage == "review":
            file_review(o, request.form.get("grounds", ""))
        elif stage == "appeal":
            file_appeal(o, request.form.get("grounds", ""))
        else:
            raise Invalid({"stage": [_("Choose a review or an appeal.")]})
        db.session.commit()
    except KaoheError as exc:
        return fail(exc, url_for("annual.me"))
    flash(_("Your case has been filed; the deadline for the decision is shown below."), "ok")
    return redirect(url_for("annual.me"))
