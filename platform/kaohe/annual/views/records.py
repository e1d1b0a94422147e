"""The unit's records (leave, investigations, sanctions, refusals) and the
reviews: the leader's score and the democratic evaluation's votes."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...core.clock import local_today
from ...core.errors import KaoheError
from ...extensions import db
from ...people.models import Person
from ...tenancy.scope import get_in_scope
from .. import review_table, service
from ..calc.codes import SANCTIONS
from ..models import AnnualRecord, AnnualReview, AnnualSummary
from ..policy import policy_for
from ..records import add_record, close_investigation
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
    flash(_("Investigation closed; compute again to grade the person retroactively."), "ok")
    return redirect(url_for("annual.records", org_id=unit.id, year=rec.year))


def _review_roster(unit):
    """(roster the caller may review, is unit admin): a leader reviews the
    people they supervise (谁管理谁考核)."""
    me = my_person()
    admin = has_perm(Perm.unit_admin, unit)
    if not admin and not has_perm(Perm.rate, unit):
        abort(403)
    roster = list(db.session.execute(select(Person).where(Person.unit_id == unit.id, Person.active.is_(True))
                                     .order_by(Person.staff_no)).scalars())
    if not admin:
        roster = [p for p in roster if me is not None and p.supervisor_id == me.id]
    return roster, admin


def _save_rows(unit, year, rows, roster, admin):
    """One transaction for the whole table; on a bad row nothing is saved and
    the table comes back with the entered values and each row's messages."""
    try:
        a = service.get_or_open(unit, year)
        n = review_table.save_table(a, rows, roster, votes_allowed=admin)
        db.session.commit()
    except KaoheError as exc:
        db.session.rollback()
        return _render_reviews(unit, year, roster, admin, entered=rows, errors=exc.errors or {"_": [exc.message]},
                               status=422)
    flash(_("Saved: %(n)s rows changed.", n=n), "ok")
    return redirect(url_for("annual.reviews", org_id=unit.id, year=year))


def _render_reviews(unit, year, roster, admin, entered=None, errors=None, status=200):
    a = service.find(unit, year)
    revs = {r.person_id: r for r in db.session.execute(select(AnnualReview).where(
        AnnualReview.assessment_id == a.id)).scalars()} if a else {}
    sums = {s.person_id: s for s in db.session.execute(select(AnnualSummary).where(
        AnnualSummary.assessment_id == a.id)).scalars()} if a else {}
    pol = service.policy(a) if a else policy_for(unit, year)
    row_errors: dict = {}
    general = []
    for key, msgs in (errors or {}).items():
        pid, _dot, field = str(key).partition(".")
        if pid.isdigit() and field:
            row_errors.setdefault(int(pid), {})[field] = msgs
        else:
            general.extend(msgs if isinstance(msgs, list) else [msgs])
    return render_template("annual/reviews.html", unit=unit, year=year, roster=roster, revs=revs, sums=sums,
                           admin=admin, dem_for=pol.get("annual.democratic_eval_for") or [],
                           min_votes=int(policy_for(unit, year).get("routine.min_anonymous_raters", 3) or 0),
                           entered=entered or {}, row_errors=row_errors, general_errors=general,
                           votes=review_table.VOTES), status


@bp.route("/unit/<int:org_id>/<int:year>/reviews", methods=["GET", "POST"])
def reviews(org_id, year):
    unit = assessment_unit(org_id)
    roster, admin = _review_roster(unit)
    if request.method == "POST":
        return _save_rows(unit, year, review_table.rows_from_form(request.form, roster), roster, admin)
    return _render_reviews(unit, year, roster, admin)


@bp.route("/unit/<int:org_id>/<int:year>/reviews.xlsx")
def reviews_xlsx(org_id, year):
    unit = assessment_unit(org_id)
    roster, admin = _review_roster(unit)
    a = service.find(unit, year)
    revs = {r.person_id: r for r in db.session.execute(select(AnnualReview).where(
        AnnualReview.assessment_id == a.id)).scalars()} if a else {}
    data = review_table.to_xlsx(roster, revs, votes_allowed=admin)
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="reviews-{unit.code}-{year}.xlsx"'})


@bp.route("/unit/<int:org_id>/<int:year>/reviews/upload", methods=["POST"])
def reviews_upload(org_id, year):
    unit = assessment_unit(org_id)
    roster, admin = _review_roster(unit)
    f = request.files.get("file")
    try:
        rows = review_table.rows_from_xlsx(f.read(review_table.MAX_UPLOAD_BYTES + 1) if f else b"", roster)
    except KaoheError as exc:
        return _render_reviews(unit, year, roster, admin, errors=exc.errors, status=422)
    return _save_rows(unit, year, rows, roster, admin)
