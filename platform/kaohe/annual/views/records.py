"""The unit's records (leave, investigations, sanctions, refusals) and the
reviews: the leader's score and the democratic evaluation's votes."""
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
from ...tenancy.scope import get_in_scope
from .. import service
from ..calc.codes import SANCTIONS, VOTE_POINTS
from ..models import AnnualRecord, AnnualReview, AnnualSummary
from ..policy import policy_for
from ..records import add_record, close_investigation, save_review
from .common import assessment_unit, bp, fail, form_date, my_person, need


@bp.route("/unit/<int:org_id>/<int:year>/records", methods=["GET", "POST"])
def records(org_id, year):
    unit = assessment_unit(org_id)
    need(Perm.unit_admin, unit)
    if request.method == "POST":
        try:
            person = get_in_scope(Person, request.form.get("person_id"))
            days = request.form.get("days")
            add_record(unit, person, kind=request.form.get("kind", ""),
                               year=int(request.form.get("record_year") or year),
                               sanction_kind=request.form.get("sanction_kind") or None,
                               start_date=form_date("start_date"), end_date=form_date("end_date"),
                               days=int(days) if days and days.isdigit() else None,
                               note=request.form.get("note") or None)
            db.session.commit()
        except KaoheError as exc:
            return fail(exc, url_for("annual.records", org_id=unit.id, year=year))
        flash(_("Record saved; compute again to apply it."), "ok")
        return redirect(url_for("annual.records", org_id=unit.id, year=year))
    recs = list(db.session.execute(select(AnnualRecord).where(AnnualRecord.org_id == unit.id,
                                                              AnnualRecord.year.in_((year - 1, year)))
                                   .order_by(AnnualRecord.id.desc())).scalars())
    roster = list(db.session.execute(select(Person).where(Person.unit_id == unit.id, Person.active.is_(True))
                                     .order_by(Person.staff_no)).scalars())
    return render_template("annual/records.html", unit=unit, year=year, recs=recs, roster=roster,
                           people={p.id: p for p in roster}, sanctions=SANCTIONS)


@bp.route("/records/<int:rec_id>/close", methods=["POST"])
def close_record(rec_id):
    rec = get_in_scope(AnnualRecord, rec_id)
    unit = assessment_unit(rec.org_id)
    need(Perm.unit_admin, unit)
    try:
        close_investigation(rec, form_date("end_date") or local_today())
        db.session.commit()
    except KaoheError as exc:
        return fail(exc, url_for("annual.records", org_id=unit.id, year=rec.year))
    flash(_("Investigation closed; compute again to grade the person (补定)."), "ok")
    return redirect(url_for("annual.records", org_id=unit.id, year=rec.year))


@bp.route("/unit/<int:org_id>/<int:year>/reviews", methods=["GET", "POST"])
def reviews(org_id, year):
    unit = assessment_unit(org_id)
    me = my_person()
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
            votes = {g: request.form.get(f"votes_{g}") for g in VOTE_POINTS if request.form.get(f"votes_{g}")}
            if any(not v.isdigit() for v in votes.values()):
                raise Invalid({"votes": [_("Vote counts are whole numbers.")]})
            try:
                score_v = float(score) if score else None
            except ValueError:
                raise Invalid({"leader_score": [_("Enter a number between 0 and 100.")]})
            save_review(a, person, leader_score=score_v,
                                recommended_grade=request.form.get("recommended_grade") or None,
                                comment=request.form.get("comment"), votes=votes if admin else None)
            db.session.commit()
        except KaoheError as exc:
            return fail(exc, url_for("annual.reviews", org_id=unit.id, year=year))
        flash(_("Saved."), "ok")
        return redirect(url_for("annual.reviews", org_id=unit.id, year=year))
    a = service.find(unit, year)
    revs = {r.person_id: r for r in db.session.execute(select(AnnualReview).where(
        AnnualReview.assessment_id == a.id)).scalars()} if a else {}
    sums = {s.person_id: s for s in db.session.execute(select(AnnualSummary).where(
        AnnualSummary.assessment_id == a.id)).scalars()} if a else {}
    pol = service.policy(a) if a else policy_for(unit, year)
    return render_template("annual/reviews.html", unit=unit, year=year, roster=roster, revs=revs, sums=sums,
                           admin=admin, dem_for=pol.get("annual.democratic_eval_for") or [])
