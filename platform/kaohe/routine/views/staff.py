"""Staff pages, made for a phone: my routine page (sign in and out, what I
owe, my tasks), attendance corrections, work records and my result."""
from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ...core.clock import tz
from ...core.errors import KaoheError
from ...extensions import db
from ...people.models import Person
from ...tenancy.scope import get_in_scope
from ...web.forms import parse_form
from ...web.messages import localize_message
from ..attendance import decide_correction, request_correction
from ..attendance import sign as sign_attendance
from ..common import period_policy, today
from ..completeness import months_so_far, todo_for
from ..models import Attendance, Correction, Period, Rating, Result, RoutineReminder, WorkRecord
from ..periods import RECORD_STATES
from ..ratings import anonymous_summary
from ..results import public_breakdown
from ..schemas import CorrectionInSchema, WorkRecordInSchema
from ..tasks import my_tasks
from ..work_records import save_work_record
from .common import bp, current_person, error_messages, open_periods, render


@bp.route("/")
def me():
    person = current_person()
    day = today()
    att = db.session.execute(select(Attendance).where(Attendance.person_id == person.id,
                                                      Attendance.day == day)).scalar_one_or_none()
    periods = open_periods(person.unit_id)
    current = next((p for p in periods if p.state in ("open", "rating")), None)
    todo = []
    if current is not None:
        todo = [t for t in todo_for(current, person.id)]
    published = [p for p in periods if p.state in ("publicised", "final")]
    corrections = db.session.execute(select(Correction).where(Correction.person_id == person.id)
                                     .order_by(Correction.created_at.desc()).limit(5)).scalars().all()
    waiting = db.session.execute(select(Correction, Person.name).join(Person, Person.id == Correction.person_id)
                                 .where(Correction.status == "pending", Person.supervisor_id == person.id)
                                 .order_by(Correction.day)).all()
    tasks = my_tasks(person.id, current_user.id)
    reminders = db.session.execute(select(RoutineReminder).where(
        RoutineReminder.person_id == person.id, RoutineReminder.day >= day - dt.timedelta(days=7))
        .order_by(RoutineReminder.day.desc()).limit(10)).scalars().all()
    return render("routine/me.html", person=person, att=att, current=current, todo=todo, published=published,
                  corrections=corrections, waiting=waiting, tasks=tasks, reminders=reminders, today=day)


@bp.route("/sign", methods=["POST"])
def sign():
    person = current_person()
    what = request.form.get("what")
    if what not in ("in", "out"):
        abort(400)
    try:
        att = sign_attendance(person, what)
        db.session.commit()
        t = (att.sign_in_at if what == "in" else att.sign_out_at).astimezone(tz())
        flash((_("Signed in at %(t)s.", t=t.strftime("%H:%M")) if what == "in" else _("Signed out at %(t)s.", t=t.strftime("%H:%M"))),
              "ok")
    except KaoheError as exc:
        db.session.rollback()
        flash(" ".join(localize_message(m) for v in exc.errors.values() for m in (v if isinstance(v, list) else [v]))
              or localize_message(exc.message), "error")
    return redirect(url_for("routine.me"))


def _local_instant(day: str | None, hhmm: str) -> str | None:
    """A clock time entered for a day, in KAOHE_TIMEZONE, as an ISO instant
    with its offset (the offset of that day, never a fixed +08:00)."""
    try:
        d = dt.date.fromisoformat(day or "")
        t = dt.time.fromisoformat(hhmm)
    except ValueError:
        return None
    return dt.datetime.combine(d, t, tzinfo=tz()).isoformat()


@bp.route("/correction", methods=["GET", "POST"])
def correction():
    person = current_person()
    errors, values = {}, {"day": request.args.get("day", "")}
    if request.method == "POST":
        values = request.form.to_dict()
        raw = dict(values)
        for k in ("sign_in_at", "sign_out_at"):
            if raw.get(k):
                raw[k] = _local_instant(raw.get("day"), raw[k]) or raw[k]
        data, errors = parse_form(CorrectionInSchema(), raw)
        if data is not None:
            try:
                request_correction(person, data["day"], data["reason"], data.get("sign_in_at"),
                                           data.get("sign_out_at"))
                db.session.commit()
                flash(_("Sent to your supervisor for approval. Nothing changes until it is approved."), "ok")
                return redirect(url_for("routine.me"))
            except KaoheError as exc:
                db.session.rollback()
                errors = error_messages(exc)
    return render("routine/correction.html", errors=errors, values=values), 422 if errors else 200


@bp.route("/corrections/<int:correction_id>/decide", methods=["POST"])
def correction_decide(correction_id):
    c = get_in_scope(Correction, correction_id)
    approve = request.form.get("approve") == "1"
    try:
        decide_correction(c, current_person(), approve, request.form.get("note"), request.form.get("version", type=int))
        db.session.commit()
        flash(_("Approved: the attendance was corrected.") if approve else _("Rejected."), "ok")
    except KaoheError as exc:
        db.session.rollback()
        flash("; ".join(m for v in exc.errors.values() for m in (v if isinstance(v, list) else [str(v)]))
              or exc.message, "error")
    return redirect(url_for("routine.me"))


# -- staff: work records -------------------------------------------------------------------

@bp.route("/periods/<int:period_id>/records", methods=["GET", "POST"])
def records(period_id):
    period = get_in_scope(Period, period_id)
    person = current_person()
    errors, values = {}, {}
    if request.method == "POST":
        values = request.form.to_dict()
        data, errors = parse_form(WorkRecordInSchema(), values)
        if data is not None:
            try:
                save_work_record(period, person, data["on_date"], data["done"], data.get("plan"),
                                         data["kind"], data.get("version"))
                db.session.commit()
                flash(_("Work record saved."), "ok")
                return redirect(url_for("routine.records", period_id=period.id))
            except KaoheError as exc:
                db.session.rollback()
                errors = error_messages(exc)
    rows = db.session.execute(select(WorkRecord).where(WorkRecord.period_id == period.id,
                                                       WorkRecord.person_id == person.id)
                              .order_by(WorkRecord.on_date)).scalars().all()
    months = sorted(months_so_far(period))
    by_month = {r.on_date: r for r in rows if r.kind == "monthly"}
    daily = [r for r in rows if r.kind == "daily"]
    editable = period.state in RECORD_STATES
    pol = period_policy(period)
    return render("routine/records.html", period=period, months=months, by_month=by_month, daily=daily,
                  errors=errors, values=values, editable=editable, today=today(),
                  daily_required=pol["routine.daily_log_required"]), 422 if errors else 200



# -- staff: my result -------------------------------------------------------------------------

@bp.route("/periods/<int:period_id>/result")
def my_result(period_id):
    period = get_in_scope(Period, period_id)
    person = current_person()
    if period.state not in ("publicised", "final"):
        abort(403, _("Results are shown once the period's results are on public notice."))
    r = db.session.execute(select(Result).where(Result.period_id == period.id,
                                                Result.person_id == person.id)).scalar_one_or_none()
    named = db.session.execute(select(Rating).where(Rating.period_id == period.id, Rating.ratee_id == person.id,
                                                    Rating.rater_kind.in_(("supervisor", "self")))).scalars().all()
    comments = [(x.rater_kind, x.comment) for x in named if x.comment and (x.comment_visible or x.rater_kind == "self")]
    record_comments = db.session.execute(select(WorkRecord.on_date, WorkRecord.supervisor_comment).where(
        WorkRecord.period_id == period.id, WorkRecord.person_id == person.id,
        WorkRecord.supervisor_comment.is_not(None), WorkRecord.comment_visible.is_(True))).all()
    breakdown = public_breakdown(period, r.breakdown) if r else None
    return render("routine/result.html", period=period, person=person, r=r, breakdown=breakdown,
                  comments=comments, record_comments=record_comments,
                  anon=anonymous_summary(period, person.id),
                  pol=period_policy(period))
